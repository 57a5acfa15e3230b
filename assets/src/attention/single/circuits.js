/*
 * The head page's "What this head reads" and "What it writes" (issue 22): the head's top QK
 * factor pairs by weights and by data with their agreement against its shuffled null, and its
 * top OV pairs with their ablation drops against random pairs (lib/circuits.js loads the tables
 * on first use). Factors link to their factor page at the hidden state they live in; the ◐
 * buttons colour the plot by a factor (factor-colour.js) through hooks.apply (state.js).
 */
import { byId, clear, el, setQuery } from '../../core/data.js';
import { circuitTable, circuitsMissing, factorExplanations, factorLink, factorWords, num, rowsWhere, sig, table } from '../../lib/circuits.js';
import { fmt } from '../../factors/common.js';
import { site } from '../site.js';
import { S, hooks } from './state.js';

var shown = null; // what the card shows: "g|cf"
var topTokens = null; // each factor's top tokens (factors/index.parquet), or null
var explained = null; // the site's explanations (factors/explanations.js), or null

/** Fill #att-reads and #att-writes for the view's head (again only when the head or factor changed). */
export function showCircuits(v) {
  var reads = byId('att-reads'), writes = byId('att-writes');
  if (!reads) return Promise.resolve();
  var key = v.g + '|' + (v.color === 'factor' ? v.cf : '');
  if (shown === key) return Promise.resolve();
  shown = key;
  var m = site.manifest, missing = circuitsMissing(m);
  if (missing) {
    [reads, writes].forEach(function (box) { clear(box).appendChild(el('p', { class: 'muted circ-missing' }, missing)); });
    byId('att-circuits').dataset.ready = 'missing';
    return Promise.resolve();
  }
  return Promise.all([circuitTable(m, 'heads'), circuitTable(m, 'qk'), circuitTable(m, 'ov'), factorWords(m), factorExplanations(m)]).then(function (t) {
    if (shown !== key) return;
    topTokens = t[3];
    explained = t[4];
    var at = function (cols) { return function (i) { return cols.layer[i] === v.l && cols.head[i] === v.h; }; };
    var head = rowsWhere(t[0], at(t[0]))[0];
    showReads(clear(reads), m.circuits, v, t[0], head, t[1], rowsWhere(t[1], at(t[1])));
    showWrites(clear(writes), m.circuits, v, t[0], head, t[2], rowsWhere(t[2], at(t[2])));
    byId('att-circuits').dataset.ready = v.l + ',' + v.h;
  }).catch(function (err) {
    shown = null;
    clear(reads).appendChild(el('p', { class: 'error' }, 'Could not load the circuit tables: ' + (err && err.message ? err.message : err)));
  });
}

/** A factor cell: its link, and (when the plot can show it) a button colouring the plot by it. */
function factorCell(f, hidden, v) {
  var paint = S.factorColour && hidden === v.l ? el('button', {
    type: 'button', class: 'circ-paint', 'aria-pressed': v.color === 'factor' && v.cf === f ? 'true' : 'false',
    title: 'Colour the plot by factor ' + f + '\'s activation on each token', 'aria-label': 'colour the plot by factor ' + f,
    onclick: function () { paintBy(f); },
  }, '◐') : null;
  return el('td', { class: 'circ-f' }, factorLink(f, hidden, topTokens, explained), paint);
}

function paintBy(f) {
  hooks.apply(setQuery({ color: 'factor', cf: f }, true));
  var r = S.stage.getBoundingClientRect();
  if (r.bottom < 0 || r.top > window.innerHeight) S.stage.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}

function formulas(c, names) {
  var f = c.formulas || {};
  return el('details', { class: 'circ-formulas' }, el('summary', null, 'Formulas'),
    el('dl', null, names.filter(function (k) { return f[k]; }).map(function (k) {
      return [el('dt', null, k.replace('_', ' ')), el('dd', null, el('code', null, f[k]))];
    })));
}

// ------------------------------------------------------------------ reads (QK)

