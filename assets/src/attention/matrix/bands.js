/*
 * The 2D matrix, drawn band by band with regl-scatterplot (window.ReglScatterplot) in ONE WebGL
 * context (see the note below).
 */
import { el } from '../../core/data.js';
import { fail, mark } from '../site.js';
import { loadPoints } from '../data.js';
import { background, buildLayout, colorsFor, plotSize, searchOrder, searchPalette, selectedIndices } from './layout.js';
import { M } from './state.js';

var sizeArray = [1.5, 2, 2.5, 3, 3.5, 4, 5, 6];
var pointIndex = null; // valueA of every point: its index within its head

/**
 * The 2D matrix is drawn band by band: a band is a few whole rows, about a quarter of a window
 * high. The rows are split into chunks about a window high; each chunk of each 2D projection is
 * ONE scatterplot holding that chunk's points, whose canvas is one band high: to draw a band,
 * its camera is moved onto the band and a filter keeps only the band's points (a frame then
 * processes those alone), and the frame is copied into the projection's plot-sized 2D canvas.
 * All scatterplots share ONE regl renderer (one WebGL context) of that band size.
 * Why: under software WebGL a frame costs about its renderer's pixels (float framebuffer clear,
 * gamma pass, read back: 4x fewer pixels drew 3-4x faster here) plus its points, and loading
 * points into a scatterplot costs about their number; a plot-sized renderer with every point
 * (DINOv2: 12 x 6 cells, twice as tall as wide; SmolLM2: 30 x 9) drew the whole tall plot before
 * anything showed. Now the bands in view are drawn first, from the first chunk's points, and the
 * page is ready; the others follow when the browser is idle, and at once when scrolled into view.
 * The renderer is exactly one band high, so no row is lost however tall the plot or small the
 * window. The other 2D projections are drawn in the background too, so a projection switch swaps
 * which canvas is visible.
 */
var BAND_PX = 240; // target height of a band (CSS px)
var CHUNK_PX = 1000; // target height of a chunk (CSS px): about a window
var bands = null; // [{index, r0, n, chunk, points}]: rows [r0, r0 + n), their points' indices in their chunk
var chunks = null; // [{index, r0, n, start, count}]: rows [r0, r0 + n) = points [start, start + count)
var bandRows = 1; // rows per band (the last band may have fewer)
var renderer = null;
var emptyIndex = null; // Promise of a one-point spatial index (see fitRenderer)
// projection name -> {name, canvas, ctx, W, H, shown: [key per band], parts: [per chunk: {sp,
// created, band + top (where its camera is), key (what its frames show now, '' while that is
// changing), sizeKey, styleKey, orderKey}]}
var plots = {};
var pumping = false; // a background drawing step is scheduled
var completeMarked = false;

function makeBands() {
  var rowPx = Math.max(1, M.plot.clientHeight / M.ROWS);
  bandRows = Math.max(1, Math.min(M.ROWS, Math.floor(BAND_PX / rowPx)));
  var chunkRows = bandRows * Math.max(1, Math.floor(CHUNK_PX / rowPx / bandRows));
  chunks = [];
  bands = [];
  for (var c0 = 0; c0 < M.ROWS; c0 += chunkRows) {
    var chunk = { index: chunks.length, r0: c0, n: Math.min(chunkRows, M.ROWS - c0) };
    chunk.start = c0 * M.COLS * M.P;
    chunk.count = chunk.n * M.COLS * M.P;
    chunks.push(chunk);
    for (var r0 = c0; r0 < c0 + chunk.n; r0 += bandRows) {
      var n = Math.min(bandRows, c0 + chunk.n - r0), points = new Array(n * M.COLS * M.P), first = (r0 - c0) * M.COLS * M.P;
      for (var i = 0; i < points.length; i++) points[i] = first + i;
      bands.push({ index: bands.length, r0: r0, n: n, chunk: chunk, points: points });
    }
  }
  pointIndex = new Float32Array(Math.max.apply(null, chunks.map(function (k) { return k.count; })));
  for (var p = 0; p < pointIndex.length; p++) pointIndex[p] = p % M.P;
}

/**
 * Plot and band sizes in device pixels: W x H the plot, h the band canvas (a pixel more than
 * bandRows rows, so neighbouring bands overlap rather than leave a gap), dpr.
 */
