/*
 * factors.html: the table of all factors (sort, filter by level / peak layer / token, pages of
 * 100) and the word search ("which factors fire on this word?", from factors/search.parquet,
 * written by generator/tfvis_site/factors/search.py; manifest.factors.search). URL state: ?q=&level=&layer=&tok=&sort=&dir=&page=
 *
 * Image models (window.TFVIS_IMG, manifest.modality "image"): no word search (there are no
 * words; the build writes no index), and the last column shows thumbnails of each factor's top
 * contexts (index columns thumb_image_j / thumb_pos_j: the best patch in each of its first
 * distinct top images at the peak layer, cut from the sprite sheets) above the images' names.
 */
(function () {
  'use strict';
  var T = window.TFVIS;
  var F = window.TFVISF;
  var el = T.el;
  var $ = function (id) { return document.getElementById(id); };
  var PAGE = 100;
  var MAX_RESULTS = 60;
  var LEVEL_ORDER = { low: 0, mid: 1, high: 2, dead: 3 };
  var fs, index, searchP = null;
  var status = $('status');
  var G = window.TFVIS_IMG;
  var geo = null, sheetsP = null;
  var THUMB = 48, THUMB_MARGIN = 2;

  F.section()
    .then(function (m) {
      fs = m.factors;
      if (G && G.isImageSite(m)) {
        geo = m.image;
        sheetsP = G.loadAll(geo);
      }
      return F.index(fs);
    })
    .then(function (ix) {
      index = ix;
      index.peak_is = new Float32Array(index.n);
      for (var i = 0; i < index.n; i++) index.peak_is[i] = index.is[index.peak_layer[i]][i];
      status.textContent = '';
      wire();
      T.onState(show);
      show(T.query());
    })
    .catch(function (err) {
      status.textContent = 'Could not load the data: ' + err.message;
      status.className = 'error';
    });

  function wire() {
    if ($('word-search')) {
      $('word-search').addEventListener('submit', function (e) {
        e.preventDefault();
        show(T.setQuery({ q: F.key($('q').value) || null }, true));
      });
      $('q').addEventListener('input', suggest);
    }
    $('f-level').addEventListener('change', function () { show(T.setQuery({ level: $('f-level').value || null, page: null }, true)); });
    $('f-layer').addEventListener('change', function () { show(T.setQuery({ layer: $('f-layer').value || null, page: null }, true)); });
    var timer = null;
    $('f-token').addEventListener('input', function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        show(T.setQuery({ tok: F.key($('f-token').value) || null, page: null }, false));
      }, 120);
    });
    Array.prototype.forEach.call(document.querySelectorAll('#ftable th[data-sort] button'), function (b) {
      b.addEventListener('click', function () {
        var key = b.parentNode.dataset.sort;
        var st = T.query();
        var sort = st.sort || 'factor';
        var dir = st.dir || 'asc';
        var nextDir = sort === key ? (dir === 'asc' ? 'desc' : 'asc') : (key === 'factor' || key === 'level' || key === 'peak_layer' ? 'asc' : 'desc');
        show(T.setQuery({ sort: key === 'factor' && nextDir === 'asc' ? null : key, dir: nextDir === 'asc' ? null : nextDir, page: null }, true));
      });
    });
    $('prev').addEventListener('click', function () { turn(-1); });
    $('next').addEventListener('click', function () { turn(1); });
    Array.prototype.forEach.call(document.querySelectorAll('[data-random]'), function (b) {
      b.addEventListener('click', function () {
        var f = F.randomFactor(index, b.dataset.random);
        if (f !== null) window.location.href = 'factor.html?f=' + f;
      });
    });
  }

  function turn(delta) {
    var page = Number(T.query().page || 0) + delta;
    show(T.setQuery({ page: page || null }, true));
    $('ftable').scrollIntoView({ block: 'start' });
  }

  function show(state) {
    if ($('q')) $('q').value = state.q || '';
    $('f-level').value = state.level || '';
    $('f-layer').value = state.layer || '';
    if (document.activeElement !== $('f-token')) $('f-token').value = state.tok || '';
    renderTable(state);
    if ($('search-results')) renderSearch(state.q ? F.key(state.q) : '');
    if ($('image-picker')) renderImageSearch(state.img === undefined || state.img === '' ? null : Number(state.img));
  }

  // ------------------------------------------------------------------ table

  function renderTable(state) {
    var level = state.level || '';
    var layer = state.layer === undefined || state.layer === '' ? null : Number(state.layer);
    var tok = F.key(state.tok);
    var ids = [];
    for (var i = 0; i < index.n; i++) {
      if (level && index.level[i] !== level) continue;
      if (layer !== null && index.peak_layer[i] !== layer) continue;
      if (tok && index.top_tokens[i].toLowerCase().indexOf(tok) === -1) continue;
      ids.push(i);
    }
    var sort = state.sort || 'factor';
    var dir = state.dir === 'desc' ? -1 : 1;
    var col = sort === 'level' ? null : index[sort];
    if (sort === 'level') {
      ids.sort(function (a, b) { return dir * (LEVEL_ORDER[index.level[a]] - LEVEL_ORDER[index.level[b]]) || a - b; });
    } else if (col) {
      ids.sort(function (a, b) { return dir * (col[a] - col[b]) || a - b; });
    }
    Array.prototype.forEach.call(document.querySelectorAll('#ftable th[data-sort]'), function (th) {
      if (th.dataset.sort === sort) th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
    var pages = Math.max(1, Math.ceil(ids.length / PAGE));
    var page = Math.min(pages - 1, Math.max(0, Number(state.page || 0)));
    $('table-count').textContent = ids.length.toLocaleString() + ' of ' + index.n.toLocaleString() + ' factors';
    $('page-info').textContent = 'page ' + (page + 1) + ' of ' + pages;
    $('prev').disabled = page === 0;
    $('next').disabled = page >= pages - 1;
    var body = T.clear($('ftbody'));
    var frag = document.createDocumentFragment();
    ids.slice(page * PAGE, (page + 1) * PAGE).forEach(function (f) {
      frag.appendChild(el('tr', null,
        el('td', { class: 'num' }, el('a', { href: 'factor.html?f=' + f }, String(f))),
        el('td', null, F.levelBadge(index.level[f])),
        el('td', { class: 'num' }, String(index.peak_layer[f])),
        el('td', { title: 'IS by layer: ' + F.isCurve(index, f).map(function (v) { return F.fmt(v); }).join(', ') },
          F.sparkline(F.isCurve(index, f), index.level[f], index.peak_layer[f]), ' ', el('span', { class: 'muted small' }, F.fmt(index.peak_is[f]))),
        el('td', { class: 'num' }, F.pct(index.density[f])),
        el('td', { class: 'num col-max' }, F.fmt(index.max_activation[f])),
        el('td', { class: 'num col-spread' }, F.fmt(index.spread[f], 2)),
        geo ? thumbsCell(f) : el('td', { class: 'tokens-cell' }, index.top_tokens[f])));
    });
    if (!ids.length) frag.appendChild(el('tr', null, el('td', { colspan: 8, class: 'muted' }, 'No factor matches these filters.')));
    body.appendChild(frag);
  }

  // ------------------------------------------------------------------ factors of an image (image models)

  var byImageP = null, namesP = null, pickerDone = false;

  function imageNames() {
    if (!namesP) namesP = T.loadColumns('sentences.parquet', ['text']).then(function (c) { return c.text; });
    return namesP;
  }

  /** factors/by-image.parquet with .ranges: image -> [begin, end) (rows are sorted by image). */
  function byImage() {
    if (!byImageP) {
      byImageP = T.loadColumns(fs.search.by_image.file).then(function (c) {
        c.ranges = new Map();
        for (var i = 0; i < c.image.length; i++) {
          var r = c.ranges.get(c.image[i]);
          if (!r) c.ranges.set(c.image[i], [i, i + 1]);
          else r[1] = i + 1;
        }
        return c;
      });
      byImageP.catch(function () { byImageP = null; });
    }
    return byImageP;
  }

  function buildPicker(selected) {
    var box = $('image-picker');
    if (!pickerDone) {
      pickerDone = true;
      Promise.all([imageNames(), sheetsP]).then(function (r) {
        var names = r[0];
        var frag = document.createDocumentFragment();
        for (var i = 0; i < geo.n_images; i++) {
          var dpr = window.devicePixelRatio || 1;
          var c = el('canvas', { width: Math.round(THUMB * dpr), height: Math.round(THUMB * dpr) });
          c.style.width = THUMB + 'px';
          c.style.height = THUMB + 'px';
          var ctx = c.getContext('2d');
          ctx.setTransform(THUMB / geo.size[1] * dpr, 0, 0, THUMB / geo.size[0] * dpr, 0, 0);
          G.drawRegion(ctx, geo, i, 0, 0, geo.size[1], geo.size[0], 0, 0, geo.size[1], geo.size[0]);
          frag.appendChild(el('button', {
            type: 'button', class: 'pick', title: String(names[i]), 'aria-label': 'Image ' + i + ': ' + names[i],
            'aria-pressed': String(i === Number(T.query().img)), dataset: { image: i },
            onclick: (function (k) { return function () { show(T.setQuery({ img: String(k) === T.query().img ? null : k }, true)); }; })(i),
          }, c));
        }
        box.appendChild(frag);
      }).catch(function (err) {
        $('image-count').textContent = 'Images unavailable: ' + err.message;
      });
    } else {
      Array.prototype.forEach.call(box.querySelectorAll('button.pick'), function (b) {
        b.setAttribute('aria-pressed', String(Number(b.dataset.image) === selected));
      });
    }
  }

  var imageSeq = 0;

  function renderImageSearch(img) {
    buildPicker(img);
    var box = $('image-results');
    var seq = ++imageSeq;
    if (img === null || !(img >= 0 && img < geo.n_images)) {
      T.clear(box);
      $('image-count').textContent = 'No image picked.';
      return;
    }
    $('image-count').textContent = 'Looking up…';
    Promise.all([byImage(), imageNames(), sheetsP]).then(function (r) {
      if (seq !== imageSeq) return;
      var c = r[0], names = r[1];
      T.clear(box);
      var range = c.ranges.get(img);
      var n = range ? range[1] - range[0] : 0;
      $('image-count').textContent = n + ' factor' + (n === 1 ? '' : 's') + ' fire on “' + names[img] + '” among their top contexts';
      if (!n) return;
      var best = c.count[range[0]] || 1;
      var rows = [];
      for (var i = range[0]; i < Math.min(range[1], range[0] + MAX_RESULTS); i++) rows.push(i);
      box.appendChild(el('table', null,
        el('thead', null, el('tr', null,
          el('th', { scope: 'col', class: 'num' }, 'Factor'),
          el('th', { scope: 'col' }, 'Level'),
          el('th', { scope: 'col' }, 'Top contexts in this image'),
          el('th', { scope: 'col' }, 'Strongest patch'),
          el('th', { scope: 'col', class: 'num' }, 'at layer'),
          el('th', { scope: 'col' }, 'IS by layer'),
          el('th', { scope: 'col' }, 'Its top images'))),
        el('tbody', null, rows.map(function (i) {
          var f = c.factor[i], k = c.count[i];
          var dpr = window.devicePixelRatio || 1;
          var canvas = el('canvas', { width: Math.round(THUMB * dpr), height: Math.round(THUMB * dpr) });
          canvas.style.width = THUMB + 'px';
          canvas.style.height = THUMB + 'px';
          drawThumb(canvas, img, c.position[i]);
          return el('tr', null,
            el('td', { class: 'num' }, el('a', { href: 'factor.html?f=' + f + '&l=' + c.layer[i] }, String(f))),
            el('td', null, F.levelBadge(index.level[f])),
            el('td', { class: 'nowrap' }, el('span', { class: 'count-bar', style: { width: (4 * k / best).toFixed(2) + 'rem' } }), k + ' of ' + fs.top_k),
            el('td', null, el('span', { class: 'thumbs' }, canvas, el('span', { class: 'muted small' }, G.unitName(geo, c.position[i]) + ' · ' + F.fmt(c.value[i])))),
            el('td', { class: 'num' }, String(c.layer[i])),
            el('td', null, F.sparkline(F.isCurve(index, f), index.level[f], index.peak_layer[f])),
            el('td', { class: 'tokens-cell' }, index.top_tokens[f]));
        }))));
      if (n > MAX_RESULTS) box.appendChild(el('p', { class: 'muted small' }, 'Showing the ' + MAX_RESULTS + ' strongest of ' + n + '.'));
    }).catch(function (err) {
      $('image-count').textContent = 'Lookup unavailable: ' + err.message;
    });
  }

  // ------------------------------------------------------------------ thumbnails (image models)

  /** Up to 4 tiny crops (the top patch outlined) of a factor's top images, then their names. */
  function thumbsCell(f) {
    var row = el('span', { class: 'thumbs' });
    var canvases = [];
    for (var j = 0; j < 8; j++) {
      var imgCol = index['thumb_image_' + j];
      if (!imgCol) break;
      var img = imgCol[f], pos = index['thumb_pos_' + j][f];
      if (img < 0) continue;
      var dpr = window.devicePixelRatio || 1;
      var c = el('canvas', { width: Math.round(THUMB * dpr), height: Math.round(THUMB * dpr), dataset: { image: img, pos: pos } });
      c.style.width = THUMB + 'px';
      c.style.height = THUMB + 'px';
      canvases.push(c);
      row.appendChild(c);
    }
    sheetsP.then(function () {
      canvases.forEach(function (c) { drawThumb(c, Number(c.dataset.image), Number(c.dataset.pos)); });
    }).catch(function (err) {
      status.textContent = 'Could not load the images: ' + err.message;
      status.className = 'error';
    });
    return el('td', { class: 'thumbs-cell', title: 'Top images at the peak layer: ' + index.top_tokens[f] },
      row, el('span', { class: 'thumb-names' }, index.top_tokens[f]));
  }

  function drawThumb(canvas, img, pos) {
    var s = geo.patch_size, H = geo.size[0], W = geo.size[1];
    var box = G.unitBox(geo, pos), prefix = pos < geo.n_prefix_tokens;
    var side = prefix ? Math.min(H, W) : Math.min(Math.min(H, W), (2 * THUMB_MARGIN + 1) * s);
    var cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
    var x0 = prefix ? (W - side) / 2 : Math.max(0, Math.min(W - side, Math.round(cx - side / 2)));
    var y0 = prefix ? (H - side) / 2 : Math.max(0, Math.min(H - side, Math.round(cy - side / 2)));
    var dpr = window.devicePixelRatio || 1, k = THUMB / side;
    var ctx = canvas.getContext('2d');
    ctx.setTransform(k * dpr, 0, 0, k * dpr, 0, 0);
    if (!G.drawRegion(ctx, geo, img, x0, y0, side, side, 0, 0, side, side)) return;
    if (!prefix) G.outline(ctx, box[0] - x0, box[1] - y0, box[2] - box[0], box[3] - box[1], '#ffd400', 1.5 / k);
    else {
      // a prefix token ([CLS], registers) has no pixels: the whole image, labelled
      canvas.title = G.unitName(geo, pos) + ' of the whole image';
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.font = 'bold 9px sans-serif';
      ctx.fillStyle = 'rgba(0,0,0,0.7)';
      ctx.fillRect(1, 1, ctx.measureText(G.unitName(geo, pos)).width + 4, 11);
      ctx.fillStyle = '#ffd400';
      ctx.fillText(G.unitName(geo, pos), 3, 10);
    }
    canvas.dataset.drawn = '1';
  }

  // ------------------------------------------------------------------ word search

  function searchIndex() {
    if (!searchP) {
      searchP = T.loadColumns(fs.search.file).then(function (s) {
        var ranges = new Map();
        for (var i = 0; i < s.key.length; i++) {
          var r = ranges.get(s.key[i]);
          if (!r) ranges.set(s.key[i], [i, i + 1]);
          else r[1] = i + 1;
        }
        s.ranges = ranges;
        s.keys = Array.from(ranges.keys());
        return s;
      });
      searchP.catch(function () { searchP = null; });
    }
    return searchP;
  }

  function prefixMatches(s, prefix, limit) {
    var out = [];
    // keys are sorted (Parquet written sorted by key): binary search the first candidate
    var lo = 0, hi = s.keys.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (s.keys[mid] < prefix) lo = mid + 1; else hi = mid;
    }
    for (var i = lo; i < s.keys.length && out.length < limit && s.keys[i].indexOf(prefix) === 0; i++) out.push(s.keys[i]);
    return out;
  }

  function suggest() {
    var q = F.key($('q').value);
    if (q.length < 2) return;
    searchIndex().then(function (s) {
      var list = T.clear($('word-suggestions'));
      prefixMatches(s, q, 12).forEach(function (k) { list.appendChild(el('option', { value: k })); });
    }).catch(function () {});
  }

  var searchSeq = 0;

  function renderSearch(q) {
    var box = $('search-results');
    var seq = ++searchSeq;
    if (!q) {
      T.clear(box);
      $('search-count').textContent = '';
      return;
    }
    $('search-count').textContent = 'Searching…';
    searchIndex().then(function (s) {
      if (seq !== searchSeq) return;
      T.clear(box);
      var r = s.ranges.get(q);
      if (!r) {
        $('search-count').textContent = 'No factor has “' + q + '” among its top contexts.';
        var near = prefixMatches(s, q.slice(0, Math.max(1, Math.min(q.length, 3))), 12);
        if (near.length) {
          box.appendChild(el('p', { class: 'small' }, 'Words in the index that start like it: ',
            near.map(function (k, i) {
              return [i ? ', ' : '', el('a', { href: '?q=' + encodeURIComponent(k), onclick: function (e) { e.preventDefault(); show(T.setQuery({ q: k }, true)); } }, k)];
            })));
        }
        return;
      }
      var n = r[1] - r[0];
      $('search-count').textContent = n + ' factor' + (n > 1 ? 's' : '') + ' · “' + q + '” occurs ' + s.total[r[0]].toLocaleString() + ' times in the corpus';
      var rows = [];
      for (var i = r[0]; i < Math.min(r[1], r[0] + MAX_RESULTS); i++) rows.push(i);
      var best = s.count[r[0]] || 1;
      box.appendChild(el('table', null,
        el('thead', null, el('tr', null,
          el('th', { scope: 'col', class: 'num' }, 'Factor'),
          el('th', { scope: 'col' }, 'Level'),
          el('th', { scope: 'col' }, 'Top contexts on “' + q + '”'),
          el('th', { scope: 'col', class: 'num' }, 'at layer'),
          el('th', { scope: 'col' }, 'IS by layer'),
          el('th', { scope: 'col' }, 'Top tokens'))),
        el('tbody', null, rows.map(function (i) {
          var f = s.factor[i];
          var c = s.count[i];
          return el('tr', null,
            el('td', { class: 'num' }, el('a', { href: 'factor.html?f=' + f + '&l=' + s.layer[i] }, String(f))),
            el('td', null, F.levelBadge(index.level[f])),
            el('td', null, el('span', { class: 'count-bar', style: { width: (4 * c / best).toFixed(2) + 'rem' } }),
              c + ' of ' + fs.top_k + (s.total[i] ? ' (' + F.pct(Math.min(1, c / s.total[i])) + ' of its occurrences)' : '')),
            el('td', { class: 'num' }, String(s.layer[i])),
            el('td', null, F.sparkline(F.isCurve(index, f), index.level[f], index.peak_layer[f])),
            el('td', { class: 'tokens-cell' }, index.top_tokens[f]));
        }))));
      if (n > MAX_RESULTS) box.appendChild(el('p', { class: 'muted small' }, 'Showing the ' + MAX_RESULTS + ' strongest of ' + n + '.'));
    }).catch(function (err) {
      $('search-count').textContent = 'Search unavailable: ' + err.message;
    });
  }
})();
