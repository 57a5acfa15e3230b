/*
 * attention-head.html: one head. The plot of its queries and keys (attention/single/plot.js: 2D
 * regl-scatterplot or 3D three.js; screen.js: where a point is on screen) under a 2D overlay of
 * attention lines, search rings and labels (overlay.js); around it the head's metrics, the sentence view (text sites) or the image view
 * (image sites), the aggregate (panels.js); on text sites with a live probe, the reader's own
 * sentence (attention/live.js). State: attention/single/state.js; the view: single/view.js.
 *
 * For tests and the benchmark only (no page code reads it): the stage element #att-stage carries
 * `inspect` = {state(), scatter(), head(), three(), screenPos(i), pick(x, y), topKeys(t, count), hover(i),
 * hoverLatency, hoverParts, redrawOverlay(), timings, imageHooks, plainImage(i)}.
 */
import { byId, onState, query, setQuery } from '../core/data.js';
import * as IMG from '../core/images.js';
import { startPage } from '../core/page.js';
import { loadAggregate, loadNorms, loadPoints, loadSentences, loadTokens, loadValueNorms, tokenBrowserLinker } from '../attention/data.js';
import { showControls, wireControls } from '../attention/controls.js';
import { imageHooks, imageScale } from '../attention/image-view.js';
import { initLiveAttention } from '../attention/live.js';
import { fail, mark, section, site } from '../attention/site.js';
import { loadLayer, readState, topKeys } from '../attention/single/data.js';
import { drawOverlay, invalidate } from '../attention/single/overlay.js';
import { pick2 } from '../attention/single/plot.js';
import { onHover } from '../attention/single/pointer.js';
import { screenPos } from '../attention/single/screen.js';
import { showAggregate } from '../attention/single/panels.js';
import { HOVER_RADIUS, S, initState } from '../attention/single/state.js';
import { apply, onResize, wire } from '../attention/single/view.js';
import { wireFactorControl } from '../attention/single/factor-colour.js';

function inspect() {
  return {
    state: function () { return S.view; },
    scatter: function () { return S.scatter; },
    /** The drawn head: {g, l, h, cat (colour category of each point), palette, legend, ...}. */
    head: function () { return S.head; },
    three: function () { return S.three; },
    screenPos: screenPos,
    pick: function (x, y) { return pick2(x, y, HOVER_RADIUS); },
    /** The keys the plot's lines go to for query token t (value-weighted when that box is ticked). */
    topKeys: topKeys,
    hover: onHover,
    hoverLatency: S.hoverLatency,
    hoverParts: S.hoverParts,
    /** Place labels / thumbnails again and draw the overlay; returns the time it took (ms). */
    redrawOverlay: function () { var t0 = window.performance.now(); invalidate(); drawOverlay(); return window.performance.now() - t0; },
    timings: site.timings,
    /** imageHooks.weights(sec, sentences, layerData, h, s, vrow): what the image view draws. */
    imageHooks: imageHooks,
    /** Image i alone, at the image view's scale: {canvas, ctx, ready} (image sites). */
    plainImage: function (i) { return IMG.imageCanvas(site.image, i, imageScale(site.image)); },
  };
}

function start() {
  if (!byId('att-stage')) return null; // a site built without the attention analysis
  initState();
  S.stage.inspect = inspect();
  initLiveAttention();
  // The controls work while the data loads: a choice made then is in the URL, which the first
  // drawing reads.
  var change = function (patch, push) {
    var q = setQuery(patch, push);
    if (S.tokens) apply(q);
  };
  wireControls(change);
  wireFactorControl(change);
  return section().then(function (s) {
    S.sec = s;
    S.N = s.n_tokens; S.P = s.n_points; S.H = s.model.n_heads; S.K = s.top_k;
    S.G = s.model.n_layers * S.H;
    S.geo = site.image;
    // the plot can be coloured by a factor where the sample's tokens have their factors (text sites)
    var factors = site.manifest.factors;
    S.factorColour = s.token_factors && factors && !S.geo ? { n_factors: factors.n_factors } : null;
    if (S.geo) {
      IMG.loadAll(S.geo).then(function () { S.sheetsReady = true; invalidate(); drawOverlay(); })
        .catch(function (err) { if (window.console) window.console.warn(err); });
    }
    var q = query();
    var v = readState(q);
    showControls(s, v);
    return Promise.all([loadTokens(s), loadSentences(s), loadNorms(s), loadPoints(v.entry), loadLayer(v.l), loadValueNorms(s)])
      .then(function (r) {
        S.tokens = r[0]; S.sentences = r[1]; S.norms = r[2]; S.points[v.entry.name] = r[3]; S.vnorms = r[5];
        mark('head_data');
        onState(apply);
        wire();
        S.linker = tokenBrowserLinker(S.sentences);
        if (!S.geo) loadAggregate(s).then(function (a) { S.aggregate = a; if (S.view) showAggregate(); });
        new window.ResizeObserver(onResize).observe(S.stage);
        return apply(q, 'head_drawn');
      });
  }).catch(function (err) { fail(S.status, err); });
}

startPage(start);
