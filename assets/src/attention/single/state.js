/*
 * The single-head view's state (attention-head.html): one object, S, that the head page's
 * modules share: the page's elements, the loaded data, the current view state and head, what
 * the pointer is on. The constants of the plot's drawing are here too.
 */
import { byIds } from '../../core/data.js';

/** Lines: a query's LINES strongest keys of weight >= LINE_MIN. */
export var LINE_MIN = 0.05, LINES = 2;
/** Labels when at most LABEL_MAX_POINTS points are in view, at most LABEL_LIMIT of them; hover radius (px). */
export var LABEL_MAX_POINTS = 1500, LABEL_LIMIT = 160, HOVER_RADIUS = 7;
/** Image sites: with at most THUMB_MAX_POINTS points in view, each is drawn as its patch. */
export var THUMB_MAX_POINTS = 400, THUMB_SIDE = 30;

export const S = {
  status: null, stage: null, canvas: null, overlay: null, tooltip: null,
  geo: null, // the image geometry on image sites, else null
  sheetsReady: false, // image sites: the sprite sheets are decoded (thumbnails can be drawn)
  sec: null, tokens: null, sentences: null, norms: null, vnorms: null, linker: null,
  factorColour: null, // {n_factors} when the plot can be coloured by a factor (text sites with token factors), else null
  tf: null, // tokenFactors() once loaded (the factor colour mode)
  N: 0, P: 0, H: 0, K: 0, G: 0,
  points: {}, // projection name -> Float32Array (all heads)
  layers: {}, // layer -> promise of layer data
  aggregate: null,
  view: null, // current state
  scatter: null, three: null, canvas3: null,
  head: null, // {g, l, h, coords (P*dim), dim, cat, palette, sizes}
  match: { flags: new Uint8Array(0), count: 0 },
  hovered: -1,
  lasso: false,
  sentencePts: null, // Set of point indices of the highlighted sentence
  hoverLatency: [], // ms from a mouse move to the frame showing its hover (bench/)
  hoverParts: [], // [mousemove -> our handler, our handler] ms
  lastMove: 0,
  queue: Promise.resolve(), // the chain every state change joins
};

/**
 * Callbacks up the layers: the modules below view.js (pointer.js, panels.js) change the view through
 * hooks.apply(q, timing), which view.js sets at start-up (wire()), before the first drawing; they
 * never import view.js. Import order: state, data, screen, overlay, pointer, plot, panels, view;
 * a module imports only the ones before it.
 */
export const hooks = { apply: null };

/** Find the page's elements (the page bundle runs at the end of <body>). */
export function initState() {
  byIds(S, {
    status: 'att-status',
    stage: 'att-stage',
    canvas: 'att-canvas',
    overlay: 'att-overlay',
    tooltip: 'att-tooltip',
  });
}
