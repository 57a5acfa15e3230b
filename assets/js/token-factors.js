/*
 * token-factors.js: links between tokens and factors (issue 12), shared by the attention head
 * view, the token browser and the factor page. Reads manifest.attention.token_factors (the
 * strongest factors of each attention-sample token per hidden-state layer; layout in
 * docs/data-contract.md) and attention/sentences.parquet (sample row <-> token-browser text).
 * Defines TFVIS.tokenFactors() and TFVIS.factorLinks().
 */
(function (window) {
  'use strict';
  var T = window.TFVIS;
  var el = T.el;
  var loaded = null;

  /**
   * Promise of {
   *   sampleRow: Map(token-browser sentence_id -> attention sample row, i.e. attention-head.html?s=),
   *   nLayers: attention layers, nHidden: hidden-state layers (nLayers + 1; 0 = embeddings), top,
   *   at(hidden, sid, pos): [{factor, value}] strongest first, or null when the text is not in the sample,
   *   atSample(hidden, row, pos): the same for an attention sample row
   * } (at / atSample return null on a build without token factors).
   */
  T.tokenFactors = function () {
    if (loaded) return loaded;
    loaded = T.manifest().then(function (m) {
      var att = m.attention, tf = att && att.token_factors;
      var out = { sampleRow: new Map(), nLayers: att ? att.model.n_layers : 0, nHidden: 0, top: 0,
        at: function () { return null; }, atSample: function () { return null; } };
      if (!att || !att.files || !att.files.sentences) return out;
      return Promise.all([T.loadColumns(att.files.sentences, ['sentence_id', 'token_offset', 'n_tokens']), tf ? T.loadBytes(tf.file) : null])
        .then(function (r) {
          var s = r[0];
          if (s.sentence_id) for (var i = 0; i < s.sentence_id.length; i++) out.sampleRow.set(Number(s.sentence_id[i]), i);
          if (!r[1]) return out;
          var packed = new Uint16Array(r[1]), top = tf.top, nTok = att.n_tokens;
          out.top = top;
          out.nHidden = packed.length / (nTok * top * 2);
          out.atSample = function (hidden, row, pos) {
            if (row === undefined || row === null || pos >= s.n_tokens[row] || hidden < 0 || hidden >= out.nHidden) return null;
            var base = ((hidden * nTok + s.token_offset[row] + pos) * top) * 2, list = [];
            for (var k = 0; k < top; k++) {
              var f = packed[base + 2 * k];
              if (f !== tf.missing) list.push({ factor: f, value: packed[base + 2 * k + 1] * tf.scale });
            }
            return list;
          };
          out.at = function (hidden, sid, pos) { return out.atSample(hidden, out.sampleRow.get(sid), pos); };
          return out;
        });
    });
    return loaded;
  };

  /** <span> of links "factor F (activation)" to factor.html at hidden-state layer ``hidden``. */
  T.factorLinks = function (list, hidden) {
    if (!list.length) return el('span', { class: 'muted' }, 'no active factor');
    var span = el('span', { class: 'factor-links' });
    list.forEach(function (x, k) {
      if (k) span.appendChild(document.createTextNode(' · '));
      span.appendChild(el('a', { href: 'factor.html?f=' + x.factor + '&l=' + hidden, title: 'activation ' + x.value },
        'factor ' + x.factor));
      span.appendChild(el('span', { class: 'muted' }, ' ' + x.value.toFixed(2)));
    });
    return span;
  };
})(window);
