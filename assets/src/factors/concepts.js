/*
 * concepts.html: concept probes (generator/tfvis_site/concepts.py). Per probe: the held-out F1
 * per layer of the best single factor vs the raw hidden state and the majority baseline (an SVG
 * line chart), the chosen factors linked to their pages, and the activation of one factor on
 * every labelled example per layer as a strip plot coloured by label (Yun et al. 2021, Fig. 4b).
 * URL state: ?p=<probe index>&f=<factor>. Data: manifest.concepts.probes[p] and its files
 * (examples.parquet, activations.f32 (factors, layers, examples)); docs/data-contract.md.
 * Every string reaches the DOM as text (el), never as HTML.
 */
import { byId as $, clear, el, loadColumns, loadFloat32, onState, query, setQuery } from '../core/data.js';
import { factorIndex, fail, fmt, layerName, levelBadge, section } from './common.js';


/** Label colours: ColorBrewer Dark2 (readable on light and dark backgrounds). */
const PALETTE = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#666666'];
let probes, index;
const loaded = {}; // probe index -> Promise<{examples, activations}>

export function startConcepts() {
  section()
    .then(function (m) {
      if (!m.concepts || !m.concepts.probes || !m.concepts.probes.length) throw new Error('this site was built without concept probes');
      probes = m.concepts.probes;
      return factorIndex(m.factors);
    })
    .then(function (ix) {
      index = ix;
      if ($('probe')) $('probe').addEventListener('change', function () { go({ p: this.value, f: null }); });
      $('factor').addEventListener('change', function () { go({ f: this.value }); });
      onState(show);
      return show(query());
    })
    .catch(fail);
}

function go(change) {
  show(setQuery(change, true));
}

function probeData(p) {
  if (!loaded[p]) {
    let files = probes[p].files;
    loaded[p] = Promise.all([loadColumns(files.examples), loadFloat32(files.activations)]).then(function (r) {
      return { examples: r[0], activations: r[1] };
    });
    loaded[p].catch(function () { delete loaded[p]; });
  }
  return loaded[p];
}

function bestRow(probe) {
  let best = probe.layers[0];
  probe.layers.forEach(function (r) { if (r.f1 > best.f1) best = r; });
  return best;
}

function show(state) {
  let p = parseInt(state.p, 10);
  if (!(p >= 0 && p < probes.length)) p = 0;
  let probe = probes[p];
  let f = parseInt(state.f, 10);
  if (probe.factors.indexOf(f) === -1) f = bestRow(probe).factor;
  if ($('probe')) $('probe').value = String(p);
  return probeData(p).then(function (data) {
    $('status').textContent = '';
    facts(probe);
    legend(probe);
    f1Chart(probe);
    layerTable(probe, f);
    factorChoice(probe, f);
    strip(probe, data, f);
    skipped(probe);
    clear($('example'));
    document.body.dataset.ready = p + ',' + (f === null || f === undefined ? '' : f);
  }).catch(fail);
}

function facts(probe) {
  let counts = probe.labels.map(function (label) { return label + ' ' + probe.counts[label]; }).join(', ');
  $('probe-facts').textContent = probe.file + ': ' + probe.n + ' examples (' + counts + '); score: ' + probe.metric +
    (probe.skipped.length ? '; ' + probe.skipped.length + ' skipped' : '');
}

function colour(probe, label) {
  return PALETTE[probe.labels.indexOf(label) % PALETTE.length];
}

function legend(probe) {
  let box = clear($('legend'));
  probe.labels.forEach(function (label) {
    box.appendChild(el('span', { class: 'concept-key' }, el('span', { class: 'swatch', style: { background: colour(probe, label) } }), ' ', label));
  });
}

// ------------------------------------------------------------------ F1 per layer

