/*
 * The factor page's "Activation quantiles" (as SAE dashboards show them; docs/factor-pages.md):
 * for the layer shown, contexts drawn at random from each band of equal count of the factor's
 * activations (factors/quantiles-NNN.parquet, manifest.factors.quantiles; docs/data-contract.md),
 * strongest band first, each headed by its activation range and its share of the activations (from
 * the histogram: bands are cut at its bins, so a band can hold more than its equal share and the
 * next one none). Contexts are drawn like the top contexts: the text around the token (text sites,
 * with the page's context window) or a crop around the patch (image sites), the activation as a bar
 * on the scale of the strongest top context at this layer.
 */
import { clear, el, loadColumns } from '../../core/data.js';
import { unitName } from '../../core/images.js';
import { chunkFile, chunkOf, fmt, pct, ranges } from '../common.js';
import { $, page } from './context.js';
import { contextRange } from './data.js';
import { imageName, ruleUnits, unitView } from './image-paint.js';
import { attentionLink, contextText, valueBar } from './text-contexts.js';

const CROP = 112; // tile size, px, as the top contexts'
const chunks = new Map(); // chunk -> Promise of {columns, at: Map("f,l" -> [begin, end))}

function quantileChunk(q, chunk) {
  let p = chunks.get(chunk);
  if (!p) {
    p = loadColumns(chunkFile(q.file, chunk)).then((c) => ({ c, at: ranges(c.factor, (i) => c.factor[i] + ',' + c.layer[i]) }));
    chunks.set(chunk, p);
    p.catch(() => chunks.delete(chunk));
  }
  return p;
}

/** Draw the section for factor f at layer l (cd: its chunk's data, for the histogram and the
 * strongest activation). #quantiles[data-ready] = "f,l" once drawn (image tiles included). */
export function renderQuantiles(f, l, cd) {
  const box = $('quantiles');
  if (!box) return;
  delete box.dataset.ready;
  const q = page.fs.quantiles;
  const done = () => { box.dataset.ready = f + ',' + l; };
  if (!q) {
    clear(box).appendChild(el('p', { class: 'muted' }, 'This site was built before activation quantiles: rebuild it with this version of tfvis-site to see contexts of weak and middling activations.'));
    done();
    return;
  }
  const seq = page.seq;
  if (box.dataset.shown !== f + ',' + l) clear(box).appendChild(el('p', { class: 'muted' }, 'Loading the quantile contexts…'));
  quantileChunk(q, chunkOf(page.fs, f)).then(({ c, at }) => {
    if (seq !== page.seq) return null;
    box.dataset.shown = f + ',' + l;
    clear(box).appendChild(el('p', { class: 'muted small' }, 'The activations of this factor at layer ' + l +
      ' cut into ' + q.bands + ' bands of equal count (quantiles; cut at the histogram\'s bins, so a band can hold more than its share), ' +
      q.per_band + ' contexts drawn at random from each, strongest band first: what a weak activation looks like next to the top contexts. ' +
      'Bars are on the scale of the strongest top context at this layer.'));
    const range = at.get(f + ',' + l);
    if (!range) {
      box.appendChild(el('p', { class: 'muted' }, 'This factor is never active at layer ' + l + '.'));
      return [];
    }
    const waits = [];
    bands(c, range).forEach((rows) => box.appendChild(bandBlock(f, l, cd, c, rows, waits)));
    return Promise.all(waits);
  }).then((drawn) => {
    if (drawn && seq === page.seq) done();
  }).catch((err) => {
    clear(box).appendChild(el('p', { class: 'error' }, 'Could not load the quantile contexts: ' + (err && err.message ? err.message : err)));
  });
}

/** Rows [begin, end) grouped by band, strongest band first. */
function bands(c, range) {
  const out = new Map();
  for (let i = range[0]; i < range[1]; i++) {
    if (!out.has(c.band[i])) out.set(c.band[i], []);
    out.get(c.band[i]).push(i);
  }
  return [...out.keys()].sort((a, b) => b - a).map((b) => out.get(b));
}

