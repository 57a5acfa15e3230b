/*
 * "Attention of your own sentence" on attention-head.html (issue 14): the sentence view of the
 * head shown (sentence.js's drawing) on the reader's text, with the model's own attention weights
 * computed in the browser (lib/live-probe.js; causal models: a query sees only itself and
 * earlier tokens). Follows the head through the "tfvis:head" event the head view dispatches.
 * URL: attention-head.html?l=&h=&live=<text>. Text goes in as text nodes only.
 */
import { byId, clear, el, query } from '../core/data.js';
import { wireForm } from '../lib/live-probe.js';
import { sentenceView } from './sentence.js';

/** Wire the live card, when the page has one (text sites whose build wrote a live section). */
export function initLiveAttention() {
  var form = byId('live-form');
  if (!form) return;
  var out = byId('live-out');
  // until the head view announces the head, the one in the URL
  var q = query();
  var head = { l: parseInt(q.l, 10) || 0, h: parseInt(q.h, 10) || 0, hide: {} };
  var last = null;

  function render() {
    var res = last;
    var l = Math.min(head.l, res.nLayers - 1), h = Math.min(head.h, res.nHeads - 1);
    var w = res.weights(l, h);
    var tokens = { text: res.text, is_special: res.enc.special.map(Boolean) };
    var sentences = { token_offset: [0], n_tokens: [res.n] };
    clear(out);
    out.appendChild(el('h3', null, 'Layer ' + l + ', head ' + h + ' on your text'));
    var box = el('div', { class: 'att-sentence' });
    out.appendChild(box);
    sentenceView(box, { tokens: tokens, sentences: sentences, s: 0, hide: head.hide || {}, weights: w, current: null });
    out.dataset.layer = l;
    out.dataset.head = h;
  }

  document.addEventListener('tfvis:head', function (e) {
    head = e.detail;
    if (last) render();
  });
  wireForm({
    form: form, input: byId('live-input'), status: byId('live-status'), param: 'live',
    onResult: function (res) { last = res; render(); },
    onClear: function () { last = null; clear(out); },
  });
}
