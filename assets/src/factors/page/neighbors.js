/* The factor page's nearest factors (cosine of the dictionary columns). */
import { clear, el } from '../../core/data.js';
import { factorSparkline, fail, fmt, levelBadge } from '../common.js';
import { $, page } from './context.js';
import { unitView } from './image-paint.js';

export function renderNeighbors(f) {
  const { index, neighbors } = page;
  const list = clear($('neighbors'));
  const nn = Math.round(neighbors.factor.length / index.n);
  for (let i = f * nn; i < (f + 1) * nn && i < neighbors.factor.length; i++) {
    const g = neighbors.neighbor[i];
    if (g < 0) continue;
    list.appendChild(el('li', null,
      el('a', { href: '?f=' + g, title: 'Factor ' + g + ' (' + index.level[g] + ', peak layer ' + index.peak_layer[g] + ')' }, '#' + g),
      ' ', levelBadge(index.level[g]),
      el('span', { class: 'nn-cos', title: 'cosine of the dictionary columns' }, fmt(neighbors.cosine[i], 2)),
      factorSparkline(index, g, 56, 18),
      neighbourTop(g)));
  }
  if (!list.firstChild) list.appendChild(el('li', { class: 'muted' }, 'No neighbours recorded.'));
}

/** Top tokens of a neighbour; on image sites a tiny crop of its top context, then its images. */
function neighbourTop(g) {
  const { index, geo } = page;
  const span = el('span', { class: 'nn-top', title: index.top_tokens[g] });
  if (geo && index.thumb_image_0 && index.thumb_image_0[g] >= 0) {
    const view = unitView(index.thumb_image_0[g], index.thumb_pos_0[g], false, 24);
    view.ready.catch(fail);
    span.append(view.canvas, ' ');
  }
  span.appendChild(document.createTextNode(index.top_tokens[g]));
  return span;
}
