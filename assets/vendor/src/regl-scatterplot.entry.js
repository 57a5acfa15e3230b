// Entry for assets/vendor/regl-scatterplot.min.js (classic IIFE script).
// Exposes window.ReglScatterplot = { createScatterplot, createRenderer, createRegl,
//   createSpatialIndex, createTextureFromUrl, checkSupport }
// and window.createScatterplot (the default export) for convenience.
import createScatterplot, {
  checkSupport,
  createRegl,
  createRenderer,
  createSpatialIndex,
  createTextureFromUrl,
} from 'regl-scatterplot';

export {
  checkSupport,
  createRegl,
  createRenderer,
  createScatterplot,
  createSpatialIndex,
  createTextureFromUrl,
};

if (typeof window !== 'undefined') window.createScatterplot = createScatterplot;
