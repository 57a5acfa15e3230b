/*
 * The image browser's state (images.html, image models only): one object, I, that its modules
 * share: the page's elements, the loaded data, the matches of the search and the open image.
 */
import { byIds } from '../core/data.js';

export const I = {
  list: null, view: null, canvas: null, detail: null, status: null, input: null,
  siteManifest: null, geo: null, sentences: null, units: null,
  matches: [], // image indices matching the search
  inAttention: new Map(), // image index -> row of attention/sentences.parquet (attention-head.html?s=)
  nAttention: 0,
  factorsBuilt: false,
  current: null, // {i, p (selected unit or null), hover (unit or null), scale}
  overlay: '', // '', 'colour' or a unit column: the patch mosaic drawn instead of the picture
};

/** Find the page's elements (the page bundle runs at the end of <body>). */
export function initState() {
  byIds(I, {
    list: 'images',
    view: 'image-view',
    canvas: 'image-large',
    detail: 'patch-detail',
    status: 'status',
    input: 'q',
  });
}
