/*
 * factor.html: one transformer factor. URL state: ?f=<factor>&l=<layer>&w=<context window>&n=<shown>
 * (l defaults to the factor's peak layer). Back/forward restore the view.
 *
 * Data (docs/factors.md): factors/index.parquet (levels, IS curves), factors/neighbors.parquet,
 * factors/topk-NNN.parquet + factors/hist-NNN.f32 of the factor's chunk, tokens.parquet and
 * sentences.parquet for the context text, and factors/lime-NNN.parquet (LIME token weights)
 * when the build computed LIME for the chunk. Corpus text only reaches the DOM as text nodes.
 */
(function () {
  'use strict';
  var T = window.TFVIS;
  var F = window.TFVISF;
  var el = T.el;

  var $ = function (id) { return document.getElementById(id); };
  var status = $('status');
  var fs, index, neighbors, sentences, tokens;
  var current = { f: null, l: null };
  var renderSeq = 0;
  var hoverInfo = null;

  var t0 = window.performance.now();
  var manifestP = F.section();
  var indexP = manifestP.then(function (m) { fs = m.factors; return F.index(fs); });
  var neighborsP = manifestP.then(function (m) { return T.loadColumns(m.factors.files.neighbors); });
  var textP = Promise.all([
    T.loadColumns('sentences.parquet', ['token_offset', 'n_tokens']),
    T.loadColumns('tokens.parquet', ['text', 'space_before', 'is_special', 'piece']),
  ]);
  // Start loading the requested factor's chunk right away, in parallel with the rest.
  manifestP.then(function (m) {
    var f = parseInt(T.query().f, 10);
    if (f >= 0 && f < m.factors.n_factors) { chunkData(F.chunkOf(m.factors, f)); }
  }).catch(function () {});

  Promise.all([manifestP, indexP, neighborsP])
    .then(function (r) {
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
    var p = Promise.all([
      T.loadColumns(F.chunkFile(fs.files.topk, chunk)),
      T.loadFloat32(F.chunkFile(fs.files.hist, chunk)),
      limeName ? T.loadColumns(limeName) : Promise.resolve(null),
    ]).then(function (r) {
      var topk = r[0];
      var starts = new Map();
      for (var i = 0; i < topk.factor.length; i++) {
        var key = topk.factor[i] + ',' + topk.layer[i];
        var s = starts.get(key);
        if (!s) starts.set(key, [i, i + 1]);
        else s[1] = i + 1;
      }
      return { topk: topk, starts: starts, hist: r[1], lime: r[2] ? groupLime(r[2]) : null };
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
    $('window').addEventListener('change', function () {
      show(T.setQuery({ w: $('window').value === '12' ? null : $('window').value }, false));
    });
    $('shown').addEventListener('change', function () {
      show(T.setQuery({ n: $('shown').value === 'all' ? null : $('shown').value }, false));
    });
  }

  function go(f) {
    show(T.setQuery({ f: f, l: null }, true));
  }

  function selectLayer(l) {
    if (l === current.l) return;
    show(T.setQuery({ f: current.f, l: l }, true));
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
    $('window').value = ['6', '24', 'all'].indexOf(state.w) !== -1 ? state.w : '12';
    $('shown').value = ['20', '50'].indexOf(state.n) !== -1 ? state.n : 'all';

    renderHeader(f, l);
    renderCurve(f, l);
    if (factorChanged) renderNeighbors(f);
    status.textContent = 'Loading contexts…';
    status.className = 'muted';
    return Promise.all([chunkData(F.chunkOf(fs, f)), textP]).then(function (r) {
      if (seq !== renderSeq) return;
      var cd = r[0];
      sentences = r[1][0];
      tokens = r[1][1];
      renderFacts(f, l, cd);
      renderContexts(f, l, cd, state);
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
    if (level === 'dead') {
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
      top.appendChild(el('span', { class: 'muted' }, 'Most frequent tokens in its top contexts at layer ' + peak + ': '));
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
    var nTok = tokens.text.length;
    var range = cd.starts.get(f + ',' + l);
    var topMin = range ? cd.topk.value[range[1] - 1] : null;
    var topMax = range ? cd.topk.value[range[0]] : null;
    $('stats-layer').textContent = l + (l === 0 ? ' (embeddings)' : '');
    var facts = T.clear($('facts'));
    facts.appendChild(row('IS', F.fmt(index.is[l][f]) + (l === index.peak_layer[f] ? ' (peak)' : ' (peak ' + F.fmt(index.is[index.peak_layer[f]][f]) + ' at layer ' + index.peak_layer[f] + ')')));
    facts.appendChild(row('Active on', active.toLocaleString() + ' of ' + nTok.toLocaleString() + ' tokens (' + F.pct(active / nTok) + ')'));
    facts.appendChild(row('Top-' + fs.top_k + ' range', range ? F.fmt(topMin) + ' – ' + F.fmt(topMax) : 'no activations'));
    facts.appendChild(row('Density (all layers)', F.pct(index.density[f])));
    facts.appendChild(row('Max activation', F.fmt(index.max_activation[f]) + ' (any layer)'));
    facts.appendChild(row('Spread at peak', F.fmt(index.spread[f], 2) + ' = P(active at t+1 | active at t)'));
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
      'aria-label': 'Histogram of positive activations at this layer, log-scaled axes; ' + (max ? 'largest bin ' + max + ' tokens' : 'no activations') });
    for (var b = 0; b < n; b++) {
      if (!counts[b]) continue;
      var x0 = xs(edges[b]), x1 = xs(edges[b + 1]);
      svg.appendChild(el('svg:rect', { class: topMin !== null && edges[b + 1] > topMin ? 'bar top' : 'bar', x: x0 + 0.5, y: ys(counts[b]), width: Math.max(1, x1 - x0 - 1), height: H - mb - ys(counts[b]) },
        el('svg:title', null, F.fmt(edges[b]) + ' – ' + F.fmt(edges[b + 1]) + ': ' + counts[b].toLocaleString() + ' tokens')));
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
        el('span', { class: 'nn-top' }, index.top_tokens[g])));
    }
    if (!list.firstChild) list.appendChild(el('li', { class: 'muted' }, 'No neighbours recorded.'));
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
        el('a', { class: 'ctx-link', href: 'tokens.html?s=' + sid + '&t=' + pos, title: 'Text #' + sid + ', token ' + pos + ' in the token browser' }, '#' + sid)));
    }
    list.appendChild(frag);
  }

  function renderLimeNote(f, l, cd) {
    var note = T.clear($('lime-note'));
    var lime = fs.lime;
    if (!lime || !lime.files) {
      note.appendChild(el('p', { class: 'muted small' }, 'This build has no LIME saliency data.'));
      return;
    }
    var covered = (lime.covered_factors || []).indexOf(f) !== -1;
    var layers = limeLayers(cd.lime, f);
    var here = layers.filter(function (x) { return x.layer === l; })[0];
    var cfg = lime.config || {};
    if (here) {
      note.appendChild(el('div', { class: 'lime-legend' },
        el('span', null, 'LIME saliency on the top ' + here.contexts + ' context' + (here.contexts > 1 ? 's' : '') + ' (marked LIME; whole text shown): '),
        el('span', { class: 'lime-swatch lime-neg', 'aria-hidden': 'true' }),
        el('span', null, ' lowers the activation '),
        el('span', { class: 'lime-scale', 'aria-hidden': 'true' }),
        el('span', { class: 'lime-swatch lime-pos', 'aria-hidden': 'true' }),
        el('span', null, ' raises it'),
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
})();
