/*
 * The matrix view's state (attention.html): every head at once, layers as rows and heads as
 * columns. One object, M, that the matrix modules share: the page's elements, the loaded data,
 * the current view and what is drawn.
 */

import { byIds } from '../../core/data.js';

export const M = {
  status: null, plot: null, canvas: null, cellsEl: null, matrixEl: null, cellLinks: [],
  ROWS: 0, COLS: 0,
  PAD: 0.74, // share of a cell's width / height the points use (room for the labels)
  SHIFT: 0.02, // vertical shift of the points inside a cell (in cell heights)
  sec: null, tokens: null, N: 0, P: 0, G: 0,
  norms: null, normUnit: null,
  view: null, // current view state
  three: null, canvas3: null,
  layout: {}, // projection name -> {x, y} (2D) or {xyz} (3D)
  colors: null, // {key, palette, legend, cat + categories (token modes) or byB (norm)}
  match: null, // {q, flags, count, exact}: the current search's matches (+ pointFlags, pointHits, order: paint.js)
  hitsShown: null, // projection | search whose counts the cells show
  legends: null, // colour mode | dot size the legends show
  drawing: Promise.resolve(), // the chain every redraw joins
};

/** Find the page's elements (the page bundle runs at the end of <body>). */
export function initState() {
  byIds(M, {
    status: 'att-status',
    plot: 'att-plot',
    canvas: 'att-canvas',
    cellsEl: 'att-cells',
    matrixEl: 'att-matrix',
  });
  M.ROWS = Number(M.matrixEl.dataset.rows);
  M.COLS = Number(M.matrixEl.dataset.cols);
  M.cellLinks = Array.prototype.slice.call(M.cellsEl.querySelectorAll('a.att-cell'));
}
