/*
 * factor.html: one transformer factor. URL state: ?f=<factor>&l=<layer>&w=<context window>&n=<shown>
 * (l defaults to the factor's peak layer). Back/forward restore the view. Image sites add v=full
 * (whole images), o=act|lime (overlay on every tile), r=0 (no outlines where the rule holds),
 * c=<rank> (the context opened in the detail view) and d=lime|none (its overlay). This module loads the data, wires the controls and draws
 * the view of a state with the view modules; the live probe (live/factor.js) follows the factor
 * and layer through the "tfvis:factor" event.
 */
import { loadColumns, onState, query, setQuery } from '../../core/data.js';
import { tokenFactors } from '../../lib/token-factors.js';
import { chunkOf, factorIndex, fail, geometry, randomFactor, section } from '../common.js';
import { explanations } from '../explanations.js';
import { $, page } from './context.js';
import { chunkData } from './data.js';
import { renderCurve } from './curve.js';
import { renderExplanation, ruleUnitsLoaded } from './explanation.js';
import { renderFacts } from './facts.js';
import { renderHeader } from './header.js';
import { renderImageContexts } from './image-contexts.js';
import { renderNeighbors } from './neighbors.js';
import { renderQuantiles } from './quantiles.js';
import { renderContexts } from './text-contexts.js';
import { renderHeads } from './heads.js';
import { renderOutputs } from './outputs.js';

export function start() {
  const status = $('status');
  const manifestP = section();
  const indexP = manifestP.then((m) => factorIndex(m.factors));
  const neighborsP = manifestP.then((m) => loadColumns(m.factors.files.neighbors));
  // units of an image are known from the geometry: only the image names are needed
  const textP = manifestP.then((m) => (geometry(m)
    ? Promise.all([loadColumns('sentences.parquet', ['token_offset', 'n_tokens', 'text']), null])
    : Promise.all([
      loadColumns('sentences.parquet', ['token_offset', 'n_tokens']),
      loadColumns('tokens.parquet', ['text', 'space_before', 'is_special', 'piece']),
    ])));
  // Start loading the requested factor's chunk right away, in parallel with the rest.
  manifestP.then((m) => {
    page.fs = m.factors;
    const f = parseInt(query().f, 10);
    if (f >= 0 && f < m.factors.n_factors) chunkData(chunkOf(m.factors, f));
  }).catch(() => {});

  page.selectLayer = (l) => {
    if (l !== page.current.l) show(setQuery({ f: page.current.f, l, c: null }, true));
  };
  page.change = (obj) => show(setQuery(obj, false));

  function show(state) {
    const seq = ++page.seq;
    const { fs, index } = page;
    const f = state.f === undefined ? 0 : parseInt(state.f, 10);
    if (!(f >= 0 && f < index.n)) {
      status.textContent = 'There is no factor "' + state.f + '": factors are numbered 0–' + (index.n - 1) + '.';
      status.className = 'error';
      return Promise.resolve();
    }
    const peak = index.peak_layer[f];
    let l = state.l === undefined ? peak : parseInt(state.l, 10);
    if (!(l >= 0 && l < fs.n_layers)) l = peak;
    const factorChanged = f !== page.current.f;
    page.current = { f, l };
    document.dispatchEvent(new CustomEvent('tfvis:factor', { detail: { f, l } }));
    syncControls(state);
    renderHeader(f, l);
    renderCurve(f, l);
    if (factorChanged) renderNeighbors(f);
    status.textContent = 'Loading contexts…';
    status.className = 'muted';
    return Promise.all([chunkData(chunkOf(fs, f)), textP, page.geo ? null : tokenFactors(), explanations(fs)]).then(([cd, text, links, ex]) => {
      if (seq !== page.seq) return;
      [page.sentences, page.tokens] = text;
      page.links = links;
      renderExplanation(f, l, ex);
      return Promise.resolve(ruleUnitsLoaded()).then(() => cd);
    }).then((cd) => {
      if (!cd || seq !== page.seq) return;
      renderFacts(f, l, cd);
      if (page.geo) renderImageContexts(f, l, cd, state);
      else renderContexts(f, l, cd);
      renderQuantiles(f, l, cd);
      status.textContent = '';
      document.body.dataset.ready = f + ',' + l;
      // the circuit tables load after the contexts, on the first factor shown
      renderOutputs(f);
      renderHeads(f, l);
    }).catch(fail);
  }

  Promise.all([manifestP, indexP, neighborsP])
    .then(([m, index, neighbors]) => {
      Object.assign(page, { fs: m.factors, geo: geometry(m), index, neighbors });
      wire(show);
      onState(show);
      return show(query());
    })
    .catch(fail);
}

/** The controls show the state's choices (w, v, o, n). */
function syncControls(state) {
  if ($('window')) $('window').value = ['6', '24', 'all'].indexOf(state.w) !== -1 ? state.w : '12';
  if ($('view')) {
    $('view').value = state.v === 'full' ? 'full' : 'crop';
    $('overlay').value = state.o === 'act' || state.o === 'lime' ? state.o : 'none';
    $('rule-marks').checked = state.r !== '0';
  }
  $('shown').value = ['20', '50'].indexOf(state.n) !== -1 ? state.n : 'all';
}

function wire(show) {
  const { index } = page;
  const go = (f) => show(setQuery({ f, l: null, c: null }, true));
  $('prev').addEventListener('click', () => go((page.current.f - 1 + index.n) % index.n));
  $('next').addEventListener('click', () => go((page.current.f + 1) % index.n));
  $('jump').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = parseInt($('fid').value, 10);
    if (f >= 0 && f < index.n) go(f);
  });
  document.querySelectorAll('[data-random]').forEach((b) => {
    b.addEventListener('click', () => {
      const f = randomFactor(index, b.dataset.random, page.current.f);
      if (f !== null) go(f);
    });
  });
  // each select writes its URL key, null for its default
  const selects = [['window', 'w', '12'], ['view', 'v', 'crop'], ['overlay', 'o', 'none'], ['shown', 'n', 'all']];
  selects.forEach(([id, param, byDefault]) => {
    if (!$(id)) return;
    $(id).addEventListener('change', () => page.change({ [param]: $(id).value === byDefault ? null : $(id).value }));
  });
  if ($('rule-marks')) $('rule-marks').addEventListener('change', () => page.change({ r: $('rule-marks').checked ? null : '0' }));
}
