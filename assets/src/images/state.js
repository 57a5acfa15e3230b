/*
 * The image browser's state (images.html, image models only): one object, I, that its modules
 * share: the page's elements, the loaded data, the matches of the search and the open image.
 */
import { byId } from '../core/data.js';

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
  I.list = byId('images');
  I.view = byId('image-view');
  I.canvas = byId('image-large');
  I.detail = byId('patch-detail');
  I.status = byId('status');
  I.input = byId('q');
}
