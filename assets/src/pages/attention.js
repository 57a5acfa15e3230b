/*
 * attention.html: the matrix view. Every head at once, layers as rows and heads as columns,
 * drawn a row of cells at a time into one 2D canvas on the CPU, the rows in view first (2D,
 * attention/matrix/bands.js), or by one three.js renderer drawing each cell into its own
 * viewport (3D, attention/matrix/view.js).
 *
 * For tests and the benchmark only (no page code reads it): the plot element #att-plot carries
 * `inspect` = {state(), three(), dots(), timings}.
 */
import { byId, onState, query, setQuery } from '../core/data.js';
import { startPage } from '../core/page.js';
import { loadNorms, loadPoints, loadTokens } from '../attention/data.js';
import { showControls, viewState, wireControls } from '../attention/controls.js';
import { normUnit } from '../attention/colours.js';
import { fail, mark, section, site } from '../attention/site.js';
import { onScroll } from '../attention/matrix/bands.js';
import { buildLayout } from '../attention/matrix/layout.js';
import { currentDots } from '../attention/matrix/paint.js';
import { M, initState } from '../attention/matrix/state.js';
import { apply, onResize, wireCells } from '../attention/matrix/view.js';

function start() {
  if (!byId('att-plot')) return null; // a site built without the attention analysis
  initState();
  M.plot.inspect = {
    state: function () { return M.view; },
    three: function () { return M.three; },
    dots: currentDots,
    timings: site.timings,
  };
  // The controls work while the data loads: a choice made then is in the URL, which the first
  // drawing reads.
  wireControls(function (patch, push) {
    var q = setQuery(patch, push);
    if (M.tokens) apply(q);
  });
  return section().then(function (s) {
    M.sec = s;
    M.N = s.n_tokens;
    M.P = s.n_points;
    M.G = s.model.n_layers * s.model.n_heads;
    var v = viewState(s, query());
    showControls(s, v);
    return Promise.all([loadTokens(s), loadNorms(s), loadPoints(v.entry)]).then(function (r) {
      M.tokens = r[0];
      M.norms = r[1];
      M.layout[v.entry.name] = buildLayout(v.entry, r[2]);
      M.normUnit = new Float32Array(M.G * M.P);
      for (var g = 0; g < M.G; g++) normUnit(M.norms.subarray(g * M.P, (g + 1) * M.P), M.normUnit, g * M.P);
      mark('matrix_data');
      onState(apply);
      wireCells();
      new window.ResizeObserver(onResize).observe(M.plot);
      window.addEventListener('scroll', onScroll, { passive: true });
      return apply(query(), 'matrix_drawn');
    });
  }).catch(function (err) { fail(M.status, err); });
}

startPage(start);
