/*
 * factors.html: the table of all factors (sort, filter by level / peak layer / token, pages of
 * 100), the word search on text sites (index-words.js) and the image search and thumbnails on
 * image sites (index-images.js). URL state: ?q=&img=&level=&layer=&tok=&sort=&dir=&page=
 */
import { byId as $, clear, el, onState, query, setQuery } from '../core/data.js';
import { loadAll } from '../core/images.js';
import { wirePager } from '../lib/pager.js';
import { factorIndex, factorSparkline, fail, fmt, geometry, isCurve, key, levelBadge, pct, randomFactor, section } from './common.js';
import { explanations, score } from './explanations.js';
import { renderImageSearch, thumbsCell } from './index-images.js';
import { renderSearch, wireWordSearch } from './index-words.js';

const PAGE = 100;
const LEVEL_ORDER = { low: 0, mid: 1, high: 2, dead: 3 };

export function startIndex() {
  const ix = { fs: null, index: null, geo: null, sheetsP: null };
  section()
    .then((m) => {
      ix.fs = m.factors;
      ix.geo = geometry(m);
      if (ix.geo) ix.sheetsP = loadAll(ix.geo);
      return Promise.all([factorIndex(ix.fs), explanations(ix.fs)]);
    })
    .then(([index, ex]) => {
      ix.index = index;
      addExplanations(index, ex);
      index.peak_is = new Float32Array(index.n);
      for (let i = 0; i < index.n; i++) index.peak_is[i] = index.is[index.peak_layer[i]][i];
      $('status').textContent = '';
      const show = (state) => {
        if ($('q')) $('q').value = state.q || '';
        $('f-level').value = state.level || '';
        $('f-layer').value = state.layer || '';
        if (document.activeElement !== $('f-token')) $('f-token').value = state.tok || '';
        renderTable(ix, state);
        if ($('search-results')) renderSearch(ix, state.q ? key(state.q) : '', show);
        if ($('image-picker')) renderImageSearch(ix, state.img === undefined || state.img === '' ? null : Number(state.img), show);
      };
      wire(ix, show);
      onState(show);
      show(query());
    })
    .catch(fail);
}

function wire(ix, show) {
  if ($('word-search')) wireWordSearch(ix, show);
  $('f-level').addEventListener('change', () => show(setQuery({ level: $('f-level').value || null, page: null }, true)));
  $('f-layer').addEventListener('change', () => show(setQuery({ layer: $('f-layer').value || null, page: null }, true)));
  let timer = null;
  $('f-token').addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => show(setQuery({ tok: key($('f-token').value) || null, page: null }, false)), 120);
  });
  document.querySelectorAll('#ftable th[data-sort] button').forEach((b) => {
    b.addEventListener('click', () => {
      const by = b.parentNode.dataset.sort;
      const st = query();
      const sort = st.sort || 'factor';
      const dir = st.dir || 'asc';
      const nextDir = sort === by ? (dir === 'asc' ? 'desc' : 'asc') : (by === 'factor' || by === 'level' || by === 'peak_layer' ? 'asc' : 'desc');
      show(setQuery({ sort: by === 'factor' && nextDir === 'asc' ? null : by, dir: nextDir === 'asc' ? null : nextDir, page: null }, true));
    });
  });
  wirePager((page) => show(setQuery({ page }, true)), $('ftable'));
  document.querySelectorAll('[data-random]').forEach((b) => {
    b.addEventListener('click', () => {
      const f = randomFactor(ix.index, b.dataset.random);
      if (f !== null) window.location.href = 'factor.html?f=' + f;
    });
  });
}

