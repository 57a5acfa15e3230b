/* The factor page's importance curve: IS by layer as an SVG chart (click or arrow keys select a
 * layer) and a row of layer buttons. */
import { clear, el } from '../../core/data.js';
import { fmt, isCurve } from '../common.js';
import { $, page } from './context.js';

let hoverInfo = null;

export function renderCurve(f, l) {
  const { index } = page;
  const values = isCurve(index, f);
  const L = values.length;
  const peak = index.peak_layer[f];
  const W = 560, H = 220, ml = 46, mr = 14, mt = 16, mb = 36;
  let max = 0;
  values.forEach((v) => { if (v > max) max = v; });
  const top = max > 0 ? max * 1.12 : 1;
  const xs = (i) => ml + (L > 1 ? i * (W - ml - mr) / (L - 1) : (W - ml - mr) / 2);
  const ys = (v) => mt + (1 - v / top) * (H - mt - mb);
  const colW = L > 1 ? (W - ml - mr) / (L - 1) : W - ml - mr;
  const keys = { ArrowLeft: () => Math.max(0, page.current.l - 1), ArrowRight: () => Math.min(L - 1, page.current.l + 1), Home: () => 0, End: () => L - 1 };
  const svg = el('svg:svg', {
    class: 'is-svg level-' + index.level[f], viewBox: '0 0 ' + W + ' ' + H, role: 'img', tabindex: '0',
    'aria-label': 'Importance score of factor ' + f + ' by layer: ' + values.map((v, i) => 'layer ' + i + ' ' + fmt(v)).join(', ') +
      '. Selected layer ' + l + '. Use the left and right arrow keys to change the layer.',
    onkeydown: (e) => {
      if (!keys[e.key]) return;
      e.preventDefault();
      page.selectLayer(keys[e.key]());
    },
  });
  // grid + y ticks
  for (let t = 0; t <= 4; t++) {
    const v = top * t / 4;
    svg.appendChild(el('svg:line', { class: 'grid', x1: ml, x2: W - mr, y1: ys(v), y2: ys(v) }));
    svg.appendChild(el('svg:text', { x: ml - 6, y: ys(v) + 3, 'text-anchor': 'end' }, fmt(v, v >= 10 ? 0 : 2)));
  }
  svg.appendChild(el('svg:text', { class: 'axis-title', x: 12, y: mt + (H - mt - mb) / 2, transform: 'rotate(-90 12 ' + (mt + (H - mt - mb) / 2) + ')', 'text-anchor': 'middle' }, 'IS'));
  // selected layer band
  svg.appendChild(el('svg:rect', { class: 'sel-band', x: xs(l) - colW / 2 + 2, y: mt - 6, width: colW - 4, height: H - mt - mb + 6 }));
  svg.appendChild(el('svg:polyline', { class: 'is-line', points: values.map((v, i) => xs(i).toFixed(1) + ',' + ys(v).toFixed(1)).join(' ') }));
  const hover = el('svg:g', { class: 'is-hover' });
  values.forEach((v, i) => {
    svg.appendChild(el('svg:circle', { class: i === l ? 'is-pt selected' : 'is-pt', cx: xs(i), cy: ys(v), r: i === l ? 6 : 4 }));
    svg.appendChild(el('svg:text', { class: i === l ? 'xlab selected' : 'xlab', x: xs(i), y: H - mb + 16, 'text-anchor': 'middle' }, i === 0 ? 'emb' : String(i)));
    if (i === peak) svg.appendChild(el('svg:text', { class: 'peak-lab', x: xs(i), y: ys(v) - 10, 'text-anchor': 'middle' }, 'peak'));
  });
  svg.appendChild(el('svg:text', { class: 'axis-title', x: ml + (W - ml - mr) / 2, y: H - 4, 'text-anchor': 'middle' }, 'layer (emb = embeddings)'));
  svg.appendChild(hover);
  // hit areas: one column per layer
  values.forEach((v, i) => {
    svg.appendChild(el('svg:rect', {
      class: 'is-col', x: xs(i) - colW / 2, y: 0, width: colW, height: H, dataset: { layer: i },
      onclick: () => page.selectLayer(i),
      onmouseenter: () => showHover(f, i),
      onmouseleave: () => showHover(f, null),
    }, el('svg:title', null, 'Layer ' + i + ': IS ' + fmt(v) + (i === peak ? ' (peak)' : '') + ' · click to show its contexts')));
  });
  const box = clear($('is-chart'));
  box.appendChild(svg);
  hoverInfo = el('p', { class: 'is-info', 'aria-hidden': 'true' });
  box.appendChild(hoverInfo);
  showHover(f, null);
  const buttons = clear($('layer-buttons'));
  values.forEach((v, i) => {
    buttons.appendChild(el('button', {
      type: 'button', class: i === peak ? 'peak' : null, 'aria-pressed': i === l ? 'true' : 'false',
      title: 'Layer ' + i + (i === 0 ? ' (embeddings)' : '') + ': IS ' + fmt(v) + (i === peak ? ' (peak)' : ''),
      dataset: { layer: i },
      onclick: () => page.selectLayer(i),
    }, 'L' + i));
  });
}

function showHover(f, i) {
  if (!hoverInfo) return;
  const { index } = page;
  const layer = i === null ? page.current.l : i;
  const v = index.is[layer][f];
  const peak = index.peak_layer[f];
  hoverInfo.textContent = (i === null ? 'Selected: ' : '') + 'layer ' + layer + (layer === 0 ? ' (embeddings)' : '') +
    ' · IS ' + fmt(v) + ' · ' + (index.is[peak][f] > 0 ? Math.round(100 * v / index.is[peak][f]) + '% of the peak' : '') +
    (layer === peak ? ' · peak' : '');
}
