/*
 * The site's palettes (colour-blind safe): PiYG greens for queries and pinks for keys (the
 * attention pages), the Okabe & Ito categorical palette, viridis (perceptually uniform); colour
 * arithmetic on hex strings.
 */

// PiYG (ColorBrewer, colour-blind safe): greens for queries, pinks for keys.
export const QUERY = '#4d9221';
export const KEY = '#c51b7d';
export var Q_RAMP = ['#d9efc0', '#b8e186', '#7fbc41', '#4d9221', '#276419', '#173d0f'];
export var K_RAMP = ['#fbd5ea', '#f1b6da', '#de77ae', '#c51b7d', '#8e0152', '#4d0030'];
// Okabe & Ito (2008) categorical palette without yellow (too light on white).
export var OKABE = ['#E69F00', '#56B4E9', '#009E73', '#0072B2', '#D55E00', '#CC79A7'];
export var VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58',
  '#b5de2b', '#fde725'];

export function hexToRgb(hex) {
  var n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export function lerpRamp(stops, n) {
  var out = [];
  for (var i = 0; i < n; i++) {
    var t = n === 1 ? 0 : i / (n - 1) * (stops.length - 1);
    var a = Math.floor(t), b = Math.min(stops.length - 1, a + 1), f = t - a;
    var ca = hexToRgb(stops[a]), cb = hexToRgb(stops[b]);
    out.push('#' + [0, 1, 2].map(function (k) {
      var v = Math.round(ca[k] + (cb[k] - ca[k]) * f);
      return (v < 16 ? '0' : '') + v.toString(16);
    }).join(''));
  }
  return out;
}

/** Bins of the continuous colour modes (norm, frequency, brightness). */
export var NORM_BINS = 10;

// Prefix tokens ([CLS], registers) in the image modes: near-black queries, dark grey keys.
export const PREFIX_Q = '#111111';
export const PREFIX_K = '#6b6b6b';

export function hsvHex(h, s, v) {
  var i = Math.floor(h * 6) % 6, f = h * 6 - Math.floor(h * 6);
  var p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  var rgb = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i];
  return '#' + rgb.map(function (x) { var n = Math.round(x * 255); return (n < 16 ? '0' : '') + n.toString(16); }).join('');
}

