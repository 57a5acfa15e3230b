/*
 * The colour modes of the attention pages: per-point colour categories of every mode (text modes
 * here, image modes in colours-image.js), the vector norms as dot sizes.
 */
import { site } from './site.js';
import { imageCategories } from './colours-image.js';
import { KEY, K_RAMP, NORM_BINS, OKABE, QUERY, Q_RAMP, VIRIDIS, hexToRgb, lerpRamp } from '../core/palette.js';

var POS_BINS = 8;
var Q_POS = lerpRamp(Q_RAMP.slice(1), POS_BINS);
var K_POS = lerpRamp(K_RAMP.slice(1), POS_BINS);

export const COLOR_MODES = {
  qk: 'query / key',
  position: 'normalised position',
  mod5: 'position mod 5',
  norm: 'vector norm',
  freq: 'token frequency',
  punct: 'punctuation / special',
};
// Image sites: the text-only modes (position in a sequence, token frequency, punctuation) make
// no sense for patches and are replaced by these (AttentionViz, Yeh et al. 2023, Fig. 1).
export const IMAGE_COLOR_MODES = {
  qk: 'query / key',
  row: 'patch row',
  col: 'patch column',
  hue: 'hue',
  rgb: 'mean colour',
  brightness: 'brightness',
  sfreq: 'spatial frequency',
  norm: 'vector norm',
};
export function colorModes() { return site.image ? IMAGE_COLOR_MODES : COLOR_MODES; }

/**
 * Per-point colour categories of one head for a colour mode: {cat: Uint8Array(P), palette: [hex],
 * legend: spec}. perHead: true if the categories depend on the head (norm), else shared by all.
 * norms: Float32Array of that head's P norms (only for mode 'norm').
 */
export function colorCategories(mode, tokens, N, norms) {
  var img = imageCategories(mode, tokens, N);
  if (img) return img;
  var P = 2 * N;
  var cat = new Uint8Array(P);
  var i;
  if (mode === 'position') {
    for (i = 0; i < N; i++) {
      var b = Math.min(POS_BINS - 1, Math.floor(tokens.position_norm[i] * POS_BINS));
      cat[i] = b;
      cat[N + i] = POS_BINS + b;
    }
    return { cat: cat, palette: Q_POS.concat(K_POS), legend: { title: 'normalised position (0 = first token, 1 = last)',
      ramps: [{ label: 'queries', colors: Q_POS }, { label: 'keys', colors: K_POS }], min: '0', max: '1' } };
  }
  if (mode === 'mod5') {
    for (i = 0; i < N; i++) cat[i] = cat[N + i] = tokens.position[i] % 5;
    return { cat: cat, palette: OKABE.slice(0, 5), legend: { title: 'position mod 5 (queries and keys)',
      items: [0, 1, 2, 3, 4].map(function (k) { return { color: OKABE[k], label: String(k) }; }) } };
  }
  if (mode === 'freq') {
    var maxLog = 0;
    for (i = 0; i < N; i++) maxLog = Math.max(maxLog, Math.log(tokens.frequency[i]));
    for (i = 0; i < N; i++) {
      var f = maxLog > 0 ? Math.log(tokens.frequency[i]) / maxLog : 0;
      cat[i] = cat[N + i] = Math.min(NORM_BINS - 1, Math.floor(f * NORM_BINS));
    }
    return { cat: cat, palette: VIRIDIS, legend: { title: 'token frequency in the sample (log scale)',
      ramps: [{ label: '', colors: VIRIDIS }], min: '1', max: String(Math.round(Math.exp(maxLog))) } };
  }
  if (mode === 'punct') {
    var pal = ['#b9b9b9', OKABE[4], OKABE[3]];
    for (i = 0; i < N; i++) cat[i] = cat[N + i] = tokens.is_special[i] ? 2 : (tokens.is_punct[i] ? 1 : 0);
    return { cat: cat, palette: pal, legend: { title: 'token kind (queries and keys)',
      items: [{ color: pal[0], label: 'word piece' }, { color: pal[1], label: 'punctuation / symbol' },
        { color: pal[2], label: 'special ([CLS], [SEP], …)' }] } };
  }
  if (mode === 'norm') {
    var r = normRange(norms);
    for (i = 0; i < P; i++) {
      cat[i] = Math.min(NORM_BINS - 1, Math.floor((norms[i] - r[0]) / (r[1] - r[0] || 1) * NORM_BINS));
    }
    return { cat: cat, palette: VIRIDIS, perHead: true, legend: { title: 'vector norm before normalisation (per head)',
      ramps: [{ label: '', colors: VIRIDIS }], min: r[0].toFixed(1), max: r[1].toFixed(1) } };
  }
  for (i = N; i < P; i++) cat[i] = 1;
  return { cat: cat, palette: [QUERY, KEY], legend: { title: 'point',
    items: [{ color: QUERY, label: 'query' }, { color: KEY, label: 'key' }] } };
}

export function normRange(norms) {
  var lo = Infinity, hi = -Infinity;
  for (var i = 0; i < norms.length; i++) {
    var v = norms[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/** Norms of one head scaled into [0, 1] (the dot-size encoding). */
export function normUnit(norms, out, offset) {
  var r = normRange(norms);
  var span = r[1] - r[0] || 1;
  for (var i = 0; i < norms.length; i++) out[offset + i] = (norms[i] - r[0]) / span;
  return r;
}

/** Legend: spec {title, items: [{color, label}]} or {title, ramps: [{label, colors}], min, max}. */

/** 0..255 RGB of every point from categories + palette. */
export function rgbFromCategories(cat, palette, out) {
  var rgb = palette.map(hexToRgb);
  out = out || new Uint8Array(cat.length * 3);
  for (var i = 0; i < cat.length; i++) {
    var c = rgb[cat[i]];
    out[3 * i] = c[0]; out[3 * i + 1] = c[1]; out[3 * i + 2] = c[2];
  }
  return out;
}
