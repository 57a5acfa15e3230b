/*
 * images.html: the image browser (image models only). A grid of every image of the sample
 * (thumbnails from the sprite sheets), search by name, pages of 48 (images/grid.js); an open image
 * is drawn large with its patch grid (images/view.js); pointing at a patch (mouse, or the arrow
 * keys on the focused image) shows its position, pixel box, colour and frequency, with links to
 * its attention view (when the image is in the attention sample) and to the factors
 * (images/detail.js). The patch statistics can replace the picture as a mosaic (mean colour,
 * brightness, saturation, frequency per patch).
 * URL state: ?q=<search>&page=<n>&i=<image>&p=<unit position in the image>&ov=<overlay>.
 *
 * Image names come from the user's file names: they reach the DOM only as text (el() text
 * children, textContent, setAttribute), never as HTML.
 */
import { byId, loadColumns, manifest, onState, query, setQuery } from '../core/data.js';
import { isImageSite } from '../core/images.js';
import { startPage } from '../core/page.js';
import { showDetail } from '../images/detail.js';
import { attentionIndex, show, step, turn } from '../images/grid.js';
import { choose, draw, layout, onKey, onMove, unitAtEvent } from '../images/view.js';
import { I, initState } from '../images/state.js';

var UNIT_COLUMNS = ['piece', 'is_special', 'row', 'col', 'x0', 'y0', 'x1', 'y1', 'hue', 'saturation', 'brightness',
  'frequency', 'colour_r', 'colour_g', 'colour_b'];

function start() {
  if (!byId('images')) return null;
  initState();
  return manifest().then(function (m) {
    I.siteManifest = m;
    if (!isImageSite(m)) throw new Error('this site was not built from an image model');
    I.geo = m.image;
    I.factorsBuilt = Boolean(m.factors && m.factors.n_factors);
    return Promise.all([
      loadColumns('sentences.parquet', ['text', 'n_tokens', 'token_offset']),
      loadColumns('tokens.parquet', UNIT_COLUMNS),
      attentionIndex(m),
    ]);
  }).then(function (r) {
    I.sentences = r[0];
    I.units = r[1];
    I.inAttention = r[2];
    I.status.textContent = '';
    wire();
    show(query());
    onState(show);
  }).catch(function (err) {
    I.status.textContent = 'Could not load the data: ' + err.message;
    I.status.className = 'error';
  });
}

function wire() {
  byId('image-search').addEventListener('submit', function (e) {
    e.preventDefault();
    show(setQuery({ q: I.input.value || null, page: null, i: null, p: null }, true));
  });
  byId('prev').addEventListener('click', function () { turn(-1); });
  byId('next').addEventListener('click', function () { turn(1); });
  byId('img-prev').addEventListener('click', function () { step(-1); });
  byId('img-next').addEventListener('click', function () { step(1); });
  byId('img-close').addEventListener('click', function () {
    var i = I.current ? I.current.i : null;
    show(setQuery({ i: null, p: null }, true));
    var link = i === null ? null : I.list.querySelector('a[data-i="' + i + '"]');
    if (link) link.focus();
  });
  I.canvas.addEventListener('mousemove', onMove);
  I.canvas.addEventListener('mouseleave', function () {
    if (!I.current || I.current.hover === null) return;
    I.current.hover = null;
    draw();
    showDetail(I.current.p);
  });
  I.canvas.addEventListener('click', function (e) {
    var pos = unitAtEvent(e);
    if (pos === null) return;
    choose(pos, true);
  });
  I.canvas.addEventListener('keydown', onKey);
  byId('overlay').addEventListener('change', function () {
    var v = byId('overlay').value;
    setQuery({ ov: v || null }, false);
    I.overlay = v;
    draw();
  });
  var pending = 0;
  window.addEventListener('resize', function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(function () { if (I.current) layout(); }, 100);
  });
}

startPage(start);
