/* The factor page's header: title, level badge, why the factor has its level, its top tokens. */
import { clear, el } from '../../core/data.js';
import { fmt, levelBadge } from '../common.js';
import { $, page } from './context.js';

export function renderHeader(f, l) {
  const { fs, index, geo } = page;
  const level = index.level[f];
  document.title = 'Factor ' + f + ' (' + level + ') · layer ' + l + ' · tfvis-site';
  $('ftitle').textContent = 'Factor ' + f;
  clear($('fbadge')).appendChild(levelBadge(level));
  $('fid').value = f;
  $('prev').title = 'Previous factor (' + ((f - 1 + index.n) % index.n) + ')';
  $('next').title = 'Next factor (' + ((f + 1) % index.n) + ')';
  const peak = index.peak_layer[f];
  clear($('fwhy')).appendChild(document.createTextNode(why(level, peak, index.spread[f], fs.level_low_max_layer,
    fs.config && fs.config.level_spread_threshold, geo ? 'patch' : 'token')));
  const top = clear($('ftop'));
  if (index.top_tokens[f]) {
    top.appendChild(el('span', { class: 'muted' }, (geo ? 'Images of its top contexts at layer ' : 'Most frequent tokens in its top contexts at layer ') + peak + ': '));
    top.appendChild(el('span', { class: 'ftop-tokens' }, index.top_tokens[f]));
  }
}

/** Why a factor has its level, worded for tokens or patches. */
function why(level, peak, spread, lowMax, thr, unit) {
  const image = unit === 'patch';
  if (level === 'dead') return 'Dead: never active on the corpus at any layer.';
  if (level === 'low') {
    return 'Low level (' + (image ? 'early' : 'word level') + '): its importance score peaks at layer ' + peak +
      ', at or before layer ' + lowMax + ', the last layer counted as early.';
  }
  const high = level === 'high';
  const names = image ? ['High level (regions): ', 'Mid level (local): '] : ['High level (long range): ', 'Mid level (sentence level): '];
  const next = image ? 'the next patch (to the right)' : 'the next token';
  const wide = image ? 'covers regions wider than a patch.' : 'persists along the sentence.';
  return (high ? names[0] : names[1]) + 'its importance score peaks late, at layer ' + peak + ' (after layer ' + lowMax +
    '), and when it is active on a' + ' ' + unit + ' it is active on ' + next + ' with probability ' + fmt(spread, 2) +
    (high ? ' ≥ ' : ' < ') + fmt(thr, 2) + ' (the spread threshold), so its activity ' + (high ? wide : 'stays local to the ' + unit + '.');
}
