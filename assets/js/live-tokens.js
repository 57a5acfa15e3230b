/*
 * live-tokens.js: "Strongest factors of your text" on the token browser (issue 14): per token and
 * layer, the factors that respond most to the reader's text (like `tfvis-site probe --top 3`), each a
 * link to its factor page with the same text filled in. URL: tokens.html?live=<text>&ll=<layer or
 * "all">. Typed text reaches the DOM as text nodes only.
 */
(function (window) {
  'use strict';
  var T = window.TFVIS;
  var el = T.el;
  var $ = function (id) { return document.getElementById(id); };
  var form = $('live-form');
  if (!form) return;
  var TOP = 3, MAX_COLUMNS = 8;
  var out = $('live-out');
  var last = null;

  T.live.wireForm({
    form: form, input: $('live-input'), status: $('live-status'), param: 'live',
    onResult: function (res, text) { last = { res: res, text: text }; render(); },
    onClear: function () { last = null; T.clear(out); },
  });
  T.onState(function () { if (last) render(); });

  /** Layers shown: all when they fit, else the one in ?ll= (default: the middle one). */
  function layers(res) {
    var q = T.query().ll;
    if (q === undefined && res.nHidden <= MAX_COLUMNS) q = 'all';
    if (q === 'all') return Array.from({ length: res.nHidden }, function (_, i) { return i; });
    var l = parseInt(q, 10);
    return [l >= 0 && l < res.nHidden ? l : Math.floor(res.nHidden / 2)];
  }

  function render() {
    var res = last.res, shown = layers(res);
    T.clear(out);
    var pick = el('select', { id: 'live-layer', 'aria-label': 'Layer' });
    pick.appendChild(el('option', { value: 'all' }, 'all layers'));
    for (var l = 0; l < res.nHidden; l++) pick.appendChild(el('option', { value: String(l) }, 'layer ' + l));
    pick.value = shown.length > 1 ? 'all' : String(shown[0]);
    pick.addEventListener('change', function () { T.setQuery({ ll: pick.value }, true); render(); });
    out.appendChild(el('div', { class: 'toolbar' }, el('label', { for: 'live-layer' }, 'Show'), pick));
    var head = el('tr', null, el('th', { scope: 'col' }, 'token'));
    shown.forEach(function (k) { head.appendChild(el('th', { scope: 'col' }, 'L' + k)); });
    var body = el('tbody');
    for (var t = 0; t < res.n; t++) {
      var tr = el('tr', null, el('th', { scope: 'row', class: res.enc.special[t] ? 'live-special' : null }, res.text[t]));
      shown.forEach(function (k) { tr.appendChild(el('td', null, links(res.top(k, t, TOP), k, last.text))); });
      body.appendChild(tr);
    }
    out.appendChild(el('div', { class: 'live-table-wrap' },
      el('table', { class: 'live-table live-top', id: 'live-table', 'aria-label': 'Strongest factors per token and layer' },
        el('thead', null, head), body)));
    out.appendChild(el('p', { class: 'muted small' }, 'Each cell: the ' + TOP + ' strongest factors of the token at that layer ' +
      '(hidden state; 0 = embeddings) with their activation. Follow a link to see the factor on this text.'));
  }

  function links(list, layer, text) {
    if (!list.length) return el('span', { class: 'muted' }, '·');
    var span = el('span', { class: 'factor-links' });
    list.forEach(function (x, i) {
      if (i) span.appendChild(document.createTextNode(' · '));
      var q = new URLSearchParams({ f: String(x.factor), l: String(layer), text: text });
      span.appendChild(el('a', { href: 'factor.html?' + q.toString(), dataset: { factor: x.factor, activation: x.value.toFixed(4) } }, String(x.factor)));
      span.appendChild(el('span', { class: 'muted' }, ' ' + x.value.toFixed(2)));
    });
    return span;
  }
})(window);
