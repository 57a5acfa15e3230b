/*
 * The head page's colour mode "factor activation" (URL color=factor&cf=<factor>): every point
 * coloured by one factor's activation on its token at hidden state l, the input of the shown
 * attention layer (queries on the green ramp, keys on the pink one). The activations come from
 * attention/token_factors.u16 (lib/token-factors.js), which holds each token's 3 strongest factors
 * per hidden state only: a token whose top 3 do not include the factor is drawn grey and counts as 0.
 */
import { byId, clear, el } from '../../core/data.js';
import { K_RAMP, Q_RAMP, lerpRamp } from '../../core/palette.js';
import { fmt } from '../site.js';

var BINS = 6;
var Q = lerpRamp(Q_RAMP.slice(1), BINS), K = lerpRamp(K_RAMP.slice(1), BINS);
export var NOT_TOP = '#d0d0d0';
/** Dot sizes (px) along valueB in [0, 1]: inactive tokens 0 (small), active ones 0.55-1 (larger by activation). */
var SIZES = [3, 3, 3, 3, 3, 6, 7, 8, 9, 10];

/** The factor that is the strongest on most tokens at hidden state `hidden` (the default of cf). */
export function commonFactor(tf, tokens, N, hidden) {
  var counts = new Map(), best = null, bestN = 0;
  for (var t = 0; t < N; t++) {
    var list = tf.atSample(hidden, tokens.sentence[t], tokens.position[t]);
    if (!list || !list.length) continue;
    var f = list[0].factor, n = (counts.get(f) || 0) + 1;
    counts.set(f, n);
    if (n > bestN) { bestN = n; best = f; }
  }
  return best === null ? 0 : best;
}

/** Activation of factor f on each of the N sample tokens at hidden state `hidden` (0: not among its top 3). */
export function factorValues(tf, tokens, N, hidden, f) {
  var values = new Float32Array(N);
  for (var t = 0; t < N; t++) {
    var list = tf.atSample(hidden, tokens.sentence[t], tokens.position[t]) || [];
    for (var k = 0; k < list.length; k++) if (list[k].factor === f) values[t] = list[k].value;
  }
  return values;
}

/**
 * Colour categories of the 2N points (as colours.js colorCategories returns them) plus the
 * drawing order: grey points first, then the active ones by increasing activation.
 */
export function factorCategories(tf, tokens, N, hidden, f) {
  var values = factorValues(tf, tokens, N, hidden, f), max = 0, active = 0, t;
  for (t = 0; t < N; t++) { if (values[t] > max) max = values[t]; if (values[t] > 0) active++; }
  var cat = new Uint8Array(2 * N), grey = 2 * BINS;
  for (t = 0; t < N; t++) {
    var b = values[t] > 0 ? Math.min(BINS - 1, Math.floor(values[t] / max * BINS)) : -1;
    cat[t] = b < 0 ? grey : b;
    cat[N + t] = b < 0 ? grey : BINS + b;
  }
  var size = new Float32Array(2 * N);
  for (t = 0; t < N; t++) if (values[t] > 0) size[t] = size[N + t] = 0.55 + 0.45 * values[t] / max;
  var order = [];
  for (t = 0; t < N; t++) if (!values[t]) order.push(t, N + t);
  var lit = [];
  for (t = 0; t < N; t++) if (values[t]) lit.push(t);
  lit.sort(function (a, c) { return values[a] - values[c]; });
  lit.forEach(function (i) { order.push(i, N + i); });
  return { cat: cat, palette: Q.concat(K, [NOT_TOP]), order: order, values: values, size: size, pointSizes: SIZES, legend: {
    title: 'factor ' + f + ' at hidden state ' + hidden + ' (the input of this layer): its activation on each token; ' +
      active + ' of ' + N + ' tokens have it among their 3 strongest factors',
    items: [{ color: NOT_TOP, label: 'not among the token\'s 3 strongest factors (inactive, or weaker than those): counted as 0' }],
    ramps: [{ label: 'queries', colors: Q }, { label: 'keys', colors: K }], min: '0', max: fmt(max) } };
}

/** The size legend in factor mode (the dots of the tokens that have the factor are larger). */
export function factorSizeLegend(node) {
  clear(node).appendChild(el('p', { class: 'att-legend-title' }, 'dot size: larger on the tokens that have the factor among their 3 strongest, by activation'));
}

/** The factor box beside the colour select (#att-cf): shown in factor mode, holding v.cf; the factor
 * sets the dot sizes then, so "dot size by norm" is off. */
export function showFactorControl(v) {
  var box = byId('att-cf-box');
  if (!box) return;
  box.hidden = v.color !== 'factor';
  byId('att-size').disabled = v.color === 'factor';
  var input = byId('att-cf');
  if (v.cf !== null && document.activeElement !== input) input.value = String(v.cf);
}

/** Wire #att-cf: a new factor number colours the plot by it (onChange(patch, push)). */
export function wireFactorControl(onChange) {
  var input = byId('att-cf');
  if (!input) return;
  input.addEventListener('change', function () {
    var f = parseInt(input.value, 10), max = parseInt(input.max, 10);
    if (f >= 0 && (!(max >= 0) || f <= max)) onChange({ color: 'factor', cf: f }, true);
  });
}
