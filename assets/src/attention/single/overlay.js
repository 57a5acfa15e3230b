/*
 * The 2D canvas over the plot: attention lines (a query's top-2 keys, weight >= 0.05, opacity =
 * weight), search rings, the hovered point and, when zoomed in, token labels placed without
 * overlap (image sites: each point drawn as its patch).
 */
import { cssVar } from '../site.js';
import { KEY, QUERY } from '../../core/palette.js';
import { drawThumb } from '../image-offset.js';
import { imageOf, linesFor } from './data.js';
import { screenPos, stageSize } from './screen.js';
import { LABEL_LIMIT, LABEL_MAX_POINTS, S, THUMB_MAX_POINTS, THUMB_SIDE } from './state.js';

var overlayPending = false;
var labelCache = null; // placed labels [text, x, y, isQuery] until the view changes
var thumbCache = null; // {canvas, count} until the view changes (reset with labelCache)

/** The view moved or changed: labels and thumbnails are placed again on the next overlay. */
export function invalidate() {
  labelCache = null;
  if (thumbCache) thumbCache.stale = true;
}
export function scheduleOverlay() {
  invalidate();
  if (overlayPending) return;
  overlayPending = true;
  window.requestAnimationFrame(function () { overlayPending = false; drawOverlay(); });
}

/** Draw the overlay for the current view: image layer, search rings, lines, hovered point, labels. */
export function drawOverlay() {
  if (!S.view || !S.head) return;
  var s = stageSize(), dpr = window.devicePixelRatio || 1;
  if (S.overlay.width !== Math.round(s.w * dpr) || S.overlay.height !== Math.round(s.h * dpr)) {
    S.overlay.width = Math.round(s.w * dpr);
    S.overlay.height = Math.round(s.h * dpr);
  }
  var ctx = S.overlay.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, s.w, s.h);
  if (S.view.dim === 3) { if (!S.three) return; S.three.updateProjection(); } else if (!S.scatter || !S.scatter.get('isPointsDrawn')) return;
  var fg = cssVar('--fg', '#1d1f23'), bg = cssVar('--card', '#ffffff');
  if (S.geo) drawImageLayer(ctx, s, fg);
  // search rings
  if (S.match.count) {
    ctx.strokeStyle = fg;
    ctx.lineWidth = 1.5;
    for (var t = 0; t < S.N; t++) {
      if (!S.match.flags[t]) continue;
      [t, S.N + t].forEach(function (i) {
        var p = screenPos(i);
        if (!p) return;
        ctx.beginPath();
        ctx.arc(p[0], p[1], 6, 0, 2 * Math.PI);
        ctx.stroke();
      });
    }
  }
  // attention lines: pinned token and hovered point
  var lines = [];
  if (S.view.s !== null && S.view.t !== null) {
    var tp = S.sentences.token_offset[S.view.s] + Math.min(S.view.t, S.sentences.n_tokens[S.view.s] - 1);
    lines = lines.concat(linesFor(tp));
  }
  if (S.hovered >= 0) lines = lines.concat(linesFor(S.hovered));
  ctx.lineWidth = 2.5;
  lines.forEach(function (l) {
    var a = screenPos(l[0]), b = screenPos(l[1]);
    if (!a || !b) return;
    ctx.strokeStyle = fg;
    ctx.globalAlpha = Math.max(0.15, Math.min(1, l[2]));
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.fillStyle = fg;
    ctx.beginPath();
    ctx.arc(b[0], b[1], 3, 0, 2 * Math.PI);
    ctx.fill();
  });
  if (S.hovered >= 0) {
    var hp = screenPos(S.hovered);
    if (hp) {
      ctx.lineWidth = 2;
      ctx.strokeStyle = bg;
      ctx.beginPath(); ctx.arc(hp[0], hp[1], 7, 0, 2 * Math.PI); ctx.stroke();
      ctx.strokeStyle = fg;
      ctx.beginPath(); ctx.arc(hp[0], hp[1], 5.5, 0, 2 * Math.PI); ctx.stroke();
    }
  }
  drawLabels(ctx, s, fg, bg);
}

/**
 * Image sites: prefix tokens ([CLS], registers) get a square marker; when zoomed in to at most
 * THUMB_MAX_POINTS points in view, every point in view is drawn as its patch (2 x 2 patches of
 * context), framed green (query) or pink (key). The thumbnails are drawn once per view into a
 * cached canvas, so hovering only blits it.
 */
export function drawImageLayer(ctx, size, fg) {
  if (S.view.dim === 2 && S.sheetsReady) {
    if (!thumbCache || thumbCache.stale) thumbCache = buildThumbs(size);
    if (thumbCache.count) ctx.drawImage(thumbCache.canvas, 0, 0, size.w, size.h);
  }
  var np = S.geo.n_prefix_tokens;
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = fg;
  for (var s = 0; s < S.sec.n_sentences; s++) {
    var start = S.sentences.token_offset[s];
    for (var j = 0; j < np; j++) {
      [start + j, S.N + start + j].forEach(function (i) {
        var p = screenPos(i);
        if (p) ctx.strokeRect(p[0] - 5, p[1] - 5, 10, 10);
      });
    }
  }
}

