/*
 * Token browser: the sample's texts split into the model's tokens.
 * URL state: ?q=<search>&page=<n>&s=<sentence id>&t=<token position>.
 * Corpus text is untrusted: it only ever reaches the DOM through TFVIS.el (text nodes).
 * On an image site this page only forwards ?s=<image>&t=<unit> to images.html?i=&p=.
 */
(function () {
  'use strict';
  var T = window.TFVIS;
  if (document.getElementById('image-forward')) {
    var fq = T.query(), fp = new URLSearchParams();
    if (/^\d+$/.test(fq.s || '')) fp.set('i', fq.s);
    if (/^\d+$/.test(fq.s || '') && /^\d+$/.test(fq.t || '')) fp.set('p', fq.t);
    window.location.replace('images.html' + (fp.toString() ? '?' + fp.toString() : ''));
    return;
  }
  var el = T.el;
  var PAGE_SIZE = 50;
  var sentences, tokens, tokenCount, matches;
  var inAttention = new Map(); // sentence_id -> row of the attention sample (attention-head.html?s=)
  var links = null; // TFVIS.tokenFactors(): the strongest factors of the attention sample's tokens
  var factorsBuilt = false;
  var list = document.getElementById('sentences');
  var detail = document.getElementById('token-detail');
  var status = document.getElementById('status');
  var input = document.getElementById('q');

  Promise.all([T.loadColumns('sentences.parquet'), T.loadColumns('tokens.parquet'), attentionIndex()])
    .then(function (tables) {
      sentences = tables[0];
      tokens = tables[1];
      links = tables[2];
      inAttention = links.sampleRow;
      tokenCount = new Map();
      for (var i = 0; i < tokens.token_id.length; i++) {
        tokenCount.set(tokens.token_id[i], (tokenCount.get(tokens.token_id[i]) || 0) + 1);
      }
      status.textContent = '';
      wire();
      show(T.query());
      T.onState(show);
    })
    .catch(function (err) {
      status.textContent = 'Could not load the data: ' + err.message;
      status.className = 'error';
    });

  /** TFVIS.tokenFactors(): which texts the attention pages show, their tokens' strongest factors. */
  function attentionIndex() {
    return T.manifest().then(function (m) {
      factorsBuilt = Boolean(m.factors && m.factors.n_factors);
      return T.tokenFactors();
    });
  }

  function wire() {
    document.getElementById('token-search').addEventListener('submit', function (e) {
      e.preventDefault();
      show(T.setQuery({ q: input.value || null, page: null, s: null, t: null }, true));
    });
    document.getElementById('prev').addEventListener('click', function () { turn(-1); });
    document.getElementById('next').addEventListener('click', function () { turn(1); });
  }

  function turn(delta) {
    var page = Number(T.query().page || 0) + delta;
    show(T.setQuery({ page: page, s: null, t: null }, true));
    list.scrollIntoView({ block: 'start' });
  }

  function filter(q) {
    var ids = [];
    var needle = (q || '').toLowerCase();
    for (var i = 0; i < sentences.text.length; i++) {
      if (!needle || sentences.text[i].toLowerCase().indexOf(needle) !== -1) ids.push(i);
    }
    return ids;
  }

  function show(state) {
    input.value = state.q || '';
    matches = filter(state.q);
    var pages = Math.max(1, Math.ceil(matches.length / PAGE_SIZE));
    var page = Math.min(pages - 1, Math.max(0, Number(state.page || 0)));
    var selected = state.s !== undefined ? Number(state.s) : null;
    if (selected !== null && state.page === undefined) {
      var at = matches.indexOf(selected);
      if (at !== -1) page = Math.floor(at / PAGE_SIZE);
    }
    document.getElementById('count').textContent =
      matches.length.toLocaleString() + ' of ' + sentences.text.length.toLocaleString() + ' texts';
    document.getElementById('page-info').textContent = 'page ' + (page + 1) + ' of ' + pages;
    document.getElementById('prev').disabled = page === 0;
    document.getElementById('next').disabled = page >= pages - 1;
    T.clear(list);
    matches.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).forEach(function (sid) {
      list.appendChild(sentenceItem(sid));
    });
    if (selected !== null && selected < sentences.text.length) {
      select(selected, Number(state.t || 0));
    } else {
      T.clear(detail).appendChild(el('p', { class: 'muted' }, 'Select a token.'));
    }
  }

  function sentenceItem(sid) {
    var start = sentences.token_offset[sid];
    var n = sentences.n_tokens[sid];
    var line = el('p', { class: 'tokens' });
    for (var pos = 0; pos < n; pos++) {
      var i = start + pos;
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
    var b = e.currentTarget;
    T.setQuery({ s: b.dataset.s, t: b.dataset.t }, true);
    select(Number(b.dataset.s), Number(b.dataset.t));
  }

  function select(sid, pos) {
    var prev = list.querySelectorAll('.tok.selected, li.selected');
    for (var k = 0; k < prev.length; k++) prev[k].classList.remove('selected');
    var item = document.getElementById('s' + sid);
    var n = sentences.n_tokens[sid];
    pos = Math.min(Math.max(0, pos), n - 1);
    if (item) {
      item.classList.add('selected');
      var button = item.querySelector('.tok[data-t="' + pos + '"]');
      if (button) {
        button.classList.add('selected');
        button.scrollIntoView({ block: 'nearest' });
      }
    }
    var i = sentences.token_offset[sid] + pos;
    var id = tokens.token_id[i];
    T.clear(detail).appendChild(el('div', null,
      el('h2', null, el('span', { class: 'tok big' }, tokens.text[i])),
      el('dl', { class: 'facts' },
        row('Piece', tokens.piece[i]),
        row('Token id', String(id)),
        row('Position', pos + ' of ' + n + ' in text #' + sid),
        row('Special token', tokens.is_special[i] ? 'yes' : 'no'),
        row('In the corpus', (tokenCount.get(id) || 0).toLocaleString() + ' occurrences')),
      el('p', { class: 'muted' }, sentences.text[sid]),
      explore(sid, pos, tokens.text[i].trim().toLowerCase()),
      strongestFactors(sid, pos)));
  }

  /** The token's strongest factors at every hidden-state layer, when its text is in the attention sample. */
  function strongestFactors(sid, pos) {
    if (!factorsBuilt || !links.nHidden) return document.createTextNode('');
    var box = el('div', { id: 'token-factors' }, el('h3', null, 'Strongest factors of this token'));
    if (!links.at(0, sid, pos)) {
      box.appendChild(el('p', { class: 'muted' }, 'Stored for the ' + inAttention.size.toLocaleString() +
        ' texts of the attention sample only; this text is not one of them (search the factors by word above).'));
      return box;
    }
    var dl = el('dl', { class: 'facts' });
    for (var l = 0; l < links.nHidden; l++) {
      dl.appendChild(el('div', null, el('dt', null, 'Layer ' + l + (l === 0 ? ' (embeddings)' : '')), el('dd', null, T.factorLinks(links.at(l, sid, pos), l))));
    }
    box.appendChild(el('p', { class: 'muted' }, 'Top ' + links.top + ' factor activations of its hidden state at each layer (layer l = the input of attention layer l).'));
    box.appendChild(dl);
    return box;
  }

  /** Links from a token to the analyses: the attention pages (when its text is in their sample), the factor search. */
  function explore(sid, pos, word) {
    var links = [];
    if (inAttention.has(sid)) {
      links.push(el('li', null, el('a', { href: 'attention-head.html?s=' + inAttention.get(sid) + '&t=' + pos },
        'Attention from this token'), ' (sentence view and attention lines; pick a head there)'));
    }
    if (factorsBuilt && word) {
      links.push(el('li', null, el('a', { href: 'factors.html?q=' + encodeURIComponent(word) }, 'Factors that fire on “' + word + '”')));
    }
    return links.length ? el('ul', { class: 'explore-links' }, links) : document.createTextNode('');
  }

  function row(k, v) {
    return el('div', null, el('dt', null, k), el('dd', null, v));
  }
})();
