/*
 * The circuit files of a site (heads x factors x outputs, issue 22), shared by the head page and
 * the factor page: manifest["circuits"] and its tables circuits/{heads,qk,ov}.parquet, and
 * manifest.factors.output_tokens with circuits/output_tokens.parquet (layout and formulas:
 * generator/tfvis_site/analysis/circuits/bundle.py, written into the manifest as well).
 * Every table is loaded on first use only, once: pages that never ask pay nothing.
 *
 * Layers: QK and OV reads are factors of hidden state `layer` (the input of attention layer
 * `layer`), OV writes factors of hidden state `layer` + 1.
 */
import { el, loadColumns } from '../core/data.js';
import { fmt } from '../factors/common.js';
import { explanations, score } from '../factors/explanations.js';

/** Why this site has no head circuits (one line), or null when it has them. */
export function circuitsMissing(m) {
  if (m.circuits && m.circuits.files) return null;
  if (m.circuits_unavailable) return 'The circuit analyses could not read this model: ' + m.circuits_unavailable + '.';
  return 'This site was built without the circuit analyses ([circuits] enabled = false, or a version of tfvis-site before them).';
}

const tables = new Map();

/** Promise of circuits/<name>.parquet as columns (name: heads, qk, ov), loaded once. */
export function circuitTable(m, name) {
  if (!tables.has(name)) {
    const p = loadColumns(m.circuits.files[name]);
    p.catch(() => tables.delete(name));
    tables.set(name, p);
  }
  return tables.get(name);
}

/** Promise of circuits/output_tokens.parquet as columns, or null when the build has none. */
export function outputTable(m) {
  const out = m.factors && m.factors.output_tokens;
  if (!out || !out.file) return Promise.resolve(null);
  if (!tables.has('output_tokens')) {
    const p = loadColumns(out.file);
    p.catch(() => tables.delete('output_tokens'));
    tables.set('output_tokens', p);
  }
  return tables.get('output_tokens');
}

/** Row indices i of a table (columns) where keep(i), in file order. */
export function rowsWhere(cols, keep) {
  const out = [];
  const n = cols.layer.length;
  for (let i = 0; i < n; i++) if (keep(i)) out.push(i);
  return out;
}

/** The factor page of factor f at hidden state `hidden` (the URL the token-factor links use). */
export const factorHref = (f, hidden) => 'factor.html?f=' + f + '&l=' + hidden;

/** The head page of attention layer l, head h; extra: more URL keys ({color: 'factor', cf: 12}). */
export function headHref(l, h, extra) {
  const q = new URLSearchParams({ l: String(l), h: String(h) });
  Object.keys(extra || {}).forEach((k) => q.set(k, String(extra[k])));
  return 'attention-head.html?' + q.toString();
}

let words = null;
/** Promise of each factor's top tokens ("tok (count), ..." at its peak layer: the index's top_tokens), or null. */
export function factorWords(m) {
  if (!words) {
    const index = m.factors && m.factors.files && m.factors.files.index;
    words = index ? loadColumns(index, ['top_tokens']).then((c) => c.top_tokens, () => null) : Promise.resolve(null);
  }
  return words;
}

/** Promise of the site's explanations (factors/explanations.js), or null (none, or not loadable). */
export const factorExplanations = (m) => explanations(m.factors).catch(() => null);

/** A link "#f" to factor f at hidden state `hidden`, and beside it its explanation there (or at its
 * peak layer) when `ex` has one that explains it, else its first two top tokens when `top`
 * (top_tokens) is given; the full text in the title. */
export function factorLink(f, hidden, top, ex) {
  const text = top && top[f] ? String(top[f]) : '';
  const row = ex ? ex.at(f, hidden) || ex.peak(f) : null;
  const link = el('a', { class: 'circ-factor', href: factorHref(f, hidden),
    title: 'factor ' + f + ' at hidden state ' + hidden + (text ? '; its top tokens at its peak layer: ' + text : '') }, '#' + f);
  if (row && row.explained) {
    return [link, el('span', { class: 'circ-words circ-expl',
      title: row.text + ' (explanation at layer ' + row.layer + ', detection score ' + score(row.score) + ')' }, row.text)];
  }
  // "tok (count), tok (count), ...": a token may itself be "," or "(", so the counts delimit it
  const short = Array.from(text.matchAll(/(.*?) \(\d+\)(?:, |$)/g), (x) => x[1]).slice(0, 2).join(' · ');
  return [link, short ? el('span', { class: 'circ-words', 'aria-hidden': 'true' }, short) : null];
}

/** x with 3 significant digits (the factor pages' fmt, which writes the very small and large with an exponent). */
export function sig(x) {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return fmt(x, a >= 0.001 && a < 1e5 ? Math.max(0, 2 - Math.floor(Math.log10(a))) : undefined);
}

/** A number for a table cell, 3 significant digits. */
export const num = (x) => el('td', { class: 'num' }, sig(x));

/** A table: heads [[text, class, title]], rows (arrays of <td>/<th>), a caption. */
export function table(caption, heads, rows, cls) {
  return el('table', { class: ['circ-table', cls] },
    caption ? el('caption', null, caption) : null,
    el('thead', null, el('tr', null, heads.map(([text, c, title]) => el('th', { scope: 'col', class: c || null, title: title || null }, text)))),
    el('tbody', null, rows));
}
