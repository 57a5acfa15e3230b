/*
 * The live probe's shared core (issue 14, docs/live-probe.md): run the site's model on text typed
 * in the browser and code its hidden states with the site's dictionary encoder. The views are
 * live/factor.js (factor page), live/tokens.js (token browser) and the head page's live view.
 *
 * Data (docs/data-contract.md): manifest.live names live/model.onnx (inputs input_ids,
 * attention_mask int64 [1, T]; outputs hidden_states [L+1, T, d], attentions [L, H, T, T]),
 * live/tokenizer.json and live/encoder.bin (float32 arrays at byte offsets). All are data files
 * with .js twins, so this works from file://.
 *
 * onnxruntime-web (assets/vendor/ort.min.js, window.ort) and its WebAssembly binary (14 MB, 3.7 MB
 * gzipped) (assets/vendor/ort-wasm.min.js, gzip then base64 in window.TFVIS_ORT_WASM_GZIP) are
 * loaded only when the reader asks for the probe, by inserting <script> tags at that moment. Pages
 * that use the probe allow 'wasm-unsafe-eval' in their Content-Security-Policy.
 *
 * The encoder runs inside onnxruntime too, as a 5-node ONNX graph (ENCODER_ONNX below: z = (h -
 * mean) / scale; pre = (z - b_dec) @ W_enc + b_enc, for all layers in one call): its SIMD MatMul
 * is ~10x faster than a JavaScript loop over 3,072 factors. Top-k and ReLU are done here, exactly
 * as FactorResult.encode does them (analysis/factors/statistics.py, Encoder.codes).
 *
 * For tests and benches only (no page code reads it): wireForm() puts {load, timings} on the live
 * card (#live-card).inspect.
 */
import { base64ToBuffer, el, forget, loadBytes, loadJSON, manifest, onState, query, setQuery } from '../core/data.js';
import { Tokenizer } from './tokenizer.js';

// tests/test_live_browser.py::test_encoder_graph_is_the_documented_one rebuilds these bytes with onnx.helper.
export const ENCODER_ONNX = 'CAgSCnRmdmlzLXNpdGU6uQIKEQoBaAoEbWVhbhIBYyIDU3ViChIKAWMKBXNjYWxlEgF6IgNEaXYKEwoBegoFYl9kZWMSAnpjIgNTdWIKFgoCemMKBVdfZW5jEgFwIgZNYXRNdWwKFAoBcAoFYl9lbmMSA3ByZSIDQWRkEg10ZnZpc19lbmNvZGVyWhoKAWgSFQoTCAESDwoDEgFMCgMSAVQKAxIBZFodCgRtZWFuEhUKEwgBEg8KAxIBTAoCCAEKBBICZDJaHgoFc2NhbGUSFQoTCAESDwoDEgFMCgIIAQoEEgJkM1oUCgViX2RlYxILCgkIARIFCgMSAWRaGQoFV19lbmMSEAoOCAESCgoDEgFkCgMSAW1aFAoFYl9lbmMSCwoJCAESBQoDEgFtYhwKA3ByZRIVChMIARIPCgMSAUwKAxIBVAoDEgFtQgQKABAN';

// assets/ folder, from the page bundle's own URL (assets/js/<page>.js; pages sit at different depths)
const ASSETS = (() => {
  const s = document.currentScript && document.currentScript.src;
  return s ? s.replace(/js\/[^/]+\.js(\?.*)?$/, '') : '../../assets/';
})();

/** Load timings of the last load(), for benches: {loadMs: {runtime, model}, sessionMs}. */
const timings = { loadMs: {}, sessionMs: null };

/** null if the site's model has a live probe, else a one-line reason to show. */
export function unavailable(m) {
  if (m.live_unavailable) return 'The live probe is not available for this model: ' + m.live_unavailable;
  if (!m.live) return 'This site was built without the live probe (tfvis-site build --no-live-probe).';
  const enc = m.live.encoder || {};
  if (enc.method && enc.method !== 'topk-sae') {
    return 'The live probe needs the TopK SAE encoder; this site\'s factors were coded with ' + enc.method + '.';
  }
  if (typeof window.WebAssembly !== 'object') return 'This browser has no WebAssembly, which the live probe needs.';
  if (typeof window.DecompressionStream !== 'function') {
    return 'This browser cannot inflate the probe\'s runtime (no DecompressionStream): use Chrome 80, Firefox 113, Safari 16.4 or newer.';
  }
  return null;
}

function addScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.async = true;
    s.onload = () => { s.remove(); resolve(); };
    s.onerror = () => { s.remove(); reject(new Error('could not load ' + src)); };
    (document.head || document.documentElement).appendChild(s);
  });
}

/** Inflate gzip bytes with the browser's own DecompressionStream (the wasm ships gzipped: 4x smaller). */
function gunzip(buffer) {
  const stream = new Blob([buffer]).stream().pipeThrough(new window.DecompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
}

let runtimeP = null;
/** window.ort with the embedded wasm binary set, loaded once. */
function runtime() {
  if (!runtimeP) {
    runtimeP = Promise.all([
      window.ort ? null : addScript(ASSETS + 'vendor/ort.min.js'),
      window.TFVIS_ORT_WASM_GZIP ? null : addScript(ASSETS + 'vendor/ort-wasm.min.js'),
    ]).then(() => {
      const ort = window.ort;
      if (!ort || !ort.InferenceSession) throw new Error('onnxruntime-web did not load (assets/vendor/ort.min.js)');
      if (typeof window.TFVIS_ORT_WASM_GZIP !== 'string') throw new Error('the WebAssembly binary did not load (assets/vendor/ort-wasm.min.js)');
      const gzipped = base64ToBuffer(window.TFVIS_ORT_WASM_GZIP);
      delete window.TFVIS_ORT_WASM_GZIP;
      return gunzip(gzipped).then((wasm) => {
        ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which file:// lacks
        ort.env.wasm.proxy = false;
        ort.env.wasm.wasmBinary = new Uint8Array(wasm);
        return ort;
      });
    });
    runtimeP.catch(() => { runtimeP = null; });
  }
  return runtimeP;
}

/** The arrays of live/encoder.bin as Float32Arrays, by name (copied out of the shared bytes). */
function encoderArrays(spec, buf) {
  const out = {};
  Object.keys(spec.arrays).forEach((name) => {
    const a = spec.arrays[name];
    if (a.dtype !== 'float32') throw new Error('live/encoder.bin: array ' + name + ' is ' + a.dtype + ', expected float32');
    const n = a.shape.reduce((x, y) => x * y, 1);
    out[name] = { data: new Float32Array(buf.slice(a.offset, a.offset + 4 * n)), shape: a.shape };
  });
  ['mean', 'scale', 'W_enc', 'b_enc', 'b_dec'].forEach((k) => {
    if (!out[k]) throw new Error('live/encoder.bin has no array "' + k + '"');
  });
  return out;
}

function sizeText(bytes) {
  return bytes ? (bytes / 1048576).toFixed(0) + ' MB' : 'size unknown';
}

let probeP = null;
/**
 * Load everything once: Promise of the probe {manifest, live, tokenizer, nFactors, nHidden, run(text)}.
 * onStep(message) reports progress for the loading indicator.
 */
export function load(onStep) {
  const step = onStep || (() => {});
  if (probeP) return probeP;
  probeP = manifest().then((m) => {
    const why = unavailable(m);
    if (why) throw new Error(why);
    const live = m.live;
    step('Loading the runtime (3.7 MB of compressed WebAssembly) and the model (' + sizeText(live.bytes) + ')…');
    const tStart = window.performance.now();
    timings.loadMs = {};
    const stamp = (key) => (x) => { timings.loadMs[key] = window.performance.now() - tStart; return x; };
    return Promise.all([runtime().then(stamp('runtime')), loadBytes(live.model).then(stamp('model')), loadJSON(live.tokenizer),
      loadBytes(live.encoder.file)])
      .then(([ort, modelBytes, tokenizerJson, encoderBytes]) => {
        step('Starting the model…');
        const t0 = window.performance.now();
        return Promise.all([
          // No graph optimisation: folding the int8 weights' Cast * scale into fp32 and fusing
          // the graph cost ~1.0 s of the load, and the unfolded graph costs ~40 ms per run
          // (bench/browser_probe.py, default MiniLM site: load 3.16 -> 2.26 s, a 32-token
          // sentence 117 -> 138 ms; targets 3 s and 300 ms).
          ort.InferenceSession.create(new Uint8Array(modelBytes), { executionProviders: ['wasm'], graphOptimizationLevel: 'disabled' }),
          ort.InferenceSession.create(new Uint8Array(base64ToBuffer(ENCODER_ONNX)), { executionProviders: ['wasm'] }),
        ]).then(([model, encoder]) => {
          forget(live.model); // the session holds its own copy
          timings.sessionMs = window.performance.now() - t0;
          return makeProbe(ort, model, encoder, new Tokenizer(tokenizerJson), encoderArrays(live.encoder, encoderBytes), m);
        });
      });
  });
  probeP.catch(() => { probeP = null; });
  return probeP;
}

function makeProbe(ort, model, encoder, tokenizer, arrays, m) {
  const live = m.live;
  const k = live.encoder.k;
  const nHidden = arrays.mean.shape[0];
  const d = arrays.mean.shape[arrays.mean.shape.length - 1];
  const nFactors = arrays.b_enc.shape[0];
  const scaleDim = arrays.scale.data.length / nHidden; // (L+1, d) or one scale per layer
  const feeds = {
    mean: new ort.Tensor('float32', arrays.mean.data, [nHidden, 1, d]),
    scale: new ort.Tensor('float32', arrays.scale.data, [nHidden, 1, scaleDim]),
    b_dec: new ort.Tensor('float32', arrays.b_dec.data, [d]),
    W_enc: new ort.Tensor('float32', arrays.W_enc.data, [d, nFactors]),
    b_enc: new ort.Tensor('float32', arrays.b_enc.data, [nFactors]),
  };
  const outScale = arrays.output_scale ? arrays.output_scale.data : null;
  // a state whose norm exceeds its layer's massive_norm is a massive activation: no factors (as in the build)
  const massiveNorm = arrays.massive_norm ? arrays.massive_norm.data : null;
  let queue = Promise.resolve();

  /**
   * Run text through the model and the encoder. Promise of {
   *   enc: the tokenizer's output (ids, offsets, special, truncated, nFull), n: tokens,
   *   text: [token text], hidden: Float32Array [L+1, n, d], attentions: Float32Array [L, H, n, n],
   *   nHidden, nLayers, nHeads, k, topIdx/topVal: Int32Array/Float32Array [L+1, n, k] (strongest
   *   first, zeros dropped as value 0), activation(l, t, f), top(l, t, count), weights(l, h),
   *   timings {model, encoder} ms }.
   */
  function run(text) {
    const job = queue.then(() => {
      const enc = tokenizer.encode(text, live.max_tokens);
      const n = enc.ids.length;
      const ids = new BigInt64Array(n);
      const mask = new BigInt64Array(n);
      for (let i = 0; i < n; i++) { ids[i] = BigInt(enc.ids[i]); mask[i] = 1n; }
      const t0 = window.performance.now();
      return model.run({ input_ids: new ort.Tensor('int64', ids, [1, n]), attention_mask: new ort.Tensor('int64', mask, [1, n]) })
        .then((out) => {
          const t1 = window.performance.now();
          return encoder.run(Object.assign({ h: out.hidden_states }, feeds)).then((e) => {
            const res = result(enc, out.hidden_states, out.attentions, e.pre.data, n);
            res.timings = { model: t1 - t0, encoder: window.performance.now() - t1 };
            return res;
          });
        });
    });
    queue = job.catch(() => {});
    return job;
  }

  function result(enc, hs, att, pre, n) {
    const kk = Math.min(k, nFactors);
    const topIdx = new Int32Array(nHidden * n * kk);
    const topVal = new Float32Array(nHidden * n * kk);
    for (let row = 0; row < nHidden * n; row++) {
      topK(pre, row * nFactors, nFactors, kk, topIdx, topVal, row * kk, outScale);
      if (massiveNorm && norm(hs.data, row * d, d) > massiveNorm[Math.floor(row / n)]) topVal.fill(0, row * kk, (row + 1) * kk);
    }
    return {
      enc, n, text: enc.ids.map((_, i) => Tokenizer.tokenText(enc, i)), hidden: hs.data, attentions: att.data,
      nHidden, nLayers: att.dims[0], nHeads: att.dims[1], k: kk, nFactors, topIdx, topVal,
      activation(l, t, factor) {
        const base = (l * n + t) * kk;
        for (let j = 0; j < kk; j++) if (topIdx[base + j] === factor) return topVal[base + j];
        return 0;
      },
      top(l, t, count) {
        const base = (l * n + t) * kk;
        const out = [];
        for (let j = 0; j < Math.min(count, kk); j++) if (topVal[base + j] > 0) out.push({ factor: topIdx[base + j], value: topVal[base + j] });
        return out;
      },
      /** Attention weights of layer l, head h: Float32Array n x n (rows = queries). */
      weights(l, h) {
        const off = (l * att.dims[1] + h) * n * n;
        return att.data.slice(off, off + n * n);
      },
    };
  }

  return { manifest: m, live, tokenizer, nFactors, nHidden, run };
}

/** Euclidean norm of x[off .. off+d). */
function norm(x, off, d) {
  let s = 0;
  for (let j = 0; j < d; j++) s += x[off + j] * x[off + j];
  return Math.sqrt(s);
}

/** The k largest of pre[off .. off+m) -> idx/val[at .. at+k), strongest first, ReLU applied. */
export function topK(pre, off, m, k, idx, val, at, outScale) {
  let n = 0; // current fill, kept sorted descending by insertion
  for (let j = 0; j < m; j++) {
    const v = pre[off + j];
    if (n === k && v <= val[at + k - 1]) continue;
    let p = n < k ? n++ : k - 1;
    while (p > 0 && val[at + p - 1] < v) { val[at + p] = val[at + p - 1]; idx[at + p] = idx[at + p - 1]; p--; }
    val[at + p] = v; idx[at + p] = j;
  }
  for (let q = 0; q < k; q++) {
    const x = val[at + q] > 0 ? val[at + q] : 0;
    val[at + q] = outScale ? x * outScale[idx[at + q]] : x;
  }
}

// ------------------------------------------------------------------ shared view helpers

/**
 * Wire a live-probe form: {form, input, status, param, onResult(result, text, probe), onClear()}.
 * The text lives in the URL under ``param`` (push on submit; restored on load and on back /
 * forward). Nothing loads until the reader submits (or opens a URL that holds a text).
 */
export function wireForm(opts) {
  const param = opts.param || 'text';
  const status = opts.status;
  let shown = null;
  let seq = 0;
  const card = opts.form.closest('.live-card') || opts.form;
  card.inspect = { load, timings: () => ({ loadMs: Object.assign({}, timings.loadMs), sessionMs: timings.sessionMs }) };

  const say = (msg, cls) => {
    status.textContent = msg;
    status.className = cls || 'muted';
  };
  const sync = (text) => {
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
  };
  const go = (text) => {
    const my = ++seq;
    shown = text;
    opts.form.setAttribute('aria-busy', 'true');
    say('Loading…', 'muted live-loading');
    load((msg) => { if (my === seq) say(msg, 'muted live-loading'); })
      .then((probe) => {
        if (my === seq) say('Running the model…', 'muted live-loading');
        return probe.run(text).then((res) => [probe, res]);
      })
      .then(([probe, res]) => {
        if (my !== seq) return;
        opts.form.removeAttribute('aria-busy');
        say(res.enc.truncated
          ? 'Your text has ' + (res.enc.nFull + probe.tokenizer.post.added) + ' tokens; only the first ' + probe.live.max_tokens +
            ' (the model\'s limit on this site) were run.'
          : '', res.enc.truncated ? 'live-notice' : 'muted');
        opts.onResult(res, text, probe);
        document.body.dataset.liveReady = String(Date.now());
      })
      .catch((err) => {
        if (my !== seq) return;
        opts.form.removeAttribute('aria-busy');
        say('The live probe failed: ' + (err && err.message ? err.message : err), 'error');
      });
  };

  manifest().then((m) => {
    const why = unavailable(m);
    if (why) {
      opts.form.querySelectorAll('textarea, input, button').forEach((x) => { x.disabled = true; });
      say(why, 'error');
      return;
    }
    opts.form.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = opts.input.value;
      if (!text.trim()) { say('Type some text first.', 'error'); return; }
      setQuery({ [param]: text }, true);
      go(text);
    });
    onState((q) => sync(q[param]));
    sync(query()[param]);
  }).catch((err) => say('Could not load the data: ' + err.message, 'error'));
}

/** The text as token spans, each tinted by value / peak (value null: no tint). */
export function highlight(res, valueOf, peak, onPick) {
  const p = el('p', { class: 'live-text' });
  let prevEnd = 0;
  for (let t = 0; t < res.n; t++) {
    const o = res.enc.offsets[t];
    if (!res.enc.special[t] && o[0] > prevEnd) p.appendChild(document.createTextNode(res.enc.chars.slice(prevEnd, o[0]).join('')));
    const v = valueOf(t);
    const span = el('span', {
      class: ['live-tok', res.enc.special[t] ? 'live-special' : null],
      title: 'token ' + t + (v === null ? '' : ': ' + v.toFixed(3)),
      style: v > 0 && peak > 0 ? { backgroundColor: 'rgba(197, 27, 125, ' + Math.min(1, v / peak).toFixed(3) + ')' } : null,
      dataset: { t },
    }, res.text[t]);
    if (onPick) span.addEventListener('click', onPick.bind(null, t));
    p.appendChild(span);
    if (!res.enc.special[t]) prevEnd = Math.max(prevEnd, o[1]);
  }
  return p;
}
