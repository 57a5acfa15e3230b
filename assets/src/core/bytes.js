/*
 * The bytes of the model's data files, from file:// and http alike.
 *
 * Data contract (docs/data-contract.md): every data file ships once, as data/NAME.js
 *   (window.TFVIS_DATA=window.TFVIS_DATA||{})["NAME"]="<base64 of the bytes>";
 * or "deflate:<base64 of the zlib-deflated bytes>" where that saves a tenth. On file:// the twin
 * is injected as a <script> (fetch() is blocked there); on http(s) it is fetched as text (faster
 * than running it as a script) with the <script> as a fallback. window.TFVIS_DATA is the one piece
 * of window state the pages share: a twin hands its string over there and it is freed on decoding.
 */

let explicitDataRoot = null;

/**
 * Prefix from the page to its model's folder, the one holding data/: <body data-root="../">
 * in subfolders, else "". (A site keeps each model in models/<slug>/ with its own data/;
 * the shared assets/ are two folders up, a path the templates write, not this loader.)
 */
export function siteRoot() {
  const body = document.body;
  const root = body && body.dataset ? body.dataset.root : undefined;
  if (!root) return '';
  return root.charAt(root.length - 1) === '/' ? root : root + '/';
}

/** URL prefix of the model's data folder ("data/" or "../data/"), unless setDataRoot() chose one. */
export function dataRoot() {
  return explicitDataRoot !== null ? explicitDataRoot : siteRoot() + 'data/';
}

/** Read the data files from another folder (null: back to the page's own data/). */
export function setDataRoot(value) {
  if (value === null || value === undefined) {
    explicitDataRoot = null;
  } else {
    value = String(value);
    explicitDataRoot = value === '' || value.charAt(value.length - 1) === '/' ? value : value + '/';
  }
}

const bytesCache = new Map(); // name -> Promise<ArrayBuffer>
const scriptCache = new Map(); // name -> Promise<string> (the string the .js twin assigned)
const DEFLATE = 'deflate:';

function checkName(name) {
  if (typeof name !== 'string' || name === '') {
    throw new Error('TFVIS: data file name must be a non-empty string, got ' + String(name));
  }
  for (const p of name.split('/')) {
    if (p === '' || p === '.' || p === '..' || p.indexOf('\\') !== -1 || p.indexOf(':') !== -1) {
      throw new Error('TFVIS: invalid data file name "' + name + '" (use a relative path inside data/)');
    }
  }
}

function fileUrl(name) {
  return dataRoot() + name.split('/').map(encodeURIComponent).join('/');
}

const hasFromBase64 = typeof Uint8Array.fromBase64 === 'function';

/** Decode base64 text to an ArrayBuffer (native Uint8Array.fromBase64 where available). */
export function base64ToBuffer(text) {
  if (hasFromBase64) {
    try {
      return Uint8Array.fromBase64(text).buffer;
    } catch (e) {
      /* fall through to atob, which reports the same malformed input */
    }
  }
  const bin = window.atob(text);
  const n = bin.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

/** zlib-deflated bytes -> ArrayBuffer, with the browser's own DecompressionStream (off the main thread). */
function inflate(buffer, name) {
  if (typeof window.DecompressionStream !== 'function') {
    return Promise.reject(new Error('TFVIS: data file "' + name + '" is deflated and this browser has no DecompressionStream (Chrome 80, Firefox 113, Safari 16.4 or later)'));
  }
  const stream = new Blob([buffer]).stream().pipeThrough(new window.DecompressionStream('deflate'));
  return new Response(stream).arrayBuffer();
}

/** The bytes a twin's string stands for: base64, or "deflate:" + base64 of zlib-deflated bytes. */
function decodeTwin(text, name) {
  if (text.startsWith(DEFLATE)) return inflate(base64ToBuffer(text.slice(DEFLATE.length)), name);
  return Promise.resolve(base64ToBuffer(text));
}

/** Take the string a twin script left in window.TFVIS_DATA and free it there. */
function takeGlobal(name) {
  const store = window.TFVIS_DATA;
  if (!store || !Object.prototype.hasOwnProperty.call(store, name)) return null;
  const text = store[name];
  delete store[name];
  if (typeof text !== 'string') {
    throw new Error('TFVIS: data twin "' + name + '.js" did not define a base64 string');
  }
  return text;
}

/** Load data/NAME.js with a <script> tag (works from file://): its string. Once per name. */
function loadViaScript(name) {
  const cached = scriptCache.get(name);
  if (cached) return cached;
  const promise = new Promise((resolve, reject) => {
    // The page may already have included the twin with a static <script> tag.
    const ready = takeGlobal(name);
    if (ready !== null) {
      resolve(ready);
      return;
    }
    const src = fileUrl(name) + '.js';
    const script = document.createElement('script');
    script.async = true;
    script.src = src;
    script.onload = () => {
      script.remove();
      try {
        const text = takeGlobal(name);
        if (text === null) reject(new Error('TFVIS: "' + src + '" loaded but did not define TFVIS_DATA["' + name + '"]'));
        else resolve(text);
      } catch (err) {
        reject(err);
      }
    };
    script.onerror = () => {
      script.remove();
      reject(new Error('TFVIS: could not load data file "' + name + '" (script ' + src + ' failed to load)'));
    };
    (document.head || document.documentElement).appendChild(script);
  });
  scriptCache.set(name, promise);
  promise.catch(() => scriptCache.delete(name)); // allow a retry later
  return promise;
}

/** Fetch data/NAME.js as text (http): its string, the text between the last two quotes. */
function loadViaFetch(name) {
  const url = fileUrl(name) + '.js';
  return window.fetch(url).then((response) => {
    if (!response.ok) {
      throw new Error('TFVIS: could not load data file "' + name + '" (HTTP ' + response.status + ' for ' + url + ')');
    }
    return response.text();
  }).then((twin) => {
    const end = twin.lastIndexOf('"');
    const start = end > 0 ? twin.lastIndexOf('"', end - 1) : -1;
    if (start < 0) throw new Error('TFVIS: "' + url + '" is not a data twin (no quoted string)');
    return twin.slice(start + 1, end);
  });
}

/**
 * Bytes of data/NAME as an ArrayBuffer. The promise is cached per name and shared:
 * treat the buffer as read-only (copy it before mutating), or call forget(name).
 */
export function loadBytes(name) {
  try {
    checkName(name);
  } catch (err) {
    return Promise.reject(err);
  }
  const cached = bytesCache.get(name);
  if (cached) return cached;
  let text;
  if (window.location.protocol === 'file:' || typeof window.fetch !== 'function') {
    text = loadViaScript(name);
  } else {
    text = loadViaFetch(name).catch((fetchError) =>
      loadViaScript(name).catch((scriptError) => {
        throw new Error('TFVIS: could not load data file "' + name + '": ' +
          fetchError.message + '; fallback: ' + scriptError.message);
      }));
  }
  const promise = text.then((t) => decodeTwin(t, name));
  bytesCache.set(name, promise);
  promise.catch(() => bytesCache.delete(name));
  return promise;
}

/** Drop the cached bytes of one file (or of all files without an argument). */
export function forget(name) {
  if (name === undefined) bytesCache.clear();
  else bytesCache.delete(name);
}

/** Reject with an error that names the file (once). */
export function withName(name, promise) {
  return promise.catch((err) => {
    const msg = err && err.message ? err.message : String(err);
    if (msg.indexOf('"' + name + '"') !== -1) throw err;
    throw new Error('TFVIS: could not read data file "' + name + '": ' + msg);
  });
}
