/*
 * The factor page's data per chunk of factors (docs/factors.md): factors/topk-NNN.parquet (top
 * contexts), factors/hist-NNN.f32 (histograms), factors/lime-NNN.parquet (LIME weights, when the
 * build computed LIME for the chunk) and on image sites factors/heatmap-NNN.{u8,f32} (activation
 * maps of whole images at the peak layer).
 */
import { loadBytes, loadColumns, loadFloat32 } from '../../core/data.js';
import { chunkFile, ranges } from '../common.js';
import { page } from './context.js';

const chunks = new Map();

/** Promise of {topk columns, starts: Map("f,l" -> [begin, end)), hist Float32Array, lime: Map|null, heat}. */
export function chunkData(chunk) {
  const cached = chunks.get(chunk);
  if (cached) return cached;
  const fs = page.fs;
  const limeName = limeFile(chunk);
  const hm = fs.heatmaps && fs.heatmaps.files;
  const p = Promise.all([
    loadColumns(chunkFile(fs.files.topk, chunk)),
    loadFloat32(chunkFile(fs.files.hist, chunk)),
    limeName ? loadColumns(limeName) : null,
    hm ? loadBytes(chunkFile(hm.maps, chunk)) : null,
    hm ? loadFloat32(chunkFile(hm.meta, chunk)) : null,
  ]).then(([topk, hist, lime, maps, meta]) => ({
    topk,
    starts: ranges(topk.factor, (i) => topk.factor[i] + ',' + topk.layer[i]),
    hist,
    lime: lime ? groupLime(lime) : null,
    heat: maps ? { maps: new Uint8Array(maps), meta, lo: chunk * fs.chunk_size } : null,
  }));
  chunks.set(chunk, p);
  p.catch(() => { chunks.delete(chunk); });
  return p;
}

function limeFile(chunk) {
  const lime = page.fs.lime;
  if (!lime || !lime.files || !lime.files.length) return null;
  const name = chunkFile('factors/lime-{chunk:03d}.parquet', chunk);
  return lime.files.indexOf(name) !== -1 ? name : null;
}

/** LIME rows -> Map("factor,layer,sentence,position" -> {tokens: [pos], weights: [w], activation, layer}). */
function groupLime(c) {
  const out = new Map();
  for (let i = 0; i < c.factor.length; i++) {
    const key = c.factor[i] + ',' + c.layer[i] + ',' + c.sentence_id[i] + ',' + c.position[i];
    let g = out.get(key);
    if (!g) {
      g = { tokens: [], weights: [], activation: c.activation ? c.activation[i] : null, layer: c.layer[i] };
      out.set(key, g);
    }
    g.tokens.push(c.token[i]);
    g.weights.push(c.weight[i]);
  }
  return out;
}

/** The LIME weights of one context, or null. */
export const limeOf = (cd, f, l, sid, pos) => (cd.lime ? cd.lime.get(f + ',' + l + ',' + sid + ',' + pos) || null : null);

/** [{layer, contexts}]: the layers where factor f has LIME contexts. */
export function limeLayers(lime, f) {
  const layers = {};
  if (!lime) return [];
  lime.forEach((g, key) => {
    if (key.split(',')[0] === String(f)) layers[g.layer] = (layers[g.layer] || 0) + 1;
  });
  return Object.keys(layers).map(Number).map((l) => ({ layer: l, contexts: layers[l] }));
}

/** The activation map of factor f on image img (at the factor's peak layer), or null:
 * {values: Float32Array(n_units) in activation units, max}. */
export function heatMap(cd, f, img) {
  const h = cd.heat;
  const hm = page.fs.heatmaps;
  if (!h || !hm) return null;
  const N = hm.contexts;
  const U = hm.n_units;
  const fi = f - h.lo;
  for (let j = 0; j < N; j++) {
    const id = h.meta[(fi * N + j) * 2];
    if (id < 0) break;
    if (id !== img) continue;
    const mx = h.meta[(fi * N + j) * 2 + 1];
    const bytes = h.maps.subarray((fi * N + j) * U, (fi * N + j + 1) * U);
    const values = new Float32Array(U);
    for (let u = 0; u < U; u++) values[u] = bytes[u] / 255 * mx;
    return { values, max: mx };
  }
  return null;
}

/** How many images of factor f have an activation map. */
export function nMaps(cd, f) {
  const h = cd.heat;
  const hm = page.fs.heatmaps;
  let n = 0;
  if (!h || !hm) return 0;
  for (let j = 0; j < hm.contexts; j++) if (h.meta[((f - h.lo) * hm.contexts + j) * 2] >= 0) n++;
  return n;
}

/** The top contexts of factor f at layer l: {range: [begin, end) or undefined, total, shown, vmax}. */
export function contextRange(cd, f, l, shownOpt) {
  const range = cd.starts.get(f + ',' + l);
  const total = range ? range[1] - range[0] : 0;
  const shown = shownOpt === 'all' ? total : Math.min(total, parseInt(shownOpt, 10));
  return { range, total, shown, vmax: range ? cd.topk.value[range[0]] || 1 : 1 };
}
