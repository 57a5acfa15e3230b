/*
 * Image browser (images.html, image models only) and the overview's strip of sample images.
 * Classic script; needs tfvis-data.js (window.TFVIS) and image-common.js (window.TFVIS_IMG).
 *
 * images.html: a grid of every image of the sample (thumbnails from the sprite sheets), search
 * by name, pages of PAGE_SIZE; an open image is drawn large with its patch grid; pointing at a
 * patch (mouse, or the arrow keys on the focused image) shows its position, pixel box, colour and
 * frequency, with links to its attention view (when the image is in the attention sample) and to
 * the factors. The patch statistics can replace the picture as a mosaic (mean colour, brightness,
 * saturation, frequency per patch).
 * URL state: ?q=<search>&page=<n>&i=<image>&p=<unit position in the image>&ov=<overlay>.
 *
 * Image names come from the user's file names: they reach the DOM only as text (TFVIS.el text
 * children, textContent, setAttribute), never as HTML.
 */
(function () {
  'use strict';
  var T = window.TFVIS;
  var IMG = window.TFVIS_IMG;
  var el = T.el;
  var $ = function (id) { return document.getElementById(id); };
  var PAGE_SIZE = 48;
  var THUMB = 112; // CSS px of a thumbnail's longer side
  var UNIT_COLUMNS = ['piece', 'is_special', 'row', 'col', 'x0', 'y0', 'x1', 'y1', 'hue', 'saturation', 'brightness',
    'frequency', 'colour_r', 'colour_g', 'colour_b'];

  /** A canvas with image i drawn to fit `size` CSS px; dataset.drawn = "1" once drawn. */
  function thumbCanvas(geo, i, size) {
    var h = geo.size[0], w = geo.size[1], k = size / Math.max(h, w), dpr = window.devicePixelRatio || 1;
    var cw = Math.round(w * k), ch = Math.round(h * k);
    var canvas = el('canvas', { class: 'thumb-canvas', width: Math.round(cw * dpr), height: Math.round(ch * dpr), 'aria-hidden': 'true' });
    canvas.style.width = cw + 'px';
    canvas.style.height = ch + 'px';
    IMG.source(geo, i).then(function (src) {
      var ctx = canvas.getContext('2d');
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(src.img, src.x, src.y, w, h, 0, 0, canvas.width, canvas.height);
      canvas.dataset.drawn = '1';
    });
    return canvas;
  }

  // ------------------------------------------------------------------ overview: sample strip

  var strip = $('image-strip');
  if (strip) {
    Promise.all([T.manifest(), T.loadColumns('sentences.parquet', ['text'])]).then(function (r) {
      var m = r[0], names = r[1].text;
      if (!IMG.isImageSite(m)) return;
      var geo = m.image, n = names.length, want = Math.min(n, Number(strip.dataset.n || 12));
      var seen = {};
      for (var k = 0; k < want; k++) {
        var i = Math.floor(k * n / want);
        if (seen[i]) continue;
        seen[i] = true;
        strip.appendChild(el('a', { class: 'thumb', href: 'images.html?i=' + i, title: names[i] },
          thumbCanvas(geo, i, 96), el('span', { class: 'thumb-name' }, names[i])));
      }
      strip.dataset.ready = '1';
    }).catch(function (err) {
      strip.appendChild(el('p', { class: 'error' }, 'Could not load the images: ' + err.message));
    });
    return;
  }
  if (!$('images')) return;

  // ------------------------------------------------------------------ image browser

  var geo, manifest, sentences, units, matches = [];
  var inAttention = new Map(); // image index -> row of attention/sentences.parquet (attention-head.html?s=)
  var nAttention = 0;
  var factorsBuilt = false;
  var current = null; // {i, p (selected unit or null), hover (unit or null), scale}
  var overlay = ''; // '', 'colour' or a unit column: the patch mosaic drawn instead of the picture
  var list = $('images');
  var view = $('image-view');
  var canvas = $('image-large');
  var detail = $('patch-detail');
  var status = $('status');
  var input = $('q');

  T.manifest().then(function (m) {
    manifest = m;
    if (!IMG.isImageSite(m)) throw new Error('this site was not built from an image model');
    geo = m.image;
    factorsBuilt = Boolean(m.factors && m.factors.n_factors);
    return Promise.all([
      T.loadColumns('sentences.parquet', ['text', 'n_tokens', 'token_offset']),
      T.loadColumns('tokens.parquet', UNIT_COLUMNS),
      attentionIndex(m),
    ]);
  }).then(function (r) {
    sentences = r[0];
    units = r[1];
    inAttention = r[2];
    status.textContent = '';
    wire();
    show(T.query());
    T.onState(show);
  }).catch(function (err) {
    status.textContent = 'Could not load the data: ' + err.message;
    status.className = 'error';
  });

  function attentionIndex(m) {
    var att = m.attention;
    if (!att || !att.files || !att.files.sentences) return Promise.resolve(new Map());
    return T.loadColumns(att.files.sentences, ['sentence_id']).then(function (c) {
      var map = new Map();
      if (c.sentence_id) for (var r = 0; r < c.sentence_id.length; r++) map.set(Number(c.sentence_id[r]), r);
      nAttention = map.size;
      return map;
    });
  }

  function wire() {
    $('image-search').addEventListener('submit', function (e) {
      e.preventDefault();
      show(T.setQuery({ q: input.value || null, page: null, i: null, p: null }, true));
    });
    $('prev').addEventListener('click', function () { turn(-1); });
    $('next').addEventListener('click', function () { turn(1); });
    $('img-prev').addEventListener('click', function () { step(-1); });
    $('img-next').addEventListener('click', function () { step(1); });
    $('img-close').addEventListener('click', function () {
      var i = current ? current.i : null;
      show(T.setQuery({ i: null, p: null }, true));
      var link = i === null ? null : list.querySelector('a[data-i="' + i + '"]');
      if (link) link.focus();
    });
    canvas.addEventListener('mousemove', onMove);
    canvas.addEventListener('mouseleave', function () {
      if (!current || current.hover === null) return;
      current.hover = null;
      draw();
      showDetail(current.p);
    });
    canvas.addEventListener('click', function (e) {
      var pos = unitAtEvent(e);
      if (pos === null) return;
      choose(pos, true);
    });
    canvas.addEventListener('keydown', onKey);
    $('overlay').addEventListener('change', function () {
      var v = $('overlay').value;
      T.setQuery({ ov: v || null }, false);
      overlay = v;
      draw();
    });
    var pending = 0;
    window.addEventListener('resize', function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () { if (current) layout(); }, 100);
    });
  }

  function turn(delta) {
    var page = Number(T.query().page || 0) + delta;
    show(T.setQuery({ page: page, i: null, p: null }, true));
    list.scrollIntoView({ block: 'start' });
  }

  /** Open the previous / next image among the current matches. */
  function step(delta) {
    if (!current) return;
    var at = matches.indexOf(current.i);
    var next = matches[at + delta];
    if (next === undefined) return;
    show(T.setQuery({ i: next, p: null, page: null }, true));
  }

  function parseIndex(v, n) {
    if (v === undefined || v === null || !/^\d+$/.test(String(v))) return null;
    var k = Number(v);
    return k < n ? k : null;
  }

  function filter(q) {
    var ids = [];
    var needle = (q || '').toLowerCase();
    for (var i = 0; i < sentences.text.length; i++) {
      if (!needle || String(sentences.text[i]).toLowerCase().indexOf(needle) !== -1) ids.push(i);
    }
    return ids;
  }

  function show(state) {
    input.value = state.q || '';
    overlay = OVERLAYS[state.ov] ? state.ov : '';
    $('overlay').value = overlay;
    matches = filter(state.q);
    var n = sentences.text.length;
    var selected = parseIndex(state.i, n);
    var pages = Math.max(1, Math.ceil(matches.length / PAGE_SIZE));
    var page = Math.min(pages - 1, Math.max(0, Number(state.page || 0) || 0));
    if (selected !== null && state.page === undefined) {
      var at = matches.indexOf(selected);
      if (at !== -1) page = Math.floor(at / PAGE_SIZE);
    }
    $('count').textContent = matches.length.toLocaleString() + ' of ' + n.toLocaleString() + ' images' +
      (nAttention ? ' · ' + nAttention + ' in the attention sample (marked “attention”)' : '');
    $('page-info').textContent = 'page ' + (page + 1) + ' of ' + pages;
    $('prev').disabled = page === 0;
    $('next').disabled = page >= pages - 1;
    T.clear(list);
    matches.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).forEach(function (i) {
      list.appendChild(item(i, i === selected));
    });
    if (!matches.length) list.appendChild(el('li', { class: 'muted empty' }, 'No image name contains “' + (state.q || '') + '”.'));
    if (selected === null) {
      close();
    } else {
      open(selected, parseIndex(state.p, sentences.n_tokens[selected]));
    }
    document.body.dataset.imagesReady = String(Number(document.body.dataset.imagesReady || 0) + 1);
  }

  function item(i, selected) {
    var name = sentences.text[i];
    var link = el('a', {
      class: 'thumb', href: '?i=' + i, title: name, dataset: { i: i }, 'aria-current': selected ? 'true' : null,
      onclick: function (e) {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        show(T.setQuery({ i: i, p: null }, true));
        view.scrollIntoView({ block: 'nearest' });
        canvas.focus({ preventScroll: true });
      },
    }, thumbCanvas(geo, i, THUMB), el('span', { class: 'thumb-name' }, name),
      inAttention.has(i) ? el('span', { class: 'thumb-badge', title: 'in the attention sample: its attention can be explored' }, 'attention') : null);
    return el('li', { id: 'img' + i, class: selected ? 'selected' : null }, link);
  }

  // ------------------------------------------------------------------ the open image

  var baseTitle = document.title;

  function close() {
    current = null;
    view.hidden = true;
    document.title = baseTitle;
  }

  function open(i, p) {
    var same = current && current.i === i;
    current = { i: i, p: p, hover: null, scale: same ? current.scale : 0 };
    view.hidden = false;
    var name = sentences.text[i];
    document.title = name + ' · ' + baseTitle; // a string property: never parsed as HTML
    T.clear($('image-title')).appendChild(document.createTextNode(name));
    $('image-title').appendChild(el('span', { class: 'muted image-index' }, ' #' + i));
    var at = matches.indexOf(i);
    $('img-prev').disabled = at <= 0;
    $('img-next').disabled = at === -1 || at >= matches.length - 1;
    prefixButtons(i);
    IMG.source(geo, i).then(function () {
      if (!current || current.i !== i) return;
      layout();
    }).catch(function (err) {
      status.textContent = 'Could not load the image: ' + err.message;
      status.className = 'error';
    });
    showDetail(p);
  }

  /** Size the large canvas to the space available (about 3x, more for tiny images) and draw. */
  function layout() {
    var h = geo.size[0], w = geo.size[1];
    var body = view.querySelector('.image-view-body');
    var avail = body.clientWidth;
    if (avail > 820) avail -= 340; // the detail panel sits beside the image
    var scale = Math.min(avail / w, Math.max(3, 384 / w));
    scale = Math.max(0.5, scale);
    var dpr = window.devicePixelRatio || 1;
    current.scale = scale;
    canvas.width = Math.round(w * scale * dpr);
    canvas.height = Math.round(h * scale * dpr);
    canvas.style.width = Math.round(w * scale) + 'px';
    canvas.style.height = Math.round(h * scale) + 'px';
    view.querySelector('.image-stage').style.width = Math.round(w * scale) + 'px'; // tools and notes wrap to the picture
    draw();
  }

  function draw() {
    if (!current || !current.scale) return;
    var ctx = canvas.getContext('2d');
    var h = geo.size[0], w = geo.size[1], s = geo.patch_size, k = current.scale;
    var dpr = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(k * dpr, 0, 0, k * dpr, 0, 0);
    ctx.imageSmoothingEnabled = k < 2; // enlarged: show the pixels the model saw
    drawImage(ctx, w, h);
    drawOverlay(ctx);
    // the patch grid: a dark line under a light one, visible on any image
    var rows = geo.grid[0], cols = geo.grid[1];
    ctx.beginPath();
    for (var c = 0; c <= cols; c++) { ctx.moveTo(c * s, 0); ctx.lineTo(c * s, rows * s); }
    for (var r = 0; r <= rows; r++) { ctx.moveTo(0, r * s); ctx.lineTo(cols * s, r * s); }
    ctx.lineWidth = 2 / k;
    ctx.strokeStyle = 'rgba(0,0,0,0.28)';
    ctx.stroke();
    ctx.lineWidth = 1 / k;
    ctx.strokeStyle = 'rgba(255,255,255,0.55)';
    ctx.stroke();
    if (current.p !== null && current.p < geo.n_prefix_tokens) {
      IMG.outline(ctx, 1.5 / k, 1.5 / k, w - 3 / k, h - 3 / k, '#ffd400', 3 / k);
    } else if (current.p !== null) {
      var b = IMG.unitBox(geo, current.p);
      IMG.outline(ctx, b[0], b[1], b[2] - b[0], b[3] - b[1], '#ffd400', 3 / k);
    }
    if (current.hover !== null && current.hover !== current.p) {
      var hb = IMG.unitBox(geo, current.hover);
      IMG.outline(ctx, hb[0], hb[1], hb[2] - hb[0], hb[3] - hb[1], '#ffffff', 2 / k);
    }
    canvas.dataset.drawn = String(current.i);
    canvas.setAttribute('aria-label', 'Image ' + sentences.text[current.i] + ', ' + rows + ' by ' + cols + ' patches' +
      (current.p !== null ? '; selected: ' + unitLabel(current.i, current.p) : '') + '. Arrow keys move between patches.');
  }

  // viridis, 10 stops (perceptually uniform, colour-blind safe)
  var VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'];
  var OVERLAYS = {
    colour: { label: 'mean colour' },
    brightness: { label: 'brightness', lo: 0, hi: 1 },
    saturation: { label: 'saturation', lo: 0, hi: 1 },
    frequency: { label: 'frequency (cycles per patch)', lo: 0 },
  };

  /** The patch statistic as a mosaic over the picture, and its legend. */
  function drawOverlay(ctx) {
    var legend = T.clear($('overlay-legend'));
    var spec = OVERLAYS[overlay];
    if (!spec) return;
    var s = geo.patch_size, cols = geo.grid[1], np = geo.n_prefix_tokens;
    var start = sentences.token_offset[current.i] + np, n = geo.grid[0] * cols;
    var hi = spec.hi;
    if (hi === undefined && overlay !== 'colour') {
      hi = 0;
      for (var q = 0; q < n; q++) hi = Math.max(hi, units[overlay][start + q]);
      hi = hi > 0 ? hi : 1;
    }
    ctx.save();
    for (var p = 0; p < n; p++) {
      var u = start + p, fill;
      if (overlay === 'colour') fill = 'rgb(' + units.colour_r[u] + ',' + units.colour_g[u] + ',' + units.colour_b[u] + ')';
      else fill = VIRIDIS[Math.max(0, Math.min(9, Math.floor((units[overlay][u] - spec.lo) / (hi - spec.lo) * 10)))];
      ctx.fillStyle = fill;
      ctx.globalAlpha = overlay === 'colour' ? 1 : 0.88;
      ctx.fillRect((p % cols) * s, Math.floor(p / cols) * s, s, s);
    }
    ctx.restore();
    if (overlay === 'colour') {
      legend.appendChild(document.createTextNode('each patch filled with its mean colour'));
      return;
    }
    legend.appendChild(el('span', null, fmt(spec.lo)));
    legend.appendChild(el('span', { class: 'ramp-bar', 'aria-hidden': 'true' }, VIRIDIS.map(function (c) {
      return el('span', { class: 'ramp', style: { background: c } });
    })));
    legend.appendChild(el('span', null, fmt(hi) + ' ' + spec.label + (spec.hi === undefined ? ' (this image’s maximum)' : '')));
  }

  var loadedImages = {}; // image index -> drawing source {img, x, y} (IMG.source: a 1x copy)
  function drawImage(ctx, w, h) {
    var i = current.i, src = loadedImages[i];
    if (src) {
      ctx.drawImage(src.img, src.x, src.y, w, h, 0, 0, w, h);
      return;
    }
    IMG.source(geo, i).then(function (loaded) {
      loadedImages[i] = loaded;
      if (current && current.i === i) draw();
    });
  }

  function unitAtEvent(e) {
    if (!current || !current.scale) return null;
    var rect = canvas.getBoundingClientRect();
    var x = (e.clientX - rect.left) / current.scale, y = (e.clientY - rect.top) / current.scale;
    if (x < 0 || y < 0 || x >= geo.grid[1] * geo.patch_size || y >= geo.grid[0] * geo.patch_size) return null;
    return IMG.unitAt(geo, x, y);
  }

  function onMove(e) {
    var pos = unitAtEvent(e);
    if (pos === current.hover) return;
    current.hover = pos;
    draw();
    showDetail(pos === null ? current.p : pos);
  }

  /** Select unit `pos` of the open image; push: a new history entry (clicks), else replace (keys). */
  function choose(pos, push) {
    if (!current) return;
    current.p = pos;
    T.setQuery({ i: current.i, p: pos }, push);
    prefixButtons(current.i);
    draw();
    showDetail(pos);
  }

  function onKey(e) {
    if (!current) return;
    var np = geo.n_prefix_tokens, rows = geo.grid[0], cols = geo.grid[1];
    var p = current.p === null || current.p < np ? null : current.p - np;
    var r = p === null ? -1 : Math.floor(p / cols), c = p === null ? -1 : p % cols;
    var next = null;
    switch (e.key) {
      case 'ArrowLeft': next = p === null ? 0 : r * cols + Math.max(0, c - 1); break;
      case 'ArrowRight': next = p === null ? 0 : r * cols + Math.min(cols - 1, c + 1); break;
      case 'ArrowUp': next = p === null ? 0 : Math.max(0, r - 1) * cols + c; break;
      case 'ArrowDown': next = p === null ? 0 : Math.min(rows - 1, r + 1) * cols + c; break;
      case 'Home': e.preventDefault(); choose(0, false); return;
      case 'End': next = rows * cols - 1; break;
      case 'Escape': e.preventDefault(); $('img-close').click(); return;
      default: return;
    }
    e.preventDefault();
    current.hover = null;
    choose(np + next, false);
  }

  function prefixButtons(i) {
    var box = T.clear($('prefix-units'));
    if (!geo.n_prefix_tokens) return;
    box.appendChild(el('span', { class: 'muted' }, 'Prefix tokens: '));
    for (var p = 0; p < geo.n_prefix_tokens; p++) {
      (function (pos) {
        box.appendChild(el('button', {
          type: 'button', class: 'tok special', 'aria-pressed': current && current.p === pos ? 'true' : 'false',
          title: 'A token the model adds before the patches; it sees the whole image',
          onclick: function () { choose(pos, true); },
        }, unitLabel(i, pos)));
      })(p);
    }
  }

  function unitLabel(i, pos) {
    var u = sentences.token_offset[i] + pos;
    return units.piece && units.piece[u] ? String(units.piece[u]) : IMG.unitName(geo, pos);
  }

  // ------------------------------------------------------------------ the patch's details

  var HUES = [[15, 'red'], [45, 'orange'], [70, 'yellow'], [160, 'green'], [200, 'cyan'], [255, 'blue'], [290, 'purple'],
    [335, 'magenta'], [360, 'red']];

  function hueText(hue, sat) {
    var deg = ((hue % 1) + 1) % 1 * 360;
    if (!(sat > 0.06)) return 'none (grey: saturation ' + fmt(sat) + ')';
    var name = 'red';
    for (var k = 0; k < HUES.length; k++) { if (deg < HUES[k][0]) { name = HUES[k][1]; break; } }
    return Math.round(deg) + '° (' + name + ')';
  }

  function fmt(v, d) {
    return v === undefined || v === null || isNaN(v) ? 'n/a' : Number(v).toFixed(d === undefined ? 2 : d);
  }

  function row(k, v, title) {
    return el('div', { title: title || null }, el('dt', null, k), el('dd', null, v));
  }

  function showDetail(pos) {
    if (!current) return;
    var i = current.i;
    var n = sentences.n_tokens[i];
    var name = sentences.text[i];
    T.clear(detail);
    if (pos === null || pos === undefined) {
      detail.appendChild(el('div', null,
        el('h3', null, 'Image #' + i),
        el('dl', { class: 'facts' },
          row('Name', name),
          row('Units', n + ': ' + geo.n_prefix_tokens + ' prefix + ' + (n - geo.n_prefix_tokens) + ' patches'),
          row('Size', geo.size[1] + ' × ' + geo.size[0] + ' px as the model sees it')),
        el('p', { class: 'muted' }, 'Point at a patch, or click one to keep it.'),
        links(i, null)));
      return;
    }
    var u = sentences.token_offset[i] + pos;
    var cell = IMG.unitCell(geo, pos);
    var rgb = [units.colour_r[u], units.colour_g[u], units.colour_b[u]];
    var css = 'rgb(' + rgb.join(', ') + ')';
    var swatch = el('span', { class: 'swatch', style: { background: css }, 'aria-hidden': 'true' });
    var head = el('h3', { class: 'patch-name' }, swatch, ' ', unitLabel(i, pos),
      current.p === pos ? el('span', { class: 'muted selected-tag' }, ' (selected)') : null);
    var box = [units.x0[u], units.y0[u], units.x1[u], units.y1[u]];
    var facts = el('dl', { class: 'facts' },
      row('Unit', 'position ' + pos + ' of ' + n + ' in image #' + i),
      cell ? row('Grid cell', 'row ' + cell.row + ', column ' + cell.col + ' (of ' + geo.grid[0] + ' × ' + geo.grid[1] + ')')
        : row('Prefix token', 'added by the model before the patches; it attends to, and is shown as, the whole image'),
      row('Pixel box', 'x ' + box[0] + '–' + box[2] + ', y ' + box[1] + '–' + box[3] + ' (of ' + geo.size[1] + ' × ' + geo.size[0] + ')'),
      row('Mean colour', el('span', null, el('span', { class: 'swatch', style: { background: css }, 'aria-hidden': 'true' }), ' ' + css)),
      row('Hue', hueText(units.hue[u], units.saturation[u]), 'chroma-weighted circular mean of the HSV hue'),
      row('Saturation', fmt(units.saturation[u]), 'mean HSV saturation, 0 (grey) to 1'),
      row('Brightness', fmt(units.brightness[u]), 'mean luma 0.299 R + 0.587 G + 0.114 B, 0 (black) to 1 (white)'),
      row('Frequency', fmt(units.frequency[u]) + ' cycles per patch', 'spectral centroid of the luma: 0 flat, about k for a grating of k cycles per patch'));
    var kids = [head];
    if (cell) {
      var crop = IMG.cropCanvas(geo, i, pos, 1, 120);
      crop.canvas.setAttribute('aria-hidden', 'true');
      kids.push(el('div', { class: 'patch-crop' }, crop.canvas, el('span', { class: 'muted small' }, 'the patch and its neighbours')));
    }
    kids.push(facts, links(i, pos));
    detail.appendChild(el('div', null, kids));
  }

  /** Links from an image / a unit to the analyses. */
  function links(i, pos) {
    var items = [];
    if (inAttention.has(i)) {
      var href = 'attention-head.html?l=0&h=0&s=' + inAttention.get(i) + (pos === null ? '' : '&t=' + pos);
      items.push(el('li', null, el('a', { class: 'attention-link', href: href },
        pos === null ? 'Attention in this image' : 'Attention from ' + (pos < geo.n_prefix_tokens ? 'this token' : 'this patch')),
        ' (layer 0, head 0; pick any head there)'));
    } else if (manifest.attention) {
      items.push(el('li', { class: 'muted' }, 'Not in the attention sample (' + nAttention + ' of ' + sentences.text.length +
        ' images are); its attention is not stored.'));
    }
    if (factorsBuilt) {
      items.push(el('li', null, el('a', { href: 'factors.html?tok=' + encodeURIComponent(String(sentences.text[i]).toLowerCase()) },
        'Factors whose top patches come from this image')));
      items.push(el('li', null, el('a', { href: 'factors.html' }, 'The factor index')));
    }
    return items.length ? el('ul', { class: 'explore-links' }, items) : document.createTextNode('');
  }
})();
