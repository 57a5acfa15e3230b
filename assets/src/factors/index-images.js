/* The factor index on image sites: thumbnails of each factor's top contexts (index columns
 * thumb_image_j / thumb_pos_j: the best patch in each of its first distinct top images at the
 * peak layer, cut from the sprite sheets) and "which factors fire on an image?"
 * (factors/by-image.parquet; URL state ?img=). Image names are user file names: text only. */
import { byId as $, clear, el, loadColumns, query, setQuery } from '../core/data.js';
import { drawRegion, outline, unitBox, unitName } from '../core/images.js';
import { factorSparkline, fmt, levelBadge, ranges } from './common.js';
import { countBar, resultsTable } from './results.js';

const THUMB = 48, THUMB_MARGIN = 2;
let byImageP = null, namesP = null, pickerDone = false, imageSeq = 0;

function imageNames() {
  if (!namesP) namesP = loadColumns('sentences.parquet', ['text']).then((c) => c.text);
  return namesP;
}

/** factors/by-image.parquet with .ranges: image -> [begin, end) (rows are sorted by image). */
function byImage(fs) {
  if (!byImageP) {
    byImageP = loadColumns(fs.search.by_image.file).then((c) => {
      c.ranges = ranges(c.image);
      return c;
    });
    byImageP.catch(() => { byImageP = null; });
  }
  return byImageP;
}

/** An empty THUMB x THUMB canvas (device-pixel sharp). */
function thumbCanvas(attrs) {
  const dpr = window.devicePixelRatio || 1;
  const c = el('canvas', Object.assign({ width: Math.round(THUMB * dpr), height: Math.round(THUMB * dpr) }, attrs));
  c.style.width = THUMB + 'px';
  c.style.height = THUMB + 'px';
  return c;
}

function buildPicker(ix, selected, show) {
  const box = $('image-picker');
  if (pickerDone) {
    box.querySelectorAll('button.pick').forEach((b) => b.setAttribute('aria-pressed', String(Number(b.dataset.image) === selected)));
    return;
  }
  pickerDone = true;
  const geo = ix.geo;
  Promise.all([imageNames(), ix.sheetsP]).then(([names]) => {
    const frag = document.createDocumentFragment();
    for (let i = 0; i < geo.n_images; i++) {
      const c = thumbCanvas();
      const ctx = c.getContext('2d');
      const dpr = window.devicePixelRatio || 1;
      ctx.setTransform(THUMB / geo.size[1] * dpr, 0, 0, THUMB / geo.size[0] * dpr, 0, 0);
      drawRegion(ctx, geo, i, 0, 0, geo.size[1], geo.size[0], 0, 0, geo.size[1], geo.size[0]);
      frag.appendChild(el('button', {
        type: 'button', class: 'pick', title: String(names[i]), 'aria-label': 'Image ' + i + ': ' + names[i],
        'aria-pressed': String(i === Number(query().img)), dataset: { image: i },
        onclick: () => show(setQuery({ img: String(i) === query().img ? null : i }, true)),
      }, c));
    }
    box.appendChild(frag);
  }).catch((err) => {
    $('image-count').textContent = 'Images unavailable: ' + err.message;
  });
}

