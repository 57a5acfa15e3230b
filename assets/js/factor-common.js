/*
 * factor-common.js: helpers shared by the factor pages (factors.html, factor.html, quality.html).
 * Classic script after tfvis-data.js; defines window.TFVISF. Data layout: docs/factors.md and
 * docs/factor-pages.md. All text reaches the DOM through TFVIS.el (text nodes, never innerHTML).
 */
(function (window) {
  'use strict';
  var T = window.TFVIS;
  var el = T.el;
  var F = {};
  window.TFVISF = F;

  F.LEVELS = ['low', 'mid', 'high', 'dead'];
  F.LEVEL_TEXT = {
    low: 'word level: the importance score peaks in an early layer',
    mid: 'sentence level: peaks in a later layer, activity stays local to the token',
    high: 'long range: peaks in a later layer and activity persists along the sentence',
    dead: 'never active on the corpus',
  };

  /** Image models: the same levels, worded for patches (an image plays the part of a sentence). */
  F.LEVEL_TEXT_IMAGE = {
    low: 'early: the importance score peaks in an early layer (local patch features such as colour, edges, texture)',
    mid: 'peaks in a later layer, activity stays local to the patch',
    high: 'peaks in a later layer and activity persists to the next patch: regions wider than one patch',
    dead: 'never active on the images',
  };

  /** manifest["factors"] (rejects when the build has no factor section); on image sites the
   * level wording switches to patches. */
  F.section = function () {
    return T.manifest().then(function (m) {
      if (!m.factors || !m.factors.n_factors) throw new Error('this site was built without transformer factors');
      if (m.modality === 'image') F.LEVEL_TEXT = F.LEVEL_TEXT_IMAGE;
      return m;
    });
  };

  var indexPromise = null;
  /** factors/index.parquet as columns, plus .is = array of per-layer IS columns and .n. */
  F.index = function (fs) {
    if (!indexPromise) {
      indexPromise = T.loadColumns(fs.files.index).then(function (c) {
        c.n = c.factor.length;
        c.is = [];
        for (var l = 0; l < fs.n_layers; l++) c.is.push(c['is_' + l]);
        return c;
      });
      indexPromise.catch(function () { indexPromise = null; });
    }
    return indexPromise;
  };

  F.isCurve = function (index, f) {
    return index.is.map(function (col) { return col[f]; });
  };

  F.chunkOf = function (fs, f) {
    return Math.floor(f / fs.chunk_size);
  };

  F.chunkFile = function (pattern, chunk) {
    var s = String(chunk);
    while (s.length < 3) s = '0' + s;
    return pattern.replace('{chunk:03d}', s);
  };

  /** A uniformly random factor of a level (or of any level with level = null). */
  F.randomFactor = function (index, level, not) {
    var ids = [];
    for (var i = 0; i < index.n; i++) {
      if ((!level || index.level[i] === level) && i !== not) ids.push(i);
    }
    if (!ids.length) return null;
    return ids[Math.floor(Math.random() * ids.length)];
  };

  F.levelBadge = function (level, extra) {
    return el('span', { class: 'flevel flevel-' + level, title: F.LEVEL_TEXT[level] || '' }, level, extra || null);
  };

  F.fmt = function (x, digits) {
    if (x === null || x === undefined || isNaN(x)) return '–';
    var a = Math.abs(x);
    if (a !== 0 && (a < 0.001 || a >= 1e5)) return x.toExponential(1);
    return x.toFixed(digits === undefined ? (a >= 100 ? 0 : a >= 10 ? 1 : 3) : digits);
  };

  F.pct = function (x) {
    if (x === 0) return '0%';
    if (x < 0.001) return '<0.1%';
    return (100 * x).toFixed(x < 0.1 ? 1 : 0) + '%';
  };

  /** A small SVG sparkline of an IS curve (aria-hidden; the numbers are in the page). */
  F.sparkline = function (values, level, peak, w, h) {
    w = w || 84;
    h = h || 22;
    var max = 0;
    values.forEach(function (v) { if (v > max) max = v; });
    var n = values.length;
    var pts = values.map(function (v, i) {
      var x = 2 + (n > 1 ? i * (w - 4) / (n - 1) : 0);
      var y = h - 2 - (max > 0 ? v / max : 0) * (h - 4);
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    var svg = el('svg:svg', { class: 'spark spark-' + level, viewBox: '0 0 ' + w + ' ' + h, width: w, height: h, 'aria-hidden': 'true', focusable: 'false' },
      el('svg:polyline', { points: pts.join(' ') }));
    if (peak !== undefined && peak !== null) {
      var p = pts[peak].split(',');
      svg.appendChild(el('svg:circle', { cx: p[0], cy: p[1], r: 2.2 }));
    }
    return svg;
  };

  // ------------------------------------------------------------------ word pieces

  function alnumAt(s, i) {
    var ch = s.charAt(i < 0 ? s.length + i : i);
    return ch !== '' && /[\p{L}\p{N}]/u.test(ch);
  }

  /**
   * Does token row i continue the word of row i-1? Same rule as the Python word index
   * (pages/factors.py): no space before, neither special, letters/digits touching.
   */
  F.continues = function (tokens, i, sentStart) {
    if (i <= sentStart) return false;
    if (tokens.space_before[i] || tokens.is_special[i] || tokens.is_special[i - 1]) return false;
    return alnumAt(tokens.text[i - 1], -1) && alnumAt(tokens.text[i], 0);
  };

  /** [first, last] token rows of the word containing row i (within [start, end)). */
  F.wordSpan = function (tokens, i, start, end) {
    var a = i;
    var b = i;
    while (a > start && F.continues(tokens, a, start)) a--;
    while (b + 1 < end && F.continues(tokens, b + 1, start)) b++;
    return [a, b];
  };

  F.key = function (text) {
    return String(text || '').trim().toLowerCase();
  };
})(window);
