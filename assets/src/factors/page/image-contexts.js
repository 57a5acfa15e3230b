/* The factor page's top contexts on image sites: a tile per context (a crop around the patch or
 * the whole image, optionally with an overlay, the patches where the rule holds outlined), the
 * notes above them and the opened context. */
import { clear, el, query } from '../../core/data.js';
import { unitName } from '../../core/images.js';
import { fail, fmt } from '../common.js';
import { $, page } from './context.js';
import { contextRange, heatMap, limeOf, nMaps } from './data.js';
import { renderDetail } from './image-detail.js';
import { activationLegend, imageName, painter, ruleLegend, ruleUnits, unitView } from './image-paint.js';
import { limeLegend, plural, renderLimeNote } from './lime.js';
import { valueBar } from './text-contexts.js';

const CROP = 112; // tile size, px

export function renderImageContexts(f, l, cd, state) {
  const list = clear($('contexts'));
  const { range, total, shown, vmax } = contextRange(cd, f, l, $('shown').value);
  const full = $('view').value === 'full';
  const overlay = $('overlay').value;
  const peak = page.index.peak_layer[f];
  $('ctx-h').textContent = 'Top contexts at layer ' + l + (l === 0 ? ' (embeddings)' : '');
  $('ctx-count').textContent = total ? shown + ' of ' + total + ' contexts, strongest first' : '';
  renderLimeNote(f, l, cd, (n) => (overlay === 'lime'
    ? limeLegend(' ' + plural(n, 'context') + ' (marked LIME) at this layer.')
    : el('p', { class: 'small' }, 'LIME saliency is available for ' + plural(n, 'context') + ' (marked LIME): choose Overlay → LIME saliency, or open one.')));
  const waits = [];
  let onPrefix = false;
  if (!range) {
    renderOverlayNote(f, l, cd, overlay, vmax, false);
    list.appendChild(el('li', { class: 'muted' }, 'This factor is never active at layer ' + l + '.'));
    renderDetail(f, l, cd, null, vmax);
    markDrawn(f, l, waits);
    return;
  }
  const topk = cd.topk;
  const frag = document.createDocumentFragment();
  const opened = state.c === undefined ? null : parseInt(state.c, 10);
  let openedRow = null;
  for (let i = range[0]; i < range[0] + shown; i++) {
    const sid = topk.sentence_id[i], pos = topk.position[i], value = topk.value[i], rank = topk.rank[i];
    const lime = limeOf(cd, f, l, sid, pos);
    const map = l === peak ? heatMap(cd, f, sid) : null;
    const marks = ruleUnits(sid);
    if (marks && pos < page.geo.n_prefix_tokens && marks.indexOf(pos) !== -1) onPrefix = true;
    const view = unitView(sid, pos, full, CROP, painter(overlay, map, lime, vmax), overlay === 'lime' ? '#1d4ed8' : null, marks);
    waits.push(view.ready);
    const unit = unitName(page.geo, pos);
    if (rank === opened) openedRow = i;
    const tile = el('button', {
      type: 'button', class: 'ctx-tile', 'aria-pressed': rank === opened ? 'true' : 'false',
      title: 'Rank ' + (rank + 1) + ' · ' + unit + ' of ' + imageName(sid) + ' · activation ' + fmt(value) + ' · click to see the whole image' + (map ? ' with its activation map' : ''),
      dataset: { rank },
      onclick: () => openContext(rank),
    }, view.canvas);
    frag.appendChild(el('li', {
      class: 'ctx-img' + (lime ? ' has-lime' : '') + (map ? ' has-map' : ''),
      dataset: { image: sid, pos, layer: l, rank },
    },
      tile,
      el('div', { class: 'ctx-meta' },
        el('span', { class: 'ctx-rank' }, '#' + (rank + 1)),
        valueBar(value, vmax),
        lime ? el('span', { class: 'lime-tag', title: 'LIME saliency computed for this context' }, 'LIME') : null),
      el('div', { class: 'ctx-name', title: imageName(sid) }, imageName(sid)),
      el('div', { class: 'ctx-unit muted' }, unit)));
  }
  list.appendChild(frag);
  renderOverlayNote(f, l, cd, overlay, vmax, onPrefix);
  const detail = renderDetail(f, l, cd, openedRow, vmax, state.d);
  if (detail) waits.push(detail);
  markDrawn(f, l, waits);
}

/** body[data-drawn] = "f,l" once every canvas of this view is drawn (for tests). */
function markDrawn(f, l, waits) {
  const seq = page.seq;
  delete document.body.dataset.drawn;
  Promise.all(waits).then(() => {
    if (seq === page.seq) document.body.dataset.drawn = f + ',' + l;
  }).catch(fail);
}

function openContext(rank) {
  const open = String(query().c) === String(rank) ? null : rank;
  page.change({ c: open });
  if (open !== null) $('ctx-detail').scrollIntoView({ block: 'nearest' });
}

/** The legends of the rule's outlines (onPrefix: it holds on a prefix token shown) and of the overlay. */
function renderOverlayNote(f, l, cd, overlay, vmax, onPrefix) {
  const note = clear($('overlay-note'));
  const peak = page.index.peak_layer[f];
  $('rule-toggle').hidden = !page.rule;
  const legend = ruleLegend(onPrefix);
  if (legend) note.appendChild(legend);
  if (overlay !== 'act') return;
  if (l !== peak) {
    note.appendChild(el('p', { class: 'small' }, 'Activation maps of whole images are precomputed at the peak layer (' + peak + ') only. ',
      el('button', { type: 'button', onclick: () => page.selectLayer(peak) }, 'Show layer ' + peak)));
  } else {
    note.appendChild(activationLegend(vmax, nMaps(cd, f)));
  }
}
