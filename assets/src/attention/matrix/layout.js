/*
 * Where the matrix puts each head's points (its grid cell) and what colour they get: the
 * layout of a projection, the cells' rectangles, the colours of a mode, the search's palette,
 * draw order and selection.
 */
import { colorCategories, rgbFromCategories } from '../colours.js';
import { hexToRgb, VIRIDIS } from '../../core/palette.js';
import { cssVar } from '../site.js';
import { M } from './state.js';

/** Points of every head placed in its grid cell: 2D -> {x, y} in [-1, 1]; 3D -> {xyz} per head. */
export function buildLayout(entry, data) {
  var dim = entry.dim;
  if (dim === 3) return { xyz: data, dim: 3 };
  var x = new Float32Array(M.G * M.P), y = new Float32Array(M.G * M.P);
  var H = M.sec.model.n_heads;
  for (var g = 0; g < M.G; g++) {
    var row = Math.floor(g / H), col = g % H;
    var cx = -1 + (2 * col + 1) / M.COLS, cy = 1 - (2 * row + 1) / M.ROWS - M.SHIFT * 2 / M.ROWS;
    var sx = M.PAD / M.COLS, sy = M.PAD / M.ROWS;
    var base = g * entry.head_stride;
    for (var p = 0; p < M.P; p++) {
      x[g * M.P + p] = cx + data[base + p * dim] * sx;
      y[g * M.P + p] = cy + data[base + p * dim + 1] * sy;
    }
  }
  return { x: x, y: y, dim: 2 };
}

export function plotSize() {
  return { w: Math.max(1, Math.round(M.plot.clientWidth)), h: Math.max(1, Math.round(M.plot.clientHeight)) };
}

export function cellRects() {
  var s = M.plot.getBoundingClientRect();
  return M.cellLinks.map(function (a) {
    var r = a.getBoundingClientRect();
    var g = Number(a.dataset.g);
    var pad = 0.5 * (1 - M.PAD);
    return {
      x: Math.round(r.left - s.left + r.width * pad),
      y: Math.round(r.top - s.top + r.height * (pad + M.SHIFT)),
      w: Math.round(r.width * M.PAD),
      h: Math.round(r.height * M.PAD),
      start: g * M.P,
      count: M.P,
    };
  });
}

// ------------------------------------------------------------------ colours

/**
 * Colours of a mode without redrawing the points: the scatterplot's valueA is the point's index
 * within its head (the same in every cell), so a token-based mode is just a palette of P colours;
 * the per-head norm mode colours by valueB (norm scaled per head) through a continuous ramp.
 */
export function colorsFor(mode) {
  if (M.colors && M.colors.key === mode) return M.colors;
  if (mode === 'norm') {
    var ramp = colorCategories('norm', M.tokens, M.N, M.norms.subarray(0, M.P));
    M.colors = { key: mode, byB: true, palette: VIRIDIS,
      legend: Object.assign({}, ramp.legend, { min: 'low', max: 'high' }) };
  } else {
    var c = colorCategories(mode, M.tokens, M.N, M.norms.subarray(0, M.P));
    var perPoint = new Array(M.P);
    for (var p = 0; p < M.P; p++) perPoint[p] = c.palette[c.cat[p]];
    M.colors = { key: mode, cat: c.cat, categories: c.palette, palette: perPoint, legend: c.legend };
  }
  return M.colors;
}

/** 0..255 RGB of all G * P points (3D matrix). */
export function rgbAll(c, out) {
  out = out || new Uint8Array(M.G * M.P * 3);
  var one;
  if (c.byB) {
    var rgb = c.palette.map(hexToRgb), n = rgb.length;
    for (var i = 0; i < M.G * M.P; i++) {
      var col = rgb[Math.min(n - 1, Math.floor(M.normUnit[i] * n))];
      out[3 * i] = col[0]; out[3 * i + 1] = col[1]; out[3 * i + 2] = col[2];
    }
    return out;
  }
  one = rgbFromCategories(c.cat, c.categories);
  for (var g = 0; g < M.G; g++) out.set(one, g * M.P * 3);
  return out;
}

export function background() {
  return cssVar('--card', '#ffffff');
}

/** Palette with the search applied: matches keep their colour, the rest fade towards the background. */
export function searchPalette(c) {
  if (!M.match || !M.match.count || c.byB) return c.palette;
  var bg = hexToRgb(toHex(background()));
  var out = new Array(M.P);
  for (var p = 0; p < M.P; p++) {
    var rgb = hexToRgb(c.palette[p]);
    if (M.match.flags[p < M.N ? p : p - M.N]) { out[p] = c.palette[p]; continue; }
    out[p] = [0, 1, 2].map(function (k) { return (rgb[k] * 0.14 + bg[k] * 0.86) / 255; }).concat([1]);
  }
  return out;
}

/** Draw order of a chunk's points (indices in the chunk) with the search matches last (on top), or null. */
export function searchOrder(chunk) {
  if (!M.match || !M.match.count) return null;
  var heads = chunk.n * M.COLS, order = new Array(heads * M.P), lo = 0, hi, nHit = 0, g, p;
  for (p = 0; p < M.P; p++) if (M.match.flags[p < M.N ? p : p - M.N]) nHit++;
  hi = heads * (M.P - nHit);
  for (g = 0; g < heads; g++) {
    for (p = 0; p < M.P; p++) {
      if (M.match.flags[p < M.N ? p : p - M.N]) order[hi++] = g * M.P + p;
      else order[lo++] = g * M.P + p;
    }
  }
  return order;
}

function toHex(css) {
  if (/^#[0-9a-f]{6}$/i.test(css)) return css;
  var m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css);
  if (!m) return '#ffffff';
  return '#' + [m[1], m[2], m[3]].map(function (x) { var h = Number(x).toString(16); return h.length < 2 ? '0' + h : h; }).join('');
}

/** The search matches in band b (point indices in its chunk): queries and keys of the matching tokens. */
export function selectedIndices(b) {
  if (!M.match || !M.match.count) return [];
  var out = [], first = (b.r0 - b.chunk.r0) * M.COLS;
  for (var g = first; g < first + b.n * M.COLS; g++) {
    for (var t = 0; t < M.N; t++) {
      if (M.match.flags[t]) out.push(g * M.P + t, g * M.P + M.N + t);
    }
  }
  return out;
}

/** Per cell: number of matches and how tightly they cluster in that head (spread, 1 = like all points). */
