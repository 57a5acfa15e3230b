/*
 * The attention data of a site (data/attention/, docs/attention-pages.md): tokens and sentences
 * (Parquet), the projected points of every head (uint16, dequantised here), the vector norms, per
 * layer the attention weights of every sample sequence and each query's top-k keys, the aggregate.
 *   points_<method><dim>d.u16 (G, n_points, dim), norms.f32 (G, n_points), tokens/sentences.parquet,
 *   weights_L<l>.sqrt.u16 (n_heads, total_pairs; images .sqrt.u8), topk_L<l>.keys.u8/.weights.u16
 *   (n_heads, n_tokens, K), aggregate.f32 (G, max_len, max_len).
 */
import { loadBytes, loadColumns, loadFloat32 } from '../core/data.js';
import { site } from './site.js';

var TOKEN_COLUMNS = ['sentence', 'position', 'length', 'position_norm', 'token_id', 'piece', 'text',
  'space_before', 'is_special', 'is_punct', 'frequency'];

export function loadTokens(sec) {
  var cols = TOKEN_COLUMNS;
  // Only the image columns the build wrote (another build may lack some: their modes then hide).
  if (site.image) cols = TOKEN_COLUMNS.concat(site.imageColumns.filter(function (c) { return c !== 'frequency'; }));
  return loadColumns(sec.files.tokens, cols);
}
export function loadSentences(sec) {
  return loadColumns(sec.files.sentences);
}

/** Projection entry for method + dim, falling back to what was built (pca always is). */
export function projection(sec, method, dim) {
  var list = sec.projections;
  var pick = function (f) {
    for (var i = 0; i < list.length; i++) if (f(list[i])) return list[i];
    return null;
  };
  return pick(function (p) { return p.method === method && p.dim === dim; }) ||
    pick(function (p) { return p.method === method; }) ||
    pick(function (p) { return p.dim === dim; }) || list[0];
}

export function methods(sec) {
  var seen = [];
  sec.projections.forEach(function (p) { if (seen.indexOf(p.method) === -1) seen.push(p.method); });
  var order = ['umap', 'tsne', 'pca'];
  seen.sort(function (a, b) { return order.indexOf(a) - order.indexOf(b); });
  return seen;
}

/** Coordinates of every head, Float32Array (G * P * dim), dequantised from the uint16 file. */
export function loadPoints(entry) {
  return loadBytes(entry.file).then(function (buf) {
    var q = u16(buf), out = new Float32Array(q.length), scale = entry.scale, offset = entry.offset;
    for (var i = 0; i < q.length; i++) out[i] = q[i] * scale + offset;
    return out;
  });
}
export function loadNorms(sec) {
  return loadFloat32(sec.files.norms);
}

function u16(buf) {
  return new Uint16Array(buf, 0, buf.byteLength >> 1);
}

/** Attention data of one layer: weights (n_heads, total_pairs) and top-k (n_heads, N, K). */
export function loadLayer(sec, layer) {
  return Promise.all([
    loadBytes(sec.files.weights[layer]),
    loadBytes(sec.files.topk_keys[layer]),
    loadBytes(sec.files.topk_weights[layer]),
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
}

export function loadAggregate(sec) {
  return Promise.all([loadFloat32(sec.files.aggregate), loadFloat32(sec.files.aggregate_count)]);
}

// ------------------------------------------------------------------ one sequence's weights

/**
 * The L x L weights of sequence s (a sentence or an image) for head h of a loaded layer, rows =
 * queries, Float32Array. Causal models (decoders): 0 above the diagonal, whatever the file says,
 * so no view can draw a line from a query to a later key.
 */
export function blockWeights(sec, sentences, layerData, h, s) {
  var n = sentences.n_tokens[s], off = h * sec.total_pairs + Number(sentences.pair_offset[s]);
  var w = new Float32Array(n * n), causal = !!sec.model.is_causal;
  for (var q = 0; q < n; q++) {
    var last = causal ? q : n - 1;
    for (var k = 0; k <= last; k++) w[q * n + k] = layerData.weightAt(off + q * n + k);
  }
  return w;
}

/**
 * Reweight an L x L block in place: hidden positions (Uint8Array(L) or null) lose their rows and
 * columns, each key column is scaled by its value norm (Float32Array(L) or null: AttentionViz's
 * "weight by value norm", attention x ||v_j||), and every row that changed is renormalised over
 * the keys left (a row with nothing left stays 0). Returns w.
 */
export function reweight(w, n, hidden, vrow) {
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
}

/** Value norms ||v|| of every sample token, Float32Array (n_layers, n_tokens, n_kv_heads); null if not built. */
export function loadValueNorms(sec) {
  return sec.files.value_norms ? loadFloat32(sec.files.value_norms) : Promise.resolve(null);
}

/** The key/value head query head g reads (grouped-query attention: several query heads share one). */
export function kvHead(sec, g) {
  var info = sec.heads[g];
  if (info && info.kv_head !== undefined && info.kv_head !== null) return info.kv_head;
  var H = sec.model.n_heads, nkv = sec.model.n_kv_heads || H;
  return Math.floor((g % H) / (H / nkv));
}

/** Float32Array(L) of the value norms of sequence s's units for head g (its kv head), or null. */
export function valueRow(sec, sentences, vnorms, g, s) {
  if (!vnorms) return null;
  var N = sec.n_tokens, nkv = sec.model.n_kv_heads || sec.model.n_heads, layer = Math.floor(g / sec.model.n_heads);
  var kv = kvHead(sec, g), start = sentences.token_offset[s], n = sentences.n_tokens[s], out = new Float32Array(n);
  for (var p = 0; p < n; p++) out[p] = vnorms[(layer * N + start + p) * nkv + kv];
  return out;
}

/** Strongest keys of row q of an L x L block: [{pos, w}], strongest first, at most count, w >= min. */
export function topOfRow(w, n, q, count, min) {
  var row = [];
  for (var k = 0; k < n; k++) if (w[q * n + k] >= min) row.push({ pos: k, w: w[q * n + k] });
  row.sort(function (a, b) { return b.w - a.w || a.pos - b.pos; });
  return row.slice(0, count);
}

/**
 * Links a sample sentence to the token browser: the build writes each attention sentence's
 * sentence_id (its row of data/sentences.parquet). Returns f(s) -> sentence_id or null.
 */
export function tokenBrowserLinker(sentences) {
  var ids = sentences.sentence_id;
  var files = (site.manifest && site.manifest.files) || {};
  var browser = Object.prototype.hasOwnProperty.call(files, 'sentences.parquet');
  return function (s) {
    return browser && ids && ids[s] !== undefined && ids[s] >= 0 ? Number(ids[s]) : null;
  };
}

