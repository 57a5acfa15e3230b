/*
 * The open image of the image browser: drawn large with its patch grid (and, on request, a patch
 * statistic as a mosaic); pointing at a patch (mouse, or the arrow keys on the focused image)
 * selects it.
 */
import { byId, clear, el, setQuery } from '../core/data.js';
import * as IMG from '../core/images.js';
import { VIRIDIS } from '../core/palette.js';
import { fmt, showDetail, unitLabel } from './detail.js';
import { I } from './state.js';

var baseTitle = document.title;

export function close() {
  I.current = null;
  I.view.hidden = true;
  document.title = baseTitle;
}

export function open(i, p) {
  var same = I.current && I.current.i === i;
  I.current = { i: i, p: p, hover: null, scale: same ? I.current.scale : 0 };
  I.view.hidden = false;
  var name = I.sentences.text[i];
  document.title = name + ' · ' + baseTitle; // a string property: never parsed as HTML
  clear(byId('image-title')).appendChild(document.createTextNode(name));
  byId('image-title').appendChild(el('span', { class: 'muted image-index' }, ' #' + i));
  var at = I.matches.indexOf(i);
  byId('img-prev').disabled = at <= 0;
  byId('img-next').disabled = at === -1 || at >= I.matches.length - 1;
  prefixButtons(i);
  IMG.source(I.geo, i).then(function () {
    if (!I.current || I.current.i !== i) return;
    layout();
  }).catch(function (err) {
    I.status.textContent = 'Could not load the image: ' + err.message;
    I.status.className = 'error';
  });
  showDetail(p);
}

/** Size the large canvas to the space available (about 3x, more for tiny images) and draw. */
export function layout() {
  var h = I.geo.size[0], w = I.geo.size[1];
  var body = I.view.querySelector('.image-view-body');
  var avail = body.clientWidth;
  if (avail > 820) avail -= 340; // the detail panel sits beside the image
  var scale = Math.min(avail / w, Math.max(3, 384 / w));
  scale = Math.max(0.5, scale);
  var dpr = window.devicePixelRatio || 1;
  I.current.scale = scale;
  I.canvas.width = Math.round(w * scale * dpr);
  I.canvas.height = Math.round(h * scale * dpr);
  I.canvas.style.width = Math.round(w * scale) + 'px';
  I.canvas.style.height = Math.round(h * scale) + 'px';
  I.view.querySelector('.image-stage').style.width = Math.round(w * scale) + 'px'; // tools and notes wrap to the picture
  draw();
}

export function draw() {
  if (!I.current || !I.current.scale) return;
  var ctx = I.canvas.getContext('2d');
  var h = I.geo.size[0], w = I.geo.size[1], s = I.geo.patch_size, k = I.current.scale;
  var dpr = window.devicePixelRatio || 1;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, I.canvas.width, I.canvas.height);
  ctx.setTransform(k * dpr, 0, 0, k * dpr, 0, 0);
  ctx.imageSmoothingEnabled = k < 2; // enlarged: show the pixels the model saw
  drawImage(ctx, w, h);
  drawOverlay(ctx);
  // the patch grid: a dark line under a light one, visible on any image
  var rows = I.geo.grid[0], cols = I.geo.grid[1];
  ctx.beginPath();
  for (var c = 0; c <= cols; c++) { ctx.moveTo(c * s, 0); ctx.lineTo(c * s, rows * s); }
  for (var r = 0; r <= rows; r++) { ctx.moveTo(0, r * s); ctx.lineTo(cols * s, r * s); }
  ctx.lineWidth = 2 / k;
  ctx.strokeStyle = 'rgba(0,0,0,0.28)';
  ctx.stroke();
  ctx.lineWidth = 1 / k;
  ctx.strokeStyle = 'rgba(255,255,255,0.55)';
  ctx.stroke();
  if (I.current.p !== null && I.current.p < I.geo.n_prefix_tokens) {
    IMG.outline(ctx, 1.5 / k, 1.5 / k, w - 3 / k, h - 3 / k, '#ffd400', 3 / k);
  } else if (I.current.p !== null) {
    var b = IMG.unitBox(I.geo, I.current.p);
    IMG.outline(ctx, b[0], b[1], b[2] - b[0], b[3] - b[1], '#ffd400', 3 / k);
  }
  if (I.current.hover !== null && I.current.hover !== I.current.p) {
    var hb = IMG.unitBox(I.geo, I.current.hover);
    IMG.outline(ctx, hb[0], hb[1], hb[2] - hb[0], hb[3] - hb[1], '#ffffff', 2 / k);
  }
  I.canvas.dataset.drawn = String(I.current.i);
  I.canvas.setAttribute('aria-label', 'Image ' + I.sentences.text[I.current.i] + ', ' + rows + ' by ' + cols + ' patches' +
    (I.current.p !== null ? '; selected: ' + unitLabel(I.current.i, I.current.p) : '') + '. Arrow keys move between patches.');
}

/** The patch statistics the image can be replaced by (a mosaic in viridis, or the mean colours). */
export var OVERLAYS = {
  colour: { label: 'mean colour' },
  brightness: { label: 'brightness', lo: 0, hi: 1 },
  saturation: { label: 'saturation', lo: 0, hi: 1 },
  frequency: { label: 'frequency (cycles per patch)', lo: 0 },
};

