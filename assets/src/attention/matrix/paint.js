/*
 * What the 2D matrix's dots look like, as per-point buffers over all G x P points, each rebuilt
 * only when what it depends on changed: the pixel anchors (per projection and plot size: the
 * geometry), the colours (colour mode, search, background), the dot sizes (by norm or constant)
 * and their stamps (plot width, pixel ratio). `key` names all of it: a band drawn with another
 * key is stale.
 */
import { hexToRgb } from '../../core/palette.js';
import { background, colorsFor, toHex } from './layout.js';
import { pixel, stamp } from './raster.js';
import { M } from './state.js';

var SIZES = [1.5, 2, 2.5, 3, 3.5, 4, 5, 6]; // dot diameters by norm (CSS px)
var SIZE = 2; // constant dot diameter (CSS px)
var OPACITY = 0.8;
var FADE = 0.14; // share of its own colour a point keeps when a search fades it (the rest: background)

var dots = { key: '', pix: null, colour: null, size: null, stamps: null, order: null, bg: 0 };
var keys = { pix: null, colour: null, size: null, stamps: null };
var anchors = {}; // projection name -> {key, pix}: the pixel anchors of its dots at one plot size
var sizes = null; // stamp of every dot when sized by norm (the norms never change)

/** The dots as last brought up to date (for the page's inspect handle: tests compare them with a fresh page's). */
export function currentDots() {
  return dots;
}

/** Search matches per point of a head (queries, then keys; computed once per search), or null when nothing matches. */
export function pointFlags() {
  var m = M.match;
  if (!m || !m.count) return null;
  if (!m.pointFlags) {
    m.pointFlags = new Uint8Array(M.P);
    m.pointFlags.set(m.flags, 0);
    m.pointFlags.set(m.flags, M.N);
  }
  return m.pointFlags;
}

/** The points of a head in the order they are drawn when searching: the others, then the matches (on top). */
function searchOrder() {
  var m = M.match, flags = pointFlags(), hits = pointHits();
  if (!m.order) {
    m.order = new Int32Array(M.P);
    for (var p = 0, k = 0; p < M.P; p++) if (!flags[p]) m.order[k++] = p;
    m.order.set(hits, M.P - hits.length);
  }
  return m.order;
}

/** The matching points of a head as indices within it (Int32Array; empty when nothing matches). */
export function pointHits() {
  var m = M.match, flags = pointFlags();
  if (!flags) return new Int32Array(0);
  if (!m.pointHits) {
    m.pointHits = new Int32Array(2 * m.count);
    for (var p = 0, k = 0; p < M.P; p++) if (flags[p]) m.pointHits[k++] = p;
  }
  return m.pointHits;
}

/** The dots of view v on a plot of geo.W x geo.H device pixels, brought up to date. */
export function updateDots(v, geo) {
  var bg = toHex(background()), flags = pointFlags();
  var want = {
    pix: v.entry.name + '@' + geo.W + 'x' + geo.H,
    colour: v.color + '|' + (flags ? v.q : '') + '|' + bg,
    size: v.size ? 'norm' : 'constant',
    stamps: (v.size ? 'norm' : 'constant') + '@' + geo.W + '/' + geo.dpr,
  };
  if (keys.pix !== want.pix) dots.pix = anchorsOf(v.entry.name, geo);
  if (keys.colour !== want.colour) fillColours(v, hexToRgb(bg), flags);
  if (keys.size !== want.size) dots.size = v.size ? sizes || (sizes = sizeIndex()) : null;
  if (keys.stamps !== want.stamps) {
    dots.stamps = (v.size ? SIZES : [SIZE]).map(function (d) { return stamp(d * geo.dpr, geo.W, OPACITY); });
  }
  keys = want;
  dots.order = flags ? searchOrder() : null;
  dots.bg = pixel(hexToRgb(bg));
  dots.key = [want.pix, want.colour, want.size, want.stamps].join('|');
  return dots;
}

/** Pixel anchor (y * W + x, the nearest pixel corner) of every dot of projection `name`; -1 off the plot. */
function anchorsOf(name, geo) {
  var key = geo.W + 'x' + geo.H, a = anchors[name];
  if (a && a.key === key) return a.pix;
  var lay = M.layout[name], n = M.G * M.P, pix = new Int32Array(n), W = geo.W, H = geo.H;
  for (var i = 0; i < n; i++) {
    var x = Math.round((lay.x[i] + 1) / 2 * W), y = Math.round((1 - lay.y[i]) / 2 * H);
    pix[i] = x >= 0 && x < W && y >= 0 && y < H ? y * W + x : -1;
  }
  anchors[name] = { key: key, pix: pix };
  return pix;
}

/** Colour of every dot: the mode's, faded towards the background when a search leaves it out. */
function fillColours(v, bg, flags) {
  var c = colorsFor(v.color), P = M.P, g, p;
  var out = dots.colour || (dots.colour = new Uint32Array(M.G * P));
  var faded = function (rgb) { return pixel(rgb.map(function (x, k) { return Math.round(x * FADE + bg[k] * (1 - FADE)); })); };
  if (c.byB) { // per head: the norm's ramp, in the steps regl-scatterplot took (the top one for the maximum only)
    var rgb = c.palette.map(hexToRgb), ramp = rgb.map(pixel), dim = rgb.map(faded), nb = ramp.length - 1;
    for (g = 0; g < M.G * P; g += P) {
      for (p = 0; p < P; p++) out[g + p] = (flags && !flags[p] ? dim : ramp)[Math.floor(M.normUnit[g + p] * nb)];
    }
    return;
  }
  var rgbs = c.categories.map(hexToRgb), full = rgbs.map(pixel), dims = rgbs.map(faded), one = new Uint32Array(P);
  for (p = 0; p < P; p++) one[p] = flags && !flags[p] ? dims[c.cat[p]] : full[c.cat[p]]; // token modes: the same P colours in every head
  for (g = 0; g < M.G; g++) out.set(one, g * P);
}

/** Stamp of every dot when sized by norm: its norm (scaled per head into [0, 1]) in len(SIZES) steps, as the norm colours. */
function sizeIndex() {
  var n = M.G * M.P, out = new Uint8Array(n), k = SIZES.length;
  for (var i = 0; i < n; i++) out[i] = Math.floor(M.normUnit[i] * (k - 1));
  return out;
}