function geometry() {
  var s = plotSize(), dpr = window.devicePixelRatio || 1;
  var W = Math.round(s.w * dpr), H = Math.round(s.h * dpr);
  return { W: W, H: H, h: Math.min(H, Math.ceil(bandRows * H / M.ROWS) + 1), dpr: dpr };
}

/** Top pixel row of band b in the plot, and the camera that shows plot rows [top, top + h). */
function bandView(b, geo) {
  var top = Math.round(b.r0 * geo.H / M.ROWS);
  // Data y spans [-1, 1] over the plot's H pixels: centre the camera on the band's pixels, zoomed to them.
  return { top: top, target: [0, 1 - 2 * (top + geo.h / 2) / geo.H], distance: geo.h / geo.H };
}

/** The bands that intersect the window first, then the others by distance from it. */
function bandsByDistance() {
  var r = M.plot.getBoundingClientRect(), rowPx = r.height / M.ROWS, vh = window.innerHeight;
  var dist = function (b) {
    var top = r.top + b.r0 * rowPx, bottom = top + b.n * rowPx;
    return bottom <= 0 ? -bottom : top >= vh ? top - vh : 0;
  };
  return bands.map(function (b) { return { b: b, d: dist(b) }; })
    .sort(function (x, y) { return x.d - y.d || x.b.index - y.b.index; });
}
function visibleBands() {
  return bandsByDistance().filter(function (x) { return x.d === 0; }).map(function (x) { return x.b; });
}

/** The scatterplot settings of view v in colours c. */
function styleProps(v, c) {
  return {
    pointColor: searchPalette(c),
    colorBy: c.byB ? 'valueB' : 'valueA',
    sizeBy: v.size ? 'valueB' : null,
    pointSize: v.size ? sizeArray : 2,
  };
}

/**
 * What the scatterplots must show now, as keys: size (geo), style (colours, dot size, search
 * palette), search order and selection, and all of them in one `key`.
 */
function wanted() {
  var c = colorsFor(M.view.color), geo = geometry();
  var searching = M.match && M.match.count ? M.view.q : '';
  var w = { geo: geo, colors: c, sizeKey: geo.W + 'x' + geo.H + '/' + geo.h, styleKey: c.key + '|' + (M.view.size ? 1 : 0) + '|' + searching,
    orderKey: searching, selKey: c.byB ? searching : '' };
  w.key = [w.sizeKey, w.styleKey, w.orderKey, w.selKey].join('|');
  return w;
}

/** Projection `name`: its plot-sized canvas (resized and cleared when the plot's size changed). */
function plotFor(name) {
  var entry = plots[name];
  if (!entry) {
    var cv = Object.keys(plots).length === 0 ? M.canvas : el('canvas', { class: 'att-canvas2', 'aria-hidden': 'true', hidden: true });
    if (cv !== M.canvas) M.plot.insertBefore(cv, M.cellsEl);
    entry = plots[name] = { name: name, canvas: cv, ctx: cv.getContext('2d'), W: 0, H: 0, shown: [], parts: [] };
  }
  var geo = geometry();
  if (entry.W !== geo.W || entry.H !== geo.H) {
    entry.canvas.width = entry.W = geo.W;
    entry.canvas.height = entry.H = geo.H;
    entry.shown = []; // every band must be drawn again
  }
  return entry;
}

/** The shared renderer, exactly one band in size (created on a canvas of that size: no window-sized framebuffer first). */
function fitRenderer() {
  var geo = geometry();
  if (!renderer) {
    var cv = document.createElement('canvas');
    cv.width = geo.W;
    cv.height = geo.h;
    renderer = window.ReglScatterplot.createRenderer({ canvas: cv });
    // The matrix never picks points (the cell links lie over the canvas), so the scatterplots get
    // a one-point spatial index instead of a k-d tree over all their points (~1 s for 444k points).
    emptyIndex = window.ReglScatterplot.createSpatialIndex([[0, 0]], false);
  }
  if (renderer.canvas.width !== geo.W || renderer.canvas.height !== geo.h) renderer.resize(geo.W / geo.dpr, geo.h / geo.dpr);
}

