/* The factor page's facts at the selected layer and its activation histogram (log-log SVG). */
import { clear, el } from '../../core/data.js';
import { chunkOf, factRow, fmt, pct } from '../common.js';
import { $, page } from './context.js';

export function renderFacts(f, l, cd) {
  const { fs, index, geo, tokens, sentences } = page;
  const bins = fs.hist_edges.length - 1;
  const lo = chunkOf(fs, f) * fs.chunk_size;
  const off = ((f - lo) * fs.n_layers + l) * bins;
  const counts = cd.hist.subarray(off, off + bins);
  let active = 0;
  for (let b = 0; b < bins; b++) active += counts[b];
  const last = sentences.token_offset.length - 1;
  const nTok = tokens ? tokens.text.length : sentences.token_offset[last] + sentences.n_tokens[last];
  const unitWord = geo ? 'units (patches + ' + (geo.n_prefix_tokens > 1 ? 'prefix tokens' : '[CLS]') + ')' : 'tokens';
  const range = cd.starts.get(f + ',' + l);
  const topMin = range ? cd.topk.value[range[1] - 1] : null;
  const topMax = range ? cd.topk.value[range[0]] : null;
  const peak = index.peak_layer[f];
  $('stats-layer').textContent = l + (l === 0 ? ' (embeddings)' : '');
  clear($('facts')).append(
    factRow('IS', fmt(index.is[l][f]) + (l === peak ? ' (peak)' : ' (peak ' + fmt(index.is[peak][f]) + ' at layer ' + peak + ')')),
    factRow('Active on', active.toLocaleString() + ' of ' + nTok.toLocaleString() + ' ' + unitWord + ' (' + pct(active / nTok) + ')'),
    factRow('Top-' + fs.top_k + ' range', range ? fmt(topMin) + ' – ' + fmt(topMax) : 'no activations'),
    factRow('Density (all layers)', pct(index.density[f])),
    factRow('Max activation', fmt(index.max_activation[f]) + ' (any layer)'),
    factRow('Spread at peak', fmt(index.spread[f], 2) + ' = P(active at t+1 | active at t)' + (geo ? ', t+1 = the next unit in row-major order' : '')));
  renderHist(counts, topMin);
}

function renderHist(counts, topMin) {
  const edges = page.fs.hist_edges;
  const units = page.geo ? ' units' : ' tokens';
  const n = counts.length;
  const W = 360, H = 160, ml = 34, mr = 14, mt = 18, mb = 30; // mt: room for the top-k label above the bars
  const lmin = Math.log10(edges[0]), lmax = Math.log10(edges[n]);
  const xs = (x) => ml + (Math.log10(x) - lmin) / (lmax - lmin) * (W - ml - mr);
  let max = 0;
  for (let i = 0; i < n; i++) if (counts[i] > max) max = counts[i];
  const lmaxC = Math.log10(1 + max) || 1;
  const ys = (c) => mt + (1 - Math.log10(1 + c) / lmaxC) * (H - mt - mb);
  const svg = el('svg:svg', { class: 'hist-svg', viewBox: '0 0 ' + W + ' ' + H, role: 'img',
    'aria-label': 'Histogram of positive activations at this layer, log-scaled axes; ' + (max ? 'largest bin ' + max + units : 'no activations') });
  for (let b = 0; b < n; b++) {
    if (!counts[b]) continue;
    const x0 = xs(edges[b]), x1 = xs(edges[b + 1]);
    svg.appendChild(el('svg:rect', { class: topMin !== null && edges[b + 1] > topMin ? 'bar top' : 'bar', x: x0 + 0.5, y: ys(counts[b]), width: Math.max(1, x1 - x0 - 1), height: H - mb - ys(counts[b]) },
      el('svg:title', null, fmt(edges[b]) + ' – ' + fmt(edges[b + 1]) + ': ' + counts[b].toLocaleString() + units)));
  }
  svg.appendChild(el('svg:line', { class: 'axis', x1: ml, x2: W - mr, y1: H - mb, y2: H - mb }));
  for (let p = Math.ceil(lmin); p <= Math.floor(lmax); p++) {
    svg.appendChild(el('svg:text', { x: xs(Math.pow(10, p)), y: H - mb + 12, 'text-anchor': 'middle' }, p >= 0 ? String(Math.pow(10, p)) : Math.pow(10, p).toFixed(-p)));
  }
  svg.appendChild(el('svg:text', { x: ml + (W - ml - mr) / 2, y: H - 3, 'text-anchor': 'middle', class: 'axis-title' }, 'activation (log scale)'));
  svg.appendChild(el('svg:text', { x: ml - 4, y: mt + 8, 'text-anchor': 'end' }, max.toLocaleString()));
  svg.appendChild(el('svg:text', { x: ml - 4, y: H - mb, 'text-anchor': 'end' }, '0'));
  if (topMin !== null && topMin > 0) {
    const tx = xs(Math.max(edges[0], Math.min(edges[n], topMin)));
    svg.appendChild(el('svg:line', { class: 'topk-line', x1: tx, x2: tx, y1: mt - 14, y2: H - mb }));
    svg.appendChild(el('svg:text', { class: 'topk-lab', x: tx - 3, y: mt - 6, 'text-anchor': 'end' }, 'top-' + page.fs.top_k + ' →'));
  }
  clear($('hist')).appendChild(svg);
}
