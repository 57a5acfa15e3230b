/*
 * quality.html: IS curves of all factors overlaid (coloured by level, optionally normalised to
 * each factor's peak, mean curve per level) and the level x peak-layer table. The metrics table
 * and the L0 histogram are rendered at build time (templates/_factor_quality.html, quality.html).
 */
(function () {
  'use strict';
  var T = window.TFVIS;
  var F = window.TFVISF;
  var el = T.el;
  var $ = function (id) { return document.getElementById(id); };
  var fs, index;

  F.section()
    .then(function (m) { fs = m.factors; return F.index(fs); })
    .then(function (ix) {
      index = ix;
      $('status').textContent = '';
      levelMatrix();
      draw();
      $('norm').addEventListener('change', draw);
      Array.prototype.forEach.call(document.querySelectorAll('[data-level]'), function (c) { c.addEventListener('change', draw); });
    })
    .catch(function (err) {
      $('status').textContent = 'Could not load the data: ' + err.message;
      $('status').className = 'error';
    });

  function levelMatrix() {
    var L = fs.n_layers;
    var counts = {};
    F.LEVELS.forEach(function (lv) { counts[lv] = new Array(L).fill(0); });
    for (var i = 0; i < index.n; i++) {
      var lv = index.level[i];
      if (counts[lv]) counts[lv][index.peak_layer[i]]++;
    }
    var head = [el('th', { scope: 'col' }, 'level \\ peak layer')];
    for (var l = 0; l < L; l++) head.push(el('th', { scope: 'col' }, l === 0 ? 'emb' : String(l)));
    var rows = F.LEVELS.filter(function (lv) { return counts[lv].some(function (x) { return x; }); }).map(function (lv) {
      return el('tr', null, el('th', { scope: 'row' }, F.levelBadge(lv)), counts[lv].map(function (c, l) {
        return el('td', null, c ? el('a', { href: 'factors.html?level=' + lv + '&layer=' + l }, String(c)) : '·');
      }));
    });
    $('level-matrix').appendChild(el('table', { class: 'level-matrix' }, el('thead', null, el('tr', null, head)), el('tbody', null, rows)));
  }

  function draw() {
    var norm = $('norm').checked;
    var show = {};
    Array.prototype.forEach.call(document.querySelectorAll('[data-level]'), function (c) { show[c.dataset.level] = c.checked; });
    var L = fs.n_layers;
    var W = 900, H = 380, ml = 50, mr = 16, mt = 14, mb = 40;
    var curves = [];
    var max = 0;
    for (var i = 0; i < index.n; i++) {
      var lv = index.level[i];
      if (!show[lv]) continue;
      var c = F.isCurve(index, i);
      var peak = c[index.peak_layer[i]];
      if (norm) c = c.map(function (v) { return peak > 0 ? v / peak : 0; });
      c.forEach(function (v) { if (v > max) max = v; });
      curves.push({ f: i, level: lv, values: c });
    }
    var top = norm ? 1.05 : (max || 1) * 1.05;
    var xs = function (l) { return ml + l * (W - ml - mr) / Math.max(1, L - 1); };
    var ys = function (v) { return mt + (1 - v / top) * (H - mt - mb); };
    var svg = el('svg:svg', { class: 'overlay-svg', viewBox: '0 0 ' + W + ' ' + H, role: 'img',
      'aria-label': 'Importance score curves of ' + curves.length + ' factors across ' + L + ' layers, coloured by level' });
    for (var t = 0; t <= 4; t++) {
      var v = top * t / 4;
      svg.appendChild(el('svg:line', { class: 'grid', x1: ml, x2: W - mr, y1: ys(v), y2: ys(v) }));
      svg.appendChild(el('svg:text', { x: ml - 6, y: ys(v) + 4, 'text-anchor': 'end' }, F.fmt(v, 2)));
    }
    for (var l = 0; l < L; l++) {
      svg.appendChild(el('svg:text', { x: xs(l), y: H - mb + 16, 'text-anchor': 'middle' }, l === 0 ? 'emb' : String(l)));
    }
    svg.appendChild(el('svg:text', { x: ml + (W - ml - mr) / 2, y: H - 6, 'text-anchor': 'middle' }, 'layer'));
    svg.appendChild(el('svg:text', { x: 14, y: mt + (H - mt - mb) / 2, transform: 'rotate(-90 14 ' + (mt + (H - mt - mb) / 2) + ')', 'text-anchor': 'middle' },
      norm ? 'IS / peak IS' : 'IS'));
    var sums = {};
    var frag = document.createDocumentFragment();
    curves.forEach(function (c) {
      var pts = c.values.map(function (v, l) { return xs(l).toFixed(1) + ',' + ys(v).toFixed(1); }).join(' ');
      frag.appendChild(el('svg:polyline', { class: c.level, points: pts, dataset: { f: c.f } },
        el('svg:title', null, 'Factor ' + c.f + ' (' + c.level + ', peak layer ' + index.peak_layer[c.f] + '): ' + index.top_tokens[c.f])));
      var s = sums[c.level] || (sums[c.level] = { n: 0, v: new Array(L).fill(0) });
      s.n++;
      c.values.forEach(function (v, l) { s.v[l] += v; });
    });
    svg.appendChild(frag);
    Object.keys(sums).forEach(function (lv) {
      var s = sums[lv];
      var pts = s.v.map(function (v, l) { return xs(l).toFixed(1) + ',' + ys(v / s.n).toFixed(1); }).join(' ');
      svg.appendChild(el('svg:polyline', { class: 'mean ' + lv, points: pts, 'pointer-events': 'none' }));
    });
    svg.addEventListener('mouseover', function (e) {
      if (e.target.dataset && e.target.dataset.f !== undefined) e.target.classList.add('hl');
    });
    svg.addEventListener('mouseout', function (e) {
      if (e.target.dataset && e.target.dataset.f !== undefined) e.target.classList.remove('hl');
    });
    svg.addEventListener('click', function (e) {
      if (e.target.dataset && e.target.dataset.f !== undefined) window.location.href = 'factor.html?f=' + e.target.dataset.f;
    });
    T.clear($('overlay')).appendChild(svg);
  }
})();
