/*
 * The controls both attention pages share (templates/_attention_controls.html: projection,
 * 2D / 3D, colour mode, dot size, token search), the view state they stand for, the legends.
 */
import { clear, el } from '../core/data.js';
import { site } from './site.js';
import { colorModes, IMAGE_COLOR_MODES } from './colours.js';
import { IMAGE_MODE_NEEDS } from './colours-image.js';
import { methods, projection } from './data.js';

/** Legend: spec {title, items: [{color, label}]} or {title, ramps: [{label, colors}], min, max}. */
export function legend(node, spec) {
  clear(node);
  node.appendChild(el('p', { class: 'att-legend-title' }, spec.title));
  if (spec.items) {
    node.appendChild(el('ul', { class: 'att-swatches' }, spec.items.map(function (it) {
      return el('li', null, el('span', { class: 'att-swatch', style: { background: it.color } }), it.label);
    })));
  }
  (spec.ramps || []).forEach(function (ramp) {
    node.appendChild(el('div', { class: 'att-ramp-row' },
      ramp.label ? el('span', { class: 'att-ramp-label' }, ramp.label) : null,
      el('span', { class: 'att-ramp-end' }, spec.min),
      el('span', { class: 'att-ramp', style: { background: 'linear-gradient(to right, ' + ramp.colors.join(', ') + ')' } }),
      el('span', { class: 'att-ramp-end' }, spec.max)));
  });
  return node;
}

export function sizeLegend(node, on) {
  clear(node);
  if (!on) {
    node.appendChild(el('p', { class: 'att-legend-title' }, 'dot size: constant'));
    return;
  }
  node.appendChild(el('p', { class: 'att-legend-title' }, 'dot size: vector norm (per head)'));
  node.appendChild(el('div', { class: 'att-size-row' }, el('span', null, 'low'),
    [3, 5, 7, 9].map(function (d) {
      return el('span', { class: 'att-dot', style: { width: d + 'px', height: d + 'px' } });
    }), el('span', null, 'high')));
}

// ------------------------------------------------------------------ search

/**
 * Tokens matching a search: exact (case-insensitive) on the text or the word piece (## and Ġ
 * stripped); if nothing matches exactly, a substring match. Returns {flags: Uint8Array(N), count, exact}.
 */
export function matchTokens(tokens, query) {
  var N = tokens.text.length;
  var flags = new Uint8Array(N);
  var q = (query || '').trim().toLowerCase();
  if (!q) return { flags: flags, count: 0, exact: true };
  var count = 0, i;
  var norm = function (s) { return String(s).toLowerCase().replace(/^(##|\u0120|\u2581)/, ''); };
  for (i = 0; i < N; i++) {
    if (tokens.text[i].toLowerCase() === q || norm(tokens.piece[i]) === q) { flags[i] = 1; count++; }
  }
  if (count) return { flags: flags, count: count, exact: true };
  for (i = 0; i < N; i++) {
    if (tokens.text[i].toLowerCase().indexOf(q) !== -1) { flags[i] = 1; count++; }
  }
  return { flags: flags, count: count, exact: false };
}

// ------------------------------------------------------------------ state + formatting

/** View settings shared by both pages, validated against what was built. */
export function viewState(sec, q) {
  var built = methods(sec);
  var method = built.indexOf(q.proj) !== -1 ? q.proj : built[0];
  var dim = q.dim === '3' ? 3 : 2;
  var entry = projection(sec, method, dim);
  return {
    proj: entry.method,
    dim: entry.dim,
    entry: entry,
    color: Object.prototype.hasOwnProperty.call(colorModes(), q.color) ? q.color : 'qk',
    size: q.size === '1',
    q: q.q || '',
  };
}

/** Wire the shared controls (#att-proj, dim radios, #att-color, #att-size, #att-q) to onChange(patch). */
export function wireControls(onChange) {
  var form = document.getElementById('att-controls');
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    onChange({ q: document.getElementById('att-q').value.trim() || null }, true);
  });
  document.getElementById('att-proj').addEventListener('change', function (e) { onChange({ proj: e.target.value }, true); });
  document.getElementById('att-color').addEventListener('change', function (e) { onChange({ color: e.target.value }, true); });
  document.getElementById('att-size').addEventListener('change', function (e) { onChange({ size: e.target.checked ? '1' : null }, true); });
  Array.prototype.forEach.call(form.querySelectorAll('input[name="dim"]'), function (r) {
    r.addEventListener('change', function () { if (r.checked) onChange({ dim: r.value }, true); });
  });
  var q = document.getElementById('att-q');
  q.addEventListener('search', function () { if (!q.value) onChange({ q: null }, true); });
}

/** Reflect a view state in the controls (after navigation or a deep link). */
export function showControls(sec, v) {
  colorOptions();
  var proj = document.getElementById('att-proj');
  proj.value = v.proj;
  var dims = {};
  sec.projections.forEach(function (p) { if (p.method === v.proj) dims[p.dim] = true; });
  Array.prototype.forEach.call(document.querySelectorAll('input[name="dim"]'), function (r) {
    r.checked = Number(r.value) === v.dim;
    r.disabled = !dims[Number(r.value)];
  });
  document.getElementById('att-color').value = v.color;
  document.getElementById('att-size').checked = v.size;
  var q = document.getElementById('att-q');
  if (document.activeElement !== q || q.value.trim() !== v.q) q.value = v.q;
}

/** On image sites, swap the colour select's text-only modes for the image modes (once). */
export function colorOptions() {
  var select = document.getElementById('att-color');
  if (!site.image || !select || select.dataset.image) return;
  select.dataset.image = '1';
  var modes = IMAGE_COLOR_MODES;
  clear(select);
  Object.keys(modes).forEach(function (k) {
    if (IMAGE_MODE_NEEDS[k] && site.imageColumns && site.imageColumns.indexOf(IMAGE_MODE_NEEDS[k]) === -1) return;
    select.appendChild(el('option', { value: k }, modes[k]));
  });
  var search = document.getElementById('att-q');
  if (search) search.placeholder = 'e.g. [CLS], patch 3,4';
  var label = search && search.parentNode && search.parentNode.firstChild;
  if (label && label.nodeType === 3) label.textContent = 'Find unit ';
}

