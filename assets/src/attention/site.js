/*
 * What both attention pages (attention.html, attention-head.html) share about the site: the
 * attention section of the manifest, the modality (site.image: the image geometry on image
 * sites, else null), the page timings the tests and the benchmark read, WebGL detection and the
 * small formatting helpers. Corpus text reaches the DOM only through el() / textContent.
 *
 * Data (manifest["attention"], written by the generator's attention bundle; docs/attention-pages.md):
 *   head g = layer * n_heads + head; per head n_points = 2 * n_tokens points: point p < n_tokens is
 *   the QUERY of sample token p, point p >= n_tokens the KEY of token p - n_tokens.
 */
import { el, manifest, siteKind } from '../core/data.js';

/** The site as the attention pages see it, filled in by section(). */
export const site = {
  manifest: null,
  image: null, // manifest.image on image sites (units: prefix tokens, then patches), else null
  imageColumns: [], // the per-unit image columns the build wrote
  timings: {}, // name -> ms: what the page measured (read by tests and bench/ through the page's inspect handle)
};

// Image sites: per-unit patch statistics; `frequency` is then the spatial frequency.
export const IMAGE_COLUMNS = ['row', 'col', 'hue', 'saturation', 'brightness', 'colour_r', 'colour_g', 'colour_b'];

/** Record a timing: ms since `start` (or since the page started). */
export function mark(name, start) {
  var v = window.performance.now() - (start === undefined ? 0 : start);
  site.timings[name] = Math.round(v * 10) / 10;
  return v;
}
// ------------------------------------------------------------------ WebGL or not
// Without WebGL (turned off, a VM without a GPU, some headless browsers) regl-scatterplot and
// three.js fail on a null context: the pages ask first, show a plain note where the plots would
// be, and keep everything else (labels, metrics, search counts, sentence view, aggregate).
var webgl = null;
/** True when this browser gives a WebGL context (asked once; the test context is released). */
export function hasWebGL() {
  if (webgl === null) {
    var gl = null;
    try { gl = document.createElement('canvas').getContext('webgl'); } catch (e) { gl = null; }
    var lose = gl && gl.getExtension('WEBGL_lose_context');
    if (lose) lose.loseContext();
    webgl = Boolean(gl);
  }
  return webgl;
}
/** The note that replaces the scatterplots: inserted into `parent` before `before`; `rest` says what still works. */
export function noWebGL(parent, before, rest) {
  if (parent.querySelector('.att-nogl')) return;
  var note = el('p', { class: 'att-nogl att-warn', role: 'note' },
    'The scatterplots need WebGL, which this browser has turned off. ' + rest +
    ' To see the points, turn WebGL (hardware acceleration) on or open the page in another browser.');
  note.style.padding = '0.6rem 0.8rem';
  parent.insertBefore(note, before);
}

/** manifest["attention"] (rejects when the build has none); fills in `site`. */
export function section() {
  return manifest().then(function (m) {
    if (!m.attention) throw new Error('this site was built without the attention analysis');
    site.manifest = m;
    site.image = siteKind(m) === 'image' ? m.image : null;
    var info = (m.files || {})[m.attention.files.tokens] || {};
    site.imageColumns = site.image ? IMAGE_COLUMNS.concat(['frequency']).filter(function (c) {
      return !info.columns || info.columns.indexOf(c) !== -1;
    }) : [];
    return m.attention;
  });
}

export function fmt(x, digits) {
  if (x === null || x === undefined || typeof x !== 'number' || !isFinite(x)) return 'n/a';
  return x.toFixed(digits === undefined ? 2 : digits).replace('-', '\u2212');
}

/** A short piece of a sentence around one token: [before, token, after] strings. */
export function snippet(tokens, sentences, t, width) {
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
}

export function cssVar(name, fallback) {
  var v = window.getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export function fail(status, err) {
  status.textContent = 'Could not show the attention data: ' + (err && err.message ? err.message : String(err));
  status.className = 'error';
  if (window.console) window.console.warn(err);
}
