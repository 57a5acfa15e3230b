/*
 * attention-single.js: one head (attention-head.html). 2D: regl-scatterplot (pan/zoom, hover,
 * click, lasso); 3D: three.js with orbit controls and screen-space picking. A 2D canvas overlay
 * draws attention lines (a query's top-2 keys, weight >= 0.05, opacity = weight), search rings
 * and, when zoomed in, token labels placed without overlap. Below: the sentence view and the
 * aggregate heat map (attention-sentence.js). Image sites: the image view and the 2D-offset
 * aggregate (attention-image.js) instead, and when zoomed in each point is drawn as its patch.
 * URL state: ?l=&h=&proj=&dim=&color=&size=1&q=&s=<sample sentence>&t=<position>&hide=cls,sep,first
 * &vnorm=1 (weight by value norm: sentence / image view and the plot's lines)
 * (image sites: &key=1 = t selected as a key, &heat=0 / &arrows=0 = heat map / arrows off)
 * Causal models (decoders): every view reads a query's weights over its visible keys only.
 */
(function () {
  'use strict';
  var T = window.TFVIS;
  var A = window.TFVIS_ATT;
  var el = T.el;
  var $ = function (id) { return document.getElementById(id); };

  var status = $('att-status');
  var stage = $('att-stage');
  var canvas = $('att-canvas');
  var overlay = $('att-overlay');
  var tooltip = $('att-tooltip');
  var LINE_MIN = 0.05, LINES = 2, LABEL_MAX_POINTS = 1500, LABEL_LIMIT = 160, HOVER_RADIUS = 7;
  // Image sites: with at most THUMB_MAX_POINTS points in view, each is drawn as its patch.
  var THUMB_MAX_POINTS = 400, THUMB_SIDE = 30;
  var IMG = window.TFVIS_IMG, geo = null, sheetsReady = false;

  var sec, tokens, sentences, norms, vnorms, N, P, H, K, G, linker;
  var points = {}; // projection name -> Float32Array (all heads)
  var layers = {}; // layer -> promise of layer data
  var aggregate = null;
  var view = null; // current state
  var scatter = null, three = null, canvas3 = null;
  var head = null; // {g, l, h, coords (P*dim), dim, cat, palette, sizes}
  var match = { flags: new Uint8Array(0), count: 0 };
  var hovered = -1;
  var lasso = false;
  var sentencePts = null; // Set of point indices of the highlighted sentence
  var hoverLatency = [];
  var hoverParts = []; // [mousemove -> our handler, our handler] ms
  var lastMove = 0;
  var queue = Promise.resolve();
  var sizeArray = [2, 3, 4, 5, 6, 7, 8, 10];

  A.section().then(function (s) {
    sec = s;
    N = sec.n_tokens; P = sec.n_points; H = sec.model.n_heads; K = sec.top_k;
    G = sec.model.n_layers * H;
    geo = A.image;
    if (geo) {
      IMG.loadAll(geo).then(function () { sheetsReady = true; invalidate(); drawOverlay(); })
        .catch(function (err) { if (window.console) window.console.warn(err); });
    }
    var q = T.query();
    var v = state(q);
    A.showControls(sec, v);
    return Promise.all([A.loadTokens(sec), A.loadSentences(sec), A.loadNorms(sec), A.loadPoints(v.entry), loadLayer(v.l),
      A.loadValueNorms(sec)])
      .then(function (r) {
        tokens = r[0]; sentences = r[1]; norms = r[2]; points[v.entry.name] = r[3]; vnorms = r[5];
        A.mark('head_data');
        A.wireControls(function (patch, push) { apply(T.setQuery(patch, push)); });
        T.onState(apply);
        wire();
        linker = A.tokenBrowserLinker(sentences);
        if (!geo) A.loadAggregate(sec).then(function (a) { aggregate = a; if (view) showAggregate(); });
        new window.ResizeObserver(onResize).observe(stage);
        return apply(q, 'head_drawn');
      });
  }).catch(function (err) { A.fail(status, err); });

  function loadLayer(l) {
    if (!layers[l]) layers[l] = A.loadLayer(sec, l);
    return layers[l];
  }

  function clampInt(v, lo, hi, dflt) {
    var n = parseInt(v, 10);
    if (!isFinite(n)) return dflt;
    return Math.max(lo, Math.min(hi, n));
  }

  function state(q) {
    var v = A.viewState(sec, q);
    v.l = clampInt(q.l, 0, sec.model.n_layers - 1, 0);
    v.h = clampInt(q.h, 0, H - 1, 0);
    v.g = v.l * H + v.h;
    v.s = q.s === undefined ? null : clampInt(q.s, 0, sec.n_sentences - 1, null);
    v.t = q.t === undefined || v.s === null ? null : clampInt(q.t, 0, 4096, null);
    var hide = (q.hide || '').split(',');
    v.hide = { cls: hide.indexOf('cls') !== -1, sep: hide.indexOf('sep') !== -1, first: hide.indexOf('first') !== -1 };
    v.key = q.key === '1' && v.t !== null;
    v.heat = q.heat !== '0';
    v.arrows = q.arrows !== '0';
    v.vnorm = q.vnorm === '1' && !!sec.files.value_norms;
    return v;
  }

  // ------------------------------------------------------------------ apply a state

  function apply(q, mark) {
    var t0 = window.performance.now();
    var next = state(q);
    var prev = view;
    view = next;
    A.showControls(sec, next);
    // the live probe (live-attention.js) follows the head shown
    document.dispatchEvent(new CustomEvent('tfvis:head', { detail: { l: next.l, h: next.h, hide: next.hide } }));
    if (!mark) {
      if (!prev || prev.g !== next.g) mark = 'switch_head';
      else if (prev.entry.name !== next.entry.name) mark = 'switch_projection';
      else if (prev.color !== next.color) mark = 'switch_color';
      else mark = 'apply';
    }
    queue = queue.then(function () {
      return Promise.all([
        points[next.entry.name] ? points[next.entry.name] : A.loadPoints(next.entry).then(function (d) { points[next.entry.name] = d; return d; }),
        loadLayer(next.l),
      ]);
    }).then(function (r) {
      if (view !== next) return null;
      var layerData = r[1];
      next.layerData = layerData;
      showHeader(next);
      buildHead(next);
      match = A.matchTokens(tokens, next.q);
      showCount();
      A.legend($('att-legend'), head.legend);
      A.sizeLegend($('att-size-legend'), next.size);
      sentencePts = next.s === null ? null : sentencePoints(next.s);
      var shown = geo ? showImage() : showSentence();
      showAggregate();
      return Promise.all([!A.hasWebGL() ? noWebGL() : next.dim === 3 ? draw3(next) : draw2(next), shown]);
    }).then(function () {
      return new Promise(function (resolve) { window.requestAnimationFrame(function () { resolve(); }); });
    }).then(function () {
      if (view !== next) return;
      invalidate();
      drawOverlay();
      A.mark(mark, mark === 'head_drawn' ? 0 : t0);
      status.textContent = P.toLocaleString() + ' points: ' + N.toLocaleString() + ' queries and ' + N.toLocaleString() +
        ' keys of ' + sec.n_sentences + (geo ? ' images (' : ' sentences (') + $('att-proj').selectedOptions[0].textContent + ' ' + next.dim + 'D).';
      document.body.dataset.attReady = String(Number(document.body.dataset.attReady || 0) + 1);
    }).catch(function (err) { A.fail(status, err); });
    return queue;
  }

  function showHeader(v) {
    var info = sec.heads[v.g] || {};
    document.title = 'L' + v.l + ' H' + v.h + ' · attention · tfvis-site';
    T.clear($('att-title')).appendChild(document.createTextNode('Layer ' + v.l + ', head ' + v.h + ' '));
    $('att-title').appendChild(el('span', { class: 'att-badge att-lab-' + (info.label || 'other'), title: info.label_text || '' },
      info.label_text || info.label || ''));
    $('att-layer').value = String(v.l);
    $('att-head').value = String(v.h);
    $('att-prev-head').disabled = v.g === 0;
    $('att-prev-layer').disabled = v.l === 0;
    $('att-next-head').disabled = v.g === G - 1;
    $('att-next-layer').disabled = v.l === sec.model.n_layers - 1;
    var back = new URLSearchParams();
    ['proj', 'dim', 'color', 'size', 'q'].forEach(function (k) {
      var val = T.query()[k];
      if (val) back.set(k, val);
    });
    $('att-back').setAttribute('href', 'attention.html' + (back.toString() ? '?' + back.toString() : ''));
    showMetrics(info, v);
  }

  function showMetrics(h, v) {
    var dl = T.clear($('att-metrics'));
    var row = function (k, val, title, warn) {
      dl.appendChild(el('div', { title: title || null }, el('dt', null, k), el('dd', { class: warn ? 'att-warn' : null }, val)));
    };
    var stat = h.label_stat || {};
    row('Label', (h.label_text || h.label || 'n/a') + (stat.name ? ' (' + stat.name + ' ' + A.fmt(stat.value) + ', threshold ' + A.fmt(stat.threshold) + ')' : ''),
      'automatic label from the attention statistics');
    var after = h.spearman_after;
    row('Spearman before', A.fmt(h.spearman_before), 'Spearman correlation of q·k with the q–k distance, raw q and k (−1 = distance explains attention)');
    row('Spearman after', A.fmt(after), 'the same after key translation and norm scaling', after !== undefined && after > -0.5);
    var proj = v.entry.name;
    var sp = h.spearman_projected && h.spearman_projected[proj];
    if (sp !== undefined) row('Spearman in picture', A.fmt(sp), 'the same correlation measured on the ' + proj + ' coordinates shown', sp > -0.3);
    var tw = h.trustworthiness && h.trustworthiness[proj];
    row('Trustworthiness', A.fmt(tw), 'scikit-learn trustworthiness of this projection (k = ' + sec.config.trust_k + '; 1 = no false neighbours)', tw !== undefined && tw < 0.8);
    row('Scale c', A.fmt(h.c, 3), 'queries × c, keys ÷ c (dot products unchanged)');
    row('Norm gap', A.fmt(h.norm_gap), 'mean query norm − mean key norm, before normalisation (' + A.fmt(h.q_norm_mean) + ' − ' + A.fmt(h.k_norm_mean) + ')');
    row('Entropy', A.fmt(h.entropy_norm) + ' (normalised)', 'mean attention entropy / log(length)');
    if (h.spearman_paper_after !== undefined || h.spearman_paper_before !== undefined) {
      var stext = (sec.statistics || {}).spearman_paper_before || 'AttentionViz statistic: per query, Spearman(q·k, cosine distance) over its keys, then the mean over queries';
      row('AttentionViz ρ', A.fmt(h.spearman_paper_before) + ' → ' + A.fmt(h.spearman_paper_after) + ' (before → after)', stext);
    }
    if (h.mass) {
      row('Attention mass', ['prev', 'next', 'self', 'sink', 'local', 'local2d'].filter(function (k) { return h.mass[k] !== undefined; })
        .map(function (k) { return k + ' ' + A.fmt(h.mass[k]); }).join(' · '),
        geo ? 'share of attention on the patch itself, [CLS] / registers, the 8 neighbouring patches' :
          'share of attention on the previous / next token, itself, [CLS]/[SEP], a ±2 window');
    }
    if (h.similarity) {
      row('Similarity', Object.keys(h.similarity).map(function (k) { return k + ' ' + A.fmt(h.similarity[k]); }).join(' · '),
        'how much attention follows similar units (by hue, brightness, position)');
    }
    var weak = (after !== undefined && after > -0.5) || (tw !== undefined && tw < 0.8);
    if (weak) {
      dl.appendChild(el('p', { class: 'att-warn' }, 'Distances in this picture are a weak guide to attention for this head: check the ' +
        (geo ? 'image' : 'sentence') + ' view.'));
    }
  }

  // ------------------------------------------------------------------ the head's points

  function buildHead(v) {
    var entry = v.entry, dim = entry.dim;
    var all = points[entry.name];
    var coords = all.subarray(v.g * entry.head_stride, v.g * entry.head_stride + P * dim);
    var hn = norms.subarray(v.g * P, (v.g + 1) * P);
    var c = A.colorCategories(v.color, tokens, N, hn);
    var unit = new Float32Array(P);
    A.normUnit(hn, unit, 0);
    head = { g: v.g, l: v.l, h: v.h, dim: dim, coords: coords, cat: c.cat, palette: c.palette, legend: c.legend, unit: unit,
      layerData: v.layerData, key: entry.name + '|' + v.g };
  }

  function sentencePoints(s) {
    var set = new Set();
    var start = sentences.token_offset[s], n = sentences.n_tokens[s];
    for (var i = start; i < start + n; i++) { set.add(i); set.add(N + i); }
    return set;
  }

  function stageSize() {
    return { w: Math.max(1, Math.round(stage.clientWidth)), h: Math.max(1, Math.round(stage.clientHeight)) };
  }

  // regl-scatterplot highlights a hovered point by redrawing the whole plot (about 35 ms a frame
  // under software WebGL) and has no option to turn that off. So it never learns that the mouse
  // entered the canvas, which makes it skip its hover ray cast while pan, zoom, click and lasso
  // work as before; we pick the hovered point ourselves (pick2) and ring it on the 2D overlay.
  function hideHoverFromScatter() {
    canvas.addEventListener('mouseenter', function (e) { e.stopImmediatePropagation(); });
    var leave = function () { canvas.dispatchEvent(new window.MouseEvent('mouseleave')); };
    window.addEventListener('blur', leave); // its blur handler re-arms the check on the next move
    return leave;
  }

  function ensureScatter() {
    if (scatter) return scatter;
    var s = stageSize();
    var dark = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
    var leave = hideHoverFromScatter();
    scatter = window.ReglScatterplot.createScatterplot({
      canvas: canvas, width: s.w, height: s.h,
      backgroundColor: A.cssVar('--card', '#ffffff'),
      pointSize: 4, opacity: 0.85,
      pointColorActive: dark ? '#ffffff' : '#111111',
      pointOutlineWidth: 1.5, pointSizeSelected: 2, opacityInactiveScale: 0.35,
      lassoColor: '#2f5aa8', deselectOnDblClick: true, deselectOnEscape: true,
    });
    leave();
    scatter.subscribe('lassoStart', function () { lasso = true; });
    scatter.subscribe('select', function (e) {
      var pts = e.points || [];
      if (lasso || pts.length > 1) {
        lasso = false;
        showLasso(pts);
        return;
      }
      if (pts.length === 1) clickPoint(pts[0]);
    });
    scatter.subscribe('deselect', function () {
      showLasso([]);
      if (view && view.s !== null) { view = state(T.setQuery({ s: null, t: null, key: null }, true)); sentencePts = null; drawOverlay(); }
    });
    scatter.subscribe('view', scheduleOverlay);
    canvas.addEventListener('mousemove', function (e) {
      lastMove = e.timeStamp;
      onHover(e.buttons || !view || view.dim !== 2 ? -1 : pick2(e.offsetX, e.offsetY, HOVER_RADIUS));
    });
    canvas.addEventListener('mouseleave', function () { onHover(-1); });
    return scatter;
  }

  /** Three points of the head spanning the plane (the anchors of the data -> screen map), or null. */
  function anchors(c) {
    var far = 0, i1 = -1, i2 = -1, best = 0, p;
    for (p = 1; p < P; p++) {
      var d = Math.abs(c[2 * p] - c[0]) + Math.abs(c[2 * p + 1] - c[1]);
      if (d > far) { far = d; i1 = p; }
    }
    if (i1 < 0) return null;
    var ex = c[2 * i1] - c[0], ey = c[2 * i1 + 1] - c[1];
    for (p = 1; p < P; p++) {
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
  function pick2(x, y, radius) {
    if (!scatter || !scatter.get('isPointsDrawn')) return -1;
    var c = head.coords;
    if (head.anchors === undefined) head.anchors = anchors(c);
    var a = head.anchors, best = -1, bestD = radius * radius, p, dx, dy, d;
    if (!a) return -1;
    var s0 = scatter.getScreenPosition(a[0]), s1 = scatter.getScreenPosition(a[1]), s2 = scatter.getScreenPosition(a[2]);
    var e1x = c[2 * a[1]] - c[0], e1y = c[2 * a[1] + 1] - c[1], e2x = c[2 * a[2]] - c[0], e2y = c[2 * a[2] + 1] - c[1];
    var det = e1x * e2y - e2x * e1y;
    // screen - s0 = M (data - data0), M = F E^-1 with E = [e1 e2] and F the screen differences
    var f1x = s1[0] - s0[0], f1y = s1[1] - s0[1], f2x = s2[0] - s0[0], f2y = s2[1] - s0[1];
    var m00 = (f1x * e2y - f2x * e1y) / det, m01 = (f2x * e1x - f1x * e2x) / det;
    var m10 = (f1y * e2y - f2y * e1y) / det, m11 = (f2y * e1x - f1y * e2x) / det;
    var ox = x - s0[0], oy = y - s0[1];
    for (p = 0; p < P; p++) {
      var u = c[2 * p] - c[0], v = c[2 * p + 1] - c[1];
      dx = m00 * u + m01 * v - ox;
      dy = m10 * u + m11 * v - oy;
      d = dx * dx + dy * dy;
      if (d < bestD) { bestD = d; best = p; }
    }
    return best;
  }

  /** No WebGL: a note in place of the plot; the metrics, the sentence (image) view and the aggregate stay. */
  function noWebGL() {
    Array.prototype.forEach.call(stage.children, function (c) { c.hidden = true; }); // canvases, tooltip, the how-to line
    stage.style.aspectRatio = 'auto';
    A.noWebGL(stage, stage.firstChild, 'The head\'s statistics, the ' + (geo ? 'image' : 'sentence') + ' view and the aggregate below still work.');
  }

  function draw2(v) {
    if (three) canvas3.hidden = true;
    canvas.hidden = false;
    var sp = ensureScatter();
    // every set() redraws the plot (~0.1-0.3 s under software WebGL): only when the style changed
    var styleKey = head.key + '|' + v.color + '|' + (v.size ? 1 : 0);
    if (sp._styleKey !== styleKey) {
      sp.set({ pointColor: head.palette, colorBy: 'valueA', sizeBy: v.size ? 'valueB' : null, pointSize: v.size ? sizeArray : 4 });
      sp._styleKey = styleKey;
    }
    var step;
    if (sp._key !== head.key + '|' + v.color) {
      var x = new Float32Array(P), y = new Float32Array(P), c = head.coords;
      for (var p = 0; p < P; p++) { x[p] = c[2 * p]; y[p] = c[2 * p + 1]; }
      var order = new Array(P); // interleave queries and keys so neither hides the other
      for (var t = 0; t < N; t++) { order[2 * t] = t; order[2 * t + 1] = N + t; }
      var opts = { zDataType: 'categorical', wDataType: 'continuous' };
      if (sp._xyKey === head.key && sp._spatial) opts.spatialIndex = sp._spatial;
      step = sp.draw({ x: x, y: y, valueA: head.cat, valueB: head.unit }, opts).then(function () {
        sp.set({ pointOrder: order });
        sp._key = head.key + '|' + v.color;
        if (sp._xyKey !== head.key) { sp._xyKey = head.key; sp._spatial = sp.get('spatialIndex'); }
      });
    } else {
      step = Promise.resolve();
    }
    return step.then(function () {
      if (sentencePts) sp.select(Array.from(sentencePts), { preventEvent: true });
      else sp.deselect({ preventEvent: true });
    });
  }

  function ensureThree() {
    if (three) return three;
    canvas3 = el('canvas', { class: 'att-canvas3', 'aria-label': 'Queries and keys in 3D: drag to rotate, scroll to zoom, hover and click points' });
    stage.insertBefore(canvas3, overlay);
    three = new A.Points3D(canvas3, { background: A.cssVar('--card', '#ffffff'), distance: 2.9 });
    var s = stageSize();
    three.setSize(s.w, s.h);
    three.onView(scheduleOverlay);
    var down = null;
    canvas3.addEventListener('pointerdown', function (e) { down = [e.offsetX, e.offsetY]; });
    canvas3.addEventListener('pointermove', function (e) {
      lastMove = e.timeStamp;
      if (e.buttons) return;
      onHover(three.pick(e.offsetX, e.offsetY, 8));
    });
    canvas3.addEventListener('pointerleave', function () { onHover(-1); });
    canvas3.addEventListener('pointerup', function (e) {
      if (!down || Math.abs(e.offsetX - down[0]) + Math.abs(e.offsetY - down[1]) > 4) return;
      var i = three.pick(e.offsetX, e.offsetY, 8);
      if (i >= 0) clickPoint(i);
    });
    return three;
  }

  function draw3(v) {
    canvas.hidden = true;
    var tr = ensureThree();
    canvas3.hidden = false;
    if (tr._key !== head.key) {
      tr.setData({ positions: new Float32Array(head.coords), colors: new Uint8Array(P * 3), sizes: new Float32Array(P), alpha: new Float32Array(P) });
      tr._key = head.key;
    }
    A.rgbFromCategories(head.cat, head.palette, tr.geometry.getAttribute('acolor').array);
    var sizes = tr.geometry.getAttribute('asize').array, alpha = tr.geometry.getAttribute('aalpha').array;
    for (var i = 0; i < P; i++) {
      var inS = !sentencePts || sentencePts.has(i);
      sizes[i] = (v.size ? 2 + head.unit[i] * 7 : 4) + (sentencePts && inS ? 2 : 0);
      alpha[i] = inS ? 0.9 : 0.25;
    }
    tr.touch('acolor'); tr.touch('asize'); tr.touch('aalpha');
    tr.render();
    return Promise.resolve();
  }

  // ------------------------------------------------------------------ screen positions + overlay

  var scratch = [0, 0];
  function screenPos(i) {
    if (view.dim === 3) {
      return three.project(i, scratch) ? [scratch[0], scratch[1]] : null;
    }
    var p = scatter.getScreenPosition(i);
    return p ? [p[0], p[1]] : null;
  }

  var overlayPending = false;
  var labelCache = null; // placed labels [text, x, y, isQuery] until the view changes
  /** The view moved or changed: labels and thumbnails are placed again on the next overlay. */
  function invalidate() {
    labelCache = null;
    if (thumbCache) thumbCache.stale = true;
  }
  function scheduleOverlay() {
    invalidate();
    if (overlayPending) return;
    overlayPending = true;
    window.requestAnimationFrame(function () { overlayPending = false; drawOverlay(); });
  }

  var blockCache = null; // {key, w}: the value-weighted block of one sentence for the current head
  /** The current head's L x L block of sentence s weighted by value norm (renormalised per query). */
  function valueBlock(s) {
    var key = head.g + '|' + s;
    if (!blockCache || blockCache.key !== key) {
      blockCache = { key: key, w: A.reweight(A.blockWeights(sec, sentences, head.layerData, head.h, s), sentences.n_tokens[s], null,
        A.valueRow(sec, sentences, vnorms, head.g, s)) };
    }
    return blockCache.w;
  }

  /**
   * Top keys of query token t (positions within its sentence), strongest first, weight >= LINE_MIN:
   * from the top-k file, or with "weight by value norm" from the sentence's reweighted block.
   */
  function topKeys(t, count) {
    if (view.vnorm && vnorms) {
      var s = tokens.sentence[t];
      return A.topOfRow(valueBlock(s), sentences.n_tokens[s], t - sentences.token_offset[s], count, LINE_MIN);
    }
    var d = head.layerData, base = (head.h * N + t) * K, out = [];
    for (var j = 0; j < K && out.length < count; j++) {
      var k = d.topKeys[base + j];
      if (k === d.missingKey) break;
      var w = d.topWeights[base + j] / 65535;
      if (w < LINE_MIN) break;
      out.push({ pos: k, w: w });
    }
    return out;
  }

  /** Lines [from point, to point, weight] for a hovered / pinned point. */
  function linesFor(i) {
    var out = [];
    if (i < 0) return out;
    if (i < N) {
      var start = sentences.token_offset[tokens.sentence[i]];
      topKeys(i, LINES).forEach(function (k) { out.push([i, N + start + k.pos, k.w]); });
    } else {
      var t = i - N, s = tokens.sentence[t], st = sentences.token_offset[s], pos = t - st;
      for (var q = st; q < st + sentences.n_tokens[s]; q++) {
        topKeys(q, LINES).forEach(function (k) { if (k.pos === pos) out.push([q, i, k.w]); });
      }
    }
    return out;
  }

  function drawOverlay() {
    if (!view || !head) return;
    var s = stageSize(), dpr = window.devicePixelRatio || 1;
    if (overlay.width !== Math.round(s.w * dpr) || overlay.height !== Math.round(s.h * dpr)) {
      overlay.width = Math.round(s.w * dpr);
      overlay.height = Math.round(s.h * dpr);
    }
    var ctx = overlay.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, s.w, s.h);
    if (view.dim === 3) { if (!three) return; three.updateProjection(); } else if (!scatter || !scatter.get('isPointsDrawn')) return;
    var fg = A.cssVar('--fg', '#1d1f23'), bg = A.cssVar('--card', '#ffffff');
    if (geo) drawImageLayer(ctx, s, fg);
    // search rings
    if (match.count) {
      ctx.strokeStyle = fg;
      ctx.lineWidth = 1.5;
      for (var t = 0; t < N; t++) {
        if (!match.flags[t]) continue;
        [t, N + t].forEach(function (i) {
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
    if (view.s !== null && view.t !== null) {
      var tp = sentences.token_offset[view.s] + Math.min(view.t, sentences.n_tokens[view.s] - 1);
      lines = lines.concat(linesFor(tp));
    }
    if (hovered >= 0) lines = lines.concat(linesFor(hovered));
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
    if (hovered >= 0) {
      var hp = screenPos(hovered);
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
  function drawImageLayer(ctx, size, fg) {
    if (view.dim === 2 && sheetsReady) {
      if (!thumbCache || thumbCache.stale) thumbCache = buildThumbs(size);
      if (thumbCache.count) ctx.drawImage(thumbCache.canvas, 0, 0, size.w, size.h);
    }
    var np = geo.n_prefix_tokens;
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = fg;
    for (var s = 0; s < sec.n_sentences; s++) {
      var start = sentences.token_offset[s];
      for (var j = 0; j < np; j++) {
        [start + j, N + start + j].forEach(function (i) {
          var p = screenPos(i);
          if (p) ctx.strokeRect(p[0] - 5, p[1] - 5, 10, 10);
        });
      }
    }
  }

  var thumbCache = null; // {canvas, count} until the view changes (reset with labelCache)
  function buildThumbs(size) {
    var inView = view.dim === 2 && scatter ? scatter.get('pointsInView') : null;
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
      return (sentencePts && sentencePts.has(a) ? 1 : 0) - (sentencePts && sentencePts.has(b) ? 1 : 0);
    });
    var drawn = 0;
    for (var k = 0; k < list.length; k++) {
      var i = list[k], t = i < N ? i : i - N, p = screenPos(i);
      if (!p || p[0] < -side || p[1] < -side || p[0] > size.w + side || p[1] > size.h + side) continue;
      var image = imageOf(tokens.sentence[t]);
      if (A.drawThumb(c, geo, image, tokens.position[t], p[0], p[1], side, i < N ? A.QUERY : A.KEY)) drawn++;
    }
    thumbCache = { canvas: cv, count: drawn };
    document.body.dataset.attThumbs = String(drawn);
    return thumbCache;
  }

  /** Image index (row of data/sentences.parquet, as image-common.js counts) of sample image s. */
  function imageOf(s) {
    return sentences.sentence_id ? Number(sentences.sentence_id[s]) : s;
  }

  /** Token labels when zoomed in (few points in view), greedily placed without overlap. */
  function drawLabels(ctx, size, fg, bg) {
    if (view.dim === 3) return; // labels only in 2D (3D shows the tooltip)
    if (geo && thumbCache && thumbCache.count) return; // the thumbnails say more than "patch r,c"
    ctx.font = '11px ' + A.cssVar('--mono', 'monospace');
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

  function placeLabels(ctx, size) {
    var cand = [], out = [];
    var i;
    var inView = scatter.get('pointsInView');
    if (!inView || inView.length > LABEL_MAX_POINTS) return out;
    for (var k = 0; k < inView.length; k++) {
      i = inView[k];
      var t = i < N ? i : i - N;
      var prio = (match.flags[t] ? 4 : 0) + (sentencePts && sentencePts.has(i) ? 2 : 0) + head.unit[i];
      cand.push([prio, i]);
    }
    cand.sort(function (a, b) { return b[0] - a[0]; });
    var placed = [];
    for (var c = 0; c < cand.length && placed.length < LABEL_LIMIT; c++) {
      i = cand[c][1];
      var p = screenPos(i);
      if (!p || p[0] < 0 || p[1] < 0 || p[0] > size.w || p[1] > size.h) continue;
      var tok = tokens.text[i < N ? i : i - N];
      var text = (i < N ? 'q ' : 'k ') + tok;
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
      out.push([text, box[0] + 2, box[1] + h / 2, i < N]);
    }
    return out;
  }

  // ------------------------------------------------------------------ hover, click, lasso

  function onHover(i) {
    if (i === hovered) return;
    hovered = i;
    var start = lastMove, t0 = window.performance.now();
    if (i < 0) {
      tooltip.hidden = true;
      drawOverlay();
      return;
    }
    var t = i < N ? i : i - N, s = tokens.sentence[t];
    var pos = tokens.position[t];
    if (geo) imageTooltip(i, t, s, pos);
    else {
    var snip = A.snippet(tokens, sentences, t, 7);
    T.clear(tooltip).appendChild(el('div', null,
      el('div', null, el('span', { class: 'tok' }, tokens.text[t]), ' ',
        el('span', { class: i < N ? 'att-kind-q' : 'att-kind-k' }, i < N ? 'query' : 'key'),
        ' · position ' + pos + ' of ' + sentences.n_tokens[s] + ' · sentence ' + s),
      el('div', { class: 'att-snip' }, snip[0] + ' ', el('mark', null, snip[1]), ' ' + snip[2]),
      el('div', { class: 'muted' }, i < N ? topKeys(t, LINES).map(function (k) {
        return '→ ' + tokens.text[sentences.token_offset[s] + k.pos] + ' ' + k.w.toFixed(2);
      }).join('   ') || 'no key with weight ≥ 0.05' : 'norm ' + A.fmt(norms[head.g * P + i]))));
    }
    tooltip.hidden = false;
    var p = screenPos(i), sz = stageSize();
    if (p) {
      var tw = tooltip.offsetWidth, th = tooltip.offsetHeight;
      var x = p[0] + 14, y = p[1] + 14;
      if (x + tw > sz.w) x = Math.max(0, p[0] - tw - 14);
      if (y + th > sz.h) y = Math.max(0, p[1] - th - 14);
      tooltip.style.left = x + 'px';
      tooltip.style.top = y + 'px';
    }
    drawOverlay();
    if (start) {
      var handled = window.performance.now();
      hoverParts.push([t0 - start, handled - t0]);
      if (hoverParts.length > 500) hoverParts.shift();
      window.requestAnimationFrame(function () {
        hoverLatency.push(window.performance.now() - start);
        if (hoverLatency.length > 500) hoverLatency.shift();
      });
    }
  }

  /** Tooltip of an image unit: its patch (drawn from the loaded sheet), name, image and top keys. */
  function imageTooltip(i, t, s, pos) {
    var side = 56, dpr = window.devicePixelRatio || 1;
    var thumb = el('canvas', { class: 'att-tip-thumb', width: Math.round(side * dpr), height: Math.round(side * dpr), 'aria-hidden': 'true' });
    thumb.style.width = thumb.style.height = side + 'px';
    if (sheetsReady) {
      var c = thumb.getContext('2d');
      c.setTransform(dpr, 0, 0, dpr, 0, 0);
      c.imageSmoothingEnabled = false;
      A.drawThumb(c, geo, imageOf(s), pos, side / 2, side / 2, side - 3, i < N ? A.QUERY : A.KEY);
    }
    var start = sentences.token_offset[s];
    T.clear(tooltip).appendChild(el('div', { class: 'att-tip-image' }, sheetsReady ? thumb : null, el('div', null,
      el('div', null, el('span', { class: 'tok' }, tokens.text[t]), ' ',
        el('span', { class: i < N ? 'att-kind-q' : 'att-kind-k' }, i < N ? 'query' : 'key')),
      el('div', { class: 'att-snip' }, 'image ' + s + ': ' + sentences.text[s]),
      el('div', { class: 'muted' }, i < N ? topKeys(t, LINES).map(function (k) {
        return '→ ' + tokens.text[start + k.pos] + ' ' + k.w.toFixed(2);
      }).join('   ') || 'no key with weight ≥ 0.05' : 'norm ' + A.fmt(norms[head.g * P + i])))));
  }

  function clickPoint(i) {
    var t = i < N ? i : i - N;
    var s = tokens.sentence[t];
    // image sites: a key point shows which queries attend to that key
    apply(T.setQuery({ s: s, t: tokens.position[t], key: geo && i >= N ? 1 : null }, true), 'click_point');
  }

  function showLasso(pts) {
    var box = T.clear($('att-lasso'));
    if (!pts.length) {
      box.appendChild(el('p', { class: 'muted' }, 'Shift+drag on the plot to lasso points; the tokens are listed here.'));
      return;
    }
    var q = 0, counts = new Map();
    pts.forEach(function (i) {
      if (i < N) q++;
      var t = i < N ? i : i - N;
      // image sites: "patch r,c" says little across images, so the list counts the images
      var key = geo ? (tokens.row && tokens.row[t] < 0 ? tokens.text[t] : 'image ' + tokens.sentence[t] + ': ' + sentences.text[tokens.sentence[t]]) : tokens.text[t];
      counts.set(key, (counts.get(key) || 0) + 1);
    });
    var top = Array.from(counts.entries()).sort(function (a, b) { return b[1] - a[1]; });
    box.appendChild(el('p', null, pts.length + ' points selected: ' + q + ' queries, ' + (pts.length - q) + ' keys, ' + counts.size +
      (geo ? ' images / prefix tokens.' : ' distinct tokens.')));
    box.appendChild(el('ol', null, top.slice(0, 60).map(function (e) {
      return el('li', null, el('span', { class: 'tok' }, e[0]), ' × ' + e[1]);
    })));
    if (top.length > 60) box.appendChild(el('p', { class: 'muted' }, '… and ' + (top.length - 60) + ' more tokens'));
  }

  function showCount() {
    var c = $('att-count');
    if (!view.q) { c.textContent = ''; return; }
    c.textContent = match.count ? match.count + ' tokens' + (match.exact ? '' : ' containing "' + view.q + '"') +
      ' ringed (' + 2 * match.count + ' points: queries and keys)' : 'no token matches "' + view.q + '"';
  }

  // ------------------------------------------------------------------ sentence + aggregate

  var HIDE = ['cls', 'sep', 'first'];

  /** The "weight by value norm" box: ticked from the URL; disabled when the build has no value norms. */
  function showValueToggle() {
    var box = $('att-vnorm');
    box.checked = view.vnorm;
    box.disabled = !vnorms;
    if (!vnorms) box.parentNode.title = 'this site was built without value norms';
  }

  function showSentence() {
    if (!view || !view.layerData) return;
    var s = view.s === null ? (sentencePts ? 0 : 0) : view.s;
    $('att-s').value = String(s);
    $('att-prev-s').disabled = s <= 0;
    $('att-next-s').disabled = s >= sec.n_sentences - 1;
    HIDE.forEach(function (k) { if ($('att-hide-' + k)) $('att-hide-' + k).checked = view.hide[k]; });
    showValueToggle();
    var textNode = T.clear($('att-sentence-text'));
    textNode.appendChild(el('span', null, 'Sentence ' + s + ': '));
    textNode.appendChild(el('q', null, sentences.text[s]));
    if (linker) {
      var id = linker(s);
      if (id !== null) {
        textNode.appendChild(document.createTextNode(' '));
        textNode.appendChild(el('a', { href: 'tokens.html?s=' + id + (view.t !== null ? '&t=' + view.t : '') }, 'open in the token browser'));
      } else {
        textNode.appendChild(el('span', { class: 'muted' }, ' (not in the token browser\'s sample)'));
      }
    }
    A.sentenceView($('att-sentence'), {
      sec: sec, tokens: tokens, sentences: sentences, layerData: view.layerData, head: view.h, s: s, hide: view.hide,
      vrow: view.vnorm ? A.valueRow(sec, sentences, vnorms, view.g, s) : null,
      current: view.s === s ? view.t : null,
      onSelect: function (pos) { apply(T.setQuery({ s: s, t: pos }, true)); },
    });
    if (T.tokenFactors) {
      var shown = view;
      T.tokenFactors().then(function (links) {
        if (view === shown) A.tokenFactorsView($('att-token-factors'), links, tokens, sentences, s, view.s === s ? view.t : null, view.l);
      });
    }
  }

  /** Image sites: the image view of the selected (or first) sample image. Returns a Promise. */
  function showImage() {
    if (!view || !view.layerData) return Promise.resolve();
    var s = view.s === null ? 0 : view.s;
    $('att-s').value = String(s);
    $('att-prev-s').disabled = s <= 0;
    $('att-next-s').disabled = s >= sec.n_sentences - 1;
    $('att-heat').checked = view.heat;
    $('att-arrows').checked = view.arrows;
    showValueToggle();
    var textNode = T.clear($('att-sentence-text'));
    textNode.appendChild(el('span', null, 'Image ' + s + ' of the sample: '));
    textNode.appendChild(el('q', { class: 'att-image-name' }, sentences.text[s]));
    if (linker) {
      var id = linker(s);
      if (id !== null) {
        textNode.appendChild(document.createTextNode(' '));
        textNode.appendChild(el('a', { href: 'images.html?i=' + id + (view.t !== null && view.s === s ? '&p=' + view.t : '') }, 'open in the image browser'));
      }
    }
    var v = A.imageView($('att-image'), {
      sec: sec, geo: geo, tokens: tokens, sentences: sentences, layerData: view.layerData, head: view.h, s: s,
      t: view.s === s ? view.t : null, key: view.key, heat: view.heat, arrows: view.arrows,
      vrow: view.vnorm ? A.valueRow(sec, sentences, vnorms, view.g, s) : null,
      onSelect: function (pos, asKey) { apply(T.setQuery({ s: s, t: pos, key: asKey ? 1 : null }, true), 'image_select'); },
    });
    return v.ready.then(function () { A.mark('image_drawn'); });
  }

  var offsetHead = -1;
  function showAggregate() {
    if (geo) {
      // the offset map depends on the head only: drawn again only when the head changes
      if (view && view.layerData && offsetHead !== view.g) {
        offsetHead = view.g;
        A.offsetView($('att-agg'), $('att-agg-legend'), $('att-agg-read'), sec, geo, sentences, view.layerData, view.h);
      }
      return;
    }
    if (!aggregate || !view) return;
    A.aggregateView($('att-agg'), $('att-agg-legend'), $('att-agg-read'), aggregate[0], aggregate[1], view.g, sec.max_len, !!sec.model.is_causal);
  }

  // ------------------------------------------------------------------ navigation

  function goHead(g) {
    g = Math.max(0, Math.min(G - 1, g));
    apply(T.setQuery({ l: Math.floor(g / H), h: g % H, s: view.s, t: view.t }, true));
  }

  function wire() {
    $('att-prev-head').addEventListener('click', function () { goHead(view.g - 1); });
    $('att-next-head').addEventListener('click', function () { goHead(view.g + 1); });
    $('att-prev-layer').addEventListener('click', function () { goHead(view.g - H); });
    $('att-next-layer').addEventListener('click', function () { goHead(view.g + H); });
    $('att-layer').addEventListener('change', function (e) { goHead(Number(e.target.value) * H + view.h); });
    $('att-head').addEventListener('change', function (e) { goHead(view.l * H + Number(e.target.value)); });
    var setS = function (s) {
      s = Math.max(0, Math.min(sec.n_sentences - 1, s));
      apply(T.setQuery({ s: s, t: null, key: null }, true));
    };
    $('att-prev-s').addEventListener('click', function () { setS((view.s || 0) - 1); });
    $('att-next-s').addEventListener('click', function () { setS((view.s || 0) + 1); });
    $('att-s').addEventListener('change', function (e) { setS(Number(e.target.value)); });
    if (geo) {
      ['heat', 'arrows'].forEach(function (k) {
        $('att-' + k).addEventListener('change', function (e) {
          var patch = {};
          patch[k] = e.target.checked ? null : '0';
          apply(T.setQuery(patch, true));
        });
      });
    }
    // decoders have no [CLS] toggle (their first token is BOS or the first word): only the boxes on the page
    if (!geo) HIDE.forEach(function (k) {
      if (!$('att-hide-' + k)) return;
      $('att-hide-' + k).addEventListener('change', function () {
        var on = HIDE.filter(function (x) { return $('att-hide-' + x) && $('att-hide-' + x).checked; });
        apply(T.setQuery({ hide: on.length ? on.join(',') : null }, true));
      });
    });
    $('att-vnorm').addEventListener('change', function (e) { apply(T.setQuery({ vnorm: e.target.checked ? 1 : null }, true)); });
    document.addEventListener('keydown', function (e) {
      var tag = (e.target && e.target.tagName) || '';
      if (/^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(tag) || e.target.isContentEditable || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
        if (e.target.closest && e.target.closest('.att-sentence, .att-image')) return;
        e.preventDefault();
        var d = e.key === 'ArrowLeft' ? -1 : 1;
        goHead(view.g + d * (e.shiftKey ? H : 1));
      }
    });
  }

  var resizeTimer = null;
  function onResize() {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () {
      var s = stageSize();
      if (scatter) scatter.set({ width: s.w, height: s.h });
      if (three) three.setSize(s.w, s.h);
      scheduleOverlay();
    }, 60);
  }

  // For tests and the benchmark.
  A.single = {
    state: function () { return view; },
    scatter: function () { return scatter; },
    three: function () { return three; },
    screenPos: function (i) { return screenPos(i); },
    hoverLatency: hoverLatency,
    hoverParts: hoverParts,
    hover: onHover,
    pick: function (x, y) { return pick2(x, y, HOVER_RADIUS); },
    /** The keys the plot's lines go to for query token t (value-weighted when that box is ticked). */
    topKeys: function (t, count) { return topKeys(t, count); },
    /** Place labels / thumbnails again and draw the overlay; returns the time it took (ms). */
    redrawOverlay: function () { var t0 = window.performance.now(); invalidate(); drawOverlay(); return window.performance.now() - t0; },
  };
})();