/** The factors passing the state's filters, in its sort order. */
function selection(index, state) {
  const level = state.level || '';
  const layer = state.layer === undefined || state.layer === '' ? null : Number(state.layer);
  const tok = key(state.tok);
  const ids = [];
  for (let i = 0; i < index.n; i++) {
    if (level && index.level[i] !== level) continue;
    if (layer !== null && index.peak_layer[i] !== layer) continue;
    if (tok && index.top_tokens[i].toLowerCase().indexOf(tok) === -1 &&
      !(index.expl_text && index.expl_text[i].toLowerCase().indexOf(tok) !== -1)) continue;
    ids.push(i);
  }
  const sort = state.sort || 'factor';
  const dir = state.dir === 'desc' ? -1 : 1;
  const col = sort === 'level' ? null : index[sort];
  if (sort === 'level') ids.sort((a, b) => dir * (LEVEL_ORDER[index.level[a]] - LEVEL_ORDER[index.level[b]]) || a - b);
  // factors without a value (an explanation not scored) go last either way
  else if (col) ids.sort((a, b) => (isNaN(col[a]) - isNaN(col[b])) || dir * (col[a] - col[b]) || a - b);
  document.querySelectorAll('#ftable th[data-sort]').forEach((th) => {
    if (th.dataset.sort === sort) th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  });
  return ids;
}

function renderTable(ix, state) {
  const { index, geo } = ix;
  const ids = selection(index, state);
  const pages = Math.max(1, Math.ceil(ids.length / PAGE));
  const page = Math.min(pages - 1, Math.max(0, Number(state.page || 0)));
  $('table-count').textContent = ids.length.toLocaleString() + ' of ' + index.n.toLocaleString() + ' factors';
  $('page-info').textContent = 'page ' + (page + 1) + ' of ' + pages;
  $('prev').disabled = page === 0;
  $('next').disabled = page >= pages - 1;
  const onError = (err) => {
    $('status').textContent = 'Could not load the images: ' + err.message;
    $('status').className = 'error';
  };
  const frag = document.createDocumentFragment();
  ids.slice(page * PAGE, (page + 1) * PAGE).forEach((f) => {
    frag.appendChild(el('tr', null,
      el('td', { class: 'num' }, el('a', { href: 'factor.html?f=' + f }, String(f))),
      el('td', null, levelBadge(index.level[f])),
      el('td', { class: 'num' }, String(index.peak_layer[f])),
      el('td', { title: 'IS by layer: ' + isCurve(index, f).map((v) => fmt(v)).join(', ') },
        factorSparkline(index, f), ' ', el('span', { class: 'muted small' }, fmt(index.peak_is[f]))),
      el('td', { class: 'num' }, pct(index.density[f])),
      el('td', { class: 'num col-max' }, fmt(index.max_activation[f])),
      el('td', { class: 'num col-spread' }, fmt(index.spread[f], 2)),
      index.expl_text ? explanationCells(index, f) : null,
      geo ? thumbsCell(ix, f, onError) : el('td', { class: 'tokens-cell' }, index.top_tokens[f])));
  });
  if (!ids.length) frag.appendChild(el('tr', null, el('td', { colspan: index.expl_text ? 10 : 8, class: 'muted' }, 'No factor matches these filters.')));
  clear($('ftbody')).appendChild(frag);
}

/** index.expl_text / expl_score: the explanation of each factor at its peak layer (none on a site
 * built without explanations: the table has no such columns). */
function addExplanations(index, ex) {
  if (!ex) {
    // pages rendered for explanations over data without them: drop the columns, say so once
    document.querySelectorAll('#ftable th.col-score, #ftable th.col-expl').forEach((th) => th.remove());
    if (!$('expl-none')) $('table-count').after(el('span', { id: 'expl-none', class: 'muted small' }, ' · This site was built without explanations.'));
    return;
  }
  index.expl_text = new Array(index.n).fill('');
  index.expl_score = new Float64Array(index.n).fill(NaN);
  index.expl_ok = new Array(index.n).fill(false);
  for (let f = 0; f < index.n; f++) {
    const row = ex.primary(f);
    if (!row) continue;
    index.expl_text[f] = row.text || '';
    if (row.score !== null && row.score !== undefined) index.expl_score[f] = row.score;
    index.expl_ok[f] = row.explained;
  }
}

function explanationCells(index, f) {
  const s = index.expl_score[f];
  const text = index.expl_text[f];
  return [
    el('td', { class: 'num col-score', dataset: isNaN(s) ? {} : { value: String(s) } }, isNaN(s) ? '–' : score(s)),
    el('td', { class: 'expl-cell' + (index.expl_ok[f] ? '' : ' muted') }, text)];
}
