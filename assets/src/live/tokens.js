/*
 * "Strongest factors of your text" on the token browser (issue 14): per token and layer, the
 * factors that respond most to the reader's text (like `tfvis-site probe --top 3`), each a link to
 * its factor page with the same text filled in. URL: tokens.html?live=<text>&ll=<layer or "all">.
 * Typed text reaches the DOM as text nodes only.
 */
import { clear, el, onState, query, setQuery } from '../core/data.js';
import { factorLinks } from '../lib/token-factors.js';
import { liveTable, wireLive } from './view.js';

const TOP = 3, MAX_COLUMNS = 8;

export function startLiveTokens() {
  let last = null; // {res, text}
  const out = wireLive('live', (res, text) => { last = { res, text }; render(); }, () => { last = null; });
  if (!out) return;
  onState(() => { if (last) render(); });

  function render() {
    const { res, text } = last;
    const shown = layers(res);
    clear(out);
    const pick = el('select', { id: 'live-layer', 'aria-label': 'Layer' }, el('option', { value: 'all' }, 'all layers'));
    for (let l = 0; l < res.nHidden; l++) pick.appendChild(el('option', { value: String(l) }, 'layer ' + l));
    pick.value = shown.length > 1 ? 'all' : String(shown[0]);
    pick.addEventListener('change', () => { setQuery({ ll: pick.value }, true); render(); });
    out.appendChild(el('div', { class: 'toolbar' }, el('label', { for: 'live-layer' }, 'Show'), pick));
    const link = (x, layer) => 'factor.html?' + new URLSearchParams({ f: String(x.factor), l: String(layer), text }).toString();
    out.appendChild(liveTable(res, shown, { class: 'live-table live-top', label: 'Strongest factors per token and layer' },
      (t, k) => el('td', null, factorLinks(res.top(k, t, TOP), k, {
        empty: '·', label: (x) => String(x.factor), href: (x) => link(x, k),
        attrs: (x) => ({ title: null, dataset: { factor: x.factor, activation: x.value.toFixed(4) } }),
      }))));
    out.appendChild(el('p', { class: 'muted small' }, 'Each cell: the ' + TOP + ' strongest factors of the token at that layer ' +
      '(hidden state; 0 = embeddings) with their activation. Follow a link to see the factor on this text.'));
  }
}

/** Layers shown: all when they fit, else the one in ?ll= (default: the middle one). */
function layers(res) {
  let q = query().ll;
  if (q === undefined && res.nHidden <= MAX_COLUMNS) q = 'all';
  if (q === 'all') return Array.from({ length: res.nHidden }, (_, i) => i);
  const l = parseInt(q, 10);
  return [l >= 0 && l < res.nHidden ? l : Math.floor(res.nHidden / 2)];
}
