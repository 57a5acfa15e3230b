/*
 * live-attention.js: "Attention of your own sentence" on attention-head.html (issue 14): the
 * sentence view of the head shown (attention-sentence.js's drawing) on the reader's text, with the
 * model's own attention weights computed in the browser (live-probe.js; causal models: a query
 * sees only itself and earlier tokens). Follows the head through the "tfvis:head" event of
 * attention-single.js. URL: attention-head.html?l=&h=&live=<text>. Text goes in as text nodes only.
 */
(function (window) {
  'use strict';
  var T = window.TFVIS;
  var A = window.TFVIS_ATT;
  var el = T.el;
  var $ = function (id) { return document.getElementById(id); };
  var form = $('live-form');
  if (!form) return;
  var out = $('live-out');
  // until attention-single.js announces the head, the one in the URL
  var q = T.query();
  var head = { l: parseInt(q.l, 10) || 0, h: parseInt(q.h, 10) || 0, hide: {} };
  var last = null;

  document.addEventListener('tfvis:head', function (e) {
    head = e.detail;
    if (last) render();
  });

  T.live.wireForm({
    form: form, input: $('live-input'), status: $('live-status'), param: 'live',
    onResult: function (res) { last = res; render(); },
    onClear: function () { last = null; T.clear(out); },
  });

  function render() {
    var res = last;
    var l = Math.min(head.l, res.nLayers - 1), h = Math.min(head.h, res.nHeads - 1);
    var w = res.weights(l, h);
    var tokens = { text: res.text, is_special: res.enc.special.map(Boolean) };
    var sentences = { token_offset: [0], n_tokens: [res.n] };
    T.clear(out);
    out.appendChild(el('h3', null, 'Layer ' + l + ', head ' + h + ' on your text'));
    var box = el('div', { class: 'att-sentence' });
    out.appendChild(box);
    A.sentenceView(box, { tokens: tokens, sentences: sentences, s: 0, hide: head.hide || {}, weights: w, current: null });
    out.dataset.layer = l;
    out.dataset.head = h;
  }
})(window);
