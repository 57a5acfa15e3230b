/*
 * live-factor.js: "Try this factor on your text" on factor.html (issue 14). The reader's text goes
 * through the site's model and dictionary in the browser (live-probe.js); shown like
 * `tfvis-site probe --factor F`: the text tinted by the factor's activation at the page's layer,
 * and a token x layer table whose every activation cell carries data-activation.
 * URL: factor.html?f=&l=&text=... (factor-page.js owns f and l and announces them with the
 * "tfvis:factor" event; the text is this view's). Typed text reaches the DOM as text nodes only.
 */
(function (window) {
  'use strict';
  var T = window.TFVIS;
  var el = T.el;
  var $ = function (id) { return document.getElementById(id); };
  var form = $('live-form');
  if (!form) return;
  var out = $('live-out');
  var view = { f: null, l: null };
  var last = null; // {res, text}

  document.addEventListener('tfvis:factor', function (e) {
    view = { f: e.detail.f, l: e.detail.l };
    render();
  });

  T.live.wireForm({
    form: form, input: $('live-input'), status: $('live-status'), param: 'text',
    onResult: function (res, text) { last = { res: res, text: text }; render(); },
    onClear: function () { last = null; T.clear(out); },
  });

  function render() {
    T.clear(out);
    if (!last || view.f === null) return;
    var res = last.res, f = view.f, l = Math.min(view.l, res.nHidden - 1);
    var peak = 0;
    for (var t = 0; t < res.n; t++) for (var k = 0; k < res.nHidden; k++) peak = Math.max(peak, res.activation(k, t, f));
    out.appendChild(el('h3', null, 'Factor ' + f + ' on your text at layer ' + l));
    out.appendChild(T.live.highlight(res, function (t) { return res.activation(l, t, f); }, peak));
    out.appendChild(el('p', { class: 'muted small' }, peak > 0
      ? 'Peak activation ' + peak.toFixed(3) + ' (tint = activation / peak). Bold cells: at least half the peak.'
      : 'Factor ' + f + ' is not active on any token of this text at any layer.'));
    var head = el('tr', null, el('th', { scope: 'col' }, 'token'));
    for (k = 0; k < res.nHidden; k++) head.appendChild(el('th', { scope: 'col', class: k === l ? 'live-cur' : null }, 'L' + k));
    var body = el('tbody');
    for (t = 0; t < res.n; t++) {
      var tr = el('tr', null, el('th', { scope: 'row', class: res.enc.special[t] ? 'live-special' : null }, res.text[t]));
      for (k = 0; k < res.nHidden; k++) {
        var v = res.activation(k, t, f);
        tr.appendChild(el('td', {
          class: [k === l ? 'live-cur' : null, v > 0 && v >= 0.5 * peak ? 'live-strong' : null],
          dataset: { activation: v.toFixed(4), layer: k, token: t },
        }, v > 0 ? v.toFixed(3) : '·'));
      }
      body.appendChild(tr);
    }
    out.appendChild(el('div', { class: 'live-table-wrap' },
      el('table', { class: 'live-table', id: 'live-table', 'aria-label': 'Activation of factor ' + f + ' per token and layer' },
        el('thead', null, head), body)));
  }
})(window);
