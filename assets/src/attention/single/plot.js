/*
 * The plot of one head: 2D with regl-scatterplot (window.ReglScatterplot: pan, zoom, click,
 * lasso; hover picked here), 3D with three.js (orbit controls, screen-space picking). The
 * canvases' events go to the pointer's handlers (pointer.js) and the overlay (overlay.js); the
 * screen position of a point is in screen.js.
 */
import { el, setQuery } from '../../core/data.js';
import { cssVar, noWebGL as noWebGLNote } from '../site.js';
import { rgbFromCategories } from '../colours.js';
import { Points3D } from '../points3d.js';
import { colourKey, readState } from './data.js';
import { drawOverlay, scheduleOverlay } from './overlay.js';
import { clickPoint, onHover, showLasso } from './pointer.js';
import { stageSize } from './screen.js';
import { HOVER_RADIUS, S } from './state.js';

var sizeArray = [2, 3, 4, 5, 6, 7, 8, 10];

// regl-scatterplot highlights a hovered point by redrawing the whole plot (about 35 ms a frame
// under software WebGL) and has no option to turn that off. So it never learns that the mouse
// entered the canvas, which makes it skip its hover ray cast while pan, zoom, click and lasso
// work as before; we pick the hovered point ourselves (pick2) and ring it on the 2D overlay.
export function hideHoverFromScatter() {
  S.canvas.addEventListener('mouseenter', function (e) { e.stopImmediatePropagation(); });
  var leave = function () { S.canvas.dispatchEvent(new window.MouseEvent('mouseleave')); };
  window.addEventListener('blur', leave); // its blur handler re-arms the check on the next move
  return leave;
}

export function ensureScatter() {
  if (S.scatter) return S.scatter;
  var s = stageSize();
  var dark = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
  var leave = hideHoverFromScatter();
  S.scatter = window.ReglScatterplot.createScatterplot({
    canvas: S.canvas, width: s.w, height: s.h,
    backgroundColor: cssVar('--card', '#ffffff'),
    pointSize: 4, opacity: 0.85,
    pointColorActive: dark ? '#ffffff' : '#111111',
    pointOutlineWidth: 1.5, pointSizeSelected: 2, opacityInactiveScale: 0.35,
    lassoColor: '#2f5aa8', deselectOnDblClick: true, deselectOnEscape: true,
  });
  leave();
  S.scatter.subscribe('lassoStart', function () { S.lasso = true; });
  S.scatter.subscribe('select', function (e) {
    var pts = e.points || [];
    if (S.lasso || pts.length > 1) {
      S.lasso = false;
      showLasso(pts);
      return;
    }
    if (pts.length === 1) clickPoint(pts[0]);
  });
  S.scatter.subscribe('deselect', function () {
    showLasso([]);
    if (S.view && S.view.s !== null) { S.view = readState(setQuery({ s: null, t: null, key: null }, true)); S.sentencePts = null; drawOverlay(); }
  });
  S.scatter.subscribe('view', scheduleOverlay);
  S.canvas.addEventListener('mousemove', function (e) {
    S.lastMove = e.timeStamp;
    onHover(e.buttons || !S.view || S.view.dim !== 2 ? -1 : pick2(e.offsetX, e.offsetY, HOVER_RADIUS));
  });
  S.canvas.addEventListener('mouseleave', function () { onHover(-1); });
  return S.scatter;
}

/** Three points of the head spanning the plane (the anchors of the data -> screen map), or null. */
export function anchors(c) {
  var far = 0, i1 = -1, i2 = -1, best = 0, p;
  for (p = 1; p < S.P; p++) {
    var d = Math.abs(c[2 * p] - c[0]) + Math.abs(c[2 * p + 1] - c[1]);
    if (d > far) { far = d; i1 = p; }
  }
  if (i1 < 0) return null;
  var ex = c[2 * i1] - c[0], ey = c[2 * i1 + 1] - c[1];
  for (p = 1; p < S.P; p++) {
    var cross = Math.abs(ex * (c[2 * p + 1] - c[1]) - ey * (c[2 * p] - c[0]));
    if (cross > best) { best = cross; i2 = p; }
  }
  return i2 < 0 ? null : [0, i1, i2];
}

/**
 * Nearest point to screen position (x, y) within radius px in the 2D view, or -1. The camera
 * map is affine, so it is fitted from three anchor points and applied to all P points: one
 * pass of arithmetic, no redraw.
 */
export function pick2(x, y, radius) {
  if (!S.scatter || !S.scatter.get('isPointsDrawn')) return -1;
  var c = S.head.coords;
  if (S.head.anchors === undefined) S.head.anchors = anchors(c);
  var a = S.head.anchors, best = -1, bestD = radius * radius, p, dx, dy, d;
  if (!a) return -1;
  var s0 = S.scatter.getScreenPosition(a[0]), s1 = S.scatter.getScreenPosition(a[1]), s2 = S.scatter.getScreenPosition(a[2]);
  var e1x = c[2 * a[1]] - c[0], e1y = c[2 * a[1] + 1] - c[1], e2x = c[2 * a[2]] - c[0], e2y = c[2 * a[2] + 1] - c[1];
  var det = e1x * e2y - e2x * e1y;
  // screen - s0 = M (data - data0), M = F E^-1 with E = [e1 e2] and F the screen differences
  var f1x = s1[0] - s0[0], f1y = s1[1] - s0[1], f2x = s2[0] - s0[0], f2y = s2[1] - s0[1];
  var m00 = (f1x * e2y - f2x * e1y) / det, m01 = (f2x * e1x - f1x * e2x) / det;
  var m10 = (f1y * e2y - f2y * e1y) / det, m11 = (f2y * e1x - f1y * e2x) / det;
  var ox = x - s0[0], oy = y - s0[1];
  for (p = 0; p < S.P; p++) {
    var u = c[2 * p] - c[0], v = c[2 * p + 1] - c[1];
    dx = m00 * u + m01 * v - ox;
    dy = m10 * u + m11 * v - oy;
    d = dx * dx + dy * dy;
    if (d < bestD) { bestD = d; best = p; }
  }
  return best;
}

