/*
 * The matrix view: bring the page to a view state (apply), the 3D matrix (three.js, one viewport
 * per cell), the cells' links and keys, resizing.
 * The cell labels are HTML links laid over the canvas (keyboard focusable; a click opens the head).
 * URL state: ?proj=<method>&dim=<2|3>&color=<mode>&size=1&q=<token search>.
 */
import { byId, el } from '../../core/data.js';
import { fail, hasWebGL, mark, noWebGL as noWebGLNote } from '../site.js';
import { loadPoints } from '../data.js';
import { legend, matchTokens, showControls, sizeLegend, viewState } from '../controls.js';
import { Points3D } from '../points3d.js';
import { draw2d, hide2d, resize2d } from './bands.js';
import { allSpreads, showHits } from './hits.js';
import { background, buildLayout, cellRects, colorsFor, plotSize, rgbAll } from './layout.js';
import { M } from './state.js';

function ensureThree() {
  if (M.three) return M.three;
  M.canvas3 = el('canvas', { class: 'att-canvas3', 'aria-hidden': 'true' });
  M.plot.insertBefore(M.canvas3, M.cellsEl);
  M.three = new Points3D(M.canvas3, { control: M.cellsEl, background: background(), distance: 3.0, noPan: true });
  M.three.controls.enableZoom = false;
  var size = plotSize();
  M.three.setSize(size.w, size.h);
  M.three.setCells(cellRects());
  return M.three;
}

/** Bring the page to state q. timing: the name recorded when the new picture is on screen. */
export function apply(q, timing) {
  var t0 = window.performance.now();
  var next = viewState(M.sec, q);
  var prev = M.view;
  M.view = next;
  showControls(M.sec, next);
  updateLinks();
  if (!timing) {
    if (!prev || prev.entry.name !== next.entry.name) timing = 'switch_projection';
    else if (prev.color !== next.color) timing = 'switch_color';
    else if (prev.size !== next.size) timing = 'switch_size';
    else if (prev.q !== next.q) timing = 'search';
    else timing = 'apply';
  }
  M.status.textContent = 'Drawing ' + (M.G * M.P).toLocaleString() + ' points…';
  M.drawing = M.drawing.then(function () {
    return M.layout[next.entry.name] ? null : loadPoints(next.entry).then(function (d) {
      M.layout[next.entry.name] = buildLayout(next.entry, d);
    });
  }).then(function () {
    if (M.view !== next) return null; // superseded by a newer state
    if (!M.match || M.match.q !== next.q) M.match = Object.assign(matchTokens(M.tokens, next.q), { q: next.q }); // once per search
    var c = colorsFor(next.color);
    if (M.legends !== c.key + '|' + next.size) { // (rebuilt only when they change: a new DOM means a new layout)
      M.legends = c.key + '|' + next.size;
      legend(byId('att-legend'), c.legend);
      sizeLegend(byId('att-size-legend'), next.size);
    }
    showHits();
    if (!hasWebGL()) return noWebGL();
    return next.dim === 3 ? draw3(next, c) : draw2(next);
  }).then(function () {
    return new Promise(function (resolve) { window.requestAnimationFrame(function () { resolve(); }); });
  }).then(function () {
    if (M.view !== next) return;
    mark(timing, timing === 'matrix_drawn' ? 0 : t0);
    var methodName = byId('att-proj').selectedOptions[0] ? byId('att-proj').selectedOptions[0].textContent : next.proj;
    M.status.textContent = M.G + ' heads × ' + M.P.toLocaleString() + ' points (' + M.N.toLocaleString() + ' queries + ' +
      M.N.toLocaleString() + ' keys), ' + methodName + ' ' + next.dim + 'D.';
    document.body.dataset.attReady = String(Number(document.body.dataset.attReady || 0) + 1);
    // the spreads of every head's points, which a search's counts divide by: when the browser is idle
    (window.requestIdleCallback || window.setTimeout)(function () { allSpreads(M.layout[next.entry.name]); });
  }).catch(function (err) { fail(M.status, err); });
  return M.drawing;
}

/** No WebGL: a note above the grid instead of the points; the cells (labels, statistics, search counts, links) stay. */
function noWebGL() {
  var scroll = M.matrixEl.parentNode;
  noWebGLNote(scroll.parentNode, scroll, 'The label and statistics of every head are in the grid below (search counts too), and each cell opens its head.');
}

