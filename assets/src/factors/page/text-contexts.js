/* The factor page's top contexts on text sites: each context's text around the activating token
 * (or the whole text with its LIME weights), links to the token browser and the attention view. */
import { clear, el } from '../../core/data.js';
import { fmt, wordSpan } from '../common.js';
import { $, page } from './context.js';
import { contextRange, limeOf } from './data.js';
import { ruleHolds } from './explanation.js';
import { limeScale, plural, renderLimeNote } from './lime.js';

export function renderContexts(f, l, cd) {
  const list = clear($('contexts'));
  const W = $('window').value === 'all' ? Infinity : parseInt($('window').value, 10);
  const { range, total, shown, vmax } = contextRange(cd, f, l, $('shown').value);
  $('ctx-h').textContent = 'Top contexts at layer ' + l + (l === 0 ? ' (embeddings)' : '');
  $('ctx-count').textContent = total ? shown + ' of ' + total + ' contexts, strongest first' : '';
  renderLimeNote(f, l, cd, textLegend);
  if (!range) {
    list.appendChild(el('li', { class: 'muted' }, 'This factor is never active at layer ' + l + '.'));
    return;
  }
  const topk = cd.topk;
  const frag = document.createDocumentFragment();
  for (let i = range[0]; i < range[0] + shown; i++) {
    const sid = topk.sentence_id[i];
    const pos = topk.position[i];
    const value = topk.value[i];
    const lime = limeOf(cd, f, l, sid, pos);
    frag.appendChild(el('li', { class: lime ? 'ctx has-lime' : 'ctx' },
      el('span', { class: 'ctx-rank' }, String(topk.rank[i] + 1)),
      valueBar(value, vmax),
      contextText(sid, pos, W, lime, value),
      el('a', { class: 'ctx-link', href: 'tokens.html?s=' + sid + '&t=' + pos, title: 'Text #' + sid + ', token ' + pos + ' in the token browser' }, '#' + sid),
      attentionLink(sid, pos, l)));
  }
  list.appendChild(frag);
}

/** A context's activation as a bar (share of the strongest) and its number. */
export function valueBar(value, vmax) {
  return el('span', { class: 'ctx-val', title: 'activation ' + value },
    el('span', { class: 'ctx-bar', style: { width: Math.max(2, 100 * value / vmax).toFixed(1) + '%' } }),
    el('span', { class: 'ctx-num' }, fmt(value)));
}

function textLegend(contexts) {
  const lime = page.fs.lime;
  const cfg = lime.config || {};
  return el('div', { class: 'lime-legend' },
    el('span', null, 'LIME saliency on the top ' + plural(contexts, 'context') + ' (marked LIME; whole text shown): '),
    limeScale(),
    el('span', { class: 'muted' }, ' · intensity = |weight| / largest |weight| in that text · ' +
      (cfg.samples ? cfg.samples + ' copies with tokens replaced by ' + (lime.mask_token || 'the mask token') + ', ' : '') +
      'ridge regression on which tokens were kept. Hover a token for its weight.'));
}

/**
 * Link to the token in the attention head view when its text is in the attention sample: hidden
 * state l is the input of attention layer l (the last one, l = n_layers, links to the last layer).
 */
export function attentionLink(sid, pos, l) {
  const links = page.links;
  const row = links ? links.sampleRow.get(sid) : undefined;
  if (row === undefined || !links.nLayers) return null;
  const layer = Math.min(l, links.nLayers - 1);
  return el('a', { class: 'ctx-link ctx-attention', href: 'attention-head.html?s=' + row + '&t=' + pos + '&l=' + layer,
    title: 'This token in the attention view of layer ' + layer + ' (text ' + row + ' of the attention sample)' }, 'attention');
}

export function contextText(sid, pos, W, lime, value) {
  const { tokens, sentences } = page;
  const start = sentences.token_offset[sid];
  const end = start + sentences.n_tokens[sid];
  const hit = start + pos;
  const word = wordSpan(tokens, hit, start, end);
  let a = start;
  let b = end - 1;
  if (!lime && W !== Infinity) {
    a = wordSpan(tokens, Math.max(start, hit - W), start, end)[0];
    b = wordSpan(tokens, Math.min(end - 1, hit + W), start, end)[1];
  }
  const weights = new Map();
  let wmax = 0;
  if (lime) {
    lime.tokens.forEach((t, k) => {
      weights.set(t, lime.weights[k]);
      wmax = Math.max(wmax, Math.abs(lime.weights[k]));
    });
  }
  const holds = ruleHolds(start, end);
  const title = (i, w) => tokens.piece[i] + (w !== undefined ? ' · LIME weight ' + fmt(w) : '');
  const p = el('p', { class: 'ctx-text' });
  let first = true;
  if (a > start && !(a === start + 1 && tokens.is_special[start])) p.appendChild(el('span', { class: 'ell' }, '… '));
  for (let i = a; i <= b; i++) {
    const isHit = i === hit;
    if (tokens.is_special[i] && !isHit) continue;
    if (!first && tokens.space_before[i]) p.appendChild(document.createTextNode(' '));
    first = false;
    let cls = 'ctok';
    if (isHit) cls += ' hit';
    else if (i >= word[0] && i <= word[1]) cls += ' hitword';
    if (tokens.is_special[i]) cls += ' special';
    if (holds && holds.has(i)) cls += ' rule';
    const attrs = { class: cls };
    const w = weights.get(i - start);
    if (w !== undefined) {
      const alpha = wmax > 0 ? Math.min(1, Math.abs(w) / wmax) * 0.8 : 0;
      attrs.style = { 'background-color': (w >= 0 ? 'rgba(220, 38, 38, ' : 'rgba(22, 163, 74, ') + alpha.toFixed(3) + ')' };
      attrs.dataset = { w: w.toFixed(4) };
    }
    attrs.title = (isHit ? 'activating token · ' + title(i, w) + ' · activation ' + fmt(value) : title(i, w)) +
      (holds && holds.has(i) ? ' · the rule holds' : '');
    p.appendChild(el('span', attrs, tokens.text[i]));
  }
  if (b < end - 1 && !(b === end - 2 && tokens.is_special[end - 1])) p.appendChild(el('span', { class: 'ell' }, ' …'));
  if (lime) p.appendChild(el('span', { class: 'lime-tag', title: 'LIME saliency shown on this text' }, 'LIME'));
  return p;
}
