/*
 * Token browser (tokens.html): the sample's texts split into the model's tokens.
 * URL state: ?q=<search>&page=<n>&s=<sentence id>&t=<token position>.
 * Corpus text is untrusted: it only ever reaches the DOM through el (text nodes).
 * On an image site this page only forwards ?s=<image>&t=<unit> to images.html?i=&p=.
 */
import { byId as $, clear, el, loadColumns, manifest, onState, query, setQuery } from '../core/data.js';
import { attentionSample, factorLinks, siteTokenFactorBytes, siteTokenFactors, tokenFactors } from '../lib/token-factors.js';
import { factRow } from '../factors/common.js';
import { wirePager } from '../lib/pager.js';

const PAGE_SIZE = 50;

/** An image site's tokens.html: forward ?s=&t= to the image browser. Returns true when it did. */
export function forwardImages() {
  if (!$('image-forward')) return false;
  const q = query();
  const to = new URLSearchParams();
  if (/^\d+$/.test(q.s || '')) to.set('i', q.s);
  if (/^\d+$/.test(q.s || '') && /^\d+$/.test(q.t || '')) to.set('p', q.t);
  window.location.replace('images.html' + (to.toString() ? '?' + to.toString() : ''));
  return true;
}

export function startTokens() {
  let sentences, tokens, links, factorsBuilt = false, siteBytes = null;
  const tokenCount = new Map();
  const list = $('sentences');
  const detail = $('token-detail');
  const status = $('status');
  const input = $('q');

  // which texts the attention pages show (the tokens' strongest factors load when a token is selected)
  const attentionIndex = manifest().then((m) => {
    factorsBuilt = Boolean(m.factors && m.factors.n_factors);
    siteBytes = siteTokenFactorBytes(m);
    return attentionSample();
  });
  Promise.all([loadColumns('sentences.parquet'), loadColumns('tokens.parquet'), attentionIndex])
    .then((tables) => {
      [sentences, tokens, links] = tables;
      for (let i = 0; i < tokens.token_id.length; i++) {
        tokenCount.set(tokens.token_id[i], (tokenCount.get(tokens.token_id[i]) || 0) + 1);
      }
      status.textContent = '';
      $('token-search').addEventListener('submit', (e) => {
        e.preventDefault();
        show(setQuery({ q: input.value || null, page: null, s: null, t: null }, true));
      });
      wirePager((page) => show(setQuery({ page, s: null, t: null }, true)), list);
      show(query());
      onState(show);
    })
    .catch((err) => {
      status.textContent = 'Could not load the data: ' + err.message;
      status.className = 'error';
    });

  function show(state) {
    input.value = state.q || '';
    const needle = (state.q || '').toLowerCase();
    const matches = [];
    for (let i = 0; i < sentences.text.length; i++) {
      if (!needle || sentences.text[i].toLowerCase().indexOf(needle) !== -1) matches.push(i);
    }
    const pages = Math.max(1, Math.ceil(matches.length / PAGE_SIZE));
    let page = Math.min(pages - 1, Math.max(0, Number(state.page || 0)));
    const selected = state.s !== undefined ? Number(state.s) : null;
    if (selected !== null && state.page === undefined) {
      const at = matches.indexOf(selected);
      if (at !== -1) page = Math.floor(at / PAGE_SIZE);
    }
    $('count').textContent = matches.length.toLocaleString() + ' of ' + sentences.text.length.toLocaleString() + ' texts';
    $('page-info').textContent = 'page ' + (page + 1) + ' of ' + pages;
    $('prev').disabled = page === 0;
    $('next').disabled = page >= pages - 1;
    clear(list);
    matches.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).forEach((sid) => list.appendChild(sentenceItem(sid)));
    if (selected !== null && selected < sentences.text.length) {
      select(selected, Number(state.t || 0));
    } else {
      clear(detail).appendChild(el('p', { class: 'muted' }, 'Select a token.'));
    }
  }

  function sentenceItem(sid) {
    const start = sentences.token_offset[sid];
    const n = sentences.n_tokens[sid];
    const line = el('p', { class: 'tokens' });
    for (let pos = 0; pos < n; pos++) {
      const i = start + pos;
      if (tokens.space_before[i]) line.appendChild(document.createTextNode(' '));
      line.appendChild(el('button', {
        type: 'button',
        class: tokens.is_special[i] ? 'tok special' : 'tok',
        title: tokens.piece[i] + ' · id ' + tokens.token_id[i] + ' · position ' + pos,
        dataset: { s: sid, t: pos },
        onclick: onTokenClick,
      }, tokens.text[i]));
    }
    return el('li', { id: 's' + sid, value: sid },
      el('a', { class: 'sid', href: '?s=' + sid, title: 'Link to text ' + sid }, '#' + sid), line);
  }

  function onTokenClick(e) {
    const b = e.currentTarget;
    setQuery({ s: b.dataset.s, t: b.dataset.t }, true);
    select(Number(b.dataset.s), Number(b.dataset.t));
  }

  function select(sid, pos) {
    list.querySelectorAll('.tok.selected, li.selected').forEach((x) => x.classList.remove('selected'));
    const item = $('s' + sid);
    const n = sentences.n_tokens[sid];
    pos = Math.min(Math.max(0, pos), n - 1);
    if (item) {
      item.classList.add('selected');
      const button = item.querySelector('.tok[data-t="' + pos + '"]');
      if (button) {
        button.classList.add('selected');
        button.scrollIntoView({ block: 'nearest' });
      }
    }
    const i = sentences.token_offset[sid] + pos;
    const id = tokens.token_id[i];
    clear(detail).appendChild(el('div', null,
      el('h2', null, el('span', { class: 'tok big' }, tokens.text[i])),
      el('dl', { class: 'facts' },
        factRow('Piece', tokens.piece[i]),
        factRow('Token id', String(id)),
        factRow('Position', pos + ' of ' + n + ' in text #' + sid),
        factRow('Special token', tokens.is_special[i] ? 'yes' : 'no'),
        factRow('In the corpus', (tokenCount.get(id) || 0).toLocaleString() + ' occurrences')),
      el('p', { class: 'muted' }, sentences.text[sid]),
      explore(sid, pos, tokens.text[i].trim().toLowerCase()),
      strongestFactors(sid, pos)));
  }

  /**
   * The token's strongest factors at every hidden-state layer: from factors/token_factors.u16
   * (every text; loaded on the first selection, once), or on sites built before it from the
   * attention sample's file (its texts only). Filled in when loaded; a newer selection replaces the box.
   */
  function strongestFactors(sid, pos) {
    if (!factorsBuilt) return document.createTextNode('');
    const box = el('div', { id: 'token-factors' }, el('h3', null, 'Strongest factors of this token'));
    const wait = el('p', { class: 'muted', role: 'status' }, siteBytes === null
      ? 'Loading the factors of the attention sample…'
      : 'Loading the strongest factors of every token of the site' + (siteBytes ? ' (' + sizeText(siteBytes) + ', once per visit)' : '') + '…');
    box.appendChild(wait);
    const source = siteBytes === null ? tokenFactors() : siteTokenFactors();
    source.then((tf) => {
      wait.remove();
      if (!tf || !tf.nHidden) {
        box.appendChild(el('p', { class: 'muted' }, 'This site has no per-token factors.'));
        return;
      }
      if (!tf.at(0, sid, pos)) {
        box.appendChild(el('p', { class: 'muted' }, tf.sampleRow
          ? 'Stored for the ' + tf.sampleRow.size.toLocaleString() + ' texts of the attention sample only (this site was built before ' +
            'every token\'s factors were); this text is not one of them (search the factors by word above).'
          : 'No factors are stored for this token.'));
        return;
      }
      const dl = el('dl', { class: 'facts' });
      for (let l = 0; l < tf.nHidden; l++) {
        dl.appendChild(factRow('Layer ' + l + (l === 0 ? ' (embeddings)' : ''), factorLinks(tf.at(l, sid, pos), l)));
      }
      box.appendChild(el('p', { class: 'muted' }, 'Top ' + tf.top + ' factor activations of its hidden state at each layer (layer l = the input of attention layer l).'));
      box.appendChild(dl);
    }).catch((err) => {
      wait.className = 'error';
      wait.textContent = 'Could not load the token factors: ' + (err && err.message ? err.message : err);
    });
    return box;
  }

  /** Links from a token to the analyses: the attention pages (when its text is in their sample), the factor search. */
  function explore(sid, pos, word) {
    const items = [];
    if (links.sampleRow.has(sid)) {
      items.push(el('li', null, el('a', { href: 'attention-head.html?s=' + links.sampleRow.get(sid) + '&t=' + pos },
        'Attention from this token'), ' (sentence view and attention lines; pick a head there)'));
    }
    if (factorsBuilt && word) {
      items.push(el('li', null, el('a', { href: 'factors.html?q=' + encodeURIComponent(word) }, 'Factors that fire on “' + word + '”')));
    }
    return items.length ? el('ul', { class: 'explore-links' }, items) : document.createTextNode('');
  }
}

/** A file size in words: "453 kB", "9.1 MB". */
function sizeText(bytes) {
  return bytes < 1e6 ? Math.max(1, Math.round(bytes / 1e3)) + ' kB' : (bytes / 1e6).toFixed(1) + ' MB';
}
