/* The opened context of an image factor page: the whole image with the factor's activation map
 * (or its LIME weights, or plain) and the patches where the rule holds outlined, the unit's facts
 * and links. */
import { clear, el } from '../../core/data.js';
import { unitName } from '../../core/images.js';
import { fmt } from '../common.js';
import { $, page } from './context.js';
import { heatMap, limeOf, nMaps } from './data.js';
import { activationLegend, imageName, painter, ruleCount, ruleUnits, unitView } from './image-paint.js';
import { limeLegend } from './lime.js';

const DETAIL = 336; // px on the long side, at least

/** Draw row i of the chunk's top contexts in #ctx-detail (i null: hide it); the promise of its canvas. */
export function renderDetail(f, l, cd, i, vmax, wanted) {
  const box = clear($('ctx-detail'));
  if (i === null || i === undefined) {
    box.hidden = true;
    return null;
  }
  box.hidden = false;
  const { fs, geo, index } = page;
  const topk = cd.topk;
  const sid = topk.sentence_id[i], pos = topk.position[i], value = topk.value[i], rank = topk.rank[i];
  const peak = index.peak_layer[f];
  const map = l === peak ? heatMap(cd, f, sid) : null;
  const lime = limeOf(cd, f, l, sid, pos);
  let mode = wanted;
  if (mode !== 'lime' && mode !== 'none') mode = map ? 'act' : lime ? 'lime' : 'none';
  if (mode === 'lime' && !lime) mode = 'none';
  const long = Math.max(geo.size[0], geo.size[1]);
  const scale = Math.max(1, Math.floor(DETAIL / long));
  const marks = ruleUnits(sid);
  const view = unitView(sid, pos, true, Math.max(DETAIL, scale * long), painter(mode, map, lime, vmax), mode === 'lime' ? '#1d4ed8' : null, marks);
  view.canvas.id = 'detail-canvas';
  view.canvas.dataset.mode = mode;
  const modeButton = (m, label, enabled) => el('button', {
    type: 'button', 'aria-pressed': m === mode ? 'true' : 'false', disabled: enabled ? null : 'disabled', dataset: { mode: m },
    onclick: () => page.change({ d: m === 'act' ? null : m }),
  }, label);
  const info = el('div', { class: 'detail-info' },
    el('h3', null, 'Rank ' + (rank + 1) + ' · ', el('span', { class: 'detail-name' }, imageName(sid))),
    el('p', null, unitName(geo, pos) + ' · activation ' + fmt(value) + ' at layer ' + l + ' · ',
      el('a', { href: 'tokens.html?s=' + sid + '&t=' + pos, title: 'This unit in the unit browser' }, 'image #' + sid + ', unit ' + pos),
      fs.search && fs.search.by_image ? [' · ', el('a', { href: 'factors.html?img=' + sid, class: 'detail-by-image' }, 'factors that fire on this image')] : null),
    el('div', { class: 'detail-modes', role: 'group', 'aria-label': 'Overlay on the whole image' },
      modeButton('act', 'activation map', !!map), modeButton('lime', 'LIME', !!lime), modeButton('none', 'plain', true)));
  if (mode === 'act' && map) {
    if ($('overlay').value !== 'act') info.appendChild(activationLegend(vmax));
    info.append(...mapFacts(map));
  } else if (mode === 'lime') {
    if ($('overlay').value !== 'lime') info.appendChild(limeLegend());
  } else if (!map) {
    info.appendChild(el('p', { class: 'muted small' }, l !== peak
      ? 'Activation maps of whole images are precomputed at the peak layer (' + peak + ') only.'
      : 'No activation map for this image: maps cover the first ' + nMaps(cd, f) + ' distinct images of the top contexts.'));
  }
  if (marks) info.appendChild(ruleCount(marks));
  info.appendChild(el('button', { type: 'button', class: 'detail-close', onclick: () => page.change({ c: null, d: null }) }, 'Close'));
  box.appendChild(el('div', { class: 'detail-image' }, view.canvas));
  box.appendChild(info);
  return view.ready;
}

/** The activation on the prefix tokens (they have no pixels) and the image's strongest unit. */
function mapFacts(map) {
  const geo = page.geo;
  const out = [];
  const P = geo.n_prefix_tokens;
  if (P > 0) {
    const chips = el('p', { class: 'prefix-acts small' }, el('span', { class: 'muted' }, 'Prefix tokens (no pixels): '));
    for (let u = 0; u < P; u++) chips.appendChild(el('span', { class: 'prefix-chip', title: 'activation of this factor on ' + unitName(geo, u) }, unitName(geo, u) + ' ' + fmt(map.values[u])));
    out.push(chips);
  }
  let best = 0;
  for (let q = 1; q < map.values.length; q++) if (map.values[q] > map.values[best]) best = q;
  out.push(el('p', { class: 'muted small' }, 'Strongest unit in this image: ' + unitName(geo, best) + ' (' + fmt(map.max) + ').'));
  return out;
}
