/*
 * The 2D matrix on its canvas (#att-canvas), drawn band by band: a band is one row of cells,
 * drawn on the CPU (raster.js) into a strip of pixels that is then put on the canvas.
 * The bands in view are drawn first (the page is then ready), the others when the browser is
 * idle, and at once when scrolled into view. A band is drawn again only when what it shows
 * changed (paint.js: projection, plot size, colours, dot sizes): a colour switch, dot sizes or a
 * search refill one per-point buffer and redraw the bands in view; the dots' positions are
 * computed once per projection and plot size. When every band is drawn, the other 2D
 * projections' points are loaded in the background, so a projection switch only draws.
 */
import { fail, mark } from '../site.js';
import { loadPoints } from '../data.js';
import { buildLayout, plotSize } from './layout.js';
import { updateDots } from './paint.js';
import { drawDots } from './raster.js';
import { M } from './state.js';

var shown = []; // per band (row of cells): the dots' key it was drawn with
var strip = null; // {img: ImageData, buf: Uint32Array}: one band's pixels, reused
var ctx = null;
var pumping = false; // a background drawing step is scheduled
var completeMarked = false;

/**
 * The canvas at the plot's size in device pixels (a new size clears it: every band is stale) and
 * the dots of the current view. Pixel ratios above 2 are drawn at 2 (the work grows with its
 * square; the browser scales the canvas up).
 */
function prepare() {
  var s = plotSize(), dpr = Math.min(2, window.devicePixelRatio || 1), W = Math.round(s.w * dpr), H = Math.round(s.h * dpr);
  if (M.canvas.width !== W || M.canvas.height !== H) {
    M.canvas.width = W;
    M.canvas.height = H;
    shown = [];
  }
  ctx = ctx || M.canvas.getContext('2d');
  return updateDots(M.view, { W: W, H: H, dpr: dpr });
}

function bandTop(r) {
  return Math.round(r * M.canvas.height / M.ROWS);
}

/** Band r drawn with dots d: background, then its heads' dots (in the dots' order: search matches last, on top). */
function drawBand(r, d) {
  var W = M.canvas.width, top = bandTop(r), h = bandTop(r + 1) - top;
  if (!strip || strip.img.width !== W || strip.img.height < h) {
    var img = ctx.createImageData(W, Math.ceil(M.canvas.height / M.ROWS) + 1);
    strip = { img: img, buf: new Uint32Array(img.data.buffer) };
  }
  var buf = strip.buf.subarray(0, W * h), a = r * M.COLS * M.P, z = a + M.COLS * M.P;
  buf.fill(d.bg);
  drawDots(buf, top * W, d, a, z, M.P);
  ctx.putImageData(strip.img, 0, top, 0, 0, W, h);
  shown[r] = d.key;
}

/** The rows (bands) that intersect the window first, then the others by distance from it. */
function bandsByDistance() {
  var rect = M.plot.getBoundingClientRect(), rowPx = rect.height / M.ROWS, vh = window.innerHeight, out = [];
  for (var r = 0; r < M.ROWS; r++) {
    var top = rect.top + r * rowPx, bottom = top + rowPx;
    out.push({ r: r, d: bottom <= 0 ? -bottom : top >= vh ? top - vh : 0 });
  }
  return out.sort(function (x, y) { return x.d - y.d || x.r - y.r; });
}

/**
 * The stale bands in view (or the nearest one, when the plot is out of the window) drawn now, and
 * `extra` more of the others, nearest first; returns how many are left.
 */
function drawVisible(extra) {
  var d = prepare(), more = extra || 0, left = 0;
  bandsByDistance().forEach(function (x, k) {
    if (shown[x.r] === d.key) return;
    if (x.d === 0 || k === 0 || more-- > 0) drawBand(x.r, d);
    else left++;
  });
  document.body.dataset.attPending = String(left); // bands still to draw (tests wait for 0)
  return left;
}

/**
 * Background work, a step per idle callback: the stale bands of the current projection (nearest
 * to the window first), then the other 2D projections' points loaded.
 */
function pump() {
  if (pumping) return;
  pumping = true;
  var idle = window.requestIdleCallback || function (fn) { return window.setTimeout(fn, 30); };
  var t0 = window.performance.now();
  var step = function () {
    M.drawing = M.drawing.then(function () {
      if (!M.view || M.view.dim !== 2) { pumping = false; return null; }
      if (drawVisible(1)) return idle(step);
      if (!completeMarked) { completeMarked = true; mark('matrix_complete'); document.body.dataset.attComplete = '1'; }
      var other = M.sec.projections.filter(function (p) { return p.dim === 2 && !M.layout[p.name]; })[0];
      if (other) return loadPoints(other).then(function (data) { M.layout[other.name] = buildLayout(other, data); idle(step); });
      if (document.body.dataset.attPreloaded !== '1') { mark('matrix_preloaded', t0); document.body.dataset.attPreloaded = '1'; }
      pumping = false;
      return null;
    }).catch(function (err) { pumping = false; fail(M.status, err); });
  };
  idle(step);
}

/** Scrolled: draw the bands that came into view now if they are stale. */
var scrollQueued = false;
export function onScroll() {
  if (scrollQueued || !M.view || M.view.dim !== 2 || !ctx) return;
  scrollQueued = true;
  window.requestAnimationFrame(function () {
    scrollQueued = false;
    M.drawing = M.drawing.then(function () { if (M.view.dim === 2) { drawVisible(); pump(); } })
      .catch(function (err) { fail(M.status, err); });
  });
}

/** Show the current 2D view: the bands in view drawn now, the rest in the background. */
export function draw2d() {
  M.canvas.hidden = false;
  drawVisible();
  pump();
  return Promise.resolve();
}

/** Hide the 2D canvas (the 3D view is shown). */
export function hide2d() {
  M.canvas.hidden = true;
}

/** The plot changed size: the bands in view are drawn again at the new size (2D). */
export function resize2d() {
  if (!ctx || M.view.dim !== 2) return;
  M.drawing = M.drawing.then(function () { drawVisible(); pump(); }).catch(function (err) { fail(M.status, err); });
}
