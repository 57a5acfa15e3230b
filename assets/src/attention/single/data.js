/*
 * The single-head view's data: the view state read from the URL, the layers' attention data,
 * the current head's points and colours, the keys a query's lines go to.
 */
import { blockWeights, loadLayer as readLayer, reweight, topOfRow, valueRow } from '../data.js';
import { colorCategories, normUnit } from '../colours.js';
import { viewState } from '../controls.js';
import { factorCategories } from './factor-colour.js';
import { LINE_MIN, LINES, S } from './state.js';

export function loadLayer(l) {
  if (!S.layers[l]) S.layers[l] = readLayer(S.sec, l);
  return S.layers[l];
}

export function clampInt(v, lo, hi, dflt) {
  var n = parseInt(v, 10);
  if (!isFinite(n)) return dflt;
  return Math.max(lo, Math.min(hi, n));
}

export function readState(q) {
  var v = viewState(S.sec, q);
  // colour by a factor's activation (factor-colour.js): text sites with token factors only;
  // cf null = the factor strongest on most tokens, chosen once the token factors are loaded
  v.cf = null;
  if (q.color === 'factor' && S.factorColour) {
    v.color = 'factor';
    v.cf = clampInt(q.cf, 0, S.factorColour.n_factors - 1, null);
  }
  v.l = clampInt(q.l, 0, S.sec.model.n_layers - 1, 0);
  v.h = clampInt(q.h, 0, S.H - 1, 0);
  v.g = v.l * S.H + v.h;
  v.s = q.s === undefined ? null : clampInt(q.s, 0, S.sec.n_sentences - 1, null);
  v.t = q.t === undefined || v.s === null ? null : clampInt(q.t, 0, 4096, null);
  var hide = (q.hide || '').split(',');
  v.hide = { cls: hide.indexOf('cls') !== -1, sep: hide.indexOf('sep') !== -1, first: hide.indexOf('first') !== -1 };
  v.key = q.key === '1' && v.t !== null;
  v.heat = q.heat !== '0';
  v.arrows = q.arrows !== '0';
  v.vnorm = q.vnorm === '1' && !!S.sec.files.value_norms;
  return v;
}

// ------------------------------------------------------------------ the head's points

export function buildHead(v) {
  var entry = v.entry, dim = entry.dim;
  var all = S.points[entry.name];
  var coords = all.subarray(v.g * entry.head_stride, v.g * entry.head_stride + S.P * dim);
  var hn = S.norms.subarray(v.g * S.P, (v.g + 1) * S.P);
  var c = v.color === 'factor' ? factorCategories(S.tf, S.tokens, S.N, v.l, v.cf) : colorCategories(v.color, S.tokens, S.N, hn);
  var unit = new Float32Array(S.P);
  normUnit(hn, unit, 0);
  S.head = { g: v.g, l: v.l, h: v.h, dim: dim, coords: coords, cat: c.cat, palette: c.palette, legend: c.legend, unit: unit,
    layerData: v.layerData, key: entry.name + '|' + v.g, order: c.order || null,
    size: c.size || null, pointSizes: c.pointSizes || null }; // the factor mode sets the dot sizes
}

/** What the points' colours depend on besides the head: the mode (and its factor). */
export function colourKey(v) {
  return v.color === 'factor' ? 'factor:' + v.cf : v.color;
}

export function sentencePoints(s) {
  var set = new Set();
  var start = S.sentences.token_offset[s], n = S.sentences.n_tokens[s];
  for (var i = start; i < start + n; i++) { set.add(i); set.add(S.N + i); }
  return set;
}

export function imageOf(s) {
  return S.sentences.sentence_id ? Number(S.sentences.sentence_id[s]) : s;
}

/** Token labels when zoomed in (few points in view), greedily placed without overlap. */

var blockCache = null; // {key, w}: the value-weighted block of one sentence for the current head
/** The current head's L x L block of sentence s weighted by value norm (renormalised per query). */
export function valueBlock(s) {
  var key = S.head.g + '|' + s;
  if (!blockCache || blockCache.key !== key) {
    blockCache = { key: key, w: reweight(blockWeights(S.sec, S.sentences, S.head.layerData, S.head.h, s), S.sentences.n_tokens[s], null,
      valueRow(S.sec, S.sentences, S.vnorms, S.head.g, s)) };
  }
  return blockCache.w;
}

/**
 * Top keys of query token t (positions within its sentence), strongest first, weight >= LINE_MIN:
 * from the top-k file, or with "weight by value norm" from the sentence's reweighted block.
 */
export function topKeys(t, count) {
  if (S.view.vnorm && S.vnorms) {
    var s = S.tokens.sentence[t];
    return topOfRow(valueBlock(s), S.sentences.n_tokens[s], t - S.sentences.token_offset[s], count, LINE_MIN);
  }
  var d = S.head.layerData, base = (S.head.h * S.N + t) * S.K, out = [];
  for (var j = 0; j < S.K && out.length < count; j++) {
    var k = d.topKeys[base + j];
    if (k === d.missingKey) break;
    var w = d.topWeights[base + j] / 65535;
    if (w < LINE_MIN) break;
    out.push({ pos: k, w: w });
  }
  return out;
}

/** Lines [from point, to point, weight] for a hovered / pinned point. */
export function linesFor(i) {
  var out = [];
  if (i < 0) return out;
  if (i < S.N) {
    var start = S.sentences.token_offset[S.tokens.sentence[i]];
    topKeys(i, LINES).forEach(function (k) { out.push([i, S.N + start + k.pos, k.w]); });
  } else {
    var t = i - S.N, s = S.tokens.sentence[t], st = S.sentences.token_offset[s], pos = t - st;
    for (var q = st; q < st + S.sentences.n_tokens[s]; q++) {
      topKeys(q, LINES).forEach(function (k) { if (k.pos === pos) out.push([q, i, k.w]); });
    }
  }
  return out;
}

