/*
 * The pointer on the plot: the hover tooltip (with its latency, measured for bench/), a click on
 * a point (its sentence / image), the lasso's list, the search count. A click changes the view
 * through hooks.apply (state.js), which view.js fills: this module does not import the view.
 */
import { byId, clear, el, setQuery } from '../../core/data.js';
import { drawThumb } from '../image-offset.js';
import { KEY, QUERY } from '../../core/palette.js';
import { fmt, snippet } from '../site.js';
import { imageOf, topKeys } from './data.js';
import { drawOverlay } from './overlay.js';
import { screenPos, stageSize } from './screen.js';
import { LINES, S, hooks } from './state.js';

export function onHover(i) {
  if (i === S.hovered) return;
  S.hovered = i;
  var start = S.lastMove, t0 = window.performance.now();
  if (i < 0) {
    S.tooltip.hidden = true;
    drawOverlay();
    return;
  }
  var t = i < S.N ? i : i - S.N, s = S.tokens.sentence[t];
  var pos = S.tokens.position[t];
  if (S.geo) imageTooltip(i, t, s, pos);
  else {
  var snip = snippet(S.tokens, S.sentences, t, 7);
  clear(S.tooltip).appendChild(el('div', null,
    el('div', null, el('span', { class: 'tok' }, S.tokens.text[t]), ' ',
      el('span', { class: i < S.N ? 'att-kind-q' : 'att-kind-k' }, i < S.N ? 'query' : 'key'),
      ' · position ' + pos + ' of ' + S.sentences.n_tokens[s] + ' · sentence ' + s),
    el('div', { class: 'att-snip' }, snip[0] + ' ', el('mark', null, snip[1]), ' ' + snip[2]),
    el('div', { class: 'muted' }, i < S.N ? topKeys(t, LINES).map(function (k) {
      return '→ ' + S.tokens.text[S.sentences.token_offset[s] + k.pos] + ' ' + k.w.toFixed(2);
    }).join('   ') || 'no key with weight ≥ 0.05' : 'norm ' + fmt(S.norms[S.head.g * S.P + i]))));
  }
  S.tooltip.hidden = false;
  var p = screenPos(i), sz = stageSize();
  if (p) {
    var tw = S.tooltip.offsetWidth, th = S.tooltip.offsetHeight;
    var x = p[0] + 14, y = p[1] + 14;
    if (x + tw > sz.w) x = Math.max(0, p[0] - tw - 14);
    if (y + th > sz.h) y = Math.max(0, p[1] - th - 14);
    S.tooltip.style.left = x + 'px';
    S.tooltip.style.top = y + 'px';
  }
  drawOverlay();
  if (start) {
    var handled = window.performance.now();
    S.hoverParts.push([t0 - start, handled - t0]);
    if (S.hoverParts.length > 500) S.hoverParts.shift();
    window.requestAnimationFrame(function () {
      S.hoverLatency.push(window.performance.now() - start);
      if (S.hoverLatency.length > 500) S.hoverLatency.shift();
    });
  }
}

/** Tooltip of an image unit: its patch (drawn from the loaded sheet), name, image and top keys. */
export function imageTooltip(i, t, s, pos) {
  var side = 56, dpr = window.devicePixelRatio || 1;
  var thumb = el('canvas', { class: 'att-tip-thumb', width: Math.round(side * dpr), height: Math.round(side * dpr), 'aria-hidden': 'true' });
  thumb.style.width = thumb.style.height = side + 'px';
  if (S.sheetsReady) {
    var c = thumb.getContext('2d');
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.imageSmoothingEnabled = false;
    drawThumb(c, S.geo, imageOf(s), pos, side / 2, side / 2, side - 3, i < S.N ? QUERY : KEY);
  }
  var start = S.sentences.token_offset[s];
  clear(S.tooltip).appendChild(el('div', { class: 'att-tip-image' }, S.sheetsReady ? thumb : null, el('div', null,
    el('div', null, el('span', { class: 'tok' }, S.tokens.text[t]), ' ',
      el('span', { class: i < S.N ? 'att-kind-q' : 'att-kind-k' }, i < S.N ? 'query' : 'key')),
    el('div', { class: 'att-snip' }, 'image ' + s + ': ' + S.sentences.text[s]),
    el('div', { class: 'muted' }, i < S.N ? topKeys(t, LINES).map(function (k) {
      return '→ ' + S.tokens.text[start + k.pos] + ' ' + k.w.toFixed(2);
    }).join('   ') || 'no key with weight ≥ 0.05' : 'norm ' + fmt(S.norms[S.head.g * S.P + i])))));
}

export function clickPoint(i) {
  var t = i < S.N ? i : i - S.N;
  var s = S.tokens.sentence[t];
  // image sites: a key point shows which queries attend to that key
  hooks.apply(setQuery({ s: s, t: S.tokens.position[t], key: S.geo && i >= S.N ? 1 : null }, true), 'click_point');
}

export function showLasso(pts) {
  var box = clear(byId('att-lasso'));
  if (!pts.length) {
    box.appendChild(el('p', { class: 'muted' }, 'Shift+drag on the plot to lasso points; the tokens are listed here.'));
    return;
  }
  var q = 0, counts = new Map();
  pts.forEach(function (i) {
    if (i < S.N) q++;
    var t = i < S.N ? i : i - S.N;
    // image sites: "patch r,c" says little across images, so the list counts the images
    var key = S.geo ? (S.tokens.row && S.tokens.row[t] < 0 ? S.tokens.text[t] : 'image ' + S.tokens.sentence[t] + ': ' + S.sentences.text[S.tokens.sentence[t]]) : S.tokens.text[t];
    counts.set(key, (counts.get(key) || 0) + 1);
  });
  var top = Array.from(counts.entries()).sort(function (a, b) { return b[1] - a[1]; });
  box.appendChild(el('p', null, pts.length + ' points selected: ' + q + ' queries, ' + (pts.length - q) + ' keys, ' + counts.size +
    (S.geo ? ' images / prefix tokens.' : ' distinct tokens.')));
  box.appendChild(el('ol', null, top.slice(0, 60).map(function (e) {
    return el('li', null, el('span', { class: 'tok' }, e[0]), ' × ' + e[1]);
  })));
  if (top.length > 60) box.appendChild(el('p', { class: 'muted' }, '… and ' + (top.length - 60) + ' more tokens'));
}

export function showCount() {
  var c = byId('att-count');
  if (!S.view.q) { c.textContent = ''; return; }
  c.textContent = S.match.count ? S.match.count + ' tokens' + (S.match.exact ? '' : ' containing "' + S.view.q + '"') +
    ' ringed (' + 2 * S.match.count + ' points: queries and keys)' : 'no token matches "' + S.view.q + '"';
}

