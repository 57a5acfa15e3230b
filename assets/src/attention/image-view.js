/*
 * The image view of the single-head page on image sites (it replaces the sentence view), after
 * AttentionViz (Yeh et al. 2023, Figs. 1 and 13): the sample image at ~3x with the selected
 * unit's attention as a heat map, arrows from every patch to its most-attended unit, weighted
 * lines to the selected query's strongest keys, the selected patch outlined (green = query,
 * pink = key) and a strip of the prefix tokens ([CLS], registers) under the image.
 * An image's units are its prefix tokens then its patches row-major; its L x L weights are
 * weightAt(h * total_pairs + pair_offset[s] + q * L + k). Image names (user file names) reach
 * the DOM only as text.
 */
import { clear, el } from '../core/data.js';
import * as IMG from '../core/images.js';
import { blockWeights, reweight } from './data.js';
import { KEY, QUERY } from '../core/palette.js';

var ARROW_MIN = 0.05, LINE_MIN = 0.02, LINES = 6;
var Q_RGB = [77, 146, 33], K_RGB = [197, 27, 125];

/**
 * The L x L weights of image s for head h (rows = queries), Float32Array; with vrow (the units'
 * value norms) weighted by value norm and renormalised per query.
 */
export function imageWeights(sec, sentences, layerData, h, s, vrow) {
  return reweight(blockWeights(sec, sentences, layerData, h, s), sentences.n_tokens[s], null, vrow || null);
}

/** Display scale of an image: about 3x for 224 px, larger for tiny images (~480 px wide). */
export function imageScale(geo) {
  return Math.max(3, Math.floor(480 / geo.size[1]));
}

