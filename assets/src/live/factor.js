/*
 * "Try this factor on your text" on factor.html (issue 14). The reader's text goes through the
 * site's model and dictionary in the browser (lib/live-probe.js); shown like
 * `tfvis-site probe --factor F`: the text tinted by the factor's activation at the page's layer,
 * and a token x layer table whose every activation cell carries data-activation.
 * URL: factor.html?f=&l=&text=... (the factor page owns f and l and announces them with the
 * "tfvis:factor" event; the text is this view's). Typed text reaches the DOM as text nodes only.
 */
import { clear, el } from '../core/data.js';
import { highlight } from '../lib/live-probe.js';
import { liveTable, wireLive } from './view.js';

export function startLiveFactor() {
  let view = { f: null, l: null };
  let last = null; // the probe's result
  const out = wireLive('text', (res) => { last = res; render(); }, () => { last = null; });
  if (!out) return;
  document.addEventListener('tfvis:factor', (e) => {
    view = { f: e.detail.f, l: e.detail.l };
    render();
  });

  function render() {
    clear(out);
    if (!last || view.f === null) return;
    const res = last, f = view.f, l = Math.min(view.l, res.nHidden - 1);
    let peak = 0;
    for (let t = 0; t < res.n; t++) for (let k = 0; k < res.nHidden; k++) peak = Math.max(peak, res.activation(k, t, f));
    out.appendChild(el('h3', null, 'Factor ' + f + ' on your text at layer ' + l));
    out.appendChild(highlight(res, (t) => res.activation(l, t, f), peak));
    out.appendChild(el('p', { class: 'muted small' }, peak > 0
      ? 'Peak activation ' + peak.toFixed(3) + ' (tint = activation / peak). Bold cells: at least half the peak.'
      : 'Factor ' + f + ' is not active on any token of this text at any layer.'));
    const layers = Array.from({ length: res.nHidden }, (_, k) => k);
    out.appendChild(liveTable(res, layers, { class: 'live-table', label: 'Activation of factor ' + f + ' per token and layer', current: l }, (t, k) => {
      const v = res.activation(k, t, f);
      return el('td', {
        class: [k === l ? 'live-cur' : null, v > 0 && v >= 0.5 * peak ? 'live-strong' : null],
        dataset: { activation: v.toFixed(4), layer: k, token: t },
      }, v > 0 ? v.toFixed(3) : '·');
    }));
  }
}
