/*
 * The single-head view: bring the page to a view state (apply), the head navigation (buttons,
 * selects, arrow keys), resizing.
 * URL state: ?l=&h=&proj=&dim=&color=&size=1&q=<search>&s=<sample sentence>&t=<position>&hide=cls,sep,first
 * &vnorm=1 (weight by value norm: sentence / image view and the plot's lines)
 * (image sites: &key=1 = t selected as a key, &heat=0 / &arrows=0 = heat map / arrows off)
 * Causal models (decoders): every view reads a query's weights over its visible keys only.
 */
import { byId, setQuery } from '../../core/data.js';
import { fail, hasWebGL, mark } from '../site.js';
import { loadPoints } from '../data.js';
import { legend, matchTokens, showControls, sizeLegend } from '../controls.js';
import { tokenFactors } from '../../lib/token-factors.js';
import { buildHead, colourKey, loadLayer, readState, sentencePoints } from './data.js';
import { commonFactor, factorSizeLegend, showFactorControl } from './factor-colour.js';
import { drawOverlay, invalidate, scheduleOverlay } from './overlay.js';
import { draw2, draw3, noWebGL } from './plot.js';
import { HIDE, showAggregate, showHeader, showImage, showSentence } from './panels.js';
import { showCircuits } from './circuits.js';
import { showCount } from './pointer.js';
import { stageSize } from './screen.js';
import { S, hooks } from './state.js';

// ------------------------------------------------------------------ apply a state

/** Bring the page to state q. timing: the name its time is recorded under (else one from what changed). */
export function apply(q, timing) {
  var t0 = window.performance.now();
  var next = readState(q);
  var prev = S.view;
  S.view = next;
  showControls(S.sec, next);
  // the live probe (attention/live.js) follows the head shown
  document.dispatchEvent(new CustomEvent('tfvis:head', { detail: { l: next.l, h: next.h, hide: next.hide } }));
  if (!timing) {
    if (!prev || prev.g !== next.g) timing = 'switch_head';
    else if (prev.entry.name !== next.entry.name) timing = 'switch_projection';
    else if (colourKey(prev) !== colourKey(next)) timing = 'switch_color';
    else timing = 'apply';
  }
  S.queue = S.queue.then(function () {
    return Promise.all([
      S.points[next.entry.name] ? S.points[next.entry.name] : loadPoints(next.entry).then(function (d) { S.points[next.entry.name] = d; return d; }),
      loadLayer(next.l),
      next.color === 'factor' ? tokenFactors() : null,
    ]);
  }).then(function (r) {
    if (S.view !== next) return null;
    var layerData = r[1];
    next.layerData = layerData;
    if (r[2]) {
      S.tf = r[2];
      if (next.cf === null) next.cf = commonFactor(S.tf, S.tokens, S.N, next.l);
    }
    showFactorControl(next);
    showHeader(next);
    buildHead(next);
    S.match = matchTokens(S.tokens, next.q);
    showCount();
    legend(byId('att-legend'), S.head.legend);
    if (next.color === 'factor') factorSizeLegend(byId('att-size-legend'));
    else sizeLegend(byId('att-size-legend'), next.size);
    S.sentencePts = next.s === null ? null : sentencePoints(next.s);
    var shown = S.geo ? showImage() : showSentence();
    showAggregate();
    return Promise.all([!hasWebGL() ? noWebGL() : next.dim === 3 ? draw3(next) : draw2(next), shown]);
  }).then(function () {
    return new Promise(function (resolve) { window.requestAnimationFrame(function () { resolve(); }); });
  }).then(function () {
    if (S.view !== next) return;
    invalidate();
    drawOverlay();
    mark(timing, timing === 'head_drawn' ? 0 : t0);
    showCircuits(next); // after the plot: its tables load on first use, never before the points
    S.status.textContent = S.P.toLocaleString() + ' points: ' + S.N.toLocaleString() + ' queries and ' + S.N.toLocaleString() +
      ' keys of ' + S.sec.n_sentences + (S.geo ? ' images (' : ' sentences (') + byId('att-proj').selectedOptions[0].textContent + ' ' + next.dim + 'D).';
    document.body.dataset.attReady = String(Number(document.body.dataset.attReady || 0) + 1);
  }).catch(function (err) { fail(S.status, err); });
  return S.queue;
}

// ------------------------------------------------------------------ navigation

export function goHead(g) {
  g = Math.max(0, Math.min(S.G - 1, g));
  apply(setQuery({ l: Math.floor(g / S.H), h: g % S.H, s: S.view.s, t: S.view.t }, true));
}

/** Start-up: hand apply to the modules below (hooks, state.js), wire the navigation. */
export function wire() {
  hooks.apply = apply;
  byId('att-prev-head').addEventListener('click', function () { goHead(S.view.g - 1); });
  byId('att-next-head').addEventListener('click', function () { goHead(S.view.g + 1); });
  byId('att-prev-layer').addEventListener('click', function () { goHead(S.view.g - S.H); });
  byId('att-next-layer').addEventListener('click', function () { goHead(S.view.g + S.H); });
  byId('att-layer').addEventListener('change', function (e) { goHead(Number(e.target.value) * S.H + S.view.h); });
  byId('att-head').addEventListener('change', function (e) { goHead(S.view.l * S.H + Number(e.target.value)); });
  var setS = function (s) {
    s = Math.max(0, Math.min(S.sec.n_sentences - 1, s));
    apply(setQuery({ s: s, t: null, key: null }, true));
  };
  byId('att-prev-s').addEventListener('click', function () { setS((S.view.s || 0) - 1); });
  byId('att-next-s').addEventListener('click', function () { setS((S.view.s || 0) + 1); });
  byId('att-s').addEventListener('change', function (e) { setS(Number(e.target.value)); });
  if (S.geo) {
    ['heat', 'arrows'].forEach(function (k) {
      byId('att-' + k).addEventListener('change', function (e) {
        var patch = {};
        patch[k] = e.target.checked ? null : '0';
        apply(setQuery(patch, true));
      });
    });
  }
  // decoders have no [CLS] toggle (their first token is BOS or the first word): only the boxes on the page
  if (!S.geo) HIDE.forEach(function (k) {
    if (!byId('att-hide-' + k)) return;
    byId('att-hide-' + k).addEventListener('change', function () {
      var on = HIDE.filter(function (x) { return byId('att-hide-' + x) && byId('att-hide-' + x).checked; });
      apply(setQuery({ hide: on.length ? on.join(',') : null }, true));
    });
  });
  byId('att-vnorm').addEventListener('change', function (e) { apply(setQuery({ vnorm: e.target.checked ? 1 : null }, true)); });
  document.addEventListener('keydown', function (e) {
    var tag = (e.target && e.target.tagName) || '';
    if (/^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(tag) || e.target.isContentEditable || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      if (e.target.closest && e.target.closest('.att-sentence, .att-image')) return;
      e.preventDefault();
      var d = e.key === 'ArrowLeft' ? -1 : 1;
      goHead(S.view.g + d * (e.shiftKey ? S.H : 1));
    }
  });
}

var resizeTimer = null;
export function onResize() {
  window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(function () {
    var s = stageSize();
    if (S.scatter) S.scatter.set({ width: s.w, height: s.h });
    if (S.three) S.three.setSize(s.w, s.h);
    scheduleOverlay();
  }, 60);
}