/** Share of factor f's activations at layer l in [lo, hi] (whole histogram bins), and the
 * histogram's outer edges (the outer bins are open-ended). */
function share(f, l, cd, lo, hi) {
  const edges = page.fs.hist_edges;
  const n = edges.length - 1;
  const off = ((f - chunkOf(page.fs, f) * page.fs.chunk_size) * page.fs.n_layers + l) * n;
  let inBand = 0, total = 0;
  for (let b = 0; b < n; b++) {
    const count = cd.hist[off + b];
    const mid = Math.sqrt(edges[b] * edges[b + 1]); // log bins: the middle strictly inside
    total += count;
    if (mid > lo && mid < hi) inBand += count;
  }
  return { share: total ? inBand / total : 0, first: lo <= edges[0] * (1 + 1e-6), last: hi >= edges[n] * (1 - 1e-6) };
}

function bandBlock(f, l, cd, c, rows, waits) {
  const q = page.fs.quantiles;
  const band = c.band[rows[0]];
  const lo = c.band_lo[rows[0]], hi = c.band_hi[rows[0]];
  const s = share(f, l, cd, lo, hi);
  const where = s.first ? 'below ' + fmt(hi) : s.last ? 'above ' + fmt(lo) : 'between ' + fmt(lo) + ' and ' + fmt(hi);
  const name = 'Band ' + (band + 1) + ' of ' + q.bands + (band === q.bands - 1 ? ' (strongest)' : band === 0 ? ' (weakest)' : '');
  const vmax = contextRange(cd, f, l, 'all').vmax;
  const list = el('ol', { class: page.geo ? 'contexts img-contexts' : 'contexts', 'aria-label': name });
  rows.forEach((i) => list.appendChild(page.geo ? imageItem(c, i, vmax, waits) : textItem(c, i, l, vmax)));
  return el('div', { class: 'q-band', dataset: { band } },
    el('h3', { class: 'q-band-h' }, el('span', { class: 'q-band-name' }, name), ' ',
      el('span', { class: 'q-band-share' }, pct(s.share) + ' of activations ' + where)),
    list);
}

function textItem(c, i, l, vmax) {
  const sid = c.sentence_id[i], pos = c.position[i], value = c.value[i];
  const W = $('window').value === 'all' ? Infinity : parseInt($('window').value, 10);
  return el('li', { class: 'ctx', dataset: { s: sid, t: pos } },
    el('span', { class: 'ctx-rank' }),
    valueBar(value, vmax),
    contextText(sid, pos, W, null, value),
    el('a', { class: 'ctx-link', href: 'tokens.html?s=' + sid + '&t=' + pos, title: 'Text #' + sid + ', token ' + pos + ' in the token browser' }, '#' + sid),
    attentionLink(sid, pos, l));
}

/** A crop around the patch (or the whole image, as the top contexts' "Show" asks), linking to
 * the unit in the image browser: the opened-context view and the overlays belong to the top contexts. */
function imageItem(c, i, vmax, waits) {
  const sid = c.sentence_id[i], pos = c.position[i], value = c.value[i];
  const view = unitView(sid, pos, $('view').value === 'full', CROP, null, null, ruleUnits(sid));
  waits.push(view.ready);
  const unit = unitName(page.geo, pos);
  return el('li', { class: 'ctx-img', dataset: { image: sid, pos } },
    el('a', { class: 'ctx-tile', href: 'images.html?i=' + sid + '&p=' + pos,
      title: unit + ' of ' + imageName(sid) + ' · activation ' + fmt(value) + ' · open in the image browser' }, view.canvas),
    el('div', { class: 'ctx-meta' }, el('span'), valueBar(value, vmax)),
    el('div', { class: 'ctx-name', title: imageName(sid) }, imageName(sid)),
    el('div', { class: 'ctx-unit muted' }, unit));
}