export function buildThumbs(size) {
  var inView = S.view.dim === 2 && S.scatter ? S.scatter.get('pointsInView') : null;
  if (!inView || !inView.length || inView.length > THUMB_MAX_POINTS) {
    document.body.dataset.attThumbs = '0';
    return { canvas: thumbCache && thumbCache.canvas, count: 0, empty: true };
  }
  var dpr = window.devicePixelRatio || 1;
  var cv = thumbCache && thumbCache.canvas ? thumbCache.canvas : document.createElement('canvas');
  cv.width = Math.round(size.w * dpr);
  cv.height = Math.round(size.h * dpr);
  var c = cv.getContext('2d');
  c.setTransform(dpr, 0, 0, dpr, 0, 0);
  c.clearRect(0, 0, size.w, size.h);
  c.imageSmoothingEnabled = false; // patches stay crisp when enlarged
  var side = inView.length > 150 ? THUMB_SIDE : Math.round(THUMB_SIDE * 1.5);
  // the selected image's points last (on top)
  var list = Array.prototype.slice.call(inView).sort(function (a, b) {
    return (S.sentencePts && S.sentencePts.has(a) ? 1 : 0) - (S.sentencePts && S.sentencePts.has(b) ? 1 : 0);
  });
  var drawn = 0;
  for (var k = 0; k < list.length; k++) {
    var i = list[k], t = i < S.N ? i : i - S.N, p = screenPos(i);
    if (!p || p[0] < -side || p[1] < -side || p[0] > size.w + side || p[1] > size.h + side) continue;
    var image = imageOf(S.tokens.sentence[t]);
    if (drawThumb(c, S.geo, image, S.tokens.position[t], p[0], p[1], side, i < S.N ? QUERY : KEY)) drawn++;
  }
  thumbCache = { canvas: cv, count: drawn };
  document.body.dataset.attThumbs = String(drawn);
  return thumbCache;
}

/** Image index (row of data/sentences.parquet, as core/images.js counts) of sample image s. */

export function drawLabels(ctx, size, fg, bg) {
  if (S.view.dim === 3) return; // labels only in 2D (3D shows the tooltip)
  if (S.geo && thumbCache && thumbCache.count) return; // the thumbnails say more than "patch r,c"
  ctx.font = '11px ' + cssVar('--mono', 'monospace');
  ctx.textBaseline = 'middle';
  if (!labelCache) labelCache = placeLabels(ctx, size);
  ctx.lineWidth = 3;
  for (var k = 0; k < labelCache.length; k++) {
    var L = labelCache[k];
    ctx.strokeStyle = bg;
    ctx.strokeText(L[0], L[1], L[2]);
    ctx.fillStyle = L[3] ? '#276419' : '#8e0152';
    ctx.fillText(L[0], L[1], L[2]);
  }
}

export function placeLabels(ctx, size) {
  var cand = [], out = [];
  var i;
  var inView = S.scatter.get('pointsInView');
  if (!inView || inView.length > LABEL_MAX_POINTS) return out;
  for (var k = 0; k < inView.length; k++) {
    i = inView[k];
    var t = i < S.N ? i : i - S.N;
    var prio = (S.match.flags[t] ? 4 : 0) + (S.sentencePts && S.sentencePts.has(i) ? 2 : 0) + S.head.unit[i];
    cand.push([prio, i]);
  }
  cand.sort(function (a, b) { return b[0] - a[0]; });
  var placed = [];
  for (var c = 0; c < cand.length && placed.length < LABEL_LIMIT; c++) {
    i = cand[c][1];
    var p = screenPos(i);
    if (!p || p[0] < 0 || p[1] < 0 || p[0] > size.w || p[1] > size.h) continue;
    var tok = S.tokens.text[i < S.N ? i : i - S.N];
    var text = (i < S.N ? 'q ' : 'k ') + tok;
    var w = ctx.measureText(text).width + 4, h = 13;
    var box = null;
    var spots = [[6, -h / 2], [-w - 6, -h / 2], [-w / 2, -h - 4], [-w / 2, 5]];
    for (var sidx = 0; sidx < spots.length && !box; sidx++) {
      var b = [p[0] + spots[sidx][0], p[1] + spots[sidx][1], w, h];
      var free = true;
      for (var j = 0; j < placed.length && free; j++) {
        var o = placed[j];
        if (b[0] < o[0] + o[2] && b[0] + b[2] > o[0] && b[1] < o[1] + o[3] && b[1] + b[3] > o[1]) free = false;
      }
      if (free) box = b;
    }
    if (!box) continue;
    placed.push(box);
    out.push([text, box[0] + 2, box[1] + h / 2, i < S.N]);
  }
  return out;
}

