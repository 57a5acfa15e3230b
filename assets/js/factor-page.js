/*
 * factor.html: one transformer factor. URL state: ?f=<factor>&l=<layer>&w=<context window>&n=<shown>
 * (l defaults to the factor's peak layer). Back/forward restore the view.
 *
 * Data (docs/factors.md): factors/index.parquet (levels, IS curves), factors/neighbors.parquet,
 * factors/topk-NNN.parquet + factors/hist-NNN.f32 of the factor's chunk, tokens.parquet and
 * sentences.parquet for the context text, and factors/lime-NNN.parquet (LIME token weights)
 * when the build computed LIME for the chunk. Corpus text only reaches the DOM as text nodes.
 *
 * Image models (manifest.modality "image", window.TFVIS_IMG from image-common.js): a context is
 * a patch of an image, shown as a crop around it (or the whole image) with the patch outlined;
 * URL state adds v=full (whole images), o=act|lime (overlay on every tile) and c=<rank> (the
 * context opened in the detail view: the whole image with this factor's activation on every
 * patch, from factors/heatmap-NNN.{u8,f32}, or its LIME weights). Image names come from user
 * file names: textContent only.
 */
(function () {
  'use strict';
  var T = window.TFVIS;
  var F = window.TFVISF;
  var el = T.el;

  var $ = function (id) { return document.getElementById(id); };
  var status = $('status');
  var fs, index, neighbors, sentences, tokens;
  var links = null; // TFVIS.tokenFactors(): which texts the attention pages show (text sites)
  var current = { f: null, l: null };
  var renderSeq = 0;
  var hoverInfo = null;
  var G = window.TFVIS_IMG;
  var geo = null; // manifest.image on image sites
  var CROP = 112, MARGIN = 3, DETAIL = 336;

  var t0 = window.performance.now();
  var manifestP = F.section();
  var indexP = manifestP.then(function (m) { fs = m.factors; return F.index(fs); });
  var neighborsP = manifestP.then(function (m) { return T.loadColumns(m.factors.files.neighbors); });
  var textP = manifestP.then(function (m) {
    if (G && G.isImageSite(m)) {
      geo = m.image;
      // units of an image are known from the geometry: only the image names are needed
      return Promise.all([T.loadColumns('sentences.parquet', ['token_offset', 'n_tokens', 'text']), null]);
    }
    return Promise.all([
      T.loadColumns('sentences.parquet', ['token_offset', 'n_tokens']),
      T.loadColumns('tokens.parquet', ['text', 'space_before', 'is_special', 'piece']),
    ]);
  });
  // Start loading the requested factor's chunk right away, in parallel with the rest.
  manifestP.then(function (m) {
    var f = parseInt(T.query().f, 10);
    if (f >= 0 && f < m.factors.n_factors) { chunkData(F.chunkOf(m.factors, f)); }
  }).catch(function () {});

  Promise.all([manifestP, indexP, neighborsP])
    .then(function (r) {
      if (G && G.isImageSite(r[0])) geo = r[0].image;
      index = r[1];
      neighbors = r[2];
      wire();
      T.onState(show);
      return show(T.query());
    })
    .catch(fail);

  function fail(err) {
    status.textContent = 'Could not load the data: ' + (err && err.message ? err.message : err);
    status.className = 'error';
  }

  // ------------------------------------------------------------------ data per chunk

  var chunks = new Map();

  /** {topk columns, starts: Map("f,l" -> [begin, end)), hist Float32Array, lime: Map|null} */
  function chunkData(chunk) {
    var cached = chunks.get(chunk);
    if (cached) return cached;
    var limeName = limeFile(chunk);
    var hm = fs.heatmaps && fs.heatmaps.files;
    var p = Promise.all([
      T.loadColumns(F.chunkFile(fs.files.topk, chunk)),
      T.loadFloat32(F.chunkFile(fs.files.hist, chunk)),
      limeName ? T.loadColumns(limeName) : Promise.resolve(null),
      hm ? T.loadBytes(F.chunkFile(hm.maps, chunk)) : Promise.resolve(null),
      hm ? T.loadFloat32(F.chunkFile(hm.meta, chunk)) : Promise.resolve(null),
    ]).then(function (r) {
      var topk = r[0];
      var starts = new Map();
      for (var i = 0; i < topk.factor.length; i++) {
        var key = topk.factor[i] + ',' + topk.layer[i];
        var s = starts.get(key);
        if (!s) starts.set(key, [i, i + 1]);
        else s[1] = i + 1;
      }
      var heat = r[3] ? { maps: new Uint8Array(r[3]), meta: r[4], lo: chunk * fs.chunk_size } : null;
      return { topk: topk, starts: starts, hist: r[1], lime: r[2] ? groupLime(r[2]) : null, heat: heat };
    });
    chunks.set(chunk, p);
    p.catch(function () { chunks.delete(chunk); });
    return p;
  }

  function limeFile(chunk) {
    var lime = fs && fs.lime;
    if (!lime || !lime.files || !lime.files.length) return null;
    var name = F.chunkFile('factors/lime-{chunk:03d}.parquet', chunk);
    return lime.files.indexOf(name) !== -1 ? name : null;
  }

  /** LIME rows -> Map("factor,layer,sentence,position" -> {tokens: [pos], weights: [w], activation}). */
  function groupLime(c) {
    var out = new Map();
    for (var i = 0; i < c.factor.length; i++) {
      var key = c.factor[i] + ',' + c.layer[i] + ',' + c.sentence_id[i] + ',' + c.position[i];
      var g = out.get(key);
      if (!g) {
        g = { tokens: [], weights: [], activation: c.activation ? c.activation[i] : null, layer: c.layer[i] };
        out.set(key, g);
      }
      g.tokens.push(c.token[i]);
      g.weights.push(c.weight[i]);
    }
    return out;
  }

  function limeLayers(lime, f) {
    var layers = {};
    if (!lime) return [];
    lime.forEach(function (g, key) {
      if (key.split(',')[0] === String(f)) layers[g.layer] = (layers[g.layer] || 0) + 1;
    });
    return Object.keys(layers).map(Number).map(function (l) { return { layer: l, contexts: layers[l] }; });
  }

  // ------------------------------------------------------------------ controls

  function wire() {
    $('prev').addEventListener('click', function () { go((current.f - 1 + index.n) % index.n); });
    $('next').addEventListener('click', function () { go((current.f + 1) % index.n); });
    $('jump').addEventListener('submit', function (e) {
      e.preventDefault();
      var f = parseInt($('fid').value, 10);
      if (f >= 0 && f < index.n) go(f);
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-random]'), function (b) {
      b.addEventListener('click', function () {
        var f = F.randomFactor(index, b.dataset.random, current.f);
        if (f !== null) go(f);
      });
    });
    if ($('window')) {
      $('window').addEventListener('change', function () {
        show(T.setQuery({ w: $('window').value === '12' ? null : $('window').value }, false));
      });
    }
    if ($('view')) {
      $('view').addEventListener('change', function () {
        show(T.setQuery({ v: $('view').value === 'full' ? 'full' : null }, false));
      });
      $('overlay').addEventListener('change', function () {
        show(T.setQuery({ o: $('overlay').value === 'none' ? null : $('overlay').value }, false));
      });
    }
    $('shown').addEventListener('change', function () {
      show(T.setQuery({ n: $('shown').value === 'all' ? null : $('shown').value }, false));
    });
  }

  function go(f) {
    show(T.setQuery({ f: f, l: null, c: null }, true));
  }

  function selectLayer(l) {
    if (l === current.l) return;
    show(T.setQuery({ f: current.f, l: l, c: null }, true));
  }

  // ------------------------------------------------------------------ view

  function show(state) {
    var seq = ++renderSeq;
    var f = state.f === undefined ? 0 : parseInt(state.f, 10);
    if (!(f >= 0 && f < index.n)) {
      status.textContent = 'There is no factor "' + state.f + '": factors are numbered 0–' + (index.n - 1) + '.';
      status.className = 'error';
      return Promise.resolve();
    }
    var peak = index.peak_layer[f];
    var l = state.l === undefined ? peak : parseInt(state.l, 10);
    if (!(l >= 0 && l < fs.n_layers)) l = peak;
    var factorChanged = f !== current.f;
    current = { f: f, l: l };
    // the live probe (live-factor.js) follows the factor and layer shown
    document.dispatchEvent(new CustomEvent('tfvis:factor', { detail: { f: f, l: l } }));
    if ($('window')) $('window').value = ['6', '24', 'all'].indexOf(state.w) !== -1 ? state.w : '12';
    if ($('view')) {
      $('view').value = state.v === 'full' ? 'full' : 'crop';
      $('overlay').value = state.o === 'act' || state.o === 'lime' ? state.o : 'none';
    }
    $('shown').value = ['20', '50'].indexOf(state.n) !== -1 ? state.n : 'all';

    renderHeader(f, l);
    renderCurve(f, l);
    if (factorChanged) renderNeighbors(f);
    status.textContent = 'Loading contexts…';
    status.className = 'muted';
    return Promise.all([chunkData(F.chunkOf(fs, f)), textP, geo ? null : T.tokenFactors()]).then(function (r) {
      if (seq !== renderSeq) return;
      var cd = r[0];
      sentences = r[1][0];
      tokens = r[1][1];
      links = r[2];
      renderFacts(f, l, cd);
      if (geo) renderImageContexts(f, l, cd, state);
      else renderContexts(f, l, cd, state);
      status.textContent = '';
      document.body.dataset.ready = f + ',' + l;
      if (!window.TFVIS_FACTOR_LOAD_MS) window.TFVIS_FACTOR_LOAD_MS = window.performance.now() - t0;
    }).catch(fail);
  }

  function renderHeader(f, l) {
    var level = index.level[f];
    document.title = 'Factor ' + f + ' (' + level + ') · layer ' + l + ' · tfvis-site';
    $('ftitle').textContent = 'Factor ' + f;
    T.clear($('fbadge')).appendChild(F.levelBadge(level));
    $('fid').value = f;
    $('prev').title = 'Previous factor (' + ((f - 1 + index.n) % index.n) + ')';
    $('next').title = 'Next factor (' + ((f + 1) % index.n) + ')';
    var peak = index.peak_layer[f];
    var why = $('fwhy');
    T.clear(why);
    var lowMax = fs.level_low_max_layer;
    var thr = fs.config && fs.config.level_spread_threshold;
    var spread = index.spread[f];
    if (geo && level !== 'dead') {
      why.appendChild(document.createTextNode(level === 'low'
        ? 'Low level (early): its importance score peaks at layer ' + peak + ', at or before layer ' + lowMax + ', the last layer counted as early.'
        : (level === 'high' ? 'High level (regions): ' : 'Mid level (local): ') + 'its importance score peaks late, at layer ' + peak +
          ' (after layer ' + lowMax + '), and when it is active on a patch it is active on the next patch (to the right) with probability ' +
          F.fmt(spread, 2) + (level === 'high' ? ' ≥ ' : ' < ') + F.fmt(thr, 2) + ' (the spread threshold), so its activity ' +
          (level === 'high' ? 'covers regions wider than a patch.' : 'stays local to the patch.')));
    } else if (level === 'dead') {
      why.appendChild(document.createTextNode('Dead: never active on the corpus at any layer.'));
    } else if (level === 'low') {
      why.appendChild(document.createTextNode('Low level (word level): its importance score peaks at layer ' + peak +
        ', at or before layer ' + lowMax + ', the last layer counted as early.'));
    } else {
      why.appendChild(document.createTextNode((level === 'high' ? 'High level (long range): ' : 'Mid level (sentence level): ') +
        'its importance score peaks late, at layer ' + peak + ' (after layer ' + lowMax + '), and when it is active on a token it is ' +
        'active on the next token with probability ' + F.fmt(spread, 2) + (level === 'high' ? ' ≥ ' : ' < ') +
        F.fmt(thr, 2) + ' (the spread threshold), so its activity ' + (level === 'high' ? 'persists along the sentence.' : 'stays local to the token.')));
    }
    var top = $('ftop');
    T.clear(top);
    if (index.top_tokens[f]) {
      top.appendChild(el('span', { class: 'muted' }, (geo ? 'Images of its top contexts at layer ' : 'Most frequent tokens in its top contexts at layer ') + peak + ': '));
      top.appendChild(el('span', { class: 'ftop-tokens' }, index.top_tokens[f]));
    }
  }

  // ------------------------------------------------------------------ IS curve

  function renderCurve(f, l) {
    var values = F.isCurve(index, f);
    var L = values.length;
    var peak = index.peak_layer[f];
    var W = 560, H = 220, ml = 46, mr = 14, mt = 16, mb = 36;
    var max = 0;
    values.forEach(function (v) { if (v > max) max = v; });
    var top = max > 0 ? max * 1.12 : 1;
    var xs = function (i) { return ml + (L > 1 ? i * (W - ml - mr) / (L - 1) : (W - ml - mr) / 2); };
    var ys = function (v) { return mt + (1 - v / top) * (H - mt - mb); };
    var colW = L > 1 ? (W - ml - mr) / (L - 1) : W - ml - mr;
    var svg = el('svg:svg', {
      class: 'is-svg level-' + index.level[f], viewBox: '0 0 ' + W + ' ' + H, role: 'img', tabindex: '0',
      'aria-label': 'Importance score of factor ' + f + ' by layer: ' + values.map(function (v, i) { return 'layer ' + i + ' ' + F.fmt(v); }).join(', ') +
        '. Selected layer ' + l + '. Use the left and right arrow keys to change the layer.',
      onkeydown: function (e) {
        var to = null;
        if (e.key === 'ArrowLeft') to = Math.max(0, current.l - 1);
        else if (e.key === 'ArrowRight') to = Math.min(L - 1, current.l + 1);
        else if (e.key === 'Home') to = 0;
        else if (e.key === 'End') to = L - 1;
        if (to !== null) {
          e.preventDefault();
          selectLayer(to);
        }
      },
    });
    // grid + y ticks
    for (var t = 0; t <= 4; t++) {
      var v = top * t / 4;
      svg.appendChild(el('svg:line', { class: 'grid', x1: ml, x2: W - mr, y1: ys(v), y2: ys(v) }));
      svg.appendChild(el('svg:text', { x: ml - 6, y: ys(v) + 3, 'text-anchor': 'end' }, F.fmt(v, v >= 10 ? 0 : 2)));
    }
    svg.appendChild(el('svg:text', { class: 'axis-title', x: 12, y: mt + (H - mt - mb) / 2, transform: 'rotate(-90 12 ' + (mt + (H - mt - mb) / 2) + ')', 'text-anchor': 'middle' }, 'IS'));
    // selected layer band
    svg.appendChild(el('svg:rect', { class: 'sel-band', x: xs(l) - colW / 2 + 2, y: mt - 6, width: colW - 4, height: H - mt - mb + 6 }));
    var pts = values.map(function (v, i) { return xs(i).toFixed(1) + ',' + ys(v).toFixed(1); }).join(' ');
    svg.appendChild(el('svg:polyline', { class: 'is-line', points: pts }));
    var hover = el('svg:g', { class: 'is-hover' });
    values.forEach(function (v, i) {
      svg.appendChild(el('svg:circle', { class: i === l ? 'is-pt selected' : 'is-pt', cx: xs(i), cy: ys(v), r: i === l ? 6 : 4 }));
      svg.appendChild(el('svg:text', { class: i === l ? 'xlab selected' : 'xlab', x: xs(i), y: H - mb + 16, 'text-anchor': 'middle' }, i === 0 ? 'emb' : String(i)));
      if (i === peak) svg.appendChild(el('svg:text', { class: 'peak-lab', x: xs(i), y: ys(v) - 10, 'text-anchor': 'middle' }, 'peak'));
    });
    svg.appendChild(el('svg:text', { class: 'axis-title', x: ml + (W - ml - mr) / 2, y: H - 4, 'text-anchor': 'middle' }, 'layer (emb = embeddings)'));
    svg.appendChild(hover);
    // hit areas: one column per layer
    values.forEach(function (v, i) {
      var col = el('svg:rect', {
        class: 'is-col', x: xs(i) - colW / 2, y: 0, width: colW, height: H, dataset: { layer: i },
        onclick: function () { selectLayer(i); },
        onmouseenter: function () { showHover(f, i); },
        onmouseleave: function () { showHover(f, null); },
      }, el('svg:title', null, 'Layer ' + i + ': IS ' + F.fmt(v) + (i === peak ? ' (peak)' : '') + ' · click to show its contexts'));
      svg.appendChild(col);
    });
    var box = T.clear($('is-chart'));
    box.appendChild(svg);
    hoverInfo = el('p', { class: 'is-info', 'aria-hidden': 'true' });
    box.appendChild(hoverInfo);
    showHover(f, null);
    var buttons = T.clear($('layer-buttons'));
    values.forEach(function (v, i) {
      buttons.appendChild(el('button', {
        type: 'button', class: i === peak ? 'peak' : null, 'aria-pressed': i === l ? 'true' : 'false',
        title: 'Layer ' + i + (i === 0 ? ' (embeddings)' : '') + ': IS ' + F.fmt(v) + (i === peak ? ' (peak)' : ''),
        dataset: { layer: i },
        onclick: function () { selectLayer(i); },
      }, 'L' + i));
    });
  }

  function showHover(f, i) {
    if (!hoverInfo) return;
    var layer = i === null ? current.l : i;
    var v = index.is[layer][f];
    var peak = index.peak_layer[f];
    var text = (i === null ? 'Selected: ' : '') + 'layer ' + layer + (layer === 0 ? ' (embeddings)' : '') +
      ' · IS ' + F.fmt(v) + ' · ' + (index.is[peak][f] > 0 ? Math.round(100 * v / index.is[peak][f]) + '% of the peak' : '') +
      (layer === peak ? ' · peak' : '');
    hoverInfo.textContent = text;
  }

  // ------------------------------------------------------------------ facts + histogram

  function row(k, v) {
    return el('div', null, el('dt', null, k), el('dd', null, v));
  }

  function renderFacts(f, l, cd) {
    var L1 = fs.n_layers;
    var bins = fs.hist_edges.length - 1;
    var lo = F.chunkOf(fs, f) * fs.chunk_size;
    var off = ((f - lo) * L1 + l) * bins;
    var counts = cd.hist.subarray(off, off + bins);
    var active = 0;
    for (var b = 0; b < bins; b++) active += counts[b];
    var nTok = tokens ? tokens.text.length : sentences.token_offset[sentences.token_offset.length - 1] + sentences.n_tokens[sentences.n_tokens.length - 1];
    var unitWord = geo ? 'units (patches + ' + (geo.n_prefix_tokens > 1 ? 'prefix tokens' : '[CLS]') + ')' : 'tokens';
    var range = cd.starts.get(f + ',' + l);
    var topMin = range ? cd.topk.value[range[1] - 1] : null;
    var topMax = range ? cd.topk.value[range[0]] : null;
    $('stats-layer').textContent = l + (l === 0 ? ' (embeddings)' : '');
    var facts = T.clear($('facts'));
    facts.appendChild(row('IS', F.fmt(index.is[l][f]) + (l === index.peak_layer[f] ? ' (peak)' : ' (peak ' + F.fmt(index.is[index.peak_layer[f]][f]) + ' at layer ' + index.peak_layer[f] + ')')));
    facts.appendChild(row('Active on', active.toLocaleString() + ' of ' + nTok.toLocaleString() + ' ' + unitWord + ' (' + F.pct(active / nTok) + ')'));
    facts.appendChild(row('Top-' + fs.top_k + ' range', range ? F.fmt(topMin) + ' – ' + F.fmt(topMax) : 'no activations'));
    facts.appendChild(row('Density (all layers)', F.pct(index.density[f])));
    facts.appendChild(row('Max activation', F.fmt(index.max_activation[f]) + ' (any layer)'));
    facts.appendChild(row('Spread at peak', F.fmt(index.spread[f], 2) + ' = P(active at t+1 | active at t)' + (geo ? ', t+1 = the next unit in row-major order' : '')));
    renderHist(counts, topMin);
  }

  function renderHist(counts, topMin) {
    var edges = fs.hist_edges;
    var n = counts.length;
    var W = 360, H = 160, ml = 34, mr = 14, mt = 18, mb = 30; // mt: room for the top-k label above the bars
    var lmin = Math.log10(edges[0]), lmax = Math.log10(edges[n]);
    var xs = function (x) { return ml + (Math.log10(x) - lmin) / (lmax - lmin) * (W - ml - mr); };
    var max = 0;
    for (var i = 0; i < n; i++) if (counts[i] > max) max = counts[i];
    var lmaxC = Math.log10(1 + max) || 1;
    var ys = function (c) { return mt + (1 - Math.log10(1 + c) / lmaxC) * (H - mt - mb); };
    var svg = el('svg:svg', { class: 'hist-svg', viewBox: '0 0 ' + W + ' ' + H, role: 'img',
      'aria-label': 'Histogram of positive activations at this layer, log-scaled axes; ' + (max ? 'largest bin ' + max + (geo ? ' units' : ' tokens') : 'no activations') });
    for (var b = 0; b < n; b++) {
      if (!counts[b]) continue;
      var x0 = xs(edges[b]), x1 = xs(edges[b + 1]);
      svg.appendChild(el('svg:rect', { class: topMin !== null && edges[b + 1] > topMin ? 'bar top' : 'bar', x: x0 + 0.5, y: ys(counts[b]), width: Math.max(1, x1 - x0 - 1), height: H - mb - ys(counts[b]) },
        el('svg:title', null, F.fmt(edges[b]) + ' – ' + F.fmt(edges[b + 1]) + ': ' + counts[b].toLocaleString() + (geo ? ' units' : ' tokens'))));
    }
    svg.appendChild(el('svg:line', { class: 'axis', x1: ml, x2: W - mr, y1: H - mb, y2: H - mb }));
    for (var p = Math.ceil(lmin); p <= Math.floor(lmax); p++) {
      svg.appendChild(el('svg:text', { x: xs(Math.pow(10, p)), y: H - mb + 12, 'text-anchor': 'middle' }, p >= 0 ? String(Math.pow(10, p)) : Math.pow(10, p).toFixed(-p)));
    }
    svg.appendChild(el('svg:text', { x: ml + (W - ml - mr) / 2, y: H - 3, 'text-anchor': 'middle', class: 'axis-title' }, 'activation (log scale)'));
    svg.appendChild(el('svg:text', { x: ml - 4, y: mt + 8, 'text-anchor': 'end' }, max.toLocaleString()));
    svg.appendChild(el('svg:text', { x: ml - 4, y: H - mb, 'text-anchor': 'end' }, '0'));
    if (topMin !== null && topMin > 0) {
      var tx = xs(Math.max(edges[0], Math.min(edges[n], topMin)));
      svg.appendChild(el('svg:line', { class: 'topk-line', x1: tx, x2: tx, y1: mt - 14, y2: H - mb }));
      svg.appendChild(el('svg:text', { class: 'topk-lab', x: tx - 3, y: mt - 6, 'text-anchor': 'end' }, 'top-' + fs.top_k + ' →'));
    }
    T.clear($('hist')).appendChild(svg);
  }

  // ------------------------------------------------------------------ neighbours

  function renderNeighbors(f) {
    var list = T.clear($('neighbors'));
    var nn = Math.round(neighbors.factor.length / index.n);
    for (var i = f * nn; i < (f + 1) * nn && i < neighbors.factor.length; i++) {
      var g = neighbors.neighbor[i];
      if (g < 0) continue;
      list.appendChild(el('li', null,
        el('a', { href: '?f=' + g, title: 'Factor ' + g + ' (' + index.level[g] + ', peak layer ' + index.peak_layer[g] + ')' }, '#' + g),
        ' ', F.levelBadge(index.level[g]),
        el('span', { class: 'nn-cos', title: 'cosine of the dictionary columns' }, F.fmt(neighbors.cosine[i], 2)),
        F.sparkline(F.isCurve(index, g), index.level[g], index.peak_layer[g], 56, 18),
        neighbourTop(g)));
    }
    if (!list.firstChild) list.appendChild(el('li', { class: 'muted' }, 'No neighbours recorded.'));
  }

  /** Top tokens of a neighbour; on image sites a tiny crop of its top context, then its images. */
  function neighbourTop(g) {
    var span = el('span', { class: 'nn-top', title: index.top_tokens[g] });
    if (geo && index.thumb_image_0 && index.thumb_image_0[g] >= 0) {
      var view = unitView(index.thumb_image_0[g], index.thumb_pos_0[g], false, 24);
      view.ready.catch(fail);
      span.appendChild(view.canvas);
      span.appendChild(document.createTextNode(' '));
    }
    span.appendChild(document.createTextNode(index.top_tokens[g]));
    return span;
  }

  // ------------------------------------------------------------------ contexts + LIME

  function renderContexts(f, l, cd, state) {
    var list = T.clear($('contexts'));
    var range = cd.starts.get(f + ',' + l);
    var W = $('window').value === 'all' ? Infinity : parseInt($('window').value, 10);
    var shownOpt = $('shown').value;
    var total = range ? range[1] - range[0] : 0;
    var shown = shownOpt === 'all' ? total : Math.min(total, parseInt(shownOpt, 10));
    $('ctx-h').textContent = 'Top contexts at layer ' + l + (l === 0 ? ' (embeddings)' : '');
    $('ctx-count').textContent = total ? shown + ' of ' + total + ' contexts, strongest first' : '';
    renderLimeNote(f, l, cd);
    if (!range) {
      list.appendChild(el('li', { class: 'muted' }, 'This factor is never active at layer ' + l + '.'));
      return;
    }
    var topk = cd.topk;
    var vmax = topk.value[range[0]] || 1;
    var frag = document.createDocumentFragment();
    for (var i = range[0]; i < range[0] + shown; i++) {
      var sid = topk.sentence_id[i];
      var pos = topk.position[i];
      var value = topk.value[i];
      var lime = cd.lime ? cd.lime.get(f + ',' + l + ',' + sid + ',' + pos) : null;
      frag.appendChild(el('li', { class: lime ? 'ctx has-lime' : 'ctx' },
        el('span', { class: 'ctx-rank' }, String(topk.rank[i] + 1)),
        el('span', { class: 'ctx-val', title: 'activation ' + value },
          el('span', { class: 'ctx-bar', style: { width: Math.max(2, 100 * value / vmax).toFixed(1) + '%' } }),
          el('span', { class: 'ctx-num' }, F.fmt(value))),
        contextText(sid, pos, W, lime, value),
        el('a', { class: 'ctx-link', href: 'tokens.html?s=' + sid + '&t=' + pos, title: 'Text #' + sid + ', token ' + pos + ' in the token browser' }, '#' + sid),
        attentionLink(sid, pos, l)));
    }
    list.appendChild(frag);
  }

  /**
   * Link to the token in the attention head view when its text is in the attention sample: hidden
   * state l is the input of attention layer l (the last one, l = n_layers, links to the last layer).
   */
  function attentionLink(sid, pos, l) {
    var row = links ? links.sampleRow.get(sid) : undefined;
    if (row === undefined || !links.nLayers) return null;
    var layer = Math.min(l, links.nLayers - 1);
    return el('a', { class: 'ctx-link ctx-attention', href: 'attention-head.html?s=' + row + '&t=' + pos + '&l=' + layer,
      title: 'This token in the attention view of layer ' + layer + ' (text ' + row + ' of the attention sample)' }, 'attention');
  }

  /** The emptied LIME note, or null (after saying so in it) when the build has no LIME data. */
  function limeNote() {
    var note = T.clear($('lime-note'));
    if (fs.lime && fs.lime.files) return note;
    note.appendChild(el('p', { class: 'muted small' }, 'This build has no LIME saliency data.'));
    return null;
  }

  function renderLimeNote(f, l, cd) {
    var note = limeNote(), lime = fs.lime;
    if (!note) return;
    var covered = (lime.covered_factors || []).indexOf(f) !== -1;
    var layers = limeLayers(cd.lime, f);
    var here = layers.filter(function (x) { return x.layer === l; })[0];
    var cfg = lime.config || {};
    if (here) {
      note.appendChild(el('div', { class: 'lime-legend' },
        el('span', null, 'LIME saliency on the top ' + here.contexts + ' context' + (here.contexts > 1 ? 's' : '') + ' (marked LIME; whole text shown): '),
        limeScale(),
        el('span', { class: 'muted' }, ' · intensity = |weight| / largest |weight| in that text · ' +
          (cfg.samples ? cfg.samples + ' copies with tokens replaced by ' + (lime.mask_token || 'the mask token') + ', ' : '') +
          'ridge regression on which tokens were kept. Hover a token for its weight.')));
    } else if (layers.length) {
      var to = layers[0].layer;
      note.appendChild(el('p', { class: 'small' }, 'LIME saliency for this factor is computed at layer ' + to + ' (its peak). ',
        el('button', { type: 'button', onclick: function () { selectLayer(to); } }, 'Show layer ' + to)));
    } else {
      var cov = lime.config && lime.config.coverage;
      note.appendChild(el('p', { class: 'muted small' }, covered
        ? 'No LIME contexts for this factor.'
        : 'No LIME saliency for this factor: this build computed it for ' + (cov === 'mid-high' ? 'mid- and high-level factors' : cov || 'some factors') +
          ' only (' + (lime.covered_factors || []).length + ' factors); build with --lime all to cover every factor.'));
    }
  }

  function tokenTitle(i, w) {
    return tokens.piece[i] + (w !== undefined ? ' · LIME weight ' + F.fmt(w) : '');
  }

  function contextText(sid, pos, W, lime, value) {
    var start = sentences.token_offset[sid];
    var n = sentences.n_tokens[sid];
    var end = start + n;
    var hit = start + pos;
    var word = F.wordSpan(tokens, hit, start, end);
    var a = start, b = end - 1;
    if (!lime && W !== Infinity) {
      a = Math.max(start, hit - W);
      b = Math.min(end - 1, hit + W);
      a = F.wordSpan(tokens, a, start, end)[0];
      b = F.wordSpan(tokens, b, start, end)[1];
    }
    var weights = null, wmax = 0;
    if (lime) {
      weights = new Map();
      for (var k = 0; k < lime.tokens.length; k++) {
        weights.set(lime.tokens[k], lime.weights[k]);
        wmax = Math.max(wmax, Math.abs(lime.weights[k]));
      }
    }
    var p = el('p', { class: 'ctx-text' });
    var first = true;
    if (a > start && !(a === start + 1 && tokens.is_special[start])) p.appendChild(el('span', { class: 'ell' }, '… '));
    for (var i = a; i <= b; i++) {
      var isHit = i === hit;
      if (tokens.is_special[i] && !isHit) continue;
      if (!first && tokens.space_before[i]) p.appendChild(document.createTextNode(' '));
      first = false;
      var cls = 'ctok';
      if (isHit) cls += ' hit';
      else if (i >= word[0] && i <= word[1]) cls += ' hitword';
      if (tokens.is_special[i]) cls += ' special';
      var attrs = { class: cls };
      var w;
      if (weights && weights.has(i - start)) {
        w = weights.get(i - start);
        var alpha = wmax > 0 ? Math.min(1, Math.abs(w) / wmax) * 0.8 : 0;
        attrs.style = { 'background-color': (w >= 0 ? 'rgba(220, 38, 38, ' : 'rgba(22, 163, 74, ') + alpha.toFixed(3) + ')' };
        attrs.dataset = { w: w.toFixed(4) };
      }
      attrs.title = isHit ? 'activating token · ' + tokenTitle(i, w) + ' · activation ' + F.fmt(value) : tokenTitle(i, w);
      p.appendChild(el('span', attrs, tokens.text[i]));
    }
    if (b < end - 1 && !(b === end - 2 && tokens.is_special[end - 1])) p.appendChild(el('span', { class: 'ell' }, ' …'));
    if (lime) p.appendChild(el('span', { class: 'lime-tag', title: 'LIME saliency shown on this text' }, 'LIME'));
    return p;
  }
  // ------------------------------------------------------------------ image contexts (image models)

  /** The activation map of factor f on image img (at the factor's peak layer), or null:
   * {values: Float32Array(n_units) in activation units, max}. */
  function heatMap(cd, f, img) {
    var h = cd.heat, hm = fs.heatmaps;
    if (!h || !hm) return null;
    var N = hm.contexts, U = hm.n_units, fi = f - h.lo;
    for (var j = 0; j < N; j++) {
      var id = h.meta[(fi * N + j) * 2];
      if (id < 0) break;
      if (id !== img) continue;
      var mx = h.meta[(fi * N + j) * 2 + 1];
      var bytes = h.maps.subarray((fi * N + j) * U, (fi * N + j + 1) * U);
      var values = new Float32Array(U);
      for (var u = 0; u < U; u++) values[u] = bytes[u] / 255 * mx;
      return { values: values, max: mx };
    }
    return null;
  }

  function nMaps(cd, f) {
    var h = cd.heat, hm = fs.heatmaps, n = 0;
    if (!h || !hm) return 0;
    for (var j = 0; j < hm.contexts; j++) if (h.meta[((f - h.lo) * hm.contexts + j) * 2] >= 0) n++;
    return n;
  }

  /** Paint an overlay over an image drawn in image pixel coordinates. */
  function paintActivation(ctx, map, vmax) {
    var P = geo.n_prefix_tokens, n = geo.grid[0] * geo.grid[1], s = geo.patch_size, cols = geo.grid[1];
    // spotlight: patches where the factor is silent are dimmed, active ones tinted orange
    ctx.save();
    for (var p = 0; p < n; p++) {
      var v = vmax > 0 ? Math.max(0, Math.min(1, map.values[P + p] / vmax)) : 0;
      if (v >= 1) continue;
      ctx.fillStyle = 'rgba(10,12,30,' + (0.62 * (1 - v)).toFixed(3) + ')';
      ctx.fillRect((p % cols) * s, Math.floor(p / cols) * s, s, s);
    }
    ctx.restore();
    G.heatmap(ctx, geo, map.values.subarray(P), vmax, [255, 140, 0], 0.45);
  }

  function paintLime(ctx, lime) {
    var P = geo.n_prefix_tokens, n = geo.grid[0] * geo.grid[1];
    var pos = new Float32Array(n), neg = new Float32Array(n), wmax = 0;
    for (var k = 0; k < lime.tokens.length; k++) {
      var u = lime.tokens[k] - P, w = lime.weights[k];
      if (u < 0 || u >= n) continue;
      if (w > 0) pos[u] = w; else neg[u] = -w;
      wmax = Math.max(wmax, Math.abs(w));
    }
    G.heatmap(ctx, geo, pos, wmax, [220, 38, 38], 0.7);
    G.heatmap(ctx, geo, neg, wmax, [22, 163, 74], 0.7);
  }

  /** A canvas with image img around unit pos (full: the whole image), `size` px on its long side,
   * the unit outlined, and paint(ctx) called in image pixel coordinates before the outline. */
  function unitView(img, pos, full, size, paint, colour) {
    var s = geo.patch_size, H = geo.size[0], W = geo.size[1];
    var prefix = pos < geo.n_prefix_tokens;
    var box = G.unitBox(geo, pos);
    var x0 = 0, y0 = 0, sw = W, sh = H;
    if (!full && !prefix) {
      var side = Math.min(Math.min(H, W), (2 * MARGIN + 1) * s);
      var cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
      x0 = Math.max(0, Math.min(W - side, Math.round(cx - side / 2)));
      y0 = Math.max(0, Math.min(H - side, Math.round(cy - side / 2)));
      sw = sh = side;
    }
    var k = size / Math.max(sw, sh), dpr = window.devicePixelRatio || 1;
    var canvas = el('canvas', { class: 'tfvis-crop', width: Math.round(sw * k * dpr), height: Math.round(sh * k * dpr) });
    canvas.style.width = Math.round(sw * k) + 'px';
    canvas.style.height = Math.round(sh * k) + 'px';
    var ctx = canvas.getContext('2d');
    var ready = G.source(geo, img).then(function (src) {
      ctx.setTransform(k * dpr, 0, 0, k * dpr, -x0 * k * dpr, -y0 * k * dpr);
      ctx.drawImage(src.img, src.x + x0, src.y + y0, sw, sh, x0, y0, sw, sh);
      if (paint) paint(ctx);
      var lw = Math.min(3, Math.max(1, size / 56)) / k;
      if (!prefix) G.outline(ctx, box[0], box[1], box[2] - box[0], box[3] - box[1], colour || '#ffd400', lw);
      else if (size >= 48) prefixLabel(ctx, dpr, G.unitName(geo, pos));
      canvas.dataset.drawn = '1';
      return canvas;
    });
    return { canvas: canvas, ready: ready };
  }

  /** A prefix token has no pixels: its tile is the whole image, labelled with the token's name. */
  function prefixLabel(ctx, dpr, text) {
    ctx.save();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = 'bold 11px sans-serif';
    var w = ctx.measureText(text).width + 8;
    ctx.fillStyle = 'rgba(0,0,0,0.7)';
    ctx.fillRect(3, 3, w, 16);
    ctx.fillStyle = '#ffd400';
    ctx.fillText(text, 7, 15);
    ctx.restore();
  }

  function imageName(sid) {
    return sentences.text ? String(sentences.text[sid]) : 'image ' + sid;
  }

  function renderImageContexts(f, l, cd, state) {
    var list = T.clear($('contexts'));
    var range = cd.starts.get(f + ',' + l);
    var shownOpt = $('shown').value;
    var total = range ? range[1] - range[0] : 0;
    var shown = shownOpt === 'all' ? total : Math.min(total, parseInt(shownOpt, 10));
    var full = $('view').value === 'full';
    var overlay = $('overlay').value;
    var peak = index.peak_layer[f];
    $('ctx-h').textContent = 'Top contexts at layer ' + l + (l === 0 ? ' (embeddings)' : '');
    $('ctx-count').textContent = total ? shown + ' of ' + total + ' contexts, strongest first' : '';
    renderImageLimeNote(f, l, cd);
    var vmax = range ? cd.topk.value[range[0]] || 1 : 1;
    renderOverlayNote(f, l, cd, overlay, vmax);
    var waits = [];
    if (!range) {
      list.appendChild(el('li', { class: 'muted' }, 'This factor is never active at layer ' + l + '.'));
      renderDetail(f, l, cd, null, vmax);
      markDrawn(f, l, waits);
      return;
    }
    var topk = cd.topk;
    var frag = document.createDocumentFragment();
    var opened = state.c === undefined ? null : parseInt(state.c, 10);
    var openedRow = null;
    for (var i = range[0]; i < range[0] + shown; i++) {
      var sid = topk.sentence_id[i], pos = topk.position[i], value = topk.value[i], rank = topk.rank[i];
      var lime = cd.lime ? cd.lime.get(f + ',' + l + ',' + sid + ',' + pos) : null;
      var map = l === peak ? heatMap(cd, f, sid) : null;
      var paint = null;
      if (overlay === 'act' && map) paint = (function (mp) { return function (ctx) { paintActivation(ctx, mp, vmax); }; })(map);
      else if (overlay === 'lime' && lime) paint = (function (lm) { return function (ctx) { paintLime(ctx, lm); }; })(lime);
      var view = unitView(sid, pos, full, CROP, paint, overlay === 'lime' ? '#1d4ed8' : null);
      waits.push(view.ready);
      var unit = G.unitName(geo, pos);
      if (rank === opened) openedRow = i;
      var tile = el('button', {
        type: 'button', class: 'ctx-tile', 'aria-pressed': rank === opened ? 'true' : 'false',
        title: 'Rank ' + (rank + 1) + ' · ' + unit + ' of ' + imageName(sid) + ' · activation ' + F.fmt(value) + ' · click to see the whole image' + (map ? ' with its activation map' : ''),
        dataset: { rank: rank },
        onclick: (function (r) { return function () { openContext(r); }; })(rank),
      }, view.canvas);
      frag.appendChild(el('li', {
        class: 'ctx-img' + (lime ? ' has-lime' : '') + (map ? ' has-map' : ''),
        dataset: { image: sid, pos: pos, layer: l, rank: rank },
      },
        tile,
        el('div', { class: 'ctx-meta' },
          el('span', { class: 'ctx-rank' }, '#' + (rank + 1)),
          el('span', { class: 'ctx-val', title: 'activation ' + value },
            el('span', { class: 'ctx-bar', style: { width: Math.max(2, 100 * value / vmax).toFixed(1) + '%' } }),
            el('span', { class: 'ctx-num' }, F.fmt(value))),
          lime ? el('span', { class: 'lime-tag', title: 'LIME saliency computed for this context' }, 'LIME') : null),
        el('div', { class: 'ctx-name', title: imageName(sid) }, imageName(sid)),
        el('div', { class: 'ctx-unit muted' }, unit)));
    }
    list.appendChild(frag);
    var detail = renderDetail(f, l, cd, openedRow, vmax, state.d);
    if (detail) waits.push(detail);
    markDrawn(f, l, waits);
  }

  function markDrawn(f, l, waits) {
    var seq = renderSeq;
    delete document.body.dataset.drawn;
    Promise.all(waits).then(function () {
      if (seq === renderSeq) document.body.dataset.drawn = f + ',' + l;
    }).catch(fail);
  }

  function openContext(rank) {
    var st = T.query();
    var open = String(st.c) === String(rank) ? null : rank;
    show(T.setQuery({ c: open }, false));
    if (open !== null) $('ctx-detail').scrollIntoView({ block: 'nearest' });
  }

  function renderOverlayNote(f, l, cd, overlay, vmax) {
    var note = T.clear($('overlay-note'));
    var peak = index.peak_layer[f];
    if (overlay === 'act') {
      if (l !== peak) {
        note.appendChild(el('p', { class: 'small' }, 'Activation maps of whole images are precomputed at the peak layer (' + peak + ') only. ',
          el('button', { type: 'button', onclick: function () { selectLayer(peak); } }, 'Show layer ' + peak)));
      } else {
        note.appendChild(activationLegend(vmax, nMaps(cd, f)));
      }
    }
  }

  function activationLegend(vmax, n) {
    return el('div', { class: 'act-legend small' },
      el('span', null, 'Activation of this factor on every patch: '),
      el('span', { class: 'act-scale', 'aria-hidden': 'true' }),
      el('span', null, ' 0 (dimmed) → ' + F.fmt(vmax) + ' (bright, orange; the top activation at this layer)'),
      n !== undefined ? el('span', { class: 'muted' }, ' · maps for the first ' + n + ' distinct images of the top contexts') : null);
  }

  /** The colour scale of a LIME legend (text and image factor pages alike). */
  function limeScale() {
    return [
      el('span', { class: 'lime-swatch lime-neg', 'aria-hidden': 'true' }),
      el('span', null, ' lowers the activation '),
      el('span', { class: 'lime-scale', 'aria-hidden': 'true' }),
      el('span', { class: 'lime-swatch lime-pos', 'aria-hidden': 'true' }),
      el('span', null, ' raises it'),
    ];
  }

  function limeLegend(extra) {
    var lime = fs.lime || {}, cfg = lime.config || {};
    return el('div', { class: 'lime-legend' },
      el('span', null, 'LIME saliency per patch: '),
      limeScale(),
      el('span', { class: 'muted' }, ' · intensity = |weight| / largest |weight| in that image · ' +
        (cfg.samples ? cfg.samples + ' copies with patches replaced by ' + (lime.mask_token || 'the mean colour') + ', ' : '') +
        'ridge regression on which patches were kept.' + (extra || '')));
  }

  function renderImageLimeNote(f, l, cd) {
    var note = limeNote(), lime = fs.lime;
    if (!note) return;
    var layers = limeLayers(cd.lime, f);
    var here = layers.filter(function (x) { return x.layer === l; })[0];
    if (here) {
      if ($('overlay').value === 'lime') note.appendChild(limeLegend(' ' + here.contexts + ' context' + (here.contexts > 1 ? 's' : '') + ' (marked LIME) at this layer.'));
      else note.appendChild(el('p', { class: 'small' }, 'LIME saliency is available for ' + here.contexts + ' context' + (here.contexts > 1 ? 's' : '') + ' (marked LIME): choose Overlay → LIME saliency, or open one.'));
    } else if (layers.length) {
      var to = layers[0].layer;
      note.appendChild(el('p', { class: 'small' }, 'LIME saliency for this factor is computed at layer ' + to + ' (its peak). ',
        el('button', { type: 'button', onclick: function () { selectLayer(to); } }, 'Show layer ' + to)));
    } else {
      var cov = lime.config && lime.config.coverage;
      var covered = (lime.covered_factors || []).indexOf(f) !== -1;
      note.appendChild(el('p', { class: 'muted small' }, covered
        ? 'No LIME contexts for this factor.'
        : 'No LIME saliency for this factor: this build computed it for ' + (cov === 'mid-high' ? 'mid- and high-level factors' : cov || 'some factors') +
          ' only (' + (lime.covered_factors || []).length + ' factors); build with --lime all to cover every factor.'));
    }
  }

  /** The opened context: the whole image with the factor's activation map (or LIME, or plain). */
  function renderDetail(f, l, cd, i, vmax, mode) {
    var box = $('ctx-detail');
    T.clear(box);
    if (i === null || i === undefined) {
      box.hidden = true;
      return null;
    }
    box.hidden = false;
    var topk = cd.topk;
    var sid = topk.sentence_id[i], pos = topk.position[i], value = topk.value[i], rank = topk.rank[i];
    var peak = index.peak_layer[f];
    var map = l === peak ? heatMap(cd, f, sid) : null;
    var lime = cd.lime ? cd.lime.get(f + ',' + l + ',' + sid + ',' + pos) : null;
    if (mode !== 'lime' && mode !== 'none') mode = map ? 'act' : lime ? 'lime' : 'none';
    if (mode === 'lime' && !lime) mode = 'none';
    var paint = mode === 'act' && map ? function (ctx) { paintActivation(ctx, map, vmax); } : mode === 'lime' ? function (ctx) { paintLime(ctx, lime); } : null;
    var scale = Math.max(1, Math.floor(DETAIL / Math.max(geo.size[0], geo.size[1])));
    var view = unitView(sid, pos, true, Math.max(DETAIL, scale * Math.max(geo.size[0], geo.size[1])) , paint, mode === 'lime' ? '#1d4ed8' : null);
    view.canvas.id = 'detail-canvas';
    view.canvas.dataset.mode = mode;
    function modeButton(m, label, enabled) {
      return el('button', {
        type: 'button', 'aria-pressed': m === mode ? 'true' : 'false', disabled: enabled ? null : 'disabled', dataset: { mode: m },
        onclick: function () { show(T.setQuery({ d: m === 'act' ? null : m }, false)); },
      }, label);
    }
    var info = el('div', { class: 'detail-info' },
      el('h3', null, 'Rank ' + (rank + 1) + ' · ', el('span', { class: 'detail-name' }, imageName(sid))),
      el('p', null, G.unitName(geo, pos) + ' · activation ' + F.fmt(value) + ' at layer ' + l + ' · ',
        el('a', { href: 'tokens.html?s=' + sid + '&t=' + pos, title: 'This unit in the unit browser' }, 'image #' + sid + ', unit ' + pos),
        fs.search && fs.search.by_image ? [' · ', el('a', { href: 'factors.html?img=' + sid, class: 'detail-by-image' }, 'factors that fire on this image')] : null),
      el('div', { class: 'detail-modes', role: 'group', 'aria-label': 'Overlay on the whole image' },
        modeButton('act', 'activation map', !!map), modeButton('lime', 'LIME', !!lime), modeButton('none', 'plain', true)));
    if (mode === 'act' && map) {
      if ($('overlay').value !== 'act') info.appendChild(activationLegend(vmax));
      var P = geo.n_prefix_tokens;
      if (P > 0) {
        var chips = el('p', { class: 'prefix-acts small' }, el('span', { class: 'muted' }, 'Prefix tokens (no pixels): '));
        for (var u = 0; u < P; u++) chips.appendChild(el('span', { class: 'prefix-chip', title: 'activation of this factor on ' + G.unitName(geo, u) }, G.unitName(geo, u) + ' ' + F.fmt(map.values[u])));
        info.appendChild(chips);
      }
      var best = 0;
      for (var q = 1; q < map.values.length; q++) if (map.values[q] > map.values[best]) best = q;
      info.appendChild(el('p', { class: 'muted small' }, 'Strongest unit in this image: ' + G.unitName(geo, best) + ' (' + F.fmt(map.max) + ').'));
    } else if (mode === 'lime') {
      if ($('overlay').value !== 'lime') info.appendChild(limeLegend());
    } else if (!map) {
      info.appendChild(el('p', { class: 'muted small' }, l !== peak
        ? 'Activation maps of whole images are precomputed at the peak layer (' + peak + ') only.'
        : 'No activation map for this image: maps cover the first ' + nMaps(cd, f) + ' distinct images of the top contexts.'));
    }
    info.appendChild(el('button', { type: 'button', class: 'detail-close', onclick: function () { show(T.setQuery({ c: null, d: null }, false)); } }, 'Close'));
    box.appendChild(el('div', { class: 'detail-image' }, view.canvas));
    box.appendChild(info);
    return view.ready;
  }
})();
