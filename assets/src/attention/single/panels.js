/*
 * The panels around the plot: the head's title, navigation state and metrics ("how far to trust
 * this picture"), the sentence view (text sites) or the image view (image sites) with the
 * selected token's factors, and the aggregate. A selection in the sentence / image view changes
 * the view through hooks.apply (state.js), which view.js fills: this module does not import the view.
 */
import { byId, clear, el, query, setQuery } from '../../core/data.js';
import { tokenFactors } from '../../lib/token-factors.js';
import { fmt, mark } from '../site.js';
import { valueRow } from '../data.js';
import { aggregateView } from '../aggregate.js';
import { sentenceView, tokenFactorsView } from '../sentence.js';
import { imageView } from '../image-view.js';
import { offsetView } from '../image-offset.js';
import { S, hooks } from './state.js';

export function showHeader(v) {
  var info = S.sec.heads[v.g] || {};
  document.title = 'L' + v.l + ' H' + v.h + ' · attention · tfvis-site';
  clear(byId('att-title')).appendChild(document.createTextNode('Layer ' + v.l + ', head ' + v.h + ' '));
  byId('att-title').appendChild(el('span', { class: 'att-badge att-lab-' + (info.label || 'other'), title: info.label_text || '' },
    info.label_text || info.label || ''));
  byId('att-layer').value = String(v.l);
  byId('att-head').value = String(v.h);
  byId('att-prev-head').disabled = v.g === 0;
  byId('att-prev-layer').disabled = v.l === 0;
  byId('att-next-head').disabled = v.g === S.G - 1;
  byId('att-next-layer').disabled = v.l === S.sec.model.n_layers - 1;
  var back = new URLSearchParams();
  ['proj', 'dim', 'color', 'size', 'q'].forEach(function (k) {
    var val = query()[k];
    if (val) back.set(k, val);
  });
  byId('att-back').setAttribute('href', 'attention.html' + (back.toString() ? '?' + back.toString() : ''));
  showMetrics(info, v);
}

export function showMetrics(h, v) {
  var dl = clear(byId('att-metrics'));
  var row = function (k, val, title, warn) {
    dl.appendChild(el('div', { title: title || null }, el('dt', null, k), el('dd', { class: warn ? 'att-warn' : null }, val)));
  };
  var stat = h.label_stat || {};
  row('Label', (h.label_text || h.label || 'n/a') + (stat.name ? ' (' + stat.name + ' ' + fmt(stat.value) + ', threshold ' + fmt(stat.threshold) + ')' : ''),
    'automatic label from the attention statistics');
  if (h.induction_score !== undefined && h.induction_score !== null) { // decoders (issue 22)
    var ind = S.sec.induction || {};
    if (h.pattern_label) row('Pattern label', S.sec.labels[h.pattern_label] || h.pattern_label, 'the label of its attention pattern, before the induction score');
    row('Induction score', fmt(h.induction_score) + ' (labelled induction from ' + ind.threshold + ')', ind.statistic || 'induction score');
  }
  var after = h.spearman_after;
  row('Spearman before', fmt(h.spearman_before), 'Spearman correlation of q·k with the q–k distance, raw q and k (−1 = distance explains attention)');
  row('Spearman after', fmt(after), 'the same after key translation and norm scaling', after !== undefined && after > -0.5);
  var proj = v.entry.name;
  var sp = h.spearman_projected && h.spearman_projected[proj];
  if (sp !== undefined) row('Spearman in picture', fmt(sp), 'the same correlation measured on the ' + proj + ' coordinates shown', sp > -0.3);
  var tw = h.trustworthiness && h.trustworthiness[proj];
  row('Trustworthiness', fmt(tw), 'scikit-learn trustworthiness of this projection (k = ' + S.sec.config.trust_k + '; 1 = no false neighbours)', tw !== undefined && tw < 0.8);
  row('Scale c', fmt(h.c, 3), 'queries × c, keys ÷ c (dot products unchanged)');
  row('Norm gap', fmt(h.norm_gap), 'mean query norm − mean key norm, before normalisation (' + fmt(h.q_norm_mean) + ' − ' + fmt(h.k_norm_mean) + ')');
  row('Entropy', fmt(h.entropy_norm) + ' (normalised)', 'mean attention entropy / log(length)');
  if (h.spearman_paper_after !== undefined || h.spearman_paper_before !== undefined) {
    var stext = (S.sec.statistics || {}).spearman_paper_before || 'AttentionViz statistic: per query, Spearman(q·k, cosine distance) over its keys, then the mean over queries';
    row('AttentionViz ρ', fmt(h.spearman_paper_before) + ' → ' + fmt(h.spearman_paper_after) + ' (before → after)', stext);
  }
  if (h.mass) {
    row('Attention mass', ['prev', 'next', 'self', 'sink', 'local', 'local2d'].filter(function (k) { return h.mass[k] !== undefined; })
      .map(function (k) { return k + ' ' + fmt(h.mass[k]); }).join(' · '),
      S.geo ? 'share of attention on the patch itself, [CLS] / registers, the 8 neighbouring patches' :
        'share of attention on the previous / next token, itself, [CLS]/[SEP], a ±2 window');
  }
  if (h.similarity) {
    row('Similarity', Object.keys(h.similarity).map(function (k) { return k + ' ' + fmt(h.similarity[k]); }).join(' · '),
      'how much attention follows similar units (by hue, brightness, position)');
  }
  var weak = (after !== undefined && after > -0.5) || (tw !== undefined && tw < 0.8);
  if (weak) {
    dl.appendChild(el('p', { class: 'att-warn' }, 'Distances in this picture are a weak guide to attention for this head: check the ' +
      (S.geo ? 'image' : 'sentence') + ' view.'));
  }
}