/** The patch statistic as a mosaic over the picture, and its legend. */
export function drawOverlay(ctx) {
  var legend = clear(byId('overlay-legend'));
  var spec = OVERLAYS[I.overlay];
  if (!spec) return;
  var s = I.geo.patch_size, cols = I.geo.grid[1], np = I.geo.n_prefix_tokens;
  var start = I.sentences.token_offset[I.current.i] + np, n = I.geo.grid[0] * cols;
  var hi = spec.hi;
  if (hi === undefined && I.overlay !== 'colour') {
    hi = 0;
    for (var q = 0; q < n; q++) hi = Math.max(hi, I.units[I.overlay][start + q]);
    hi = hi > 0 ? hi : 1;
  }
  ctx.save();
  for (var p = 0; p < n; p++) {
    var u = start + p, fill;
    if (I.overlay === 'colour') fill = 'rgb(' + I.units.colour_r[u] + ',' + I.units.colour_g[u] + ',' + I.units.colour_b[u] + ')';
    else fill = VIRIDIS[Math.max(0, Math.min(9, Math.floor((I.units[I.overlay][u] - spec.lo) / (hi - spec.lo) * 10)))];
    ctx.fillStyle = fill;
    ctx.globalAlpha = I.overlay === 'colour' ? 1 : 0.88;
    ctx.fillRect((p % cols) * s, Math.floor(p / cols) * s, s, s);
  }
  ctx.restore();
  if (I.overlay === 'colour') {
    legend.appendChild(document.createTextNode('each patch filled with its mean colour'));
    return;
  }
  legend.appendChild(el('span', null, fmt(spec.lo)));
  legend.appendChild(el('span', { class: 'ramp-bar', 'aria-hidden': 'true' }, VIRIDIS.map(function (c) {
    return el('span', { class: 'ramp', style: { background: c } });
  })));
  legend.appendChild(el('span', null, fmt(hi) + ' ' + spec.label + (spec.hi === undefined ? ' (this image’s maximum)' : '')));
}

var loadedImages = {}; // image index -> drawing source {img, x, y} (IMG.source: a 1x copy)
export function drawImage(ctx, w, h) {
  var i = I.current.i, src = loadedImages[i];
  if (src) {
    ctx.drawImage(src.img, src.x, src.y, w, h, 0, 0, w, h);
    return;
  }
  IMG.source(I.geo, i).then(function (loaded) {
    loadedImages[i] = loaded;
    if (I.current && I.current.i === i) draw();
  });
}

export function unitAtEvent(e) {
  if (!I.current || !I.current.scale) return null;
  var rect = I.canvas.getBoundingClientRect();
  var x = (e.clientX - rect.left) / I.current.scale, y = (e.clientY - rect.top) / I.current.scale;
  if (x < 0 || y < 0 || x >= I.geo.grid[1] * I.geo.patch_size || y >= I.geo.grid[0] * I.geo.patch_size) return null;
  return IMG.unitAt(I.geo, x, y);
}

export function onMove(e) {
  var pos = unitAtEvent(e);
  if (pos === I.current.hover) return;
  I.current.hover = pos;
  draw();
  showDetail(pos === null ? I.current.p : pos);
}

/** Select unit `pos` of the open image; push: a new history entry (clicks), else replace (keys). */
export function choose(pos, push) {
  if (!I.current) return;
  I.current.p = pos;
  setQuery({ i: I.current.i, p: pos }, push);
  prefixButtons(I.current.i);
  draw();
  showDetail(pos);
}

export function onKey(e) {
  if (!I.current) return;
  var np = I.geo.n_prefix_tokens, rows = I.geo.grid[0], cols = I.geo.grid[1];
  var p = I.current.p === null || I.current.p < np ? null : I.current.p - np;
  var r = p === null ? -1 : Math.floor(p / cols), c = p === null ? -1 : p % cols;
  var next = null;
  switch (e.key) {
    case 'ArrowLeft': next = p === null ? 0 : r * cols + Math.max(0, c - 1); break;
    case 'ArrowRight': next = p === null ? 0 : r * cols + Math.min(cols - 1, c + 1); break;
    case 'ArrowUp': next = p === null ? 0 : Math.max(0, r - 1) * cols + c; break;
    case 'ArrowDown': next = p === null ? 0 : Math.min(rows - 1, r + 1) * cols + c; break;
    case 'Home': e.preventDefault(); choose(0, false); return;
    case 'End': next = rows * cols - 1; break;
    case 'Escape': e.preventDefault(); byId('img-close').click(); return;
    default: return;
  }
  e.preventDefault();
  I.current.hover = null;
  choose(np + next, false);
}

export function prefixButtons(i) {
  var box = clear(byId('prefix-units'));
  if (!I.geo.n_prefix_tokens) return;
  box.appendChild(el('span', { class: 'muted' }, 'Prefix tokens: '));
  for (var p = 0; p < I.geo.n_prefix_tokens; p++) {
    (function (pos) {
      box.appendChild(el('button', {
        type: 'button', class: 'tok special', 'aria-pressed': I.current && I.current.p === pos ? 'true' : 'false',
        title: 'A token the model adds before the patches; it sees the whole image',
        onclick: function () { choose(pos, true); },
      }, unitLabel(i, pos)));
    })(p);
  }
}
