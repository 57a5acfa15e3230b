/*
 * live-probe.js: the live probe's shared core (issue 14, docs/live-probe.md): run the site's model
 * on text typed in the browser and code its hidden states with the site's dictionary encoder.
 * Classic script after tfvis-data.js and tokenizer.js; defines TFVIS.live. The views are
 * live-factor.js (factor page), live-tokens.js (token browser), live-attention.js (head page).
 *
 * Data (LIVE-CONTRACT.md, docs/data-contract.md): manifest.live names live/model.onnx (inputs
 * input_ids, attention_mask int64 [1, T]; outputs hidden_states [L+1, T, d], attentions
 * [L, H, T, T]), live/tokenizer.json and live/encoder.bin (float32 arrays at byte offsets). All are
 * data files with .js twins, so this works from file://.
 *
 * onnxruntime-web (assets/vendor/ort.min.js, window.ort) and its WebAssembly binary (14 MB, 3.7 MB gzipped)
 * (assets/vendor/ort-wasm.min.js, gzip then base64 in window.TFVIS_ORT_WASM_GZIP) are loaded only when the reader
 * asks for the probe, by inserting <script> tags at that moment. Pages that use the probe allow
 * 'wasm-unsafe-eval' in their Content-Security-Policy.
 *
 * The encoder runs inside onnxruntime too, as a 5-node ONNX graph (ENCODER_ONNX below: z = (h -
 * mean) / scale; pre = (z - b_dec) @ W_enc + b_enc, for all layers in one call): its SIMD MatMul
 * is ~10x faster than a JavaScript loop over 3,072 factors. Top-k and ReLU are done here, exactly
 * as FactorResult.encode does them (factors/pipeline.py, Encoder.codes).
 */
