/*
 * The bertviz-style sentence view of the head page (two columns of tokens, queries left, keys
 * right, line opacity = attention weight of the current head), also drawn by the live probe on
 * the reader's own text, and the selected token's strongest factors. Token text goes into SVG
 * <text> nodes via el().
 */
import { clear, el } from '../core/data.js';
import { factorLinks } from '../lib/token-factors.js';
import { blockWeights, reweight } from './data.js';

var ROW = 20, TOP = 26, GAP = 150, MIN_W = 0.004;

/**
 * The selected token's strongest factors at the input of attention layer ``layer`` (hidden state
 * ``layer``, which its queries and keys are computed from), each a link to the factor page.
 * ``links`` is tokenFactors()'s result (lib/token-factors.js); t null = no token selected.
 */
export function tokenFactorsView(container, links, tokens, sentences, s, t, layer) {
  clear(container);
  var list = links && t !== null ? links.atSample(layer, s, t) : null;
  if (!list) {
    if (links && links.nHidden) container.appendChild(el('p', { class: 'muted' }, 'Click a token to see its strongest factors.'));
    return;
  }
  container.appendChild(el('p', null,
    el('span', null, 'Strongest factors of '), el('q', null, tokens.text[sentences.token_offset[s] + t]),
    el('span', null, ' at the input of layer ' + layer + ' (hidden state ' + layer + '): '),
    factorLinks(list, layer)));
}

/** Which positions of sentence s are hidden by the toggles {cls, sep, first}. */
export function hiddenPositions(tokens, sentences, s, hide) {
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
}

/**
 * L x L weights of sentence s for head h (rows = queries): causal models masked above the
 * diagonal, hidden rows/columns dropped, keys scaled by their value norms when vrow is given
 * (Float32Array(L)), rows renormalised over the keys left.
 */
export function sentenceWeights(sec, sentences, layerData, h, s, hidden, vrow) {
  return reweight(blockWeights(sec, sentences, layerData, h, s), sentences.n_tokens[s], hidden, vrow || null);
}

/**
 * Render the two-column view into container. opts: {sec, tokens, sentences, layerData, head, s,
 * hide, vrow (value norms of the sentence's tokens for "weight by value norm", or null),
 * weights (optional L x L Float32Array used instead of sec/layerData: the live probe's),
 * current (position or null), onSelect(pos)}. Returns {isolate(pos, side), svg, lines}.
 */
export function sentenceView(container, opts) {
  var tokens = opts.tokens, sentences = opts.sentences, s = opts.s;
  var start = sentences.token_offset[s], n = sentences.n_tokens[s];
  var hidden = hiddenPositions(tokens, sentences, s, opts.hide);
  var w = opts.weights ? reweight(Float32Array.from(opts.weights), n, hidden, null)
    : sentenceWeights(opts.sec, sentences, opts.layerData, opts.head, s, hidden, opts.vrow);
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
  clear(container).appendChild(svg);
  if (opts.current !== null && opts.current !== undefined) markCurrent(opts.current);
  return { isolate: isolate, svg: svg, lines: lineList };
}

function maxLen(tokens, start, n) {
  var m = 0;
  for (var i = start; i < start + n; i++) m = Math.max(m, tokens.text[i].length);
  return m;
}
