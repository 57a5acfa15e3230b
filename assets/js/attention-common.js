/*
 * attention-common.js: shared code of the attention pages (matrix, single head, sentence view).
 * Classic script; defines window.TFVIS_ATT. Needs tfvis-data.js (window.TFVIS) and hyparquet.
 *
 * Data (manifest["attention"], written by generator/tfvis_site/attention/bundle.py):
 *   head g = layer * n_heads + head; per head n_points = 2 * n_tokens points: point p < n_tokens is
 *   the QUERY of sample token p, point p >= n_tokens the KEY of token p - n_tokens.
 *   points_<method><dim>d.u16 (G, n_points, dim; dequantised here), norms.f32 (G, n_points), tokens/sentences.parquet,
 *   weights_L<l>.sqrt.u16 (n_heads, total_pairs; images .sqrt.u8), topk_L<l>.keys.u8/.weights.u16 (n_heads, n_tokens, K),
 *   aggregate.f32 (G, max_len, max_len).
 * Corpus text reaches the DOM only through TFVIS.el / textContent (or canvas fillText).
 */
(function (window) {
  'use strict';
  var T = window.TFVIS;
  var el = T.el;
  var A = {};
  window.TFVIS_ATT = A;

  // ------------------------------------------------------------------ timings (bench + tests)
  A.timings = {};
  A.mark = function (name, start) {
    var v = window.performance.now() - (start === undefined ? 0 : start);
    A.timings[name] = Math.round(v * 10) / 10;
    return v;
  };
  window.TFVIS_ATT_TIMINGS = A.timings;

  // ------------------------------------------------------------------ WebGL or not
  // Without WebGL (turned off, a VM without a GPU, some headless browsers) regl-scatterplot and
  // three.js fail on a null context: the pages ask first, show a plain note where the plots would
  // be, and keep everything else (labels, metrics, search counts, sentence view, aggregate).
  var webgl = null;
  /** True when this browser gives a WebGL context (asked once; the test context is released). */
  A.hasWebGL = function () {
    if (webgl === null) {
      var gl = null;
      try { gl = document.createElement('canvas').getContext('webgl'); } catch (e) { gl = null; }
      var lose = gl && gl.getExtension('WEBGL_lose_context');
      if (lose) lose.loseContext();
      webgl = Boolean(gl);
    }
    return webgl;
  };
  /** The note that replaces the scatterplots: inserted into `parent` before `before`; `rest` says what still works. */
  A.noWebGL = function (parent, before, rest) {
    if (parent.querySelector('.att-nogl')) return;
    var note = el('p', { class: 'att-nogl att-warn', role: 'note' },
      'The scatterplots need WebGL, which this browser has turned off. ' + rest +
      ' To see the points, turn WebGL (hardware acceleration) on or open the page in another browser.');
    note.style.padding = '0.6rem 0.8rem';
    parent.insertBefore(note, before);
  };

  // ------------------------------------------------------------------ data

  A.section = function () {
    return T.manifest().then(function (m) {
      if (!m.attention) throw new Error('this site was built without the attention analysis');
      A.manifest = m;
      // Image sites (image-common.js loaded): units are prefix tokens ([CLS], registers) + patches.
      A.image = window.TFVIS_IMG && window.TFVIS_IMG.isImageSite(m) ? m.image : null;
      var info = (m.files || {})[m.attention.files.tokens] || {};
      A.imageColumns = A.image ? IMAGE_COLUMNS.concat(['frequency']).filter(function (c) {
        return !info.columns || info.columns.indexOf(c) !== -1;
      }) : [];
      return m.attention;
    });
  };

  var TOKEN_COLUMNS = ['sentence', 'position', 'length', 'position_norm', 'token_id', 'piece', 'text',
    'space_before', 'is_special', 'is_punct', 'frequency'];
  // Image sites: per-unit patch statistics (patches.py); `frequency` is then the spatial frequency.
  var IMAGE_COLUMNS = ['row', 'col', 'hue', 'saturation', 'brightness', 'colour_r', 'colour_g', 'colour_b'];

  A.loadTokens = function (sec) {
    var cols = TOKEN_COLUMNS;
    // Only the image columns the build wrote (another build may lack some: their modes then hide).
    if (A.image) cols = TOKEN_COLUMNS.concat(A.imageColumns.filter(function (c) { return c !== 'frequency'; }));
    return T.loadColumns(sec.files.tokens, cols);
  };
  A.loadSentences = function (sec) {
    return T.loadColumns(sec.files.sentences);
  };

  /** Projection entry for method + dim, falling back to what was built (pca always is). */
  A.projection = function (sec, method, dim) {
    var list = sec.projections;
    var pick = function (f) {
      for (var i = 0; i < list.length; i++) if (f(list[i])) return list[i];
      return null;
    };
    return pick(function (p) { return p.method === method && p.dim === dim; }) ||
      pick(function (p) { return p.method === method; }) ||
      pick(function (p) { return p.dim === dim; }) || list[0];
  };

  A.methods = function (sec) {
    var seen = [];
    sec.projections.forEach(function (p) { if (seen.indexOf(p.method) === -1) seen.push(p.method); });
    var order = ['umap', 'tsne', 'pca'];
    seen.sort(function (a, b) { return order.indexOf(a) - order.indexOf(b); });
    return seen;
  };

  /** Coordinates of every head, Float32Array (G * P * dim), dequantised from the uint16 file. */
  A.loadPoints = function (entry) {
    return T.loadBytes(entry.file).then(function (buf) {
      var q = u16(buf), out = new Float32Array(q.length), scale = entry.scale, offset = entry.offset;
      for (var i = 0; i < q.length; i++) out[i] = q[i] * scale + offset;
      return out;
    });
  };
  A.loadNorms = function (sec) {
    return T.loadFloat32(sec.files.norms);
  };

  function u16(buf) {
    return new Uint16Array(buf, 0, buf.byteLength >> 1);
  }

  /** Attention data of one layer: weights (n_heads, total_pairs) and top-k (n_heads, N, K). */
  A.loadLayer = function (sec, layer) {
    return Promise.all([
      T.loadBytes(sec.files.weights[layer]),
      T.loadBytes(sec.files.topk_keys[layer]),
      T.loadBytes(sec.files.topk_weights[layer]),
    ]).then(function (b) {
      // Key positions: uint8 for sentences, uint16 when a sequence (an image) has > 255 units.
      var keys = sec.topk_key_missing > 255 ? u16(b[1]) : new Uint8Array(b[1]);
      // sqrt-u16 (text) / sqrt-u8 (images): stored sqrt(w); u16: w (sites built before sqrt-u16)
      var enc = sec.weights_encoding, w = enc === 'sqrt-u8' ? new Uint8Array(b[0]) : u16(b[0]);
      var top = enc === 'sqrt-u8' ? 255 : 65535;
      // weightAt(i): the attention weight at flat index i of this layer's (n_heads, total_pairs) array.
      var weightAt = enc === 'u16' ? function (i) { return w[i] / 65535; } : function (i) { var v = w[i] / top; return v * v; };
      return { weights: w, weightAt: weightAt, topKeys: keys, topWeights: u16(b[2]), missingKey: sec.topk_key_missing };
    });
  };

  A.loadAggregate = function (sec) {
    return Promise.all([T.loadFloat32(sec.files.aggregate), T.loadFloat32(sec.files.aggregate_count)]);
  };

  // ------------------------------------------------------------------ one sequence's weights

  /**
   * The L x L weights of sequence s (a sentence or an image) for head h of a loaded layer, rows =
   * queries, Float32Array. Causal models (decoders): 0 above the diagonal, whatever the file says,
   * so no view can draw a line from a query to a later key.
   */
  A.blockWeights = function (sec, sentences, layerData, h, s) {
    var n = sentences.n_tokens[s], off = h * sec.total_pairs + Number(sentences.pair_offset[s]);
    var w = new Float32Array(n * n), causal = !!sec.model.is_causal;
    for (var q = 0; q < n; q++) {
      var last = causal ? q : n - 1;
      for (var k = 0; k <= last; k++) w[q * n + k] = layerData.weightAt(off + q * n + k);
    }
    return w;
  };

  /**
   * Reweight an L x L block in place: hidden positions (Uint8Array(L) or null) lose their rows and
   * columns, each key column is scaled by its value norm (Float32Array(L) or null: AttentionViz's
   * "weight by value norm", attention x ||v_j||), and every row that changed is renormalised over
   * the keys left (a row with nothing left stays 0). Returns w.
   */
  A.reweight = function (w, n, hidden, vrow) {
    var anyHidden = false, q, k;
    if (hidden) for (k = 0; k < n && !anyHidden; k++) anyHidden = hidden[k] === 1;
    if (!anyHidden && !vrow) return w;
    for (q = 0; q < n; q++) {
      var sum = 0;
      for (k = 0; k < n; k++) {
        var v = hidden && (hidden[q] || hidden[k]) ? 0 : w[q * n + k] * (vrow ? vrow[k] : 1);
        w[q * n + k] = v;
        sum += v;
      }
      if (sum > 0) for (k = 0; k < n; k++) w[q * n + k] /= sum;
    }
    return w;
  };

  /** Value norms ||v|| of every sample token, Float32Array (n_layers, n_tokens, n_kv_heads); null if not built. */
  A.loadValueNorms = function (sec) {
    return sec.files.value_norms ? T.loadFloat32(sec.files.value_norms) : Promise.resolve(null);
  };

  /** The key/value head query head g reads (grouped-query attention: several query heads share one). */
  A.kvHead = function (sec, g) {
    var info = sec.heads[g];
    if (info && info.kv_head !== undefined && info.kv_head !== null) return info.kv_head;
    var H = sec.model.n_heads, nkv = sec.model.n_kv_heads || H;
    return Math.floor((g % H) / (H / nkv));
  };

  /** Float32Array(L) of the value norms of sequence s's units for head g (its kv head), or null. */
  A.valueRow = function (sec, sentences, vnorms, g, s) {
    if (!vnorms) return null;
    var N = sec.n_tokens, nkv = sec.model.n_kv_heads || sec.model.n_heads, layer = Math.floor(g / sec.model.n_heads);
    var kv = A.kvHead(sec, g), start = sentences.token_offset[s], n = sentences.n_tokens[s], out = new Float32Array(n);
    for (var p = 0; p < n; p++) out[p] = vnorms[(layer * N + start + p) * nkv + kv];
    return out;
  };

  /** Strongest keys of row q of an L x L block: [{pos, w}], strongest first, at most count, w >= min. */
  A.topOfRow = function (w, n, q, count, min) {
    var row = [];
    for (var k = 0; k < n; k++) if (w[q * n + k] >= min) row.push({ pos: k, w: w[q * n + k] });
    row.sort(function (a, b) { return b.w - a.w || a.pos - b.pos; });
    return row.slice(0, count);
  };

  /**
   * Links a sample sentence to the token browser: the build writes each attention sentence's
   * sentence_id (its row of data/sentences.parquet). Returns f(s) -> sentence_id or null.
   */
  A.tokenBrowserLinker = function (sentences) {
    var ids = sentences.sentence_id;
    var files = (A.manifest && A.manifest.files) || {};
    var browser = Object.prototype.hasOwnProperty.call(files, 'sentences.parquet');
    return function (s) {
      return browser && ids && ids[s] !== undefined && ids[s] >= 0 ? Number(ids[s]) : null;
    };
  };

  // ------------------------------------------------------------------ colours (colour-blind safe)

  // PiYG (ColorBrewer, colour-blind safe): greens for queries, pinks for keys.
  A.QUERY = '#4d9221';
  A.KEY = '#c51b7d';
  var Q_RAMP = ['#d9efc0', '#b8e186', '#7fbc41', '#4d9221', '#276419', '#173d0f'];
  var K_RAMP = ['#fbd5ea', '#f1b6da', '#de77ae', '#c51b7d', '#8e0152', '#4d0030'];
  // Okabe & Ito (2008) categorical palette without yellow (too light on white).
  var OKABE = ['#E69F00', '#56B4E9', '#009E73', '#0072B2', '#D55E00', '#CC79A7'];
  var VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58',
    '#b5de2b', '#fde725'];
  A.VIRIDIS = VIRIDIS;

  function hexToRgb(hex) {
    var n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  A.hexToRgb = hexToRgb;

  function lerpRamp(stops, n) {
    var out = [];
    for (var i = 0; i < n; i++) {
      var t = n === 1 ? 0 : i / (n - 1) * (stops.length - 1);
      var a = Math.floor(t), b = Math.min(stops.length - 1, a + 1), f = t - a;
      var ca = hexToRgb(stops[a]), cb = hexToRgb(stops[b]);
      out.push('#' + [0, 1, 2].map(function (k) {
        var v = Math.round(ca[k] + (cb[k] - ca[k]) * f);
        return (v < 16 ? '0' : '') + v.toString(16);
      }).join(''));
    }
    return out;
  }
  A.lerpRamp = lerpRamp;

  var POS_BINS = 8;
  var Q_POS = lerpRamp(Q_RAMP.slice(1), POS_BINS);
  var K_POS = lerpRamp(K_RAMP.slice(1), POS_BINS);
  var NORM_BINS = 10;

  A.COLOR_MODES = {
    qk: 'query / key',
    position: 'normalised position',
    mod5: 'position mod 5',
    norm: 'vector norm',
    freq: 'token frequency',
    punct: 'punctuation / special',
  };
  // Image sites: the text-only modes (position in a sequence, token frequency, punctuation) make
  // no sense for patches and are replaced by these (AttentionViz, Yeh et al. 2023, Fig. 1).
  A.IMAGE_COLOR_MODES = {
    qk: 'query / key',
    row: 'patch row',
    col: 'patch column',
    hue: 'hue',
    rgb: 'mean colour',
    brightness: 'brightness',
    sfreq: 'spatial frequency',
    norm: 'vector norm',
  };
  var IMAGE_MODE_NEEDS = { row: 'row', col: 'col', hue: 'hue', rgb: 'colour_r', brightness: 'brightness', sfreq: 'frequency' };
  A.colorModes = function () { return A.image ? A.IMAGE_COLOR_MODES : A.COLOR_MODES; };

  // Prefix tokens ([CLS], registers) in the image modes: near-black queries, dark grey keys.
  A.PREFIX_Q = '#111111';
  A.PREFIX_K = '#6b6b6b';
  var HUE_BINS = 12;

  function hsvHex(h, s, v) {
    var i = Math.floor(h * 6) % 6, f = h * 6 - Math.floor(h * 6);
    var p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
    var rgb = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i];
    return '#' + rgb.map(function (x) { var n = Math.round(x * 255); return (n < 16 ? '0' : '') + n.toString(16); }).join('');
  }
  A.hsvHex = hsvHex;

  /** Colour categories of the image modes (see colorCategories); null when the mode does not apply. */
  function imageCategories(mode, tokens, N) {
    if (!A.image || !IMAGE_MODE_NEEDS[mode] || !tokens[IMAGE_MODE_NEEDS[mode]]) return null;
    var P = 2 * N, cat = new Uint8Array(P), i, k;
    var geo = A.image, special = tokens.is_special;
    var isPrefix = function (t) { return tokens.row ? tokens.row[t] < 0 : special[t]; };
    var prefixItems = function (pal) {
      return [{ color: pal[pal.length - 2], label: '[CLS] / register (query)' }, { color: pal[pal.length - 1], label: '[CLS] / register (key)' }];
    };
    var finish = function (palette, legend) {
      // the two last categories: prefix queries and keys
      var pq = palette.length, pk = palette.length + 1;
      for (var t = 0; t < N; t++) if (isPrefix(t)) { cat[t] = pq; cat[N + t] = pk; }
      palette = palette.concat([A.PREFIX_Q, A.PREFIX_K]);
      legend.items = (legend.items || []).concat(prefixItems(palette));
      return { cat: cat, palette: palette, legend: legend };
    };
    if (mode === 'row' || mode === 'col') {
      var n = mode === 'row' ? geo.grid[0] : geo.grid[1], bins = Math.min(n, 16), v = tokens[mode];
      var qr = lerpRamp(Q_RAMP.slice(1), bins), kr = lerpRamp(K_RAMP.slice(1), bins);
      for (i = 0; i < N; i++) {
        var b = Math.max(0, Math.min(bins - 1, Math.floor(v[i] / n * bins)));
        cat[i] = b; cat[N + i] = bins + b;
      }
      return finish(qr.concat(kr), { title: 'patch ' + (mode === 'row' ? 'row (0 = top)' : 'column (0 = left)') + ', queries green, keys pink',
        ramps: [{ label: 'queries', colors: qr }, { label: 'keys', colors: kr }], min: '0', max: String(n - 1) });
    }
    if (mode === 'hue') {
      // a hue wheel in HUE_BINS steps; patches with little saturation (greys) get their own grey
      var wheel = [];
      for (k = 0; k < HUE_BINS; k++) wheel.push(hsvHex((k + 0.5) / HUE_BINS, 0.85, 0.85));
      var grey = '#bdbdbd';
      for (i = 0; i < N; i++) {
        var sat = tokens.saturation ? tokens.saturation[i] : 1;
        cat[i] = cat[N + i] = sat < 0.15 ? HUE_BINS : Math.min(HUE_BINS - 1, Math.floor(tokens.hue[i] * HUE_BINS));
      }
      return finish(wheel.concat([grey]), { title: 'mean hue of the patch (queries and keys alike)',
        ramps: [{ label: 'hue', colors: wheel.concat([wheel[0]]) }], min: 'red', max: 'red',
        items: [{ color: grey, label: 'grey (saturation < 0.15)' }] });
    }
    if (mode === 'rgb') {
      // the patch's mean colour, quantised to a 6 x 6 x 6 cube (216 colours)
      var cube = [];
      for (var r = 0; r < 6; r++) for (var g = 0; g < 6; g++) for (var bl = 0; bl < 6; bl++) cube.push(hsvLess(r, g, bl));
      var q6 = function (x) { return Math.min(5, Math.round(x / 51)); };
      for (i = 0; i < N; i++) cat[i] = cat[N + i] = q6(tokens.colour_r[i]) * 36 + q6(tokens.colour_g[i]) * 6 + q6(tokens.colour_b[i]);
      return finish(cube, { title: 'mean colour of the patch (queries and keys alike)', items: [] });
    }
    // brightness, spatial frequency: viridis in 10 bins over the range of the patches
    var col = mode === 'brightness' ? tokens.brightness : tokens.frequency;
    var lo = Infinity, hi = -Infinity;
    for (i = 0; i < N; i++) if (!isPrefix(i)) { lo = Math.min(lo, col[i]); hi = Math.max(hi, col[i]); }
    if (!(lo <= hi)) { lo = 0; hi = 1; }
    for (i = 0; i < N; i++) {
      var f = (col[i] - lo) / (hi - lo || 1);
      cat[i] = cat[N + i] = Math.max(0, Math.min(NORM_BINS - 1, Math.floor(f * NORM_BINS)));
    }
    return finish(VIRIDIS.slice(), { title: mode === 'brightness' ? 'brightness of the patch (queries and keys alike)' :
      'spatial frequency of the patch (cycles per patch; queries and keys alike)',
      ramps: [{ label: '', colors: VIRIDIS }], min: lo.toFixed(2), max: hi.toFixed(2) });
  }

  function hsvLess(r, g, b) {
    return '#' + [r, g, b].map(function (x) { var n = x * 51; return (n < 16 ? '0' : '') + n.toString(16); }).join('');
  }

  /**
   * Per-point colour categories of one head for a colour mode: {cat: Uint8Array(P), palette: [hex],
   * legend: spec}. perHead: true if the categories depend on the head (norm), else shared by all.
   * norms: Float32Array of that head's P norms (only for mode 'norm').
   */
  A.colorCategories = function (mode, tokens, N, norms) {
    var img = imageCategories(mode, tokens, N);
    if (img) return img;
    var P = 2 * N;
    var cat = new Uint8Array(P);
    var i;
    if (mode === 'position') {
      for (i = 0; i < N; i++) {
        var b = Math.min(POS_BINS - 1, Math.floor(tokens.position_norm[i] * POS_BINS));
        cat[i] = b;
        cat[N + i] = POS_BINS + b;
      }
      return { cat: cat, palette: Q_POS.concat(K_POS), legend: { title: 'normalised position (0 = first token, 1 = last)',
        ramps: [{ label: 'queries', colors: Q_POS }, { label: 'keys', colors: K_POS }], min: '0', max: '1' } };
    }
    if (mode === 'mod5') {
      for (i = 0; i < N; i++) cat[i] = cat[N + i] = tokens.position[i] % 5;
      return { cat: cat, palette: OKABE.slice(0, 5), legend: { title: 'position mod 5 (queries and keys)',
        items: [0, 1, 2, 3, 4].map(function (k) { return { color: OKABE[k], label: String(k) }; }) } };
    }
    if (mode === 'freq') {
      var maxLog = 0;
      for (i = 0; i < N; i++) maxLog = Math.max(maxLog, Math.log(tokens.frequency[i]));
      for (i = 0; i < N; i++) {
        var f = maxLog > 0 ? Math.log(tokens.frequency[i]) / maxLog : 0;
        cat[i] = cat[N + i] = Math.min(NORM_BINS - 1, Math.floor(f * NORM_BINS));
      }
      return { cat: cat, palette: VIRIDIS, legend: { title: 'token frequency in the sample (log scale)',
        ramps: [{ label: '', colors: VIRIDIS }], min: '1', max: String(Math.round(Math.exp(maxLog))) } };
    }
    if (mode === 'punct') {
      var pal = ['#b9b9b9', OKABE[4], OKABE[3]];
      for (i = 0; i < N; i++) cat[i] = cat[N + i] = tokens.is_special[i] ? 2 : (tokens.is_punct[i] ? 1 : 0);
      return { cat: cat, palette: pal, legend: { title: 'token kind (queries and keys)',
        items: [{ color: pal[0], label: 'word piece' }, { color: pal[1], label: 'punctuation / symbol' },
          { color: pal[2], label: 'special ([CLS], [SEP], …)' }] } };
    }
    if (mode === 'norm') {
      var r = A.normRange(norms);
      for (i = 0; i < P; i++) {
        cat[i] = Math.min(NORM_BINS - 1, Math.floor((norms[i] - r[0]) / (r[1] - r[0] || 1) * NORM_BINS));
      }
      return { cat: cat, palette: VIRIDIS, perHead: true, legend: { title: 'vector norm before normalisation (per head)',
        ramps: [{ label: '', colors: VIRIDIS }], min: r[0].toFixed(1), max: r[1].toFixed(1) } };
    }
    for (i = N; i < P; i++) cat[i] = 1;
    return { cat: cat, palette: [A.QUERY, A.KEY], legend: { title: 'point',
      items: [{ color: A.QUERY, label: 'query' }, { color: A.KEY, label: 'key' }] } };
  };

  A.normRange = function (norms) {
    var lo = Infinity, hi = -Infinity;
    for (var i = 0; i < norms.length; i++) {
      var v = norms[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return lo <= hi ? [lo, hi] : [0, 1];
  };

  /** Norms of one head scaled into [0, 1] (the dot-size encoding). */
  A.normUnit = function (norms, out, offset) {
    var r = A.normRange(norms);
    var span = r[1] - r[0] || 1;
    for (var i = 0; i < norms.length; i++) out[offset + i] = (norms[i] - r[0]) / span;
    return r;
  };

  /** Legend: spec {title, items: [{color, label}]} or {title, ramps: [{label, colors}], min, max}. */
  A.legend = function (node, spec) {
    T.clear(node);
    node.appendChild(el('p', { class: 'att-legend-title' }, spec.title));
    if (spec.items) {
      node.appendChild(el('ul', { class: 'att-swatches' }, spec.items.map(function (it) {
        return el('li', null, el('span', { class: 'att-swatch', style: { background: it.color } }), it.label);
      })));
    }
    (spec.ramps || []).forEach(function (ramp) {
      node.appendChild(el('div', { class: 'att-ramp-row' },
        ramp.label ? el('span', { class: 'att-ramp-label' }, ramp.label) : null,
        el('span', { class: 'att-ramp-end' }, spec.min),
        el('span', { class: 'att-ramp', style: { background: 'linear-gradient(to right, ' + ramp.colors.join(', ') + ')' } }),
        el('span', { class: 'att-ramp-end' }, spec.max)));
    });
    return node;
  };

  A.sizeLegend = function (node, on) {
    T.clear(node);
    if (!on) {
      node.appendChild(el('p', { class: 'att-legend-title' }, 'dot size: constant'));
      return;
    }
    node.appendChild(el('p', { class: 'att-legend-title' }, 'dot size: vector norm (per head)'));
    node.appendChild(el('div', { class: 'att-size-row' }, el('span', null, 'low'),
      [3, 5, 7, 9].map(function (d) {
        return el('span', { class: 'att-dot', style: { width: d + 'px', height: d + 'px' } });
      }), el('span', null, 'high')));
  };

  // ------------------------------------------------------------------ search

  /**
   * Tokens matching a search: exact (case-insensitive) on the text or the word piece (## and Ġ
   * stripped); if nothing matches exactly, a substring match. Returns {flags: Uint8Array(N), count, exact}.
   */
  A.matchTokens = function (tokens, query) {
    var N = tokens.text.length;
    var flags = new Uint8Array(N);
    var q = (query || '').trim().toLowerCase();
    if (!q) return { flags: flags, count: 0, exact: true };
    var count = 0, i;
    var norm = function (s) { return String(s).toLowerCase().replace(/^(##|\u0120|\u2581)/, ''); };
    for (i = 0; i < N; i++) {
      if (tokens.text[i].toLowerCase() === q || norm(tokens.piece[i]) === q) { flags[i] = 1; count++; }
    }
    if (count) return { flags: flags, count: count, exact: true };
    for (i = 0; i < N; i++) {
      if (tokens.text[i].toLowerCase().indexOf(q) !== -1) { flags[i] = 1; count++; }
    }
    return { flags: flags, count: count, exact: false };
  };

  // ------------------------------------------------------------------ state + formatting

  /** View settings shared by both pages, validated against what was built. */
  A.viewState = function (sec, q) {
    var methods = A.methods(sec);
    var method = methods.indexOf(q.proj) !== -1 ? q.proj : methods[0];
    var dim = q.dim === '3' ? 3 : 2;
    var entry = A.projection(sec, method, dim);
    return {
      proj: entry.method,
      dim: entry.dim,
      entry: entry,
      color: Object.prototype.hasOwnProperty.call(A.colorModes(), q.color) ? q.color : 'qk',
      size: q.size === '1',
      q: q.q || '',
    };
  };

  /** Wire the shared controls (#att-proj, dim radios, #att-color, #att-size, #att-q) to onChange(patch). */
  A.wireControls = function (onChange) {
    var form = document.getElementById('att-controls');
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      onChange({ q: document.getElementById('att-q').value.trim() || null }, true);
    });
    document.getElementById('att-proj').addEventListener('change', function (e) { onChange({ proj: e.target.value }, true); });
    document.getElementById('att-color').addEventListener('change', function (e) { onChange({ color: e.target.value }, true); });
    document.getElementById('att-size').addEventListener('change', function (e) { onChange({ size: e.target.checked ? '1' : null }, true); });
    Array.prototype.forEach.call(form.querySelectorAll('input[name="dim"]'), function (r) {
      r.addEventListener('change', function () { if (r.checked) onChange({ dim: r.value }, true); });
    });
    var q = document.getElementById('att-q');
    q.addEventListener('search', function () { if (!q.value) onChange({ q: null }, true); });
  };

  /** Reflect a view state in the controls (after navigation or a deep link). */
  A.showControls = function (sec, v) {
    A.colorOptions();
    var proj = document.getElementById('att-proj');
    proj.value = v.proj;
    var dims = {};
    sec.projections.forEach(function (p) { if (p.method === v.proj) dims[p.dim] = true; });
    Array.prototype.forEach.call(document.querySelectorAll('input[name="dim"]'), function (r) {
      r.checked = Number(r.value) === v.dim;
      r.disabled = !dims[Number(r.value)];
    });
    document.getElementById('att-color').value = v.color;
    document.getElementById('att-size').checked = v.size;
    var q = document.getElementById('att-q');
    if (document.activeElement !== q || q.value.trim() !== v.q) q.value = v.q;
  };

  /** On image sites, swap the colour select's text-only modes for the image modes (once). */
  A.colorOptions = function () {
    var select = document.getElementById('att-color');
    if (!A.image || !select || select.dataset.image) return;
    select.dataset.image = '1';
    var modes = A.IMAGE_COLOR_MODES;
    T.clear(select);
    Object.keys(modes).forEach(function (k) {
      if (IMAGE_MODE_NEEDS[k] && A.imageColumns && A.imageColumns.indexOf(IMAGE_MODE_NEEDS[k]) === -1) return;
      select.appendChild(el('option', { value: k }, modes[k]));
    });
    var search = document.getElementById('att-q');
    if (search) search.placeholder = 'e.g. [CLS], patch 3,4';
    var label = search && search.parentNode && search.parentNode.firstChild;
    if (label && label.nodeType === 3) label.textContent = 'Find unit ';
  };

  A.fmt = function (x, digits) {
    if (x === null || x === undefined || typeof x !== 'number' || !isFinite(x)) return 'n/a';
    return x.toFixed(digits === undefined ? 2 : digits).replace('-', '\u2212');
  };

  /** A short piece of a sentence around one token: [before, token, after] strings. */
  A.snippet = function (tokens, sentences, t, width) {
    var s = tokens.sentence[t];
    var start = sentences.token_offset[s], n = sentences.n_tokens[s];
    var pos = t - start;
    width = width || 6;
    var join = function (a, b) {
      var out = '';
      for (var i = Math.max(0, a); i < Math.min(n, b); i++) {
        var j = start + i;
        out += (tokens.space_before[j] && out ? ' ' : '') + tokens.text[j];
      }
      return out;
    };
    var before = join(pos - width, pos), after = join(pos + 1, pos + 1 + width);
    return [(pos - width > 0 ? '… ' : '') + before, tokens.text[t], after + (pos + 1 + width < n ? ' …' : '')];
  };

  A.cssVar = function (name, fallback) {
    var v = window.getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
  };

  A.fail = function (status, err) {
    status.textContent = 'Could not show the attention data: ' + (err && err.message ? err.message : String(err));
    status.className = 'error';
    if (window.console) window.console.warn(err);
  };
})(window);