(function (window) {
  'use strict';
  var T = window.TFVIS;
  var document = window.document;
  var L = {};
  T.live = L;

  // tests/test_live_browser.py::test_encoder_graph_is_the_documented_one rebuilds these bytes with onnx.helper.
  var ENCODER_ONNX = 'CAgSCnRmdmlzLXNpdGU6uQIKEQoBaAoEbWVhbhIBYyIDU3ViChIKAWMKBXNjYWxlEgF6IgNEaXYKEwoBegoFYl9kZWMSAnpjIgNTdWIKFgoCemMKBVdfZW5jEgFwIgZNYXRNdWwKFAoBcAoFYl9lbmMSA3ByZSIDQWRkEg10ZnZpc19lbmNvZGVyWhoKAWgSFQoTCAESDwoDEgFMCgMSAVQKAxIBZFodCgRtZWFuEhUKEwgBEg8KAxIBTAoCCAEKBBICZDJaHgoFc2NhbGUSFQoTCAESDwoDEgFMCgIIAQoEEgJkM1oUCgViX2RlYxILCgkIARIFCgMSAWRaGQoFV19lbmMSEAoOCAESCgoDEgFkCgMSAW1aFAoFYl9lbmMSCwoJCAESBQoDEgFtYhwKA3ByZRIVChMIARIPCgMSAUwKAxIBVAoDEgFtQgQKABAN';
  L.ENCODER_ONNX = ENCODER_ONNX;

  // assets/ folder, from this script's own URL (pages sit at different depths)
  var ASSETS = (function () {
    var s = document.currentScript && document.currentScript.src;
    return s ? s.replace(/js\/live-probe\.js(\?.*)?$/, '') : '../../assets/';
  })();

  /** null if the site's model has a live probe, else a one-line reason to show. */
  L.unavailable = function (m) {
    if (m.live_unavailable) return 'The live probe is not available for this model: ' + m.live_unavailable;
    if (!m.live) return 'This site was built without the live probe (tfvis-site build --no-live-probe).';
    var enc = m.live.encoder || {};
    if (enc.method && enc.method !== 'topk-sae') {
      return 'The live probe needs the TopK SAE encoder; this site\'s factors were coded with ' + enc.method + '.';
    }
    if (typeof window.WebAssembly !== 'object') return 'This browser has no WebAssembly, which the live probe needs.';
    if (typeof window.DecompressionStream !== 'function') {
      return 'This browser cannot inflate the probe\'s runtime (no DecompressionStream): use Chrome 80, Firefox 113, Safari 16.4 or newer.';
    }
    return null;
  };

  function addScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      s.async = true;
      s.onload = function () { s.remove(); resolve(); };
      s.onerror = function () { s.remove(); reject(new Error('could not load ' + src)); };
      (document.head || document.documentElement).appendChild(s);
    });
  }

  /** Inflate gzip bytes with the browser's own DecompressionStream (the wasm ships gzipped: 4x smaller). */
  function gunzip(buffer) {
    var stream = new Blob([buffer]).stream().pipeThrough(new window.DecompressionStream('gzip'));
    return new Response(stream).arrayBuffer();
  }

  var runtimeP = null;
  /** window.ort with the embedded wasm binary set, loaded once. */
  function runtime() {
    if (!runtimeP) {
      runtimeP = Promise.all([
        window.ort ? null : addScript(ASSETS + 'vendor/ort.min.js'),
        window.TFVIS_ORT_WASM_GZIP ? null : addScript(ASSETS + 'vendor/ort-wasm.min.js'),
      ]).then(function () {
        var ort = window.ort;
        if (!ort || !ort.InferenceSession) throw new Error('onnxruntime-web did not load (assets/vendor/ort.min.js)');
        if (typeof window.TFVIS_ORT_WASM_GZIP !== 'string') throw new Error('the WebAssembly binary did not load (assets/vendor/ort-wasm.min.js)');
        var gzipped = T.base64ToBuffer(window.TFVIS_ORT_WASM_GZIP);
        delete window.TFVIS_ORT_WASM_GZIP;
        return gunzip(gzipped).then(function (wasm) {
          ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which file:// lacks
          ort.env.wasm.proxy = false;
          ort.env.wasm.wasmBinary = new Uint8Array(wasm);
          return ort;
        });
      });
      runtimeP.catch(function () { runtimeP = null; });
    }
    return runtimeP;
  }

  /** The arrays of live/encoder.bin as Float32Arrays, by name (copied out of the shared bytes). */
  function encoderArrays(spec, buf) {
    var out = {};
    Object.keys(spec.arrays).forEach(function (name) {
      var a = spec.arrays[name];
      if (a.dtype !== 'float32') throw new Error('live/encoder.bin: array ' + name + ' is ' + a.dtype + ', expected float32');
      var n = a.shape.reduce(function (x, y) { return x * y; }, 1);
      out[name] = { data: new Float32Array(buf.slice(a.offset, a.offset + 4 * n)), shape: a.shape };
    });
    ['mean', 'scale', 'W_enc', 'b_enc', 'b_dec'].forEach(function (k) {
      if (!out[k]) throw new Error('live/encoder.bin has no array "' + k + '"');
    });
    return out;
  }

  var probeP = null;
  /**
   * Load everything once: Promise of the probe {manifest, live, tokenizer, run(text)}.
   * onStep(message) reports progress for the loading indicator.
   */
  L.load = function (onStep) {
    var step = onStep || function () {};
    if (probeP) return probeP;
    probeP = T.manifest().then(function (m) {
      var why = L.unavailable(m);
      if (why) throw new Error(why);
      var live = m.live;
      step('Loading the runtime (3.7 MB of compressed WebAssembly) and the model (' + sizeText(live.bytes) + ')…');
      var tStart = window.performance.now();
      var stamp = function (key) { return function (x) { L.loadMs[key] = window.performance.now() - tStart; return x; }; };
      L.loadMs = {};
      return Promise.all([runtime().then(stamp('runtime')), T.loadBytes(live.model).then(stamp('model')), T.loadJSON(live.tokenizer),
        T.loadBytes(live.encoder.file), m])
        .then(function (r) {
          var ort = r[0];
          step('Starting the model…');
          var t0 = window.performance.now();
          return Promise.all([
            // No graph optimisation: folding the int8 weights' Cast * scale into fp32 and fusing
            // the graph cost ~1.0 s of the load, and the unfolded graph costs ~40 ms per run
            // (bench/browser_probe.py, default MiniLM site: load 3.16 -> 2.26 s, a 32-token
            // sentence 117 -> 138 ms; targets 3 s and 300 ms).
            ort.InferenceSession.create(new Uint8Array(r[1]), { executionProviders: ['wasm'], graphOptimizationLevel: 'disabled' }),
            ort.InferenceSession.create(new Uint8Array(T.base64ToBuffer(ENCODER_ONNX)), { executionProviders: ['wasm'] }),
          ]).then(function (sessions) {
            T.forget(live.model); // the session holds its own copy
            L.sessionMs = window.performance.now() - t0;
            return makeProbe(ort, sessions[0], sessions[1], new T.Tokenizer(r[2]), encoderArrays(live.encoder, r[3]), r[4]);
          });
        });
    });
    probeP.catch(function () { probeP = null; });
    return probeP;
  };

  function sizeText(bytes) {
    return bytes ? (bytes / 1048576).toFixed(0) + ' MB' : 'size unknown';
  }

  function makeProbe(ort, model, encoder, tokenizer, arrays, m) {
    var live = m.live, k = live.encoder.k;
    var nHidden = arrays.mean.shape[0], d = arrays.mean.shape[arrays.mean.shape.length - 1];
    var nFactors = arrays.b_enc.shape[0];
    var scaleDim = arrays.scale.data.length / nHidden; // (L+1, d) or one scale per layer
    var feeds = {
      mean: new ort.Tensor('float32', arrays.mean.data, [nHidden, 1, d]),
      scale: new ort.Tensor('float32', arrays.scale.data, [nHidden, 1, scaleDim]),
      b_dec: new ort.Tensor('float32', arrays.b_dec.data, [d]),
      W_enc: new ort.Tensor('float32', arrays.W_enc.data, [d, nFactors]),
      b_enc: new ort.Tensor('float32', arrays.b_enc.data, [nFactors]),
    };
    var outScale = arrays.output_scale ? arrays.output_scale.data : null;
    // a state whose norm exceeds its layer's massive_norm is a massive activation: no factors (as in the build)
    var massiveNorm = arrays.massive_norm ? arrays.massive_norm.data : null;
    var queue = Promise.resolve();

    /**
     * Run text through the model and the encoder. Promise of {
     *   enc: the tokenizer's output (ids, offsets, special, truncated, nFull), n: tokens,
     *   text: [token text], hidden: Float32Array [L+1, n, d], attentions: Float32Array [L, H, n, n],
     *   nHidden, nLayers, nHeads, k, topIdx/topVal: Int32Array/Float32Array [L+1, n, k] (strongest
     *   first, zeros dropped as value 0), activation(l, t, f), top(l, t, count), timings {model, encoder} ms }.
     */
    function run(text) {
      var job = queue.then(function () {
        var enc = tokenizer.encode(text, live.max_tokens);
        var n = enc.ids.length;
        var ids = new BigInt64Array(n), mask = new BigInt64Array(n);
        for (var i = 0; i < n; i++) { ids[i] = BigInt(enc.ids[i]); mask[i] = 1n; }
        var t0 = window.performance.now();
        return model.run({ input_ids: new ort.Tensor('int64', ids, [1, n]), attention_mask: new ort.Tensor('int64', mask, [1, n]) })
          .then(function (out) {
            var t1 = window.performance.now();
            var hs = out.hidden_states, att = out.attentions;
            var f = Object.assign({ h: hs }, feeds);
            return encoder.run(f).then(function (e) {
              var t2 = window.performance.now();
              var res = result(enc, hs, att, e.pre.data, n);
              res.timings = { model: t1 - t0, encoder: t2 - t1 };
              return res;
            });
          });
      });
      queue = job.catch(function () {});
      return job;
    }

    function result(enc, hs, att, pre, n) {
      var kk = Math.min(k, nFactors);
      var topIdx = new Int32Array(nHidden * n * kk), topVal = new Float32Array(nHidden * n * kk);
      for (var row = 0; row < nHidden * n; row++) {
        topK(pre, row * nFactors, nFactors, kk, topIdx, topVal, row * kk, outScale);
        if (massiveNorm && norm(hs.data, row * d, d) > massiveNorm[Math.floor(row / n)]) topVal.fill(0, row * kk, (row + 1) * kk);
      }
      var texts = enc.ids.map(function (_, i) { return T.Tokenizer.tokenText(enc, i); });
      return {
        enc: enc, n: n, text: texts, hidden: hs.data, attentions: att.data,
        nHidden: nHidden, nLayers: att.dims[0], nHeads: att.dims[1], k: kk, nFactors: nFactors,
        topIdx: topIdx, topVal: topVal,
        activation: function (l, t, factor) {
          var base = (l * n + t) * kk;
          for (var j = 0; j < kk; j++) if (topIdx[base + j] === factor) return topVal[base + j];
          return 0;
        },
        top: function (l, t, count) {
          var base = (l * n + t) * kk, out = [];
          for (var j = 0; j < Math.min(count, kk); j++) if (topVal[base + j] > 0) out.push({ factor: topIdx[base + j], value: topVal[base + j] });
          return out;
        },
        /** Attention weights of layer l, head h: Float32Array n x n (rows = queries). */
        weights: function (l, h) {
          var off = (l * att.dims[1] + h) * n * n;
          return att.data.slice(off, off + n * n);
        },
      };
    }

    return { manifest: m, live: live, tokenizer: tokenizer, nFactors: nFactors, nHidden: nHidden, run: run };
  }

  /** Euclidean norm of x[off .. off+d). */
  function norm(x, off, d) {
    var s = 0;
    for (var j = 0; j < d; j++) s += x[off + j] * x[off + j];
    return Math.sqrt(s);
  }

  /** The k largest of pre[off .. off+m) -> idx/val[at .. at+k), strongest first, ReLU applied. */
  function topK(pre, off, m, k, idx, val, at, outScale) {
    var n = 0; // current fill, kept sorted descending by insertion
    for (var j = 0; j < m; j++) {
      var v = pre[off + j];
      if (n === k && v <= val[at + k - 1]) continue;
      var p = n < k ? n++ : k - 1;
      while (p > 0 && val[at + p - 1] < v) { val[at + p] = val[at + p - 1]; idx[at + p] = idx[at + p - 1]; p--; }
      val[at + p] = v; idx[at + p] = j;
    }
    for (var q = 0; q < k; q++) {
      var x = val[at + q] > 0 ? val[at + q] : 0;
      val[at + q] = outScale ? x * outScale[idx[at + q]] : x;
    }
  }
  L.topK = topK;

  // ------------------------------------------------------------------ shared view helpers

  /**
   * Wire a live-probe form: {form, input, status, onResult(result, text), onClear()}. The text
   * lives in the URL under ``param`` (push on submit; restored on load and on back / forward).
   * Nothing loads until the reader submits (or opens a URL that holds a text).
   */
  L.wireForm = function (opts) {
    var param = opts.param || 'text';
    var status = opts.status, shown = null, seq = 0;
    T.manifest().then(function (m) {
      var why = L.unavailable(m);
      if (why) {
        opts.form.querySelectorAll('textarea, input, button').forEach(function (x) { x.disabled = true; });
        say(why, 'error');
        return;
      }
      opts.form.addEventListener('submit', function (e) {
        e.preventDefault();
        var text = opts.input.value;
        if (!text.trim()) { say('Type some text first.', 'error'); return; }
        T.setQuery(obj(text), true);
        go(text);
      });
      T.onState(function (q) { sync(q[param]); });
      sync(T.query()[param]);
    }).catch(function (err) { say('Could not load the data: ' + err.message, 'error'); });

    function obj(v) { var o = {}; o[param] = v; return o; }
    function sync(text) {
      if (text === undefined || text === '') {
        shown = null;
        opts.input.value = '';
        say('', 'muted');
        if (opts.onClear) opts.onClear();
        return;
      }
      if (text === shown) return;
      opts.input.value = text;
      go(text);
    }
    function say(msg, cls) {
      status.textContent = msg;
      status.className = cls || 'muted';
    }
    function go(text) {
      var my = ++seq;
      shown = text;
      opts.form.setAttribute('aria-busy', 'true');
      say('Loading…', 'muted live-loading');
      L.load(function (msg) { if (my === seq) say(msg, 'muted live-loading'); })
        .then(function (probe) {
          if (my === seq) say('Running the model…', 'muted live-loading');
          return probe.run(text).then(function (res) { return [probe, res]; });
        })
        .then(function (r) {
          if (my !== seq) return;
          opts.form.removeAttribute('aria-busy');
          var res = r[1];
          say(res.enc.truncated
            ? 'Your text has ' + (res.enc.nFull + r[0].tokenizer.post.added) + ' tokens; only the first ' + r[0].live.max_tokens +
              ' (the model\'s limit on this site) were run.'
            : '', res.enc.truncated ? 'live-notice' : 'muted');
          opts.onResult(res, text, r[0]);
          document.body.dataset.liveReady = String(Date.now());
        })
        .catch(function (err) {
          if (my !== seq) return;
          opts.form.removeAttribute('aria-busy');
          say('The live probe failed: ' + (err && err.message ? err.message : err), 'error');
        });
    }
  };

  /** The text as token spans, each tinted by value / peak (value null: no tint). */
  L.highlight = function (res, valueOf, peak, onPick) {
    var el = T.el, p = el('p', { class: 'live-text' }), prevEnd = 0;
    for (var t = 0; t < res.n; t++) {
      var o = res.enc.offsets[t];
      if (!res.enc.special[t] && o[0] > prevEnd) p.appendChild(document.createTextNode(res.enc.chars.slice(prevEnd, o[0]).join('')));
      var v = valueOf(t);
      var span = el('span', {
        class: ['live-tok', res.enc.special[t] ? 'live-special' : null],
        title: 'token ' + t + (v === null ? '' : ': ' + v.toFixed(3)),
        style: v > 0 && peak > 0 ? { backgroundColor: 'rgba(197, 27, 125, ' + Math.min(1, v / peak).toFixed(3) + ')' } : null,
        dataset: { t: t },
      }, res.text[t]);
      if (onPick) span.addEventListener('click', onPick.bind(null, t));
      p.appendChild(span);
      if (!res.enc.special[t]) prevEnd = Math.max(prevEnd, o[1]);
    }
    return p;
  };
})(window);