function f1Chart(probe) {
  let rows = probe.layers;
  let W = 560, H = 260, ml = 40, mr = 12, mt = 12, mb = 36;
  let xs = function (i) { return ml + (rows.length > 1 ? i * (W - ml - mr) / (rows.length - 1) : (W - ml - mr) / 2); };
  let ys = function (v) { return mt + (1 - v) * (H - mt - mb); };
  let best = bestRow(probe);
  let svg = el('svg:svg', { class: 'f1-svg', viewBox: '0 0 ' + W + ' ' + H, role: 'img',
    'aria-label': 'Held-out F1 per layer: best single factor ' + fmt(best.f1, 3) + ' at layer ' + best.layer +
      ', raw hidden state up to ' + fmt(Math.max.apply(null, rows.map(function (r) { return r.f1_raw; })), 3) +
      ', majority baseline ' + fmt(probe.majority_f1, 3) });
  for (let t = 0; t <= 4; t++) {
    let v = t / 4;
    svg.appendChild(el('svg:line', { class: 'grid', x1: ml, x2: W - mr, y1: ys(v), y2: ys(v) }));
    svg.appendChild(el('svg:text', { x: ml - 6, y: ys(v) + 4, 'text-anchor': 'end' }, v.toFixed(2)));
  }
  rows.forEach(function (r, i) {
    svg.appendChild(el('svg:text', { x: xs(i), y: H - mb + 16, 'text-anchor': 'middle' }, layerName(r.layer)));
  });
  svg.appendChild(el('svg:text', { x: ml + (W - ml - mr) / 2, y: H - 4, 'text-anchor': 'middle' }, 'layer'));
  svg.appendChild(el('svg:line', { class: 'baseline', x1: ml, x2: W - mr, y1: ys(probe.majority_f1), y2: ys(probe.majority_f1) },
    el('svg:title', null, 'majority-class baseline: ' + fmt(probe.majority_f1, 3))));
  [['raw', 'f1_raw', 'raw hidden state (linear probe)'], ['factor', 'f1', 'best single factor']].forEach(function (s) {
    let pts = rows.map(function (r, i) { return xs(i).toFixed(1) + ',' + ys(r[s[1]]).toFixed(1); }).join(' ');
    svg.appendChild(el('svg:polyline', { class: 'series-' + s[0], points: pts }));
    rows.forEach(function (r, i) {
      let tip = s[2] + ', layer ' + layerName(r.layer) + ': ' + fmt(r[s[1]], 3) + (s[0] === 'factor' ? ' (factor ' + r.factor + ')' : '');
      let dot = el('svg:circle', { class: 'series-' + s[0], cx: xs(i), cy: ys(r[s[1]]), r: s[0] === 'factor' ? 5 : 3.5,
        dataset: s[0] === 'factor' && r.factor !== null ? { layer: r.layer, factor: r.factor } : {} }, el('svg:title', null, tip));
      svg.appendChild(dot);
    });
  });
  svg.addEventListener('click', function (e) {
    let d = e.target.dataset;
    if (d && d.factor !== undefined) go({ f: d.factor });
  });
  let key = el('p', { class: 'concept-legend small' },
    el('span', { class: 'concept-key' }, el('span', { class: 'line-key series-factor' }), ' best single factor'),
    el('span', { class: 'concept-key' }, el('span', { class: 'line-key series-raw' }), ' raw hidden state (ceiling)'),
    el('span', { class: 'concept-key' }, el('span', { class: 'line-key baseline' }), ' majority class ' + fmt(probe.majority_f1, 3)));
  clear($('f1-chart')).appendChild(svg);
  $('f1-chart').appendChild(key);
}

function factorCell(c, layer) {
  if (c === null || c === undefined) return el('span', { class: 'muted' }, 'none varies');
  return el('span', null,
    el('a', { href: 'factor.html?f=' + c + '&l=' + layer }, 'factor ' + c), ' ', levelBadge(index.level[c]),
    el('span', { class: 'muted small concept-top' }, ' ' + (index.top_tokens[c] || '')));
}

function layerTable(probe, f) {
  let best = bestRow(probe);
  let body = probe.layers.map(function (r) {
    let chose = r.folds.map(function (x) { return x.factor === null ? '–' : String(x.factor); }).join(' / ');
    let pick = el('button', { type: 'button', class: 'plot-btn', 'aria-pressed': r.factor === f ? 'true' : 'false', disabled: r.factor === null,
      title: 'plot this factor below', onclick: function () { go({ f: r.factor }); } }, 'plot');
    return el('tr', { class: r === best ? 'best' : null, dataset: { layer: r.layer } },
      el('th', { scope: 'row' }, layerName(r.layer)),
      el('td', null, factorCell(r.factor, r.layer)),
      el('td', { class: 'num' }, fmt(r.f1, 3)),
      el('td', { class: 'num' }, fmt(r.f1_raw, 3)),
      el('td', { class: 'num muted folds', title: 'factors chosen on each half of the examples' }, chose),
      el('td', null, pick));
  });
  clear($('layer-table')).appendChild(el('table', { class: 'concept-table' },
    el('thead', null, el('tr', null, ['layer', 'factor (chosen on all examples)', 'F1 factor', 'F1 raw', 'halves chose', ''].map(function (h, i) {
      return el('th', { scope: 'col', class: i === 4 ? 'num folds' : i >= 2 && i <= 3 ? 'num' : null }, h);
    }))),
    el('tbody', null, body)));
}

function factorChoice(probe, f) {
  let sel = clear($('factor'));
  probe.factors.forEach(function (c) {
    let at = probe.layers.filter(function (r) { return r.factor === c; }).map(function (r) { return layerName(r.layer); });
    sel.appendChild(el('option', { value: c }, 'factor ' + c + ' (chosen at layer ' + at.join(', ') + ')'));
  });
  sel.value = String(f);
  let chosenAt = probe.layers.filter(function (r) { return r.factor === f; })[0];
  $('factor-link').setAttribute('href', 'factor.html?f=' + f + (chosenAt ? '&l=' + chosenAt.layer : ''));
  $('factor-link').textContent = 'open factor ' + f;
}

