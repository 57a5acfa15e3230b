/*
 * The data loader and small DOM / URL helpers every page imports (what window.TFVIS was when
 * the pages were classic scripts; the names are the same).
 *
 *   import { manifest, loadColumns, el, query } from '../core/data.js';
 *
 * loadBytes / loadText / loadJSON / loadFloat32 / loadTable / loadColumns read data/NAME (its
 * .js twin, see bytes.js); manifest() is data/manifest.json, parsed once; el / clear
 * build the DOM without innerHTML (dom.js); query / setQuery / onState the URL state (url.js).
 */
import { loadBytes, withName } from './bytes.js';

export { base64ToBuffer, dataRoot, forget, loadBytes, setDataRoot, siteRoot } from './bytes.js';
export { loadColumns, loadTable, toNumbers } from './parquet.js';
export { byId, byIds, clear, el } from './dom.js';
export { onState, query, setQuery } from './url.js';

const utf8 = new TextDecoder('utf-8');

export function loadText(name) {
  return loadBytes(name).then((buf) => utf8.decode(buf));
}

export function loadJSON(name) {
  return withName(name, loadText(name).then(JSON.parse));
}

let manifestPromise = null;

/** The model's index, data/manifest.json (parsed once). */
export function manifest() {
  if (!manifestPromise) {
    manifestPromise = loadJSON('manifest.json');
    manifestPromise.catch(() => {
      manifestPromise = null;
    });
  }
  return manifestPromise;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Raw little-endian float32 file -> Float32Array (a view on the cached bytes). */
export function loadFloat32(name) {
  return withName(name, loadBytes(name).then((buf) => {
    if (buf.byteLength % 4 !== 0) {
      throw new Error('TFVIS: "' + name + '" has ' + buf.byteLength + ' bytes, not a multiple of 4 (float32)');
    }
    if (littleEndianHost) return new Float32Array(buf);
    const n = buf.byteLength / 4;
    const view = new DataView(buf);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }));
}

/** What the site was built from: "image" (an image model) or "text"; the one test of the
 * modality the pages make (generator/tfvis_site/site/pages/core.py site_kind writes the same). */
export function siteKind(m) {
  return m && m.modality === 'image' && m.image ? 'image' : 'text';
}