function showReads(box, c, v, heads, hi, qk, rows) {
  box.appendChild(el('p', { class: 'circ-lede' }, 'Pairs of factors of hidden state ' + v.l + ' (the input of this layer): a factor on the query ' +
    'token → a factor on the key token, ranked two ways: by the weights (s_ij, the score W_Q and W_K give one unit of each) and by the data ' +
    '(D_ij, the share of this head\'s attention that flows between tokens carrying them, over the attention sample).' +
    (c.rope ? ' This model rotates queries and keys by position (RoPE): s_ij is the content term only, the score at relative distance 0 ' +
      '(no rotation).' : '')));
  if (hi !== undefined) box.appendChild(agreement(heads, hi, c));
  var pairs = function (by) {
    return rows.filter(function (i) { return qk.ranked_by[i] === by; }).sort(function (a, b) { return qk.rank[a] - qk.rank[b]; });
  };
  var byW = pairs('weights'), byD = pairs('data');
  var keyOf = function (i) { return qk.query_factor[i] + ',' + qk.key_factor[i]; };
  var inW = new Set(byW.map(keyOf)), inD = new Set(byD.map(keyOf));
  var heads2 = [['#', 'num'], ['query', null, 'factor on the query token'], ['key', null, 'factor on the key token'],
    ['s_ij', 'num', 'weight score'], ['D_ij', 'num', 'data share']];
  var rowOf = function (other, otherName) {
    return function (i) {
      var both = other.has(keyOf(i));
      return el('tr', { class: both ? 'circ-both' : null, title: both ? 'also among the top pairs by ' + otherName : null },
        el('td', { class: 'num' }, String(qk.rank[i] + 1) + (both ? ' ★' : '')),
        factorCell(qk.query_factor[i], v.l, v), factorCell(qk.key_factor[i], v.l, v), num(qk.weight_score[i]), num(qk.data_share[i]));
    };
  };
  box.appendChild(el('div', { class: 'circ-two' },
    table('Top ' + byW.length + ' pairs by weights (s_ij)', heads2, byW.map(rowOf(inD, 'data')), 'circ-qk-weights'),
    table('Top ' + byD.length + ' pairs by data (D_ij)', heads2, byD.map(rowOf(inW, 'weights')), 'circ-qk-data')));
  box.appendChild(el('p', { class: 'muted small' }, '★ the pair is in both lists. ' + (S.factorColour
    ? '◐ colours the plot above by that factor\'s activation on each token (hidden state ' + v.l + ').'
    : 'Colouring the plot by a factor needs the per-token factors, which this site does not store.')));
  box.appendChild(formulas(c, ['weight_score', 'data_share']));
}

/** The agreement of weights and data, on a strip from −1 to 1 beside its shuffled null. */
function agreement(heads, i, c) {
  var rho = heads.qk_agreement[i], med = heads.qk_agreement_null_median[i];
  var lo = heads.qk_agreement_null_low[i], hi = heads.qk_agreement_null_high[i];
  var W = 320, H = 34, x = function (r) { return 8 + (Math.max(-1, Math.min(1, r)) + 1) / 2 * (W - 16); };
  var svg = el('svg:svg', { class: 'circ-strip', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img',
    'aria-label': 'agreement ' + fmt(rho, 2) + '; shuffled null median ' + fmt(med, 2) + ', 5 to 95 % from ' + fmt(lo, 2) + ' to ' + fmt(hi, 2) },
  el('svg:line', { class: 'circ-axis', x1: x(-1), x2: x(1), y1: 14, y2: 14 }));
  [-1, 0, 1].forEach(function (t) {
    svg.appendChild(el('svg:line', { class: 'circ-axis', x1: x(t), x2: x(t), y1: 10, y2: 18 }));
    svg.appendChild(el('svg:text', { x: x(t), y: 31, 'text-anchor': 'middle' }, t ? (t < 0 ? '−1' : '1') : '0'));
  });
  if (isFinite(lo) && isFinite(hi)) {
    svg.appendChild(el('svg:rect', { class: 'circ-null', x: x(lo), y: 8, width: Math.max(2, x(hi) - x(lo)), height: 12 }));
    svg.appendChild(el('svg:line', { class: 'circ-null-med', x1: x(med), x2: x(med), y1: 6, y2: 22 }));
  }
  if (isFinite(rho)) svg.appendChild(el('svg:circle', { class: 'circ-rho', cx: x(rho), cy: 14, r: 5 }));
  var verdict = !isFinite(rho) ? 'undefined (too few distinct pairs)'
    : rho > hi ? 'above the null\'s 95th percentile: the pairs the weights favour carry more of the attention than chance'
      : rho < lo ? 'below the null\'s 5th percentile: weights and data rank the pairs less alike than chance'
        : 'inside the null\'s 5–95 % range: no sign that weights and data rank the pairs alike';
  return el('div', { class: 'circ-agree' },
    el('p', null, el('strong', null, 'Agreement ρ = ' + fmt(rho, 2)), ' (Spearman of s_ij and D_ij over the union of both top lists); ' +
      'shuffled null (' + (c.config && c.config.n_null) + ' shuffles of the data\'s factor labels): median ' + fmt(med, 2) +
      ', 5–95 % ' + fmt(lo, 2) + ' to ' + fmt(hi, 2) + ': ' + verdict + '.'),
    svg,
    el('p', { class: 'muted small' }, 'How to read it: a Spearman over the union of two top lists is negative even when the two measures ' +
      'are unrelated (a pair is in the union because one of them ranks it high), so compare ρ (dot) with the shuffled null (band, ' +
      'median tick), not with 0.'));
}

