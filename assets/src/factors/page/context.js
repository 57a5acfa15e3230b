/*
 * The state the factor page's modules share (factor.html; docs/factor-pages.md): what was loaded
 * (the factor section of the manifest, the index, ...) and the view shown. Filled by state.js,
 * read by the view modules, which change the view only through page.selectLayer / page.change.
 */
export const page = {
  fs: null, // manifest.factors
  geo: null, // manifest.image on image sites, else null
  index: null, // factors/index.parquet (factorIndex)
  neighbors: null, // factors/neighbors.parquet
  sentences: null, // sentences.parquet (image sites: the image names in .text)
  tokens: null, // tokens.parquet (text sites)
  links: null, // tokenFactors(): which texts the attention pages show (text sites)
  rule: null, // {rule, features, layer}: the explanation whose matches the contexts outline (explanation.js)
  current: { f: null, l: null },
  seq: 0, // render sequence: a view drawn for an older state drops its result
  /** Show layer l of the current factor (a history entry). */
  selectLayer: null,
  /** Merge a change into the URL state (no history entry) and show it. */
  change: null,
};

export { byId as $ } from '../../core/data.js';
