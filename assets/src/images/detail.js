/*
 * The selected patch's details: position, pixel box, colour, hue, brightness, frequency, a crop
 * of it and its neighbours, links to its attention view and the factors.
 */
import { clear, el } from '../core/data.js';
import * as IMG from '../core/images.js';
import { I } from './state.js';

export function unitLabel(i, pos) {
  var u = I.sentences.token_offset[i] + pos;
  return I.units.piece && I.units.piece[u] ? String(I.units.piece[u]) : IMG.unitName(I.geo, pos);
}

// ------------------------------------------------------------------ the patch's details

var HUES = [[15, 'red'], [45, 'orange'], [70, 'yellow'], [160, 'green'], [200, 'cyan'], [255, 'blue'], [290, 'purple'],
  [335, 'magenta'], [360, 'red']];

export function hueText(hue, sat) {
  var deg = ((hue % 1) + 1) % 1 * 360;
  if (!(sat > 0.06)) return 'none (grey: saturation ' + fmt(sat) + ')';
  var name = 'red';
  for (var k = 0; k < HUES.length; k++) { if (deg < HUES[k][0]) { name = HUES[k][1]; break; } }
  return Math.round(deg) + '° (' + name + ')';
}

export function fmt(v, d) {
  return v === undefined || v === null || isNaN(v) ? 'n/a' : Number(v).toFixed(d === undefined ? 2 : d);
}

export function row(k, v, title) {
  return el('div', { title: title || null }, el('dt', null, k), el('dd', null, v));
}

export function showDetail(pos) {
  if (!I.current) return;
  var i = I.current.i;
  var n = I.sentences.n_tokens[i];
  var name = I.sentences.text[i];
  clear(I.detail);
  if (pos === null || pos === undefined) {
    I.detail.appendChild(el('div', null,
      el('h3', null, 'Image #' + i),
      el('dl', { class: 'facts' },
        row('Name', name),
        row('Units', n + ': ' + I.geo.n_prefix_tokens + ' prefix + ' + (n - I.geo.n_prefix_tokens) + ' patches'),
        row('Size', I.geo.size[1] + ' × ' + I.geo.size[0] + ' px as the model sees it')),
      el('p', { class: 'muted' }, 'Point at a patch, or click one to keep it.'),
      links(i, null)));
    return;
  }
  var u = I.sentences.token_offset[i] + pos;
  var cell = IMG.unitCell(I.geo, pos);
  var rgb = [I.units.colour_r[u], I.units.colour_g[u], I.units.colour_b[u]];
  var css = 'rgb(' + rgb.join(', ') + ')';
  var swatch = el('span', { class: 'swatch', style: { background: css }, 'aria-hidden': 'true' });
  var head = el('h3', { class: 'patch-name' }, swatch, ' ', unitLabel(i, pos),
    I.current.p === pos ? el('span', { class: 'muted selected-tag' }, ' (selected)') : null);
  var box = [I.units.x0[u], I.units.y0[u], I.units.x1[u], I.units.y1[u]];
  var facts = el('dl', { class: 'facts' },
    row('Unit', 'position ' + pos + ' of ' + n + ' in image #' + i),
    cell ? row('Grid cell', 'row ' + cell.row + ', column ' + cell.col + ' (of ' + I.geo.grid[0] + ' × ' + I.geo.grid[1] + ')')
      : row('Prefix token', 'added by the model before the patches; it attends to, and is shown as, the whole image'),
    row('Pixel box', 'x ' + box[0] + '–' + box[2] + ', y ' + box[1] + '–' + box[3] + ' (of ' + I.geo.size[1] + ' × ' + I.geo.size[0] + ')'),
    row('Mean colour', el('span', null, el('span', { class: 'swatch', style: { background: css }, 'aria-hidden': 'true' }), ' ' + css)),
    row('Hue', hueText(I.units.hue[u], I.units.saturation[u]), 'chroma-weighted circular mean of the HSV hue'),
    row('Saturation', fmt(I.units.saturation[u]), 'mean HSV saturation, 0 (grey) to 1'),
    row('Brightness', fmt(I.units.brightness[u]), 'mean luma 0.299 R + 0.587 G + 0.114 B, 0 (black) to 1 (white)'),
    row('Frequency', fmt(I.units.frequency[u]) + ' cycles per patch', 'spectral centroid of the luma: 0 flat, about k for a grating of k cycles per patch'));
  var kids = [head];
  if (cell) {
    var crop = IMG.cropCanvas(I.geo, i, pos, 1, 120);
    crop.canvas.setAttribute('aria-hidden', 'true');
    kids.push(el('div', { class: 'patch-crop' }, crop.canvas, el('span', { class: 'muted small' }, 'the patch and its neighbours')));
  }
  kids.push(facts, links(i, pos));
  I.detail.appendChild(el('div', null, kids));
}

/** Links from an image / a unit to the analyses. */
export function links(i, pos) {
  var items = [];
  if (I.inAttention.has(i)) {
    var href = 'attention-head.html?l=0&h=0&s=' + I.inAttention.get(i) + (pos === null ? '' : '&t=' + pos);
    items.push(el('li', null, el('a', { class: 'attention-link', href: href },
      pos === null ? 'Attention in this image' : 'Attention from ' + (pos < I.geo.n_prefix_tokens ? 'this token' : 'this patch')),
      ' (layer 0, head 0; pick any head there)'));
  } else if (I.siteManifest.attention) {
    items.push(el('li', { class: 'muted' }, 'Not in the attention sample (' + I.nAttention + ' of ' + I.sentences.text.length +
      ' images are); its attention is not stored.'));
  }
  if (I.factorsBuilt) {
    items.push(el('li', null, el('a', { href: 'factors.html?tok=' + encodeURIComponent(String(I.sentences.text[i]).toLowerCase()) },
      'Factors whose top patches come from this image')));
    items.push(el('li', null, el('a', { href: 'factors.html' }, 'The factor index')));
  }
  return items.length ? el('ul', { class: 'explore-links' }, items) : document.createTextNode('');
}