// ------------------------------------------------------------------ strip plot

function strip(probe, data, f) {
  let k = probe.factors.indexOf(f);
  if (k === -1) {  // no factor varies on these examples at any layer
    clear($('strip')).appendChild(el('p', { class: 'muted' }, 'No factor is active on these examples.'));
    return;
  }
  let L = probe.layers.length;
  let n = probe.n;
  let acts = data.activations.subarray(k * L * n, (k + 1) * L * n);
  let lo = 0, hi = 0;
  for (let i = 0; i < acts.length; i++) {
    if (acts[i] < lo) lo = acts[i];
    if (acts[i] > hi) hi = acts[i];
  }
  if (hi === lo) hi = lo + 1;
  let W = 900, row = 40, ml = 44, mr = 16, mt = 6, mb = 34;
  let H = mt + L * row + mb;
  let xs = function (v) { return ml + (v - lo) / (hi - lo) * (W - ml - mr); };
  let svg = el('svg:svg', { class: 'strip-svg', viewBox: '0 0 ' + W + ' ' + H, role: 'img',
    'aria-label': 'Activation of factor ' + f + ' on ' + n + ' examples at each of ' + L + ' layers, coloured by label' });
  probe.layers.forEach(function (r, l) {
    let y0 = mt + l * row;
    if (r.factor === f) {
      svg.appendChild(el('svg:rect', { class: 'chosen', x: ml, y: y0, width: W - ml - mr, height: row }));
      if (r.threshold !== null && r.threshold !== undefined && r.threshold >= lo && r.threshold <= hi) {
        svg.appendChild(el('svg:line', { class: 'threshold', x1: xs(r.threshold), x2: xs(r.threshold), y1: y0 + 2, y2: y0 + row - 2 },
          el('svg:title', null, 'logistic regression: “' + r.above + '” above ' + fmt(r.threshold, 3))));
      }
    }
    svg.appendChild(el('svg:line', { class: 'grid', x1: ml, x2: W - mr, y1: y0 + row, y2: y0 + row }));
    svg.appendChild(el('svg:text', { x: ml - 8, y: y0 + row / 2 + 4, 'text-anchor': 'end' }, layerName(r.layer)));
  });
  for (let t = 0; t <= 4; t++) {
    let v = lo + (hi - lo) * t / 4;
    svg.appendChild(el('svg:text', { x: xs(v), y: H - mb + 16, 'text-anchor': 'middle' }, fmt(v, 2)));
  }
  svg.appendChild(el('svg:text', { x: ml + (W - ml - mr) / 2, y: H - 4, 'text-anchor': 'middle' }, 'activation of factor ' + f));
  let ex = data.examples;
  let frag = document.createDocumentFragment();
  for (let l = 0; l < L; l++) {
    for (let j = 0; j < n; j++) {
      let a = acts[l * n + j];
      // golden-ratio jitter: deterministic, evenly spread, the same for an example in every row
      let jitter = ((j * 0.6180339887) % 1 - 0.5) * (row - 12);
      frag.appendChild(el('svg:circle', { cx: xs(a).toFixed(1), cy: (mt + l * row + row / 2 + jitter).toFixed(1), r: 3.2,
        fill: colour(probe, ex.label[j]), dataset: { i: j, l: l } },
        el('svg:title', null, ex.label[j] + ' · ' + fmt(a, 3) + ' · ' + ex.text[j])));
    }
  }
  svg.appendChild(frag);
  svg.addEventListener('click', function (e) {
    let d = e.target.dataset;
    if (d && d.i !== undefined) example(probe, ex, acts, +d.i, +d.l);
  });
  clear($('strip')).appendChild(svg);
}

function example(probe, ex, acts, j, l) {
  let text = ex.text[j];
  let start = ex.start[j], end = ex.end[j];
  let n = probe.n;
  clear($('example')).appendChild(el('p', null,
    el('span', { class: 'concept-key' }, el('span', { class: 'swatch', style: { background: colour(probe, ex.label[j]) } }), ' ', ex.label[j]),
    ' line ' + ex.line[j] + ': ',
    el('q', null, text.slice(0, start), el('mark', { class: 'concept-target' }, text.slice(start, end)), text.slice(end)),
    el('br'),
    el('span', { class: 'muted small' }, 'activation per layer: ' + probe.layers.map(function (r, i) {
      return layerName(r.layer) + ' ' + fmt(acts[i * n + j], 3);
    }).join(' · ') + ' (dot clicked: layer ' + layerName(probe.layers[l].layer) + ')')));
}

function skipped(probe) {
  let box = $('skipped-box');
  box.hidden = !probe.skipped.length;
  $('skipped-h').textContent = probe.skipped.length + ' skipped example' + (probe.skipped.length === 1 ? '' : 's') + ' of ' + probe.file;
  let list = clear($('skipped'));
  probe.skipped.forEach(function (s) { list.appendChild(el('li', null, 'line ' + s.line + ': ' + s.reason)); });
}
