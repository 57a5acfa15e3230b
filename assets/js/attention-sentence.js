/*
 * attention-sentence.js: the bertviz-style sentence view (two columns of tokens, queries left,
 * keys right, line opacity = attention weight of the current head) and the aggregate
 * position-by-position heat map of a head. Token text goes into SVG <text> nodes via TFVIS.el.
 * Defines TFVIS_ATT.sentenceView, TFVIS_ATT.aggregateView and TFVIS_ATT.tokenFactorsView (issue 12).
 */
(function (window) {
  'use strict';
  var T = window.TFVIS;
  var A = window.TFVIS_ATT;
  var el = T.el;
  var ROW = 20, TOP = 26, GAP = 150, MIN_W = 0.004;

  /**
   * The selected token's strongest factors at the input of attention layer ``layer`` (hidden state
   * ``layer``, which its queries and keys are computed from), each a link to the factor page.
   * ``links`` is TFVIS.tokenFactors()'s result; t null = no token selected.
   */
  A.tokenFactorsView = function (container, links, tokens, sentences, s, t, layer) {
    T.clear(container);
    var list = links && t !== null ? links.atSample(layer, s, t) : null;
    if (!list) {
      if (links && links.nHidden) container.appendChild(el('p', { class: 'muted' }, 'Click a token to see its strongest factors.'));
      return;
    }
    container.appendChild(el('p', null,
      el('span', null, 'Strongest factors of '), el('q', null, tokens.text[sentences.token_offset[s] + t]),
      el('span', null, ' at the input of layer ' + layer + ' (hidden state ' + layer + '): '),
      T.factorLinks(list, layer)));
  };

  /** Which positions of sentence s are hidden by the toggles {cls, sep, first}. */
  A.hiddenPositions = function (tokens, sentences, s, hide) {
    var start = sentences.token_offset[s], n = sentences.n_tokens[s];
    var hidden = new Uint8Array(n);
    for (var p = 0; p < n; p++) {
      var i = start + p;
      var special = tokens.is_special[i];
      if (hide.first && p === 0) hidden[p] = 1;
      if (hide.cls && special && p === 0) hidden[p] = 1;
      if (hide.sep && special && p > 0) hidden[p] = 1;
    }
    return hidden;
  };

  /**
   * L x L weights of sentence s for head h (rows = queries): causal models masked above the
   * diagonal, hidden rows/columns dropped, keys scaled by their value norms when vrow is given
   * (Float32Array(L)), rows renormalised over the keys left.
   */
  A.sentenceWeights = function (sec, sentences, layerData, h, s, hidden, vrow) {
    return A.reweight(A.blockWeights(sec, sentences, layerData, h, s), sentences.n_tokens[s], hidden, vrow || null);
  };

  /**
   * Render the two-column view into container. opts: {sec, tokens, sentences, layerData, head, s,
   * hide, vrow (value norms of the sentence's tokens for "weight by value norm", or null),
   * weights (optional L x L Float32Array used instead of sec/layerData: the live probe's),
   * current (position or null), onSelect(pos)}. Returns {isolate(pos, side), svg, lines}.
   */
  A.sentenceView = function (container, opts) {
    var tokens = opts.tokens, sentences = opts.sentences, s = opts.s;
    var start = sentences.token_offset[s], n = sentences.n_tokens[s];
    var hidden = A.hiddenPositions(tokens, sentences, s, opts.hide);
    var w = opts.weights ? A.reweight(Float32Array.from(opts.weights), n, hidden, null)
      : A.sentenceWeights(opts.sec, sentences, opts.layerData, opts.head, s, hidden, opts.vrow);
    var rows = [];
    for (var p = 0; p < n; p++) if (!hidden[p]) rows.push(p);
    var textW = 8 * Math.min(24, Math.max(6, maxLen(tokens, start, n)));
    var width = textW * 2 + GAP + 20;
    var height = TOP + rows.length * ROW + 6;
    var xl = 10 + textW, xr = xl + GAP;
    var svg = el('svg:svg', { viewBox: '0 0 ' + width + ' ' + height, width: width, height: height, role: 'img',
      'aria-label': 'Attention of sentence ' + s + ': queries on the left, keys on the right' });
    svg.appendChild(el('svg:text', { x: xl, y: 14, 'text-anchor': 'end', class: 'att-col-title' }, 'queries'));
    svg.appendChild(el('svg:text', { x: xr, y: 14, class: 'att-col-title' }, 'keys'));
    var yOf = {};
    rows.forEach(function (p, r) { yOf[p] = TOP + r * ROW + ROW / 2; });
    var lines = el('svg:g', { class: 'att-lines' });
    var lineList = [];
    rows.forEach(function (q) {
      rows.forEach(function (k) {
        var v = w[q * n + k];
        if (v < MIN_W) return;
        var line = el('svg:line', { x1: xl + 4, y1: yOf[q], x2: xr - 4, y2: yOf[k], 'stroke-width': 2, 'stroke-opacity': v.toFixed(3) });
        line._q = q; line._k = k; line._w = v;
        lineList.push(line);
        lines.appendChild(line);
      });
    });
    svg.appendChild(lines);
    var labels = [];
    var mk = function (p, side) {
      var i = start + p;
      var t = el('svg:text', {
        x: side === 'q' ? xl : xr, y: yOf[p] + 4, 'text-anchor': side === 'q' ? 'end' : 'start', tabindex: 0,
        class: tokens.is_special[i] ? 'att-special' : null,
        'aria-label': (side === 'q' ? 'query ' : 'key ') + p + ': ' + tokens.text[i],
      }, tokens.text[i]);
      t._p = p; t._side = side;
      var on = function () { isolate(p, side); };
      t.addEventListener('mouseenter', on);
      t.addEventListener('focus', on);
      t.addEventListener('mouseleave', function () { isolate(null); });
      t.addEventListener('blur', function () { isolate(null); });
      t.addEventListener('click', function () { if (opts.onSelect) opts.onSelect(p); });
      t.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); if (opts.onSelect) opts.onSelect(p); }
      });
      labels.push(t);
      svg.appendChild(t);
    };
    rows.forEach(function (p) { mk(p, 'q'); mk(p, 'k'); });

    function isolate(p, side) {
      for (var i = 0; i < lineList.length; i++) {
        var l = lineList[i];
        var keep = p === null || (side === 'q' ? l._q === p : l._k === p);
        l.setAttribute('stroke-opacity', keep ? l._w.toFixed(3) : '0');
      }
      for (var j = 0; j < labels.length; j++) {
        var t = labels[j];
        var active = p !== null && (t._p === p ||
          (side === 'q' && t._side === 'k' && w[p * n + t._p] >= 0.05) ||
          (side === 'k' && t._side === 'q' && w[t._p * n + p] >= 0.05));
        t.classList.toggle('att-active', active);
      }
      if (p === null && opts.current !== null && opts.current !== undefined) markCurrent(opts.current);
    }
    function markCurrent(p) {
      labels.forEach(function (t) { t.classList.toggle('att-cur', t._p === p); });
    }
    T.clear(container).appendChild(svg);
    if (opts.current !== null && opts.current !== undefined) markCurrent(opts.current);
    return { isolate: isolate, svg: svg, lines: lineList };
  };

  function maxLen(tokens, start, n) {
    var m = 0;
    for (var i = start; i < start + n; i++) m = Math.max(m, tokens.text[i].length);
    return m;
  }

  /**
   * Aggregate heat map of head g: canvas of max_len x max_len cells, viridis, grey where no sentence
   * holds both positions; causal models: the cells above the diagonal (a later key) stay empty
   * (transparent), since no query sees them. readout: element for the hovered cell's value.
   */
  A.aggregateView = function (canvas, legendNode, readout, agg, count, g, maxLen, causal) {
    var L = maxLen;
    var base = g * L * L;
    var used = 0;
    for (var i = 0; i < L; i++) for (var j = 0; j < L; j++) if (count[i * L + j] > 0) used = Math.max(used, i + 1, j + 1);
    L = Math.max(1, used);
    var vmax = 0;
    // a causal model's first query sees only itself (weight 1 by construction): the scale starts
    // at the second row, so the forced 1 does not wash out the rest
    for (var a = causal && L > 1 ? 1 : 0; a < L; a++) for (var b = 0; b < L; b++) vmax = Math.max(vmax, agg[base + a * maxLen + b]);
    vmax = vmax || 1;
    var ramp = A.lerpRamp(A.VIRIDIS, 64).map(A.hexToRgb);
    canvas.width = L;
    canvas.height = L;
    var ctx = canvas.getContext('2d');
    var img = ctx.createImageData(L, L);
    for (var q = 0; q < L; q++) {
      for (var k = 0; k < L; k++) {
        var o = 4 * (q * L + k);
        if (causal && k > q) continue; // masked: left transparent (alpha 0)
        if (count[q * maxLen + k] <= 0) {
          img.data[o] = img.data[o + 1] = img.data[o + 2] = 200; img.data[o + 3] = 255;
          continue;
        }
        var c = ramp[Math.min(63, Math.floor(Math.sqrt(Math.min(1, agg[base + q * maxLen + k] / vmax)) * 63.999))];
        img.data[o] = c[0]; img.data[o + 1] = c[1]; img.data[o + 2] = c[2]; img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    A.legend(legendNode, { title: 'mean attention weight, square-root colour scale (grey: no sentence has both positions' +
      (causal ? '; empty above the diagonal: a causal model\'s query cannot see a later key)' : ')'),
      ramps: [{ label: '', colors: A.VIRIDIS }], min: '0', max: vmax.toFixed(2) });
    canvas.onmousemove = function (e) {
      var r = canvas.getBoundingClientRect();
      var k = Math.floor((e.clientX - r.left) / r.width * L), q = Math.floor((e.clientY - r.top) / r.height * L);
      if (q < 0 || k < 0 || q >= L || k >= L) return;
      var n = count[q * maxLen + k];
      readout.textContent = 'query position ' + q + ' → key position ' + k + ': ' + (causal && k > q ? 'masked (a later key)' :
        n > 0 ? 'mean ' + agg[base + q * maxLen + k].toFixed(3) + ' over ' + n + ' sentences' : 'no sentence');
    };
    readout.textContent = 'Rows: query position 0–' + (L - 1) + ' (top to bottom); columns: key position 0–' + (L - 1) +
      ' (left to right). Hover for values.';
  };
})(window);