export function renderImageSearch(ix, img, show) {
  buildPicker(ix, img, show);
  const { geo, index, fs } = ix;
  const box = $('image-results');
  const count = $('image-count');
  const seq = ++imageSeq;
  if (img === null || !(img >= 0 && img < geo.n_images)) {
    clear(box);
    count.textContent = 'No image picked.';
    return;
  }
  count.textContent = 'Looking up…';
  Promise.all([byImage(fs), imageNames(), ix.sheetsP]).then(([c, names]) => {
    if (seq !== imageSeq) return;
    clear(box);
    const range = c.ranges.get(img);
    const n = range ? range[1] - range[0] : 0;
    count.textContent = n + ' factor' + (n === 1 ? '' : 's') + ' fire on “' + names[img] + '” among their top contexts';
    if (!n) return;
    const best = c.count[range[0]] || 1;
    resultsTable(box, [['Factor', 'num'], ['Level'], ['Top contexts in this image'], ['Strongest patch'], ['at layer', 'num'], ['IS by layer'], ['Its top images']], range, (i) => {
      const f = c.factor[i], k = c.count[i];
      const canvas = thumbCanvas();
      drawThumb(geo, canvas, img, c.position[i]);
      return el('tr', null,
        el('td', { class: 'num' }, el('a', { href: 'factor.html?f=' + f + '&l=' + c.layer[i] }, String(f))),
        el('td', null, levelBadge(index.level[f])),
        el('td', { class: 'nowrap' }, countBar(k, best), k + ' of ' + fs.top_k),
        el('td', null, el('span', { class: 'thumbs' }, canvas, el('span', { class: 'muted small' }, unitName(geo, c.position[i]) + ' · ' + fmt(c.value[i])))),
        el('td', { class: 'num' }, String(c.layer[i])),
        el('td', null, factorSparkline(index, f)),
        el('td', { class: 'tokens-cell' }, index.top_tokens[f]));
    });
  }).catch((err) => {
    count.textContent = 'Lookup unavailable: ' + err.message;
  });
}

/** Up to 8 tiny crops (the top patch outlined) of a factor's top images, then their names. */
export function thumbsCell(ix, f, onError) {
  const { index, geo } = ix;
  const row = el('span', { class: 'thumbs' });
  const canvases = [];
  for (let j = 0; j < 8; j++) {
    const imgCol = index['thumb_image_' + j];
    if (!imgCol) break;
    const img = imgCol[f], pos = index['thumb_pos_' + j][f];
    if (img < 0) continue;
    const c = thumbCanvas({ dataset: { image: img, pos } });
    canvases.push(c);
    row.appendChild(c);
  }
  ix.sheetsP.then(() => {
    canvases.forEach((c) => drawThumb(geo, c, Number(c.dataset.image), Number(c.dataset.pos)));
  }).catch(onError);
  return el('td', { class: 'thumbs-cell', title: 'Top images at the peak layer: ' + index.top_tokens[f] },
    row, el('span', { class: 'thumb-names' }, index.top_tokens[f]));
}

function drawThumb(geo, canvas, img, pos) {
  const s = geo.patch_size, H = geo.size[0], W = geo.size[1];
  const box = unitBox(geo, pos), prefix = pos < geo.n_prefix_tokens;
  const side = prefix ? Math.min(H, W) : Math.min(Math.min(H, W), (2 * THUMB_MARGIN + 1) * s);
  const cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
  const x0 = prefix ? (W - side) / 2 : Math.max(0, Math.min(W - side, Math.round(cx - side / 2)));
  const y0 = prefix ? (H - side) / 2 : Math.max(0, Math.min(H - side, Math.round(cy - side / 2)));
  const dpr = window.devicePixelRatio || 1, k = THUMB / side;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(k * dpr, 0, 0, k * dpr, 0, 0);
  if (!drawRegion(ctx, geo, img, x0, y0, side, side, 0, 0, side, side)) return;
  if (!prefix) outline(ctx, box[0] - x0, box[1] - y0, box[2] - box[0], box[3] - box[1], '#ffd400', 1.5 / k);
  else {
    // a prefix token ([CLS], registers) has no pixels: the whole image, labelled
    const name = unitName(geo, pos);
    canvas.title = name + ' of the whole image';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = 'bold 9px sans-serif';
    ctx.fillStyle = 'rgba(0,0,0,0.7)';
    ctx.fillRect(1, 1, ctx.measureText(name).width + 4, 11);
    ctx.fillStyle = '#ffd400';
    ctx.fillText(name, 3, 10);
  }
  canvas.dataset.drawn = '1';
}