/** Band b of projection `entry` drawn with the current view and copied into its canvas. */
function drawBand(entry, b) {
  var part = entry.parts[b.chunk.index] || createPart(entry, b);
  return part.created.then(function () {
    var want = wanted();
    if (entry.shown[b.index] === want.key) return null;
    fitRenderer();
    var props = {}, sp = part.sp, settled = null;
    if (part.styleKey !== want.styleKey) Object.assign(props, styleProps(M.view, want.colors));
    if (part.orderKey !== want.orderKey) props.pointOrder = want.orderKey ? searchOrder(b.chunk) : null;
    if (part.sizeKey !== want.sizeKey) {
      // A new size takes effect in set()'s animation frame: frames before it show nothing to rely on.
      Object.assign(props, { width: want.geo.W / want.geo.dpr, height: want.geo.h / want.geo.dpr, aspectRatio: want.geo.W / want.geo.H });
      part.key = '';
      settled = sp.set(props);
    } else if (Object.keys(props).length) {
      sp.set(props); // colours, dot sizes and order take effect at once (set() draws once more in its animation frame)
    }
    part.sizeKey = want.sizeKey;
    part.styleKey = want.styleKey;
    part.orderKey = want.orderKey;
    return Promise.resolve(settled).then(function () {
      var v = bandView(b, want.geo), cam = sp.get('camera');
      cam.lookAt(v.target, v.distance, cam.rotation); // not set(): that would cost a second frame
      part.top = v.top;
      if (part.band !== b.index) { sp.filter(b.points, { preventEvent: true }); part.band = b.index; }
      // The norm colouring goes through valueB, so there the search falls back on a selection.
      if (want.selKey) sp.select(selectedIndices(b), { preventEvent: true });
      else if (sp.get('selectedPoints').length) sp.deselect({ preventEvent: true });
      part.key = want.key;
      var drawn = nextDraw(part);
      sp.redraw();
      return drawn;
    });
  });
}

/**
 * The scatterplot of band b's chunk of projection `entry`: the chunk's points, of which it draws
 * one band at a time (a filter), its camera first on band b.
 */
function createPart(entry, b) {
  fitRenderer();
  var chunk = b.chunk, want = wanted(), v = bandView(b, want.geo);
  var dark = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
  var cv = document.createElement('canvas');
  var sp = window.ReglScatterplot.createScatterplot(Object.assign({
    canvas: cv,
    renderer: renderer,
    width: want.geo.W / want.geo.dpr,
    height: want.geo.h / want.geo.dpr,
    aspectRatio: want.geo.W / want.geo.H,
    cameraTarget: v.target,
    cameraDistance: v.distance,
    cameraIsFixed: true,
    pointScaleMode: 'constant', // the camera zooms onto a band: the dots keep their size
    backgroundColor: background(),
    pointSize: 2,
    opacity: 0.8,
    pointColorActive: dark ? '#ffffff' : '#111111',
    pointOutlineWidth: 1,
    pointSizeSelected: 1,
    opacityInactiveScale: 0.2,
    deselectOnDblClick: false,
    deselectOnEscape: false,
    pointOrder: want.orderKey ? searchOrder(chunk) : null,
  }, styleProps(M.view, want.colors)));
  var part = entry.parts[chunk.index] = { sp: sp, top: v.top, band: b.index, key: want.key,
    sizeKey: want.sizeKey, styleKey: want.styleKey, orderKey: want.orderKey };
  // Every frame of this scatterplot is a band: copy it to its place in the plot (the canvas is
  // transparent between the points: clear what the band showed before).
  sp.subscribe('drawing', function () {
    if (!cv.width || !cv.height) return;
    entry.ctx.clearRect(0, part.top, cv.width, cv.height);
    entry.ctx.drawImage(cv, 0, part.top);
    if (part.key) entry.shown[part.band] = part.key;
  });
  var lay = M.layout[entry.name], a = chunk.start, z = chunk.start + chunk.count;
  part.created = emptyIndex.then(function (index) {
    return sp.draw({ x: lay.x.subarray(a, z), y: lay.y.subarray(a, z), valueA: pointIndex.subarray(0, chunk.count), valueB: M.normUnit.subarray(a, z) }, {
      zDataType: 'categorical', wDataType: 'continuous', spatialIndex: index, filter: b.points,
      select: want.selKey ? selectedIndices(b) : undefined,
    }); // resolves after the first frame: band b
  });
  if (!M.scatter) M.scatter = sp;
  return part;
}

