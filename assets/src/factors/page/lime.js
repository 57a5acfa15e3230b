/* The factor page's LIME note above the contexts (text and image sites): what LIME saliency there
 * is for the factor at this layer, where else it is, or why there is none. */
import { clear, el } from '../../core/data.js';
import { $, page } from './context.js';
import { limeLayers } from './data.js';

/** The colour scale of a LIME legend (text and image factor pages alike). */
export function limeScale() {
  return [
    el('span', { class: 'lime-swatch lime-neg', 'aria-hidden': 'true' }),
    el('span', null, ' lowers the activation '),
    el('span', { class: 'lime-scale', 'aria-hidden': 'true' }),
    el('span', { class: 'lime-swatch lime-pos', 'aria-hidden': 'true' }),
    el('span', null, ' raises it'),
  ];
}

/** "LIME saliency per patch" legend of image sites; extra: a sentence after it. */
export function limeLegend(extra) {
  const lime = page.fs.lime || {};
  const cfg = lime.config || {};
  return el('div', { class: 'lime-legend' },
    el('span', null, 'LIME saliency per patch: '),
    limeScale(),
    el('span', { class: 'muted' }, ' · intensity = |weight| / largest |weight| in that image · ' +
      (cfg.samples ? cfg.samples + ' copies with patches replaced by ' + (lime.mask_token || 'the mean colour') + ', ' : '') +
      'ridge regression on which patches were kept.' + (extra || '')));
}

export const plural = (n, word) => n + ' ' + word + (n > 1 ? 's' : '');

/**
 * Fill #lime-note for factor f at layer l: legendHere(contexts) when the layer has LIME contexts,
 * else a button to the layer that has them, else why there are none.
 */
export function renderLimeNote(f, l, cd, legendHere) {
  const note = clear($('lime-note'));
  const lime = page.fs.lime;
  if (!lime || !lime.files) {
    note.appendChild(el('p', { class: 'muted small' }, 'This build has no LIME saliency data.'));
    return;
  }
  const layers = limeLayers(cd.lime, f);
  const here = layers.filter((x) => x.layer === l)[0];
  if (here) {
    note.appendChild(legendHere(here.contexts));
  } else if (layers.length) {
    const to = layers[0].layer;
    note.appendChild(el('p', { class: 'small' }, 'LIME saliency for this factor is computed at layer ' + to + ' (its peak). ',
      el('button', { type: 'button', onclick: () => page.selectLayer(to) }, 'Show layer ' + to)));
  } else {
    const cov = lime.config && lime.config.coverage;
    const covered = (lime.covered_factors || []).indexOf(f) !== -1;
    note.appendChild(el('p', { class: 'muted small' }, covered
      ? 'No LIME contexts for this factor.'
      : 'No LIME saliency for this factor: this build computed it for ' + (cov === 'mid-high' ? 'mid- and high-level factors' : cov || 'some factors') +
        ' only (' + (lime.covered_factors || []).length + ' factors); build with --lime all to cover every factor.'));
  }
}
