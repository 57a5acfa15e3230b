// Entry for assets/vendor/ort.min.js (classic IIFE script).
// Exposes window.ort = onnxruntime-web's WebAssembly-only build (InferenceSession, Tensor, env, ...).
// Its WebAssembly binary is not fetched (file:// forbids it): build.sh writes it, gzipped and base64, into
// ort-wasm.min.js (window.TFVIS_ORT_WASM_GZIP), which assets/js/live-probe.js loads on demand and passes
// as ort.env.wasm.wasmBinary, with ort.env.wasm.numThreads = 1.
export * from 'onnxruntime-web/wasm';
