/* What the live probe's views share (live/factor.js, live/tokens.js): wiring the card's form and
 * the token x layer table. */
import { byId as $, clear, el } from '../core/data.js';
import { wireForm } from '../lib/live-probe.js';


/**
 * Wire the live card's form (text in the URL under ``param``): onResult(res, text) after each run,
 * onClear() when the text is gone (the output is cleared). Returns #live-out, or null when the
 * page has no live card.
 */
export function wireLive(param, onResult, onClear) {
  const form = $('live-form');
  if (!form) return null;
  const out = $('live-out');
  wireForm({
    form, input: $('live-input'), status: $('live-status'), param, onResult,
    onClear: () => { onClear(); clear(out); },
  });
  return out;
}

/** The table of the probe's tokens (rows) by layers (columns); cell(t, k) makes each <td>.
 * opts: {class, label, current (layer highlighted)}. */
export function liveTable(res, layers, opts, cell) {
  const head = el('tr', null, el('th', { scope: 'col' }, 'token'));
  layers.forEach((k) => head.appendChild(el('th', { scope: 'col', class: k === opts.current ? 'live-cur' : null }, 'L' + k)));
  const body = el('tbody');
  for (let t = 0; t < res.n; t++) {
    const tr = el('tr', null, el('th', { scope: 'row', class: res.enc.special[t] ? 'live-special' : null }, res.text[t]));
    layers.forEach((k) => tr.appendChild(cell(t, k)));
    body.appendChild(tr);
  }
  return el('div', { class: 'live-table-wrap' },
    el('table', { class: opts.class, id: 'live-table', 'aria-label': opts.label }, el('thead', null, head), body));
}