function draw2(v) {
  if (M.three) M.canvas3.hidden = true;
  M.cellsEl.classList.remove('att-orbit');
  return draw2d();
}

function draw3(v, c) {
  M.canvas.hidden = true;
  hide2d();
  var tr = ensureThree();
  M.canvas3.hidden = false;
  M.cellsEl.classList.add('att-orbit');
  var lay = M.layout[v.entry.name];
  var n = M.G * M.P;
  if (tr._key !== v.entry.name) {
    tr.setData({
      positions: lay.xyz,
      colors: rgbAll(c),
      sizes: new Float32Array(n),
      alpha: new Float32Array(n),
    });
    tr._key = v.entry.name;
    tr._color = c.key;
  } else if (tr._color !== c.key) {
    rgbAll(c, tr.geometry.getAttribute('acolor').array);
    tr.touch('acolor');
    tr._color = c.key;
  }
  var sizes = tr.geometry.getAttribute('asize').array;
  var alpha = tr.geometry.getAttribute('aalpha').array;
  var searching = M.match.count > 0;
  for (var i = 0; i < n; i++) {
    var hit = searching && M.match.flags[i % M.P < M.N ? i % M.P : i % M.P - M.N];
    sizes[i] = (v.size ? 1.2 + M.normUnit[i] * 4 : 2) + (hit ? 2 : 0);
    alpha[i] = searching ? (hit ? 1 : 0.12) : 0.8;
  }
  tr.touch('asize');
  tr.touch('aalpha');
  tr.setCells(cellRects());
  tr.render();
  return Promise.resolve();
}

// ------------------------------------------------------------------ cells (links)

function updateLinks() {
  var extra = new URLSearchParams();
  extra.set('proj', M.view.proj);
  if (M.view.dim === 3) extra.set('dim', '3');
  if (M.view.color !== 'qk') extra.set('color', M.view.color);
  if (M.view.size) extra.set('size', '1');
  if (M.view.q) extra.set('q', M.view.q);
  var tail = extra.toString();
  M.cellLinks.forEach(function (a) {
    a.setAttribute('href', 'attention-head.html?l=' + a.dataset.l + '&h=' + a.dataset.h + (tail ? '&' + tail : ''));
  });
}

export function wireCells() {
  // In 3D a drag on the grid rotates every head at once; a drag must not follow the link.
  var down = null;
  M.cellsEl.addEventListener('pointerdown', function (e) { down = [e.clientX, e.clientY]; });
  M.cellsEl.addEventListener('click', function (e) {
    if (down && Math.abs(e.clientX - down[0]) + Math.abs(e.clientY - down[1]) > 5) e.preventDefault();
    down = null;
  }, true);
  // The orbit controls capture the pointer, so in 3D the click never reaches the link: follow it here.
  M.cellsEl.addEventListener('pointerup', function (e) {
    if (!M.cellsEl.classList.contains('att-orbit') || !down || e.button !== 0) return;
    if (Math.abs(e.clientX - down[0]) + Math.abs(e.clientY - down[1]) > 5) return;
    var r = M.cellsEl.getBoundingClientRect();
    var col = Math.floor((e.clientX - r.left) / r.width * M.COLS), row = Math.floor((e.clientY - r.top) / r.height * M.ROWS);
    if (col < 0 || row < 0 || col >= M.COLS || row >= M.ROWS) return;
    window.location.href = M.cellLinks[row * M.COLS + col].href;
  });
  // Arrow keys move the focus between cells.
  M.cellsEl.addEventListener('keydown', function (e) {
    var a = e.target.closest ? e.target.closest('a.att-cell') : null;
    if (!a) return;
    var g = Number(a.dataset.g), H = M.COLS;
    var to = { ArrowRight: g + 1, ArrowLeft: g - 1, ArrowDown: g + H, ArrowUp: g - H }[e.key];
    if (to === undefined || to < 0 || to >= M.G) return;
    e.preventDefault();
    M.cellLinks[to].focus();
  });
}

var resizeTimer = null;
export function onResize() {
  if (!M.view) return;
  window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(function () {
    var s = plotSize();
    resize2d();
    if (M.three) {
      M.three.setSize(s.w, s.h);
      M.three.setCells(cellRects());
    }
  }, 60);
}