/** Resolves after the scatterplot's next frame (published synchronously right after it is rendered). */
function nextDraw(part) {
  return new Promise(function (resolve) { part.sp.subscribe('drawing', resolve, 1); });
}

/**
 * The bands of the current 2D projection that are in view (or the nearest one, when the plot is
 * scrolled out of the window), brought up to date one after the other.
 */
function drawVisible() {
  var entry = plotFor(M.view.entry.name), list = visibleBands();
  return (list.length ? list : [bandsByDistance()[0].b]).reduce(function (done, b) {
    return done.then(function () { return drawBand(entry, b); });
  }, Promise.resolve());
}

/** Band b of `entry` shows the current view. */
function isFresh(entry, b) {
  return entry.shown[b.index] === wanted().key;
}

/**
 * Background drawing, one band per idle callback: the rest of the current projection (nearest
 * to the window first), then the other 2D projections (loaded and drawn, not shown).
 */
function pump() {
  if (pumping) return;
  pumping = true;
  var idle = window.requestIdleCallback || function (fn) { return window.setTimeout(fn, 30); };
  var t0 = window.performance.now();
  var nextJob = function () {
    if (!M.view || M.view.dim !== 2) return null;
    var name = M.view.entry.name, entry = plotFor(name), i, k;
    var stale = bandsByDistance().filter(function (x) { return !isFresh(entry, x.b); });
    document.body.dataset.attPending = String(stale.length); // bands still to draw (tests wait for 0)
    if (stale.length) return drawBand.bind(null, entry, stale[0].b);
    if (!completeMarked) { completeMarked = true; mark('matrix_complete'); document.body.dataset.attComplete = '1'; }
    var others = M.sec.projections.filter(function (p) { return p.dim === 2 && p.name !== name; });
    for (i = 0; i < others.length; i++) {
      var p = others[i];
      if (!M.layout[p.name]) return loadLayout.bind(null, p);
      var other = plotFor(p.name);
      for (k = 0; k < bands.length; k++) if (!other.shown[k]) return drawBand.bind(null, other, bands[k]);
    }
    if (document.body.dataset.attPreloaded !== '1') { mark('matrix_preloaded', t0); document.body.dataset.attPreloaded = '1'; }
    return null;
  };
  var step = function () {
    // the job is chosen when it runs: by then the view or the scroll position may have changed
    M.drawing = M.drawing.then(function () {
      var job = nextJob();
      if (!job) { pumping = false; return; }
      return job().then(function () { idle(step); });
    }).catch(function (err) { pumping = false; fail(M.status, err); });
  };
  idle(step);
}

function loadLayout(p) {
  return loadPoints(p).then(function (d) { M.layout[p.name] = buildLayout(p, d); });
}

/** Scrolled: draw the bands that came into view now if they are not up to date. */
var scrollQueued = false;
export function onScroll() {
  if (scrollQueued || !M.view || M.view.dim !== 2 || !plots[M.view.entry.name]) return;
  scrollQueued = true;
  window.requestAnimationFrame(function () {
    scrollQueued = false;
    var entry = plots[M.view.entry.name];
    if (visibleBands().every(function (b) { return isFresh(entry, b); })) return;
    M.drawing = M.drawing.then(drawVisible).then(pump).catch(function (err) { fail(M.status, err); });
  });
}

/** Show projection `name` in 2D: its canvas (the others hidden), the bands in view drawn first, the rest in the background. */
export function draw2d(name) {
  if (!bands) makeBands();
  var entry = plotFor(name);
  Object.keys(plots).forEach(function (k) { plots[k].canvas.hidden = plots[k] !== entry; });
  return drawVisible().then(function () {
    document.body.dataset.attPending = String(bands.filter(function (b) { return !isFresh(entry, b); }).length);
    pump();
  });
}

/** Hide every 2D canvas (the 3D view is shown). */
export function hide2d() {
  Object.keys(plots).forEach(function (k) { plots[k].canvas.hidden = true; });
}

/** The plot changed size: the renderer follows, and the bands in view are drawn again (2D). */
export function resize2d() {
  if (!bands) return;
  fitRenderer();
  if (M.view.dim === 2) M.drawing = M.drawing.then(drawVisible).then(pump).catch(function (err) { fail(M.status, err); });
}
