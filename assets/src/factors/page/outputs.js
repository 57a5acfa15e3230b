/*
 * The factor page's output side (issue 22): manifest.factors.output_tokens and its table
 * circuits/output_tokens.parquet (factor, layer = the factor's peak layer, side, rank, token,
 * value), loaded on first use. kind "unembedding": the tokens the factor promotes and
 * suppresses through the unembedding (the direct path); "embedding" (an encoder without a
 * language-model head): the nearest input embeddings by cosine, which are not predictions;
 * null (images): the reason there are none.
 */
import { clear, el, manifest } from '../../core/data.js';
import { outputTable, rowsWhere, sig } from '../../lib/circuits.js';
import { $, page } from './context.js';

const MISSING = 'This site was built without the output side of the factors ([circuits] enabled = false, or a version of tfvis-site before it).';

/** Fill #circ-outputs for factor f (a promise; the card marks data-ready). */
export function renderOutputs(f) {
  const box = $('circ-outputs');
  if (!box) return Promise.resolve();
  const seq = page.seq;
  return manifest().then((m) => {
    const out = m.factors.output_tokens;
    if (!out || !out.kind) {
      clear(box).appendChild(el('p', { class: 'muted circ-missing' }, out ? 'No output tokens: ' + out.reason + '.' : MISSING));
      return 'none';
    }
    return outputTable(m).then((t) => {
      if (seq !== page.seq) return null;
      show(clear(box), out, t, f);
      return String(f);
    });
  }).then((ready) => {
    if (ready) box.dataset.ready = ready;
  }).catch((err) => {
    clear(box).appendChild(el('p', { class: 'error' }, 'Could not load the output tokens: ' + (err && err.message ? err.message : err)));
  });
}

// The vocabulary's own strings: byte-level BPE writes a space before a token as Ġ and a newline
// as Ċ, SentencePiece a space as ▁; shown as ␣ and ↵ (the raw string is in the title).
const visible = (s) => String(s).replace(/[Ġ▁]/g, '␣').replace(/Ċ/g, '↵');

function tokenList(t, rows, cls) {
  return el('ol', { class: ['circ-tokens', cls] }, rows.map((i) => el('li', { title: 'token id ' + t.token_id[i] + ': ' + t.token[i] },
    el('span', { class: 'circ-tok' }, visible(t.token[i])), el('span', { class: 'num' }, sig(t.value[i])))));
}

function show(box, out, t, f) {
  const rows = rowsWhere(t, (i) => t.factor[i] === f);
  const side = (s) => rows.filter((i) => t.side[i] === s).sort((a, b) => t.rank[a] - t.rank[b]);
  const peak = rows.length ? t.layer[rows[0]] : page.index.peak_layer[f];
  if (!rows.length) {
    box.appendChild(el('p', { class: 'muted' }, 'No output tokens recorded for this factor (it is never active).'));
    return;
  }
  const at = ' at its peak layer, hidden state ' + peak + (page.current.l !== peak ? ' (not the layer shown above)' : '');
  if (out.kind === 'embedding') {
    box.appendChild(el('p', { class: 'small' }, 'Nearest input embeddings by cosine' + at + '. This encoder has no language-model head, so ' +
      'these are not tokens it predicts: they are the input tokens whose embeddings point most nearly the way the factor does.'));
    box.appendChild(el('h3', null, 'Nearest input embeddings (cosine)'));
    box.appendChild(tokenList(t, side('promoted'), 'circ-embedding'));
    return;
  }
  box.appendChild(el('p', { class: 'small' }, 'Through the unembedding' + at + ': the direct path only (the later layers are not run); ' +
    'value = logit change per unit of activation.'));
  box.appendChild(el('h3', null, 'Promoted'));
  box.appendChild(tokenList(t, side('promoted'), 'circ-promoted'));
  box.appendChild(el('h3', null, 'Suppressed'));
  box.appendChild(tokenList(t, side('suppressed'), 'circ-suppressed'));
  if (rows.some((i) => /[Ġ▁Ċ]/.test(t.token[i]))) box.appendChild(el('p', { class: 'muted small' }, '␣ a space before the token, ↵ a newline.'));
}
