/*
 * The image browser's grid: the images matching the search, a page of them at a time, from the
 * URL state ?q=<search>&page=<n>&i=<image>&p=<unit>&ov=<overlay>.
 */
import { byId, clear, el, loadColumns, query, setQuery } from '../core/data.js';
import { thumbCanvas } from './thumb.js';
import { OVERLAYS, close, open } from './view.js';
import { I } from './state.js';

var PAGE_SIZE = 48;
var THUMB = 112; // CSS px of a thumbnail's longer side

export function attentionIndex(m) {
  var att = m.attention;
  if (!att || !att.files || !att.files.sentences) return Promise.resolve(new Map());
  return loadColumns(att.files.sentences, ['sentence_id']).then(function (c) {
    var map = new Map();
    if (c.sentence_id) for (var r = 0; r < c.sentence_id.length; r++) map.set(Number(c.sentence_id[r]), r);
    I.nAttention = map.size;
    return map;
  });
}

export function turn(delta) {
  var page = Number(query().page || 0) + delta;
  show(setQuery({ page: page, i: null, p: null }, true));
  I.list.scrollIntoView({ block: 'start' });
}

/** Open the previous / next image among the current matches. */
export function step(delta) {
  if (!I.current) return;
  var at = I.matches.indexOf(I.current.i);
  var next = I.matches[at + delta];
  if (next === undefined) return;
  show(setQuery({ i: next, p: null, page: null }, true));
}

export function parseIndex(v, n) {
  if (v === undefined || v === null || !/^\d+$/.test(String(v))) return null;
  var k = Number(v);
  return k < n ? k : null;
}

export function filter(q) {
  var ids = [];
  var needle = (q || '').toLowerCase();
  for (var i = 0; i < I.sentences.text.length; i++) {
    if (!needle || String(I.sentences.text[i]).toLowerCase().indexOf(needle) !== -1) ids.push(i);
  }
  return ids;
}

export function show(state) {
  I.input.value = state.q || '';
  I.overlay = OVERLAYS[state.ov] ? state.ov : '';
  byId('overlay').value = I.overlay;
  I.matches = filter(state.q);
  var n = I.sentences.text.length;
  var selected = parseIndex(state.i, n);
  var pages = Math.max(1, Math.ceil(I.matches.length / PAGE_SIZE));
  var page = Math.min(pages - 1, Math.max(0, Number(state.page || 0) || 0));
  if (selected !== null && state.page === undefined) {
    var at = I.matches.indexOf(selected);
    if (at !== -1) page = Math.floor(at / PAGE_SIZE);
  }
  byId('count').textContent = I.matches.length.toLocaleString() + ' of ' + n.toLocaleString() + ' images' +
    (I.nAttention ? ' · ' + I.nAttention + ' in the attention sample (marked “attention”)' : '');
  byId('page-info').textContent = 'page ' + (page + 1) + ' of ' + pages;
  byId('prev').disabled = page === 0;
  byId('next').disabled = page >= pages - 1;
  clear(I.list);
  I.matches.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).forEach(function (i) {
    I.list.appendChild(item(i, i === selected));
  });
  if (!I.matches.length) I.list.appendChild(el('li', { class: 'muted empty' }, 'No image name contains “' + (state.q || '') + '”.'));
  if (selected === null) {
    close();
  } else {
    open(selected, parseIndex(state.p, I.sentences.n_tokens[selected]));
  }
  document.body.dataset.imagesReady = String(Number(document.body.dataset.imagesReady || 0) + 1);
}

export function item(i, selected) {
  var name = I.sentences.text[i];
  var link = el('a', {
    class: 'thumb', href: '?i=' + i, title: name, dataset: { i: i }, 'aria-current': selected ? 'true' : null,
    onclick: function (e) {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      show(setQuery({ i: i, p: null }, true));
      I.view.scrollIntoView({ block: 'nearest' });
      I.canvas.focus({ preventScroll: true });
    },
  }, thumbCanvas(I.geo, i, THUMB), el('span', { class: 'thumb-name' }, name),
    I.inAttention.has(i) ? el('span', { class: 'thumb-badge', title: 'in the attention sample: its attention can be explored' }, 'attention') : null);
  return el('li', { id: 'img' + i, class: selected ? 'selected' : null }, link);
}
