/*
 * Helpers shared by the factor pages (factors.html, factor.html, quality.html, concepts.html).
 * Data layout: docs/factors.md and docs/factor-pages.md. All text reaches the DOM through el
 * (text nodes, never innerHTML).
 */
import { byId, el, loadColumns, manifest, siteKind } from '../core/data.js';

export const LEVELS = ['low', 'mid', 'high', 'dead'];
const LEVEL_TEXT = {
  low: 'word level: the importance score peaks in an early layer',
  mid: 'sentence level: peaks in a later layer, activity stays local to the token',
  high: 'long range: peaks in a later layer and activity persists along the sentence',
  dead: 'never active on the corpus',
};
/** Image models: the same levels, worded for patches (an image plays the part of a sentence). */
const LEVEL_TEXT_IMAGE = {
  low: 'early: the importance score peaks in an early layer (local patch features such as colour, edges, texture)',
  mid: 'peaks in a later layer, activity stays local to the patch',
  high: 'peaks in a later layer and activity persists to the next patch: regions wider than one patch',
  dead: 'never active on the images',
};
let levelText = LEVEL_TEXT;

/** The manifest (rejects when the build has no factor section); on image sites the level
 * wording switches to patches. */
export function section() {
  return manifest().then((m) => {
    if (!m.factors || !m.factors.n_factors) throw new Error('this site was built without transformer factors');
    if (siteKind(m) === 'image') levelText = LEVEL_TEXT_IMAGE;
    return m;
  });
}

/** The manifest's image geometry on image sites, else null. */
export function geometry(m) {
  return siteKind(m) === 'image' ? m.image : null;
}

let indexPromise = null;
/** factors/index.parquet as columns, plus .is = array of per-layer IS columns and .n. */
export function factorIndex(fs) {
  if (!indexPromise) {
    indexPromise = loadColumns(fs.files.index).then((c) => {
      c.n = c.factor.length;
      c.is = [];
      for (let l = 0; l < fs.n_layers; l++) c.is.push(c['is_' + l]);
      return c;
    });
    indexPromise.catch(() => { indexPromise = null; });
  }
  return indexPromise;
}

export const isCurve = (index, f) => index.is.map((col) => col[f]);

export const chunkOf = (fs, f) => Math.floor(f / fs.chunk_size);

export const chunkFile = (pattern, chunk) => pattern.replace('{chunk:03d}', String(chunk).padStart(3, '0'));

/** Rows [begin, end) of each key in a column whose equal keys are contiguous: Map(key -> [begin, end)). */
export function ranges(keys, keyOf) {
  const out = new Map();
  for (let i = 0; i < keys.length; i++) {
    const key = keyOf ? keyOf(i) : keys[i];
    const r = out.get(key);
    if (!r) out.set(key, [i, i + 1]);
    else r[1] = i + 1;
  }
  return out;
}

/** A uniformly random factor of a level (or of any level with level = null). */
export function randomFactor(index, level, not) {
  const ids = [];
  for (let i = 0; i < index.n; i++) {
    if ((!level || index.level[i] === level) && i !== not) ids.push(i);
  }
  if (!ids.length) return null;
  return ids[Math.floor(Math.random() * ids.length)];
}

export function levelBadge(level, extra) {
  return el('span', { class: 'flevel flevel-' + level, title: levelText[level] || '' }, level, extra || null);
}

export function fmt(x, digits) {
  if (x === null || x === undefined || isNaN(x)) return '–';
  const a = Math.abs(x);
  if (a !== 0 && (a < 0.001 || a >= 1e5)) return x.toExponential(1);
  return x.toFixed(digits === undefined ? (a >= 100 ? 0 : a >= 10 ? 1 : 3) : digits);
}

export function pct(x) {
  if (x === 0) return '0%';
  if (x < 0.001) return '<0.1%';
  return (100 * x).toFixed(x < 0.1 ? 1 : 0) + '%';
}

/** A small SVG sparkline of an IS curve (aria-hidden; the numbers are in the page). */
export function sparkline(values, level, peak, w = 84, h = 22) {
  let max = 0;
  values.forEach((v) => { if (v > max) max = v; });
  const n = values.length;
  const pts = values.map((v, i) => {
    const x = 2 + (n > 1 ? i * (w - 4) / (n - 1) : 0);
    const y = h - 2 - (max > 0 ? v / max : 0) * (h - 4);
    return x.toFixed(1) + ',' + y.toFixed(1);
  });
  const svg = el('svg:svg', { class: 'spark spark-' + level, viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, 'aria-hidden': 'true', focusable: 'false' },
    el('svg:polyline', { points: pts.join(' ') }));
  if (peak !== undefined && peak !== null) {
    const p = pts[peak].split(',');
    svg.appendChild(el('svg:circle', { cx: p[0], cy: p[1], r: 2.2 }));
  }
  return svg;
}

/** The sparkline of factor f's IS curve. */
export const factorSparkline = (index, f, w, h) => sparkline(isCurve(index, f), index.level[f], index.peak_layer[f], w, h);

/** Layer name on axes: "emb" for the embeddings (layer 0). */
export const layerName = (layer) => (layer === 0 ? 'emb' : String(layer));

/** A <dt>/<dd> pair of a facts list. */
export const factRow = (k, v) => el('div', null, el('dt', null, k), el('dd', null, v));

/** Shows a failure in the page's #status line. */
export function fail(err) {
  const status = byId('status');
  status.textContent = 'Could not load the data: ' + (err && err.message ? err.message : err);
  status.className = 'error';
}

// ------------------------------------------------------------------ word pieces

function alnumAt(s, i) {
  const ch = s.charAt(i < 0 ? s.length + i : i);
  return ch !== '' && /[\p{L}\p{N}]/u.test(ch);
}

/**
 * Does token row i continue the word of row i-1? Same rule as the Python word index
 * (pages/factors.py): no space before, neither special, letters/digits touching.
 */
export function continues(tokens, i, sentStart) {
  if (i <= sentStart) return false;
  if (tokens.space_before[i] || tokens.is_special[i] || tokens.is_special[i - 1]) return false;
  return alnumAt(tokens.text[i - 1], -1) && alnumAt(tokens.text[i], 0);
}

/** [first, last] token rows of the word containing row i (within [start, end)). */
export function wordSpan(tokens, i, start, end) {
  let a = i;
  let b = i;
  while (a > start && continues(tokens, a, start)) a--;
  while (b + 1 < end && continues(tokens, b + 1, start)) b++;
  return [a, b];
}

export const key = (text) => String(text || '').trim().toLowerCase();
