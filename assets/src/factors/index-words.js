/* The factor index's word search ("which factors fire on this word?", text sites): the word index
 * factors/search.parquet (generator: factors/search.py; manifest.factors.search), prefix
 * suggestions, and the factors with the most top contexts on the word. URL state: ?q=. */
import { byId as $, clear, el, loadColumns, setQuery } from '../core/data.js';
import { factorSparkline, key, levelBadge, pct, ranges } from './common.js';
import { countBar, resultsTable } from './results.js';

let searchP = null;
let searchSeq = 0;

function searchIndex(fs) {
  if (!searchP) {
    searchP = loadColumns(fs.search.file).then((s) => {
      s.ranges = ranges(s.key);
      s.keys = Array.from(s.ranges.keys());
      return s;
    });
    searchP.catch(() => { searchP = null; });
  }
  return searchP;
}

function prefixMatches(s, prefix, limit) {
  const out = [];
  // keys are sorted (Parquet written sorted by key): binary search the first candidate
  let lo = 0, hi = s.keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s.keys[mid] < prefix) lo = mid + 1; else hi = mid;
  }
  for (let i = lo; i < s.keys.length && out.length < limit && s.keys[i].indexOf(prefix) === 0; i++) out.push(s.keys[i]);
  return out;
}

/** Wire the search form; show(state) draws the page. */
export function wireWordSearch(ix, show) {
  $('word-search').addEventListener('submit', (e) => {
    e.preventDefault();
    show(setQuery({ q: key($('q').value) || null }, true));
  });
  $('q').addEventListener('input', () => {
    const q = key($('q').value);
    if (q.length < 2) return;
    searchIndex(ix.fs).then((s) => {
      const list = clear($('word-suggestions'));
      prefixMatches(s, q, 12).forEach((k) => list.appendChild(el('option', { value: k })));
    }).catch(() => {});
  });
}

export function renderSearch(ix, q, show) {
  const box = $('search-results');
  const count = $('search-count');
  const seq = ++searchSeq;
  if (!q) {
    clear(box);
    count.textContent = '';
    return;
  }
  count.textContent = 'Searching…';
  searchIndex(ix.fs).then((s) => {
    if (seq !== searchSeq) return;
    clear(box);
    const r = s.ranges.get(q);
    const mentions = explanationHits(ix, q);
    if (!r) {
      count.textContent = 'No factor has “' + q + '” among its top contexts.';
      if (mentions) box.appendChild(mentions);
      const near = prefixMatches(s, q.slice(0, Math.max(1, Math.min(q.length, 3))), 12);
      if (near.length) {
        box.appendChild(el('p', { class: 'small' }, 'Words in the index that start like it: ',
          near.map((k, i) => [i ? ', ' : '', el('a', { href: '?q=' + encodeURIComponent(k), onclick: (e) => { e.preventDefault(); show(setQuery({ q: k }, true)); } }, k)])));
      }
      return;
    }
    const n = r[1] - r[0];
    count.textContent = n + ' factor' + (n > 1 ? 's' : '') + ' · “' + q + '” occurs ' + s.total[r[0]].toLocaleString() + ' times in the corpus';
    const best = s.count[r[0]] || 1;
    const { index, fs } = ix;
    resultsTable(box, [['Factor', 'num'], ['Level'], ['Top contexts on “' + q + '”'], ['at layer', 'num'], ['IS by layer'], ['Top tokens']], r, (i) => {
      const f = s.factor[i];
      const c = s.count[i];
      return el('tr', null,
        el('td', { class: 'num' }, el('a', { href: 'factor.html?f=' + f + '&l=' + s.layer[i] }, String(f))),
        el('td', null, levelBadge(index.level[f])),
        el('td', null, countBar(c, best), c + ' of ' + fs.top_k + (s.total[i] ? ' (' + pct(Math.min(1, c / s.total[i])) + ' of its occurrences)' : '')),
        el('td', { class: 'num' }, String(s.layer[i])),
        el('td', null, factorSparkline(index, f)),
        el('td', { class: 'tokens-cell' }, index.top_tokens[f]));
    });
    if (mentions) box.appendChild(mentions);
  }).catch((err) => {
    count.textContent = 'Search unavailable: ' + err.message;
  });
}

const MAX_MENTIONS = 30;
const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The factors whose explanation (at the peak layer) names the word, as a paragraph of links
 * (explained ones first, best score first), or null. */
function explanationHits(ix, q) {
  const { index } = ix;
  if (!index.expl_text) return null;
  const word = new RegExp('(^|[^\\p{L}\\p{N}])' + escapeRegExp(q) + '($|[^\\p{L}\\p{N}])', 'u');
  const ids = [];
  for (let f = 0; f < index.n; f++) if (word.test(index.expl_text[f].toLowerCase())) ids.push(f);
  if (!ids.length) return null;
  ids.sort((a, b) => (index.expl_ok[b] - index.expl_ok[a]) || (index.expl_score[b] || 0) - (index.expl_score[a] || 0) || a - b);
  const shown = ids.slice(0, MAX_MENTIONS);
  return el('div', { class: 'expl-hits small' },
    el('p', null, 'Factors whose explanation names “' + q + '”' + (ids.length > shown.length ? ' (the first ' + shown.length + ' of ' + ids.length + ')' : '') + ':'),
    el('ul', null, shown.map((f) => el('li', null, el('a', { href: 'factor.html?f=' + f }, '#' + f), ' ',
      el('span', { class: index.expl_ok[f] ? null : 'muted' }, index.expl_text[f])))));
}
