/*
 * quality.html: IS curves of all factors overlaid (coloured by level, optionally normalised to
 * each factor's peak, mean curve per level) and the level x peak-layer table. The metrics table
 * and the L0 histogram are rendered at build time (templates/_factor_quality.html, quality.html).
 */
import { byId as $, clear, el } from '../core/data.js';
import { LEVELS, factorIndex, fail, fmt, isCurve, layerName, levelBadge, section } from './common.js';


export function startQuality() {
  section()
    .then((m) => factorIndex(m.factors).then((index) => {
      const fs = m.factors;
      $('status').textContent = '';
      levelMatrix(fs, index);
      const draw = () => drawCurves(fs, index);
      draw();
      $('norm').addEventListener('change', draw);
      document.querySelectorAll('[data-level]').forEach((c) => c.addEventListener('change', draw));
    }))
    .catch(fail);
}

function levelMatrix(fs, index) {
  const L = fs.n_layers;
  const counts = {};
  LEVELS.forEach((lv) => { counts[lv] = new Array(L).fill(0); });
  for (let i = 0; i < index.n; i++) {
    const lv = index.level[i];
    if (counts[lv]) counts[lv][index.peak_layer[i]]++;
  }
  const head = [el('th', { scope: 'col' }, 'level \\ peak layer')];
  for (let l = 0; l < L; l++) head.push(el('th', { scope: 'col' }, layerName(l)));
  const rows = LEVELS.filter((lv) => counts[lv].some((x) => x)).map((lv) => el('tr', null,
    el('th', { scope: 'row' }, levelBadge(lv)),
    counts[lv].map((c, l) => el('td', null, c ? el('a', { href: 'factors.html?level=' + lv + '&layer=' + l }, String(c)) : '·'))));
  $('level-matrix').appendChild(el('table', { class: 'level-matrix' }, el('thead', null, el('tr', null, head)), el('tbody', null, rows)));
}

function drawCurves(fs, index) {
  const norm = $('norm').checked;
  const shown = {};
  document.querySelectorAll('[data-level]').forEach((c) => { shown[c.dataset.level] = c.checked; });
  const L = fs.n_layers;
  const W = 900, H = 380, ml = 50, mr = 16, mt = 14, mb = 40;
  const curves = [];
  let max = 0;
  for (let i = 0; i < index.n; i++) {
    const lv = index.level[i];
    if (!shown[lv]) continue;
    let c = isCurve(index, i);
    const peak = c[index.peak_layer[i]];
    if (norm) c = c.map((v) => (peak > 0 ? v / peak : 0));
    c.forEach((v) => { if (v > max) max = v; });
    curves.push({ f: i, level: lv, values: c });
  }
  const top = norm ? 1.05 : (max || 1) * 1.05;
  const xs = (l) => ml + l * (W - ml - mr) / Math.max(1, L - 1);
  const ys = (v) => mt + (1 - v / top) * (H - mt - mb);
  const points = (values, scale = 1) => values.map((v, l) => xs(l).toFixed(1) + ',' + ys(v / scale).toFixed(1)).join(' ');
  const svg = el('svg:svg', { class: 'overlay-svg', viewBox: '0 0 ' + W + ' ' + H, role: 'img',
    'aria-label': 'Importance score curves of ' + curves.length + ' factors across ' + L + ' layers, coloured by level' });
  for (let t = 0; t <= 4; t++) {
    const v = top * t / 4;
    svg.appendChild(el('svg:line', { class: 'grid', x1: ml, x2: W - mr, y1: ys(v), y2: ys(v) }));
    svg.appendChild(el('svg:text', { x: ml - 6, y: ys(v) + 4, 'text-anchor': 'end' }, fmt(v, 2)));
  }
  for (let l = 0; l < L; l++) svg.appendChild(el('svg:text', { x: xs(l), y: H - mb + 16, 'text-anchor': 'middle' }, layerName(l)));
  svg.appendChild(el('svg:text', { x: ml + (W - ml - mr) / 2, y: H - 6, 'text-anchor': 'middle' }, 'layer'));
  svg.appendChild(el('svg:text', { x: 14, y: mt + (H - mt - mb) / 2, transform: 'rotate(-90 14 ' + (mt + (H - mt - mb) / 2) + ')', 'text-anchor': 'middle' },
    norm ? 'IS / peak IS' : 'IS'));
  const sums = {};
  const frag = document.createDocumentFragment();
  curves.forEach((c) => {
    frag.appendChild(el('svg:polyline', { class: c.level, points: points(c.values), dataset: { f: c.f } },
      el('svg:title', null, 'Factor ' + c.f + ' (' + c.level + ', peak layer ' + index.peak_layer[c.f] + '): ' + index.top_tokens[c.f])));
    const s = sums[c.level] || (sums[c.level] = { n: 0, v: new Array(L).fill(0) });
    s.n++;
    c.values.forEach((v, l) => { s.v[l] += v; });
  });
  svg.appendChild(frag);
  Object.keys(sums).forEach((lv) => {
    svg.appendChild(el('svg:polyline', { class: 'mean ' + lv, points: points(sums[lv].v, sums[lv].n), 'pointer-events': 'none' }));
  });
  const curveOf = (e) => (e.target.dataset && e.target.dataset.f !== undefined ? e.target : null);
  svg.addEventListener('mouseover', (e) => { if (curveOf(e)) e.target.classList.add('hl'); });
  svg.addEventListener('mouseout', (e) => { if (curveOf(e)) e.target.classList.remove('hl'); });
  svg.addEventListener('click', (e) => { if (curveOf(e)) window.location.href = 'factor.html?f=' + e.target.dataset.f; });
  clear($('overlay')).appendChild(svg);
}