function centre(geo, pos) {
  var b = IMG.unitBox(geo, pos);
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

function prefixName(tokens, sentences, s, pos) {
  return tokens.text[sentences.token_offset[s] + pos];
}

/**
 * Render (or update) the image view. opts: {sec, geo, tokens, sentences, layerData, head, s,
 * t (selected position or null), key (true: t is selected as a key), heat, arrows, vrow (value
 * norms of the image's units: heat map, arrows and lines weighted by value norm; or null),
 * onSelect(pos, asKey)}. Returns {canvas, ready (Promise, resolves when drawn)}.
 */

/** Where the image view reads its weights: a test may swap in synthetic ones (through the head
 * page's inspect handle); the page itself never changes it. */
export const imageHooks = { weights: imageWeights };

export function imageView(container, opts) {
  var geo = opts.geo, tokens = opts.tokens, sentences = opts.sentences, s = opts.s;
  var L = sentences.n_tokens[s], np = geo.n_prefix_tokens, nPatch = L - np;
  var w = imageHooks.weights(opts.sec, sentences, opts.layerData, opts.head, s, opts.vrow);
  var sel = opts.t === null || opts.t === undefined ? null : Math.max(0, Math.min(L - 1, opts.t));
  var asKey = !!opts.key && sel !== null;
  var scale = imageScale(geo), W = geo.size[1], H = geo.size[0], ps = geo.patch_size;
  var image = Number(sentences.sentence_id ? sentences.sentence_id[s] : s);
  var hadFocus = document.activeElement && container.contains(document.activeElement) ?
    document.activeElement.dataset.focusKey || null : null;

  var made = IMG.imageCanvas(geo, image, scale);
  var canvas = made.canvas, ctx = made.ctx;
  canvas._weights = w; // what the heat map, arrows and lines were drawn from (tests read it)
  canvas.className = 'tfvis-image att-image-canvas';
  canvas.tabIndex = 0;
  canvas.dataset.focusKey = 'image';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', 'Image ' + s + ' at ' + scale + 'x: click a patch to make it the query; ' +
    'arrow keys move the selected patch, K switches between query and key');

  // what the heat map shows: the selected query's row, or the selected key's column
  var heat = new Float32Array(nPatch), vmax = 0, p, k;
  if (sel !== null) {
    for (p = 0; p < nPatch; p++) {
      heat[p] = asKey ? w[(np + p) * L + sel] : w[sel * L + np + p];
      if (heat[p] > vmax) vmax = heat[p];
    }
  }
  var sq = new Float32Array(nPatch);
  for (p = 0; p < nPatch; p++) sq[p] = Math.sqrt(heat[p]);

  // most-attended unit of every patch (the Fig. 13 arrows)
  var best = new Int32Array(nPatch), bestW = new Float32Array(nPatch);
  for (p = 0; p < nPatch; p++) {
    var q = np + p, bk = 0, bw = -1;
    for (k = 0; k < L; k++) if (w[q * L + k] > bw) { bw = w[q * L + k]; bk = k; }
    best[p] = bk; bestW[p] = bw;
  }

  // strongest partners of the selection: keys of a query, or queries of a key
  var partners = [];
  if (sel !== null) {
    for (k = 0; k < L; k++) partners.push([k, asKey ? w[k * L + sel] : w[sel * L + k]]);
    partners.sort(function (a, b) { return b[1] - a[1]; });
    partners = partners.slice(0, LINES).filter(function (x) { return x[1] >= LINE_MIN; });
  }

  function draw(src) {
    ctx.setTransform(scale * (window.devicePixelRatio || 1), 0, 0, scale * (window.devicePixelRatio || 1), 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.drawImage(src.img, src.x, src.y, W, H, 0, 0, W, H);  // a 1x copy of the image (IMG.source)
    var px = 1 / scale; // one CSS pixel in image pixels
    if (opts.heat && sel !== null && vmax > 0) {
      // a spotlight (the unattended patches darkened, so it reads on any image) plus a tint
      var top = Math.sqrt(vmax), cols = geo.grid[1];
      for (var p3 = 0; p3 < nPatch; p3++) {
        ctx.fillStyle = 'rgba(0,0,0,' + (0.72 * (1 - sq[p3] / top)).toFixed(3) + ')';
        ctx.fillRect((p3 % cols) * ps, Math.floor(p3 / cols) * ps, ps, ps);
      }
      IMG.heatmap(ctx, geo, sq, top, asKey ? Q_RGB : K_RGB, 0.45);
    }
    if (opts.arrows) drawArrows(px);
    if (sel !== null) drawPartners(px);
    if (sel !== null && sel >= np) {
      var b = IMG.unitBox(geo, sel);
      IMG.outline(ctx, b[0], b[1], b[2] - b[0], b[3] - b[1], asKey ? KEY : QUERY, 3 * px);
    }
    // what was drawn, for tests and screen readers' benefit in the readout below
    canvas.dataset.sel = sel === null ? '' : String(sel);
    canvas.dataset.kind = sel === null ? '' : (asKey ? 'key' : 'query');
    canvas.dataset.heat = opts.heat && sel !== null && vmax > 0 ? '1' : '0';
    canvas.dataset.arrows = String(nArrows);
    canvas.dataset.drawn = String(Number(canvas.dataset.drawn || 0) + 1);
    return canvas;
  }

  function halo(path, width, colour, alpha) {
    ctx.globalAlpha = alpha;
    ctx.lineWidth = width * 2.2;
    ctx.strokeStyle = 'rgba(255,255,255,0.85)';
    path(); ctx.stroke();
    ctx.lineWidth = width;
    ctx.strokeStyle = colour;
    path(); ctx.stroke();
    ctx.globalAlpha = 1;
  }

  var nArrows = 0;
  function drawArrows(px) {
    ctx.save();
    ctx.lineCap = 'round';
    for (var p2 = 0; p2 < nPatch; p2++) {
      if (bestW[p2] < ARROW_MIN) continue;
      var q2 = np + p2, a = centre(geo, q2), to = best[p2], alpha = 0.45 + 0.55 * Math.min(1, bestW[p2]);
      nArrows++;
      if (to === q2) { // itself: a small circle
        halo(function () { ctx.beginPath(); ctx.arc(a[0], a[1], ps * 0.16, 0, 2 * Math.PI); }, 1.4 * px, '#1d1f23', alpha);
      } else if (to < np) { // [CLS] / a register: a small square
        var r = ps * 0.14;
        ctx.globalAlpha = alpha;
        ctx.fillStyle = 'rgba(255,255,255,0.85)';
        ctx.fillRect(a[0] - r - px, a[1] - r - px, 2 * r + 2 * px, 2 * r + 2 * px);
        ctx.fillStyle = '#1d1f23';
        ctx.fillRect(a[0] - r, a[1] - r, 2 * r, 2 * r);
        ctx.globalAlpha = 1;
      } else {
        var b = centre(geo, to), dx = b[0] - a[0], dy = b[1] - a[1], len = Math.sqrt(dx * dx + dy * dy);
        var ux = dx / len, uy = dy / len, head = Math.min(ps * 0.35, len * 0.4);
        var tip = [b[0] - ux * ps * 0.12, b[1] - uy * ps * 0.12];
        halo(function () {
          ctx.beginPath();
          ctx.moveTo(a[0], a[1]);
          ctx.lineTo(tip[0], tip[1]);
          ctx.moveTo(tip[0] - ux * head - uy * head * 0.5, tip[1] - uy * head + ux * head * 0.5);
          ctx.lineTo(tip[0], tip[1]);
          ctx.lineTo(tip[0] - ux * head + uy * head * 0.5, tip[1] - uy * head - ux * head * 0.5);
        }, 1.4 * px, '#1d1f23', alpha);
      }
    }
    ctx.restore();
  }

  function drawPartners(px) {
    if (sel < np) return; // a prefix token has no place on the image: the heat map says it all
    var a = centre(geo, sel), colour = asKey ? QUERY : KEY;
    ctx.save();
    ctx.lineCap = 'round';
    partners.forEach(function (pw) {
      if (pw[0] === sel || pw[0] < np) return; // itself / prefix tokens: see the outline and the strip
      var b = centre(geo, pw[0]);
      halo(function () { ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); },
        (1.5 + 7 * pw[1]) * px, colour, Math.max(0.25, Math.min(1, 0.25 + pw[1] * 1.5)));
      ctx.fillStyle = colour;
      ctx.beginPath(); ctx.arc(b[0], b[1], 3 * px, 0, 2 * Math.PI); ctx.fill();
    });
    ctx.restore();
  }

  var ready = IMG.source(geo, image).then(draw);

  // interaction: click a patch = select it as the query; arrow keys move the selection
  canvas.addEventListener('click', function (e) {
    var r = canvas.getBoundingClientRect();
    var x = (e.clientX - r.left) / r.width * W, y = (e.clientY - r.top) / r.height * H;
    opts.onSelect(IMG.unitAt(geo, x, y), false);
  });
  canvas.addEventListener('keydown', function (e) {
    var d = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] }[e.key];
    if (d) {
      e.preventDefault();
      e.stopPropagation();
      var cell = sel === null ? null : IMG.unitCell(geo, sel);
      if (!cell) cell = { row: 0, col: 0 }; else { cell.row += d[0]; cell.col += d[1]; }
      cell.row = Math.max(0, Math.min(geo.grid[0] - 1, cell.row));
      cell.col = Math.max(0, Math.min(geo.grid[1] - 1, cell.col));
      opts.onSelect(np + cell.row * geo.grid[1] + cell.col, asKey);
    } else if ((e.key === 'k' || e.key === 'K') && sel !== null) {
      e.preventDefault();
      opts.onSelect(sel, !asKey);
    }
  });

  // the prefix tokens under the image: the selection's weight to (or from) each; click = select as query
  var strip = el('div', { class: 'att-prefix-strip', role: 'group', 'aria-label': 'Prefix tokens ([CLS], registers)' },
    el('span', { class: 'att-prefix-title muted' }, sel === null ? 'prefix tokens:' :
      (asKey ? 'their attention to this key:' : 'attention to the prefix tokens:')));
  for (var pp = 0; pp < np; pp++) {
    var v = sel === null ? null : (asKey ? w[pp * L + sel] : w[sel * L + pp]);
    var name = prefixName(tokens, sentences, s, pp);
    var rgb = asKey ? Q_RGB : K_RGB;
    var btn = el('button', {
      type: 'button', class: 'att-prefix' + (sel === pp ? ' att-prefix-sel' : ''),
      'aria-pressed': sel === pp ? 'true' : 'false', 'data-pos': String(pp), 'data-focus-key': 'prefix' + pp,
      title: 'Select ' + name + ' as the query (its attention over the patches becomes the heat map)',
      style: v === null ? null : { background: 'rgba(' + rgb.join(',') + ',' + (0.85 * Math.sqrt(v)).toFixed(3) + ')', color: v > 0.3 ? '#fff' : null },
    }, name, v === null ? null : el('span', { class: 'att-prefix-w' }, ' ' + v.toFixed(2)));
    btn.addEventListener('click', (function (pos) { return function () { opts.onSelect(pos, false); }; })(pp));
    strip.appendChild(btn);
  }

  // what is selected, in words
  var read = el('p', { class: 'att-image-read', 'aria-live': 'polite' });
  if (sel === null) {
    read.textContent = 'Nothing selected: click a patch (or a prefix token) to see its attention.';
  } else {
    var nm = function (pos) { return pos < np ? prefixName(tokens, sentences, s, pos) : IMG.unitName(geo, pos); };
    read.appendChild(el('span', { class: asKey ? 'att-kind-k' : 'att-kind-q' }, (asKey ? 'key ' : 'query ') + nm(sel)));
    read.appendChild(document.createTextNode((asKey ? ' — queries attending to it most: ' : ' — its strongest keys: ') +
      (partners.map(function (x) { return nm(x[0]) + ' ' + x[1].toFixed(2); }).join(' · ') || 'none ≥ ' + LINE_MIN) +
      (sel >= np ? '; its own most-attended unit: ' + nm(best[sel - np]) + ' ' + bestW[sel - np].toFixed(2) : '')));
  }

  var legend = el('ul', { class: 'att-swatches att-image-legend' },
    el('li', null, el('span', { class: 'att-swatch', style: { background: asKey ? QUERY : KEY } }),
      asKey ? 'heat: queries attending to the selected key' : 'heat: where the selected query looks (bright and tinted = high weight; square-root scale)'),
    el('li', null, el('span', { class: 'att-swatch att-swatch-sq', style: { border: '2px solid ' + QUERY } }), 'selected query'),
    el('li', null, el('span', { class: 'att-swatch att-swatch-sq', style: { border: '2px solid ' + KEY } }), 'selected key'),
    el('li', null, '→ most-attended patch · ○ itself · ■ [CLS] / register'));

  var stageEl = el('div', { class: 'att-image-stage' }, canvas);
  clear(container).appendChild(el('div', { class: 'att-image-wrap' }, stageEl, strip, read, legend));
  if (hadFocus) {
    var again = container.querySelector('[data-focus-key="' + hadFocus + '"]');
    if (again) again.focus();
  }
  return { canvas: canvas, ready: ready };
}