/** The sentence view's hide toggles (#att-hide-<name>). */
export var HIDE = ['cls', 'sep', 'first'];

/** The "weight by value norm" box: ticked from the URL; disabled when the build has no value norms. */
export function showValueToggle() {
  var box = byId('att-vnorm');
  box.checked = S.view.vnorm;
  box.disabled = !S.vnorms;
  if (!S.vnorms) box.parentNode.title = 'this site was built without value norms';
}

export function showSentence() {
  if (!S.view || !S.view.layerData) return;
  var s = S.view.s === null ? (S.sentencePts ? 0 : 0) : S.view.s;
  byId('att-s').value = String(s);
  byId('att-prev-s').disabled = s <= 0;
  byId('att-next-s').disabled = s >= S.sec.n_sentences - 1;
  HIDE.forEach(function (k) { if (byId('att-hide-' + k)) byId('att-hide-' + k).checked = S.view.hide[k]; });
  showValueToggle();
  var textNode = clear(byId('att-sentence-text'));
  textNode.appendChild(el('span', null, 'Sentence ' + s + ': '));
  textNode.appendChild(el('q', null, S.sentences.text[s]));
  if (S.linker) {
    var id = S.linker(s);
    if (id !== null) {
      textNode.appendChild(document.createTextNode(' '));
      textNode.appendChild(el('a', { href: 'tokens.html?s=' + id + (S.view.t !== null ? '&t=' + S.view.t : '') }, 'open in the token browser'));
    } else {
      textNode.appendChild(el('span', { class: 'muted' }, ' (not in the token browser\'s sample)'));
    }
  }
  sentenceView(byId('att-sentence'), {
    sec: S.sec, tokens: S.tokens, sentences: S.sentences, layerData: S.view.layerData, head: S.view.h, s: s, hide: S.view.hide,
    vrow: S.view.vnorm ? valueRow(S.sec, S.sentences, S.vnorms, S.view.g, s) : null,
    current: S.view.s === s ? S.view.t : null,
    onSelect: function (pos) { hooks.apply(setQuery({ s: s, t: pos }, true)); },
  });
  if (tokenFactors) {
    var shown = S.view;
    tokenFactors().then(function (links) {
      if (S.view === shown) tokenFactorsView(byId('att-token-factors'), links, S.tokens, S.sentences, s, S.view.s === s ? S.view.t : null, S.view.l);
    });
  }
}

/** Image sites: the image view of the selected (or first) sample image. Returns a Promise. */
export function showImage() {
  if (!S.view || !S.view.layerData) return Promise.resolve();
  var s = S.view.s === null ? 0 : S.view.s;
  byId('att-s').value = String(s);
  byId('att-prev-s').disabled = s <= 0;
  byId('att-next-s').disabled = s >= S.sec.n_sentences - 1;
  byId('att-heat').checked = S.view.heat;
  byId('att-arrows').checked = S.view.arrows;
  showValueToggle();
  var textNode = clear(byId('att-sentence-text'));
  textNode.appendChild(el('span', null, 'Image ' + s + ' of the sample: '));
  textNode.appendChild(el('q', { class: 'att-image-name' }, S.sentences.text[s]));
  if (S.linker) {
    var id = S.linker(s);
    if (id !== null) {
      textNode.appendChild(document.createTextNode(' '));
      textNode.appendChild(el('a', { href: 'images.html?i=' + id + (S.view.t !== null && S.view.s === s ? '&p=' + S.view.t : '') }, 'open in the image browser'));
    }
  }
  var v = imageView(byId('att-image'), {
    sec: S.sec, geo: S.geo, tokens: S.tokens, sentences: S.sentences, layerData: S.view.layerData, head: S.view.h, s: s,
    t: S.view.s === s ? S.view.t : null, key: S.view.key, heat: S.view.heat, arrows: S.view.arrows,
    vrow: S.view.vnorm ? valueRow(S.sec, S.sentences, S.vnorms, S.view.g, s) : null,
    onSelect: function (pos, asKey) { hooks.apply(setQuery({ s: s, t: pos, key: asKey ? 1 : null }, true), 'image_select'); },
  });
  return v.ready.then(function () { mark('image_drawn'); });
}

var offsetHead = -1;
export function showAggregate() {
  if (S.geo) {
    // the offset map depends on the head only: drawn again only when the head changes
    if (S.view && S.view.layerData && offsetHead !== S.view.g) {
      offsetHead = S.view.g;
      offsetView(byId('att-agg'), byId('att-agg-legend'), byId('att-agg-read'), S.sec, S.geo, S.sentences, S.view.layerData, S.view.h);
    }
    return;
  }
  if (!S.aggregate || !S.view) return;
  aggregateView(byId('att-agg'), byId('att-agg-legend'), byId('att-agg-read'), S.aggregate[0], S.aggregate[1], S.view.g, S.sec.max_len, !!S.sec.model.is_causal);
}