// ------------------------------------------------------------------ writes (OV)

function showWrites(box, c, v, heads, hi, ov, rows) {
  var pairs = rows.filter(function (i) { return ov.kind[i] === 'top'; }).sort(function (a, b) { return ov.rank[a] - ov.rank[b]; });
  var nRandom = rows.length - pairs.length;
  box.appendChild(el('p', { class: 'circ-lede' }, 'Pairs of a factor the head reads on the key token (hidden state ' + v.l + ') → a factor ' +
    'it writes into hidden state ' + (v.l + 1) + ', ranked by virtual weight w (the direct path through W_V and W_O). Ablation drop: ' +
    'how much the written factor\'s activation falls when the head is zeroed, over the sentences where the read factor is active.'));
  if (hi !== undefined) {
    var t = heads.ov_top_pairs_drop[hi], r = heads.ov_random_pairs_drop[hi];
    box.appendChild(el('p', { class: 'circ-drops' }, el('strong', null, 'Mean ablation drop: top pairs ' + sig(t) + ' vs ' + nRandom +
      ' random pairs ' + sig(r)), (r > 0 && t > 0 ? ' (' + fmt(t / r, 1) + ' ×)' : '') + '. Zeroing removes the whole head, so a drop ' +
      'mixes the pair with everything else the head writes: the random pairs are the baseline.'));
  }
  var heads2 = [['#', 'num'], ['reads', null, 'factor read on the key token, at hidden state ' + v.l],
    ['writes', null, 'factor written into hidden state ' + (v.l + 1)], ['w', 'num', 'virtual weight'],
    ['drop', 'num', 'ablation drop'], ['sentences', 'num', 'sentences where the read factor is active (of those ablated)']];
  box.appendChild(table('Top ' + pairs.length + ' pairs by virtual weight: read at hidden state ' + v.l + ', written into ' + (v.l + 1), heads2, pairs.map(function (i) {
    var drop = ov.ablation_drop[i];
    return el('tr', null, el('td', { class: 'num' }, String(ov.rank[i] + 1)), factorCell(ov.read_factor[i], v.l, v),
      el('td', { class: 'circ-f' }, factorLink(ov.write_factor[i], v.l + 1, topTokens, explained)), num(ov.weight[i]),
      drop === null || drop === undefined || isNaN(drop) ? el('td', { class: 'num muted', title: 'the read factor is active in none of the ablated sentences' }, 'not active')
        : num(drop), el('td', { class: 'num' }, String(ov.n_sentences[i])));
  }), 'circ-ov'));
  box.appendChild(formulas(c, ['ov_weight', 'ablation_drop']));
}
