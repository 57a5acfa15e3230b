/*
 * The bytes of the model's data files, from file:// and http alike.
 *
 * Data contract (docs/data-contract.md): every file data/NAME has a twin data/NAME.js
 *   (window.TFVIS_DATA=window.TFVIS_DATA||{})["NAME"]="<base64 of the bytes>";
 * On file:// the twin is injected as a <script> (fetch() is blocked there); on http(s) the
 * binary file is fetched and the twin is only a fallback. window.TFVIS_DATA is the one piece of
 * window state the pages share: a twin hands its bytes over there and they are freed on decoding.
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
// Files the manifest marks "twin_only" (only NAME.js is on disk, e.g. the live probe's model):
// loaded through the twin on http too, since fetching NAME would 404.
const twinOnly = new Set();
const scriptCache = new Map(); // name -> Promise<ArrayBuffer> (the .js twin)

/** Mark files of which only the .js twin is on disk. */
export function markTwinOnly(names) {
  names.forEach((name) => twinOnly.add(name));
}

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

/** Take the base64 string a twin script left in window.TFVIS_DATA, decode it, free it. */
function takeGlobal(name) {
  const store = window.TFVIS_DATA;
  if (!store || !Object.prototype.hasOwnProperty.call(store, name)) return null;
  const text = store[name];
  delete store[name];
  if (typeof text !== 'string') {
    throw new Error('TFVIS: data twin "' + name + '.js" did not define a base64 string');
  }
  return base64ToBuffer(text);
}

/** Load data/NAME.js with a <script> tag (works from file://). Once per name. */
function loadViaScript(name) {
  const cached = scriptCache.get(name);
  if (cached) return cached;
  const promise = new Promise((resolve, reject) => {
    // The page may already have included the twin with a static <script> tag.
    const ready = takeGlobal(name);
    if (ready) {
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
        const buf = takeGlobal(name);
        if (!buf) reject(new Error('TFVIS: "' + src + '" loaded but did not define TFVIS_DATA["' + name + '"]'));
        else resolve(buf);
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

function loadViaFetch(name) {
  const url = fileUrl(name);
  return window.fetch(url).then((response) => {
    if (!response.ok) {
      throw new Error('TFVIS: could not load data file "' + name + '" (HTTP ' + response.status + ' for ' + url + ')');
    }
    return response.arrayBuffer();
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
  let promise;
  if (window.location.protocol === 'file:' || typeof window.fetch !== 'function' || twinOnly.has(name)) {
    promise = loadViaScript(name);
  } else {
    promise = loadViaFetch(name).catch((fetchError) =>
      loadViaScript(name).catch((scriptError) => {
        throw new Error('TFVIS: could not load data file "' + name + '": ' +
          fetchError.message + '; fallback: ' + scriptError.message);
      }));
  }
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
