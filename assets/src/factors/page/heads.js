/*
 * The factor page's "Heads that read it" and "Heads that write it" (issue 22), from the circuit
 * tables (lib/circuits.js, loaded on first use). At hidden state l (the layer shown):
 *   read as a query / a key: circuits/qk.parquet rows of attention layer l with query_factor /
 *     key_factor = f (QK factors are factors of hidden state `layer`);
 *   written: circuits/ov.parquet top pairs of attention layer l - 1 with write_factor = f (OV
 *     writes go into hidden state `layer` + 1); read and written on: top pairs of layer l with
 *     read_factor = f.
 * Each head links to its head page; the reading heads' links colour its plot by this factor.
 */
import { clear, el, manifest } from '../../core/data.js';
import { circuitTable, circuitsMissing, factorLink, headHref, num, rowsWhere, table } from '../../lib/circuits.js';
import { $, page } from './context.js';

const MAX_ROWS = 30;

/** Fill #circ-reads and #circ-writes for factor f at hidden state l (a promise; the cards mark data-ready). */
export function renderHeads(f, l) {
  const reads = $('circ-reads');
  const writes = $('circ-writes');
  if (!reads) return Promise.resolve();
  const seq = page.seq;
  return manifest().then((m) => {
    const missing = circuitsMissing(m);
    if (missing) {
      [reads, writes].forEach((box) => clear(box).appendChild(el('p', { class: 'muted circ-missing' }, missing)));
      return 'missing';
    }
    return Promise.all([circuitTable(m, 'qk'), circuitTable(m, 'ov')]).then(([qk, ov]) => {
      if (seq !== page.seq) return null;
      const nLayers = m.model.n_layers;
      showReads(clear(reads), qk, f, l, nLayers);
      showWrites(clear(writes), ov, f, l, nLayers);
      return f + ',' + l;
    });
  }).then((ready) => {
    if (ready) $('circ-heads').dataset.ready = ready;
  }).catch((err) => {
    clear(reads).appendChild(el('p', { class: 'error' }, 'Could not load the circuit tables: ' + (err && err.message ? err.message : err)));
  });
}

/** A head cell: "L3 H5" linking to its head page (extra: more URL keys). */
const headCell = (layer, head, extra) => el('td', null,
  el('a', { class: 'circ-head', href: headHref(layer, head, extra), title: 'attention layer ' + layer + ', head ' + head }, 'L' + layer + ' H' + head));

/** rows (indices) as a table, at most MAX_ROWS, with a note of the rest; `empty` when there are none. */
function capped(box, caption, heads, rows, rowOf, empty, cls) {
  if (!rows.length) {
    box.appendChild(el('p', { class: 'muted small' }, empty));
    return;
  }
  box.appendChild(el('div', { class: 'circ-scroll' }, table(caption, heads, rows.slice(0, MAX_ROWS).map(rowOf), cls)));
  if (rows.length > MAX_ROWS) box.appendChild(el('p', { class: 'muted small' }, '… and ' + (rows.length - MAX_ROWS) + ' more.'));
}

// QK lists first by weights, then by data; within a list by rank
const byList = (qk) => (a, b) => (qk.ranked_by[a] === qk.ranked_by[b] ? qk.rank[a] - qk.rank[b] : qk.ranked_by[a] === 'weights' ? -1 : 1);

function showReads(box, qk, f, l, nLayers) {
  if (l >= nLayers) {
    box.appendChild(el('p', { class: 'muted' }, 'No attention layer reads hidden state ' + l + ': it is the last one, the model\'s output.'));
    return;
  }
  box.appendChild(el('p', { class: 'small' }, 'Heads of attention layer ' + l + ' (which reads hidden state ' + l + ') that have this factor in ' +
    'one of their top pairs, by the weights (s_ij) or by the data (D_ij): the factor on the query token makes the head look for the ' +
    'key factor, or the factor on the key token is what the query factor looks for. A head link opens it coloured by this factor.'));
  const colour = { color: 'factor', cf: f };
  [['query', 'query_factor', 'key_factor', 'key'], ['key', 'key_factor', 'query_factor', 'query']].forEach(([role, own, other, otherRole]) => {
    const rows = rowsWhere(qk, (i) => qk.layer[i] === l && qk[own][i] === f).sort(byList(qk));
    capped(box, 'As a ' + role, [['head'], ['list', null, 'which top list: by weights or by data'], ['#', 'num'], [otherRole + ' factor'],
      ['s_ij', 'num', 'weight score'], ['D_ij', 'num', 'data share']], rows, (i) => el('tr', null,
      headCell(l, qk.head[i], colour), el('td', null, 'by ' + qk.ranked_by[i]), el('td', { class: 'num' }, String(qk.rank[i] + 1)),
      el('td', { class: 'circ-f' }, factorLink(qk[other][i], l, page.index.top_tokens)), num(qk.weight_score[i]), num(qk.data_share[i])),
    'As a ' + role + ': in no head\'s top pairs at this layer.', 'circ-read-' + role);
  });
}

const dropCell = (drop) => (drop === null || drop === undefined || isNaN(drop)
  ? el('td', { class: 'num muted', title: 'the read factor is active in none of the ablated sentences' }, 'not active') : num(drop));

function showWrites(box, ov, f, l, nLayers) {
  const heads = [['head'], ['#', 'num', 'rank by virtual weight'], null, ['w', 'num', 'virtual weight'], ['drop', 'num', 'ablation drop'],
    ['sentences', 'num', 'sentences where the read factor is active (of those ablated)']];
  const ovRow = (layer, factorCol, hidden, extra) => (i) => el('tr', null, headCell(layer, ov.head[i], extra),
    el('td', { class: 'num' }, String(ov.rank[i] + 1)), el('td', { class: 'circ-f' }, factorLink(ov[factorCol][i], hidden, page.index.top_tokens)),
    num(ov.weight[i]), dropCell(ov.ablation_drop[i]), el('td', { class: 'num' }, String(ov.n_sentences[i])));
  box.appendChild(el('p', { class: 'small' }, 'Top pairs of each head by virtual weight w (the direct path through W_V and W_O) from a factor ' +
    'read on the key token to a factor written into the next hidden state; drop: how much the written factor falls when the head is zeroed.'));
  if (l === 0) box.appendChild(el('p', { class: 'muted small' }, 'Hidden state 0 is the embeddings: no head writes it.'));
  else {
    const rows = rowsWhere(ov, (i) => ov.kind[i] === 'top' && ov.layer[i] === l - 1 && ov.write_factor[i] === f).sort((a, b) => ov.rank[a] - ov.rank[b]);
    heads[2] = ['reads', null, 'factor read on the key token, at hidden state ' + (l - 1)];
    capped(box, 'Written into hidden state ' + l + ' by heads of layer ' + (l - 1) + ' (reading hidden state ' + (l - 1) + ')', heads.slice(), rows, ovRow(l - 1, 'read_factor', l - 1),
      'Written by no head\'s top pairs of layer ' + (l - 1) + '.', 'circ-written');
  }
  if (l >= nLayers) return;
  const rows = rowsWhere(ov, (i) => ov.kind[i] === 'top' && ov.layer[i] === l && ov.read_factor[i] === f).sort((a, b) => ov.rank[a] - ov.rank[b]);
  heads[2] = ['writes', null, 'factor written into hidden state ' + (l + 1)];
  capped(box, 'Read here by heads of layer ' + l + ', written on into hidden state ' + (l + 1), heads, rows, ovRow(l, 'write_factor', l + 1, { color: 'factor', cf: f }),
    'Read through OV by no head\'s top pairs of layer ' + l + '.', 'circ-read-ov');
}
