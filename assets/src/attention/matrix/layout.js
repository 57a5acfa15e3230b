/*
 * Where the matrix puts each head's points (its grid cell) and what colour they get: the
 * layout of a projection, the cells' rectangles, the colours of a mode.
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
 * Colours of a mode: a token-based mode gives the P points of a head categories (the same in
 * every head, cat) and their colours (categories); the norm mode (byB) colours each point by its
 * norm scaled per head through a ramp (palette).
 */
export function colorsFor(mode) {
  if (M.colors && M.colors.key === mode) return M.colors;
  if (mode === 'norm') {
    var ramp = colorCategories('norm', M.tokens, M.N, M.norms.subarray(0, M.P));
    M.colors = { key: mode, byB: true, palette: VIRIDIS,
      legend: Object.assign({}, ramp.legend, { min: 'low', max: 'high' }) };
  } else {
    var c = colorCategories(mode, M.tokens, M.N, M.norms.subarray(0, M.P));
    M.colors = { key: mode, cat: c.cat, categories: c.palette, legend: c.legend };
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

/** A CSS colour (#rrggbb or rgb()) as #rrggbb. */
export function toHex(css) {
  if (/^#[0-9a-f]{6}$/i.test(css)) return css;
  var m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css);
  if (!m) return '#ffffff';
  return '#' + [m[1], m[2], m[3]].map(function (x) { var h = Number(x).toString(16); return h.length < 2 ? '0' + h : h; }).join('');
}
