/* The result tables of the factor index's searches (by word, by image): one row per factor, the
 * strongest first, at most MAX_RESULTS. */
import { el } from '../core/data.js';

export const MAX_RESULTS = 60;

/** Append to box a table with column heads [text, class] and a row row(i) for rows [begin, end). */
export function resultsTable(box, heads, range, row) {
  const n = range[1] - range[0];
  const rows = [];
  for (let i = range[0]; i < Math.min(range[1], range[0] + MAX_RESULTS); i++) rows.push(row(i));
  box.appendChild(el('table', null,
    el('thead', null, el('tr', null, heads.map(([text, cls]) => el('th', { scope: 'col', class: cls || null }, text)))),
    el('tbody', null, rows)));
  if (n > MAX_RESULTS) box.appendChild(el('p', { class: 'muted small' }, 'Showing the ' + MAX_RESULTS + ' strongest of ' + n + '.'));
}

/** A count as a bar (share of the best) and its text. */
export const countBar = (count, best) => el('span', { class: 'count-bar', style: { width: (4 * count / best).toFixed(2) + 'rem' } });