/** No WebGL: a note in place of the plot; the metrics, the sentence (image) view and the aggregate stay. */
export function noWebGL() {
  Array.prototype.forEach.call(S.stage.children, function (c) { c.hidden = true; }); // canvases, tooltip, the how-to line
  S.stage.style.aspectRatio = 'auto';
  noWebGLNote(S.stage, S.stage.firstChild, 'The head\'s statistics, the ' + (S.geo ? 'image' : 'sentence') + ' view and the aggregate below still work.');
}

export function draw2(v) {
  if (S.three) S.canvas3.hidden = true;
  S.canvas.hidden = false;
  var sp = ensureScatter();
  // every set() redraws the plot (~0.1-0.3 s under software WebGL): only when the style changed
  var styleKey = S.head.key + '|' + colourKey(v) + '|' + (v.size ? 1 : 0);
  if (sp._styleKey !== styleKey) {
    var sized = S.head.size ? S.head.pointSizes : v.size ? sizeArray : null;
    sp.set({ pointColor: S.head.palette, colorBy: 'valueA', sizeBy: sized ? 'valueB' : null, pointSize: sized || 4 });
    sp._styleKey = styleKey;
  }
  var step;
  if (sp._key !== S.head.key + '|' + colourKey(v)) {
    var x = new Float32Array(S.P), y = new Float32Array(S.P), c = S.head.coords;
    for (var p = 0; p < S.P; p++) { x[p] = c[2 * p]; y[p] = c[2 * p + 1]; }
    var order = S.head.order; // the factor mode: its active points on top
    if (!order) {
      order = new Array(S.P); // interleave queries and keys so neither hides the other
      for (var t = 0; t < S.N; t++) { order[2 * t] = t; order[2 * t + 1] = S.N + t; }
    }
    var opts = { zDataType: 'categorical', wDataType: 'continuous' };
    if (sp._xyKey === S.head.key && sp._spatial) opts.spatialIndex = sp._spatial;
    step = sp.draw({ x: x, y: y, valueA: S.head.cat, valueB: S.head.size || S.head.unit }, opts).then(function () {
      sp.set({ pointOrder: order });
      sp._key = S.head.key + '|' + colourKey(v);
      if (sp._xyKey !== S.head.key) { sp._xyKey = S.head.key; sp._spatial = sp.get('spatialIndex'); }
    });
  } else {
    step = Promise.resolve();
  }
  return step.then(function () {
    if (S.sentencePts) sp.select(Array.from(S.sentencePts), { preventEvent: true });
    else sp.deselect({ preventEvent: true });
  });
}

export function ensureThree() {
  if (S.three) return S.three;
  S.canvas3 = el('canvas', { class: 'att-canvas3', 'aria-label': 'Queries and keys in 3D: drag to rotate, scroll to zoom, hover and click points' });
  S.stage.insertBefore(S.canvas3, S.overlay);
  S.three = new Points3D(S.canvas3, { background: cssVar('--card', '#ffffff'), distance: 2.9 });
  var s = stageSize();
  S.three.setSize(s.w, s.h);
  S.three.onView(scheduleOverlay);
  var down = null;
  S.canvas3.addEventListener('pointerdown', function (e) { down = [e.offsetX, e.offsetY]; });
  S.canvas3.addEventListener('pointermove', function (e) {
    S.lastMove = e.timeStamp;
    if (e.buttons) return;
    onHover(S.three.pick(e.offsetX, e.offsetY, 8));
  });
  S.canvas3.addEventListener('pointerleave', function () { onHover(-1); });
  S.canvas3.addEventListener('pointerup', function (e) {
    if (!down || Math.abs(e.offsetX - down[0]) + Math.abs(e.offsetY - down[1]) > 4) return;
    var i = S.three.pick(e.offsetX, e.offsetY, 8);
    if (i >= 0) clickPoint(i);
  });
  return S.three;
}

export function draw3(v) {
  S.canvas.hidden = true;
  var tr = ensureThree();
  S.canvas3.hidden = false;
  if (tr._key !== S.head.key) {
    tr.setData({ positions: new Float32Array(S.head.coords), colors: new Uint8Array(S.P * 3), sizes: new Float32Array(S.P), alpha: new Float32Array(S.P) });
    tr._key = S.head.key;
  }
  rgbFromCategories(S.head.cat, S.head.palette, tr.geometry.getAttribute('acolor').array);
  var sizes = tr.geometry.getAttribute('asize').array, alpha = tr.geometry.getAttribute('aalpha').array;
  for (var i = 0; i < S.P; i++) {
    var inS = !S.sentencePts || S.sentencePts.has(i);
    sizes[i] = (S.head.size ? (S.head.size[i] ? 2 + S.head.size[i] * 7 : 3) : v.size ? 2 + S.head.unit[i] * 7 : 4) + (S.sentencePts && inS ? 2 : 0);
    alpha[i] = inS ? 0.9 : 0.25;
  }
  tr.touch('acolor'); tr.touch('asize'); tr.touch('aalpha');
  tr.render();
  return Promise.resolve();
}
