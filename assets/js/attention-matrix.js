/*
 * attention-matrix.js: the matrix view (attention.html). Every head at once, layers as rows and
 * heads as columns, drawn in ONE WebGL context: one regl-scatterplot whose points are laid out in
 * grid cells, drawn a band of rows at a time, the bands in view first (2D), or one three.js
 * renderer drawing each cell into its own viewport (3D).
 * The cell labels are HTML links laid over the canvas (keyboard focusable; a click opens the head).
 * URL state: ?proj=<method>&dim=<2|3>&color=<mode>&size=1&q=<token search>.
 */
(function () {
  'use strict';
  var T = window.TFVIS;
  var A = window.TFVIS_ATT;
  var $ = function (id) { return document.getElementById(id); };

  var status = $('att-status');
  var plot = $('att-plot');
  var canvas = $('att-canvas');
  var cellsEl = $('att-cells');
  var matrixEl = $('att-matrix');
  var ROWS = Number(matrixEl.dataset.rows), COLS = Number(matrixEl.dataset.cols);
  var PAD = 0.74; // share of a cell's width / height the points use (room for the labels)
  var SHIFT = 0.02; // vertical shift of the points inside a cell (in cell heights)

  var sec, tokens, N, P, G;
  var norms, normUnit;
  var view = null; // current view state
  var scatter = null, three = null, canvas3 = null;
  var layout = {}; // projection name -> {x, y} (2D) or {xyz} (3D)
  var colors = null; // {key, palette, legend, cat + categories (token modes) or byB (norm)}
  var pointIndex = null; // valueA of every point: its index within its head
  var match = null; // {flags, count}
  var drawing = Promise.resolve();
  var sizeArray = [1.5, 2, 2.5, 3, 3.5, 4, 5, 6];
  var cellLinks = Array.prototype.slice.call(cellsEl.querySelectorAll('a.att-cell'));

  A.section().then(function (s) {
    sec = s;
    N = sec.n_tokens;
    P = sec.n_points;
    G = sec.model.n_layers * sec.model.n_heads;
    var v = A.viewState(sec, T.query());
    A.showControls(sec, v);
    return Promise.all([A.loadTokens(sec), A.loadNorms(sec), A.loadPoints(v.entry)]).then(function (r) {
      tokens = r[0];
      norms = r[1];
      layout[v.entry.name] = buildLayout(v.entry, r[2]);
      normUnit = new Float32Array(G * P);
      for (var g = 0; g < G; g++) A.normUnit(norms.subarray(g * P, (g + 1) * P), normUnit, g * P);
      A.mark('matrix_data');
      A.wireControls(function (patch, push) { apply(T.setQuery(patch, push)); });
      T.onState(apply);
      wireCells();
      new window.ResizeObserver(onResize).observe(plot);
      window.addEventListener('scroll', onScroll, { passive: true });
      return apply(T.query(), 'matrix_drawn');
    });
  }).catch(function (err) { A.fail(status, err); });

  // ------------------------------------------------------------------ layout

  /** Points of every head placed in its grid cell: 2D -> {x, y} in [-1, 1]; 3D -> {xyz} per head. */
  function buildLayout(entry, data) {
    var dim = entry.dim;
    if (dim === 3) return { xyz: data, dim: 3 };
    var x = new Float32Array(G * P), y = new Float32Array(G * P);
    var H = sec.model.n_heads;
    for (var g = 0; g < G; g++) {
      var row = Math.floor(g / H), col = g % H;
      var cx = -1 + (2 * col + 1) / COLS, cy = 1 - (2 * row + 1) / ROWS - SHIFT * 2 / ROWS;
      var sx = PAD / COLS, sy = PAD / ROWS;
      var base = g * entry.head_stride;
      for (var p = 0; p < P; p++) {
        x[g * P + p] = cx + data[base + p * dim] * sx;
        y[g * P + p] = cy + data[base + p * dim + 1] * sy;
      }
    }
    return { x: x, y: y, dim: 2 };
  }

  function plotSize() {
    return { w: Math.max(1, Math.round(plot.clientWidth)), h: Math.max(1, Math.round(plot.clientHeight)) };
  }

  function cellRects() {
    var s = plot.getBoundingClientRect();
    return cellLinks.map(function (a) {
      var r = a.getBoundingClientRect();
      var g = Number(a.dataset.g);
      var pad = 0.5 * (1 - PAD);
      return {
        x: Math.round(r.left - s.left + r.width * pad),
        y: Math.round(r.top - s.top + r.height * (pad + SHIFT)),
        w: Math.round(r.width * PAD),
        h: Math.round(r.height * PAD),
        start: g * P,
        count: P,
      };
    });
  }

  // ------------------------------------------------------------------ colours

  /**
   * Colours of a mode without redrawing the points: the scatterplot's valueA is the point's index
   * within its head (the same in every cell), so a token-based mode is just a palette of P colours;
   * the per-head norm mode colours by valueB (norm scaled per head) through a continuous ramp.
   */
  function colorsFor(mode) {
    if (colors && colors.key === mode) return colors;
    if (mode === 'norm') {
      var ramp = A.colorCategories('norm', tokens, N, norms.subarray(0, P));
      colors = { key: mode, byB: true, palette: A.VIRIDIS,
        legend: Object.assign({}, ramp.legend, { min: 'low', max: 'high' }) };
    } else {
      var c = A.colorCategories(mode, tokens, N, norms.subarray(0, P));
      var perPoint = new Array(P);
      for (var p = 0; p < P; p++) perPoint[p] = c.palette[c.cat[p]];
      colors = { key: mode, cat: c.cat, categories: c.palette, palette: perPoint, legend: c.legend };
    }
    return colors;
  }

  /** 0..255 RGB of all G * P points (3D matrix). */
  function rgbAll(c, out) {
    out = out || new Uint8Array(G * P * 3);
    var one;
    if (c.byB) {
      var rgb = c.palette.map(A.hexToRgb), n = rgb.length;
      for (var i = 0; i < G * P; i++) {
        var col = rgb[Math.min(n - 1, Math.floor(normUnit[i] * n))];
        out[3 * i] = col[0]; out[3 * i + 1] = col[1]; out[3 * i + 2] = col[2];
      }
      return out;
    }
    one = A.rgbFromCategories(c.cat, c.categories);
    for (var g = 0; g < G; g++) out.set(one, g * P * 3);
    return out;
  }

  // ------------------------------------------------------------------ drawing

  function background() {
    return A.cssVar('--card', '#ffffff');
  }

  // ------------------------------------------------------------------ 2D: bands of rows

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
    var rowPx = Math.max(1, plot.clientHeight / ROWS);
    bandRows = Math.max(1, Math.min(ROWS, Math.floor(BAND_PX / rowPx)));
    var chunkRows = bandRows * Math.max(1, Math.floor(CHUNK_PX / rowPx / bandRows));
    chunks = [];
    bands = [];
    for (var c0 = 0; c0 < ROWS; c0 += chunkRows) {
      var chunk = { index: chunks.length, r0: c0, n: Math.min(chunkRows, ROWS - c0) };
      chunk.start = c0 * COLS * P;
      chunk.count = chunk.n * COLS * P;
      chunks.push(chunk);
      for (var r0 = c0; r0 < c0 + chunk.n; r0 += bandRows) {
        var n = Math.min(bandRows, c0 + chunk.n - r0), points = new Array(n * COLS * P), first = (r0 - c0) * COLS * P;
        for (var i = 0; i < points.length; i++) points[i] = first + i;
        bands.push({ index: bands.length, r0: r0, n: n, chunk: chunk, points: points });
      }
    }
    pointIndex = new Float32Array(Math.max.apply(null, chunks.map(function (k) { return k.count; })));
    for (var p = 0; p < pointIndex.length; p++) pointIndex[p] = p % P;
  }

  /**
   * Plot and band sizes in device pixels: W x H the plot, h the band canvas (a pixel more than
   * bandRows rows, so neighbouring bands overlap rather than leave a gap), dpr.
   */
  function geometry() {
    var s = plotSize(), dpr = window.devicePixelRatio || 1;
    var W = Math.round(s.w * dpr), H = Math.round(s.h * dpr);
    return { W: W, H: H, h: Math.min(H, Math.ceil(bandRows * H / ROWS) + 1), dpr: dpr };
  }

  /** Top pixel row of band b in the plot, and the camera that shows plot rows [top, top + h). */
  function bandView(b, geo) {
    var top = Math.round(b.r0 * geo.H / ROWS);
    // Data y spans [-1, 1] over the plot's H pixels: centre the camera on the band's pixels, zoomed to them.
    return { top: top, target: [0, 1 - 2 * (top + geo.h / 2) / geo.H], distance: geo.h / geo.H };
  }

  /** The bands that intersect the window first, then the others by distance from it. */
  function bandsByDistance() {
    var r = plot.getBoundingClientRect(), rowPx = r.height / ROWS, vh = window.innerHeight;
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
    var c = colorsFor(view.color), geo = geometry();
    var searching = match && match.count ? view.q : '';
    var w = { geo: geo, colors: c, sizeKey: geo.W + 'x' + geo.H + '/' + geo.h, styleKey: c.key + '|' + (view.size ? 1 : 0) + '|' + searching,
      orderKey: searching, selKey: c.byB ? searching : '' };
    w.key = [w.sizeKey, w.styleKey, w.orderKey, w.selKey].join('|');
    return w;
  }

  /** Projection `name`: its plot-sized canvas (resized and cleared when the plot's size changed). */
  function plotFor(name) {
    var entry = plots[name];
    if (!entry) {
      var cv = Object.keys(plots).length === 0 ? canvas : T.el('canvas', { class: 'att-canvas2', 'aria-hidden': 'true', hidden: true });
      if (cv !== canvas) plot.insertBefore(cv, cellsEl);
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
      if (part.styleKey !== want.styleKey) Object.assign(props, styleProps(view, want.colors));
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
    }, styleProps(view, want.colors)));
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
    var lay = layout[entry.name], a = chunk.start, z = chunk.start + chunk.count;
    part.created = emptyIndex.then(function (index) {
      return sp.draw({ x: lay.x.subarray(a, z), y: lay.y.subarray(a, z), valueA: pointIndex.subarray(0, chunk.count), valueB: normUnit.subarray(a, z) }, {
        zDataType: 'categorical', wDataType: 'continuous', spatialIndex: index, filter: b.points,
        select: want.selKey ? selectedIndices(b) : undefined,
      }); // resolves after the first frame: band b
    });
    if (!scatter) scatter = sp;
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
    var entry = plotFor(view.entry.name), list = visibleBands();
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
      if (!view || view.dim !== 2) return null;
      var name = view.entry.name, entry = plotFor(name), i, k;
      var stale = bandsByDistance().filter(function (x) { return !isFresh(entry, x.b); });
      document.body.dataset.attPending = String(stale.length); // bands still to draw (tests wait for 0)
      if (stale.length) return drawBand.bind(null, entry, stale[0].b);
      if (!completeMarked) { completeMarked = true; A.mark('matrix_complete'); document.body.dataset.attComplete = '1'; }
      var others = sec.projections.filter(function (p) { return p.dim === 2 && p.name !== name; });
      for (i = 0; i < others.length; i++) {
        var p = others[i];
        if (!layout[p.name]) return loadLayout.bind(null, p);
        var other = plotFor(p.name);
        for (k = 0; k < bands.length; k++) if (!other.shown[k]) return drawBand.bind(null, other, bands[k]);
      }
      if (document.body.dataset.attPreloaded !== '1') { A.mark('matrix_preloaded', t0); document.body.dataset.attPreloaded = '1'; }
      return null;
    };
    var step = function () {
      // the job is chosen when it runs: by then the view or the scroll position may have changed
      drawing = drawing.then(function () {
        var job = nextJob();
        if (!job) { pumping = false; return; }
        return job().then(function () { idle(step); });
      }).catch(function (err) { pumping = false; A.fail(status, err); });
    };
    idle(step);
  }

  function loadLayout(p) {
    return A.loadPoints(p).then(function (d) { layout[p.name] = buildLayout(p, d); });
  }

  /** Scrolled: draw the bands that came into view now if they are not up to date. */
  var scrollQueued = false;
  function onScroll() {
    if (scrollQueued || !view || view.dim !== 2 || !plots[view.entry.name]) return;
    scrollQueued = true;
    window.requestAnimationFrame(function () {
      scrollQueued = false;
      var entry = plots[view.entry.name];
      if (visibleBands().every(function (b) { return isFresh(entry, b); })) return;
      drawing = drawing.then(drawVisible).then(pump).catch(function (err) { A.fail(status, err); });
    });
  }

  /** Palette with the search applied: matches keep their colour, the rest fade towards the background. */
  function searchPalette(c) {
    if (!match || !match.count || c.byB) return c.palette;
    var bg = A.hexToRgb(toHex(background()));
    var out = new Array(P);
    for (var p = 0; p < P; p++) {
      var rgb = A.hexToRgb(c.palette[p]);
      if (match.flags[p < N ? p : p - N]) { out[p] = c.palette[p]; continue; }
      out[p] = [0, 1, 2].map(function (k) { return (rgb[k] * 0.14 + bg[k] * 0.86) / 255; }).concat([1]);
    }
    return out;
  }

  /** Draw order of a chunk's points (indices in the chunk) with the search matches last (on top), or null. */
  function searchOrder(chunk) {
    if (!match || !match.count) return null;
    var heads = chunk.n * COLS, order = new Array(heads * P), lo = 0, hi, nHit = 0, g, p;
    for (p = 0; p < P; p++) if (match.flags[p < N ? p : p - N]) nHit++;
    hi = heads * (P - nHit);
    for (g = 0; g < heads; g++) {
      for (p = 0; p < P; p++) {
        if (match.flags[p < N ? p : p - N]) order[hi++] = g * P + p;
        else order[lo++] = g * P + p;
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

  function ensureThree() {
    if (three) return three;
    canvas3 = T.el('canvas', { class: 'att-canvas3', 'aria-hidden': 'true' });
    plot.insertBefore(canvas3, cellsEl);
    three = new A.Points3D(canvas3, { control: cellsEl, background: background(), distance: 3.0, noPan: true });
    three.controls.enableZoom = false;
    var size = plotSize();
    three.setSize(size.w, size.h);
    three.setCells(cellRects());
    return three;
  }

  /** Bring the page to state q. mark: timing name recorded when the new picture is on screen. */
  function apply(q, mark) {
    var t0 = window.performance.now();
    var next = A.viewState(sec, q);
    var prev = view;
    view = next;
    A.showControls(sec, next);
    updateLinks();
    if (!mark) {
      if (!prev || prev.entry.name !== next.entry.name) mark = 'switch_projection';
      else if (prev.color !== next.color) mark = 'switch_color';
      else if (prev.size !== next.size) mark = 'switch_size';
      else if (prev.q !== next.q) mark = 'search';
      else mark = 'apply';
    }
    status.textContent = 'Drawing ' + (G * P).toLocaleString() + ' points…';
    drawing = drawing.then(function () {
      return layout[next.entry.name] ? null : A.loadPoints(next.entry).then(function (d) {
        layout[next.entry.name] = buildLayout(next.entry, d);
      });
    }).then(function () {
      if (view !== next) return null; // superseded by a newer state
      match = A.matchTokens(tokens, next.q);
      var c = colorsFor(next.color);
      A.legend($('att-legend'), c.legend);
      A.sizeLegend($('att-size-legend'), next.size);
      showHits();
      if (!A.hasWebGL()) return noWebGL();
      return next.dim === 3 ? draw3(next, c) : draw2(next);
    }).then(function () {
      return new Promise(function (resolve) { window.requestAnimationFrame(function () { resolve(); }); });
    }).then(function () {
      if (view !== next) return;
      A.mark(mark, mark === 'matrix_drawn' ? 0 : t0);
      var methodName = $('att-proj').selectedOptions[0] ? $('att-proj').selectedOptions[0].textContent : next.proj;
      status.textContent = G + ' heads × ' + P.toLocaleString() + ' points (' + N.toLocaleString() + ' queries + ' +
        N.toLocaleString() + ' keys), ' + methodName + ' ' + next.dim + 'D.';
      document.body.dataset.attReady = String(Number(document.body.dataset.attReady || 0) + 1);
    }).catch(function (err) { A.fail(status, err); });
    return drawing;
  }

  /** No WebGL: a note above the grid instead of the points; the cells (labels, statistics, search counts, links) stay. */
  function noWebGL() {
    var scroll = matrixEl.parentNode;
    A.noWebGL(scroll.parentNode, scroll, 'The label and statistics of every head are in the grid below (search counts too), and each cell opens its head.');
  }

  function draw2(v) {
    if (three) canvas3.hidden = true;
    cellsEl.classList.remove('att-orbit');
    if (!bands) makeBands();
    var entry = plotFor(v.entry.name);
    Object.keys(plots).forEach(function (k) { plots[k].canvas.hidden = plots[k] !== entry; });
    return drawVisible().then(function () {
      document.body.dataset.attPending = String(bands.filter(function (b) { return !isFresh(entry, b); }).length);
      pump();
    });
  }

  function draw3(v, c) {
    canvas.hidden = true;
    Object.keys(plots).forEach(function (k) { plots[k].canvas.hidden = true; });
    var tr = ensureThree();
    canvas3.hidden = false;
    cellsEl.classList.add('att-orbit');
    var lay = layout[v.entry.name];
    var n = G * P;
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
    var searching = match.count > 0;
    for (var i = 0; i < n; i++) {
      var hit = searching && match.flags[i % P < N ? i % P : i % P - N];
      sizes[i] = (v.size ? 1.2 + normUnit[i] * 4 : 2) + (hit ? 2 : 0);
      alpha[i] = searching ? (hit ? 1 : 0.12) : 0.8;
    }
    tr.touch('asize');
    tr.touch('aalpha');
    tr.setCells(cellRects());
    tr.render();
    return Promise.resolve();
  }

  /** The search matches in band b (point indices in its chunk): queries and keys of the matching tokens. */
  function selectedIndices(b) {
    if (!match || !match.count) return [];
    var out = [], first = (b.r0 - b.chunk.r0) * COLS;
    for (var g = first; g < first + b.n * COLS; g++) {
      for (var t = 0; t < N; t++) {
        if (match.flags[t]) out.push(g * P + t, g * P + N + t);
      }
    }
    return out;
  }

  /** Per cell: number of matches and how tightly they cluster in that head (spread, 1 = like all points). */
  function showHits() {
    var lay = layout[view.entry.name];
    var count = $('att-count');
    if (!match.count) {
      count.textContent = view.q ? 'no token matches "' + view.q + '"' : '';
      cellLinks.forEach(function (a) { T.clear(a.querySelector('.att-hits')); a.classList.remove('att-has-hits'); });
      return;
    }
    count.textContent = match.count + (match.exact ? ' tokens' : ' tokens containing "' + view.q + '"') +
      ' highlighted in every head (' + (2 * match.count) + ' points per head: queries and keys)';
    cellLinks.forEach(function (a) {
      var g = Number(a.dataset.g);
      var spread = headSpread(lay, g);
      var hits = a.querySelector('.att-hits');
      hits.textContent = (2 * match.count) + ' · sp ' + A.fmt(spread, 2);
      hits.title = 'matching points in this head, and their mean distance to their centroid relative to all points (lower = tighter cluster)';
      a.classList.add('att-has-hits');
    });
  }

  /** Mean distance of the selected points of head g to their centroid (sel: Uint8Array(P) or null = all). */
  function spreadOf(lay, g, sel) {
    var dim = lay.dim, base = g * P, cx = 0, cy = 0, cz = 0, n = 0, p, o;
    var X = lay.x, Y = lay.y, Z = lay.xyz;
    for (p = 0; p < P; p++) {
      if (sel && !sel[p]) continue;
      if (dim === 2) { cx += X[base + p]; cy += Y[base + p]; } else { o = (base + p) * 3; cx += Z[o]; cy += Z[o + 1]; cz += Z[o + 2]; }
      n++;
    }
    if (!n) return 0;
    cx /= n; cy /= n; cz /= n;
    var d = 0, dx, dy, dz;
    for (p = 0; p < P; p++) {
      if (sel && !sel[p]) continue;
      if (dim === 2) { dx = X[base + p] - cx; dy = Y[base + p] - cy; dz = 0; } else { o = (base + p) * 3; dx = Z[o] - cx; dy = Z[o + 1] - cy; dz = Z[o + 2] - cz; }
      d += Math.sqrt(dx * dx + dy * dy + dz * dz);
    }
    return d / n;
  }

  function headSpread(lay, g) {
    lay.all = lay.all || {};
    if (lay.all[g] === undefined) lay.all[g] = spreadOf(lay, g, null);
    if (!match.pointFlags) {
      match.pointFlags = new Uint8Array(P);
      match.pointFlags.set(match.flags, 0);
      match.pointFlags.set(match.flags, N);
    }
    return spreadOf(lay, g, match.pointFlags) / (lay.all[g] || 1);
  }

  // ------------------------------------------------------------------ cells (links)

  function updateLinks() {
    var extra = new URLSearchParams();
    extra.set('proj', view.proj);
    if (view.dim === 3) extra.set('dim', '3');
    if (view.color !== 'qk') extra.set('color', view.color);
    if (view.size) extra.set('size', '1');
    if (view.q) extra.set('q', view.q);
    var tail = extra.toString();
    cellLinks.forEach(function (a) {
      a.setAttribute('href', 'attention-head.html?l=' + a.dataset.l + '&h=' + a.dataset.h + (tail ? '&' + tail : ''));
    });
  }

  function wireCells() {
    // In 3D a drag on the grid rotates every head at once; a drag must not follow the link.
    var down = null;
    cellsEl.addEventListener('pointerdown', function (e) { down = [e.clientX, e.clientY]; });
    cellsEl.addEventListener('click', function (e) {
      if (down && Math.abs(e.clientX - down[0]) + Math.abs(e.clientY - down[1]) > 5) e.preventDefault();
      down = null;
    }, true);
    // The orbit controls capture the pointer, so in 3D the click never reaches the link: follow it here.
    cellsEl.addEventListener('pointerup', function (e) {
      if (!cellsEl.classList.contains('att-orbit') || !down || e.button !== 0) return;
      if (Math.abs(e.clientX - down[0]) + Math.abs(e.clientY - down[1]) > 5) return;
      var r = cellsEl.getBoundingClientRect();
      var col = Math.floor((e.clientX - r.left) / r.width * COLS), row = Math.floor((e.clientY - r.top) / r.height * ROWS);
      if (col < 0 || row < 0 || col >= COLS || row >= ROWS) return;
      window.location.href = cellLinks[row * COLS + col].href;
    });
    // Arrow keys move the focus between cells.
    cellsEl.addEventListener('keydown', function (e) {
      var a = e.target.closest ? e.target.closest('a.att-cell') : null;
      if (!a) return;
      var g = Number(a.dataset.g), H = COLS;
      var to = { ArrowRight: g + 1, ArrowLeft: g - 1, ArrowDown: g + H, ArrowUp: g - H }[e.key];
      if (to === undefined || to < 0 || to >= G) return;
      e.preventDefault();
      cellLinks[to].focus();
    });
  }

  var resizeTimer = null;
  function onResize() {
    if (!view) return;
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () {
      var s = plotSize();
      if (bands) {
        fitRenderer();
        if (view.dim === 2) drawing = drawing.then(drawVisible).then(pump).catch(function (err) { A.fail(status, err); });
      }
      if (three) {
        three.setSize(s.w, s.h);
        three.setCells(cellRects());
      }
    }, 60);
  }

  // For tests and the benchmark.
  A.matrix = {
    state: function () { return view; },
    scatter: function () { return scatter; },
    three: function () { return three; },
  };
})();
