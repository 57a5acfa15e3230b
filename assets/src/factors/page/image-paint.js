/* Drawing an image context of the factor page (image sites): the image around a unit (or whole),
 * the unit outlined, with the factor's activation map or LIME weights painted over it. */
import { el } from '../../core/data.js';
import { heatmap, outline, source, unitBox, unitName } from '../../core/images.js';
import { fmt } from '../common.js';
import { page } from './context.js';

const MARGIN = 3; // patches on every side of the unit in a crop

/** Paint an activation map over an image drawn in image pixel coordinates. */
export function paintActivation(ctx, map, vmax) {
  const geo = page.geo;
  const P = geo.n_prefix_tokens, n = geo.grid[0] * geo.grid[1], s = geo.patch_size, cols = geo.grid[1];
  // spotlight: patches where the factor is silent are dimmed, active ones tinted orange
  ctx.save();
  for (let p = 0; p < n; p++) {
    const v = vmax > 0 ? Math.max(0, Math.min(1, map.values[P + p] / vmax)) : 0;
    if (v >= 1) continue;
    ctx.fillStyle = 'rgba(10,12,30,' + (0.62 * (1 - v)).toFixed(3) + ')';
    ctx.fillRect((p % cols) * s, Math.floor(p / cols) * s, s, s);
  }
  ctx.restore();
  heatmap(ctx, geo, map.values.subarray(P), vmax, [255, 140, 0], 0.45);
}

/** Paint LIME weights (red raises, green lowers the activation) over an image. */
export function paintLime(ctx, lime) {
  const geo = page.geo;
  const P = geo.n_prefix_tokens, n = geo.grid[0] * geo.grid[1];
  const pos = new Float32Array(n), neg = new Float32Array(n);
  let wmax = 0;
  for (let k = 0; k < lime.tokens.length; k++) {
    const u = lime.tokens[k] - P, w = lime.weights[k];
    if (u < 0 || u >= n) continue;
    if (w > 0) pos[u] = w; else neg[u] = -w;
    wmax = Math.max(wmax, Math.abs(w));
  }
  heatmap(ctx, geo, pos, wmax, [220, 38, 38], 0.7);
  heatmap(ctx, geo, neg, wmax, [22, 163, 74], 0.7);
}

/** The painter of an overlay ('act' with an activation map, 'lime' with LIME weights), or null. */
export function painter(mode, map, lime, vmax) {
  if (mode === 'act' && map) return (ctx) => paintActivation(ctx, map, vmax);
  if (mode === 'lime' && lime) return (ctx) => paintLime(ctx, lime);
  return null;
}

/** A canvas with image img around unit pos (full: the whole image), `size` px on its long side,
 * the unit outlined, and paint(ctx) called in image pixel coordinates before the outline. */
export function unitView(img, pos, full, size, paint, colour) {
  const geo = page.geo;
  const s = geo.patch_size, H = geo.size[0], W = geo.size[1];
  const prefix = pos < geo.n_prefix_tokens;
  const box = unitBox(geo, pos);
  let x0 = 0, y0 = 0, sw = W, sh = H;
  if (!full && !prefix) {
    const side = Math.min(Math.min(H, W), (2 * MARGIN + 1) * s);
    const cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
    x0 = Math.max(0, Math.min(W - side, Math.round(cx - side / 2)));
    y0 = Math.max(0, Math.min(H - side, Math.round(cy - side / 2)));
    sw = sh = side;
  }
  const k = size / Math.max(sw, sh), dpr = window.devicePixelRatio || 1;
  const canvas = el('canvas', { class: 'tfvis-crop', width: Math.round(sw * k * dpr), height: Math.round(sh * k * dpr) });
  canvas.style.width = Math.round(sw * k) + 'px';
  canvas.style.height = Math.round(sh * k) + 'px';
  const ctx = canvas.getContext('2d');
  const ready = source(geo, img).then((src) => {
    ctx.setTransform(k * dpr, 0, 0, k * dpr, -x0 * k * dpr, -y0 * k * dpr);
    ctx.drawImage(src.img, src.x + x0, src.y + y0, sw, sh, x0, y0, sw, sh);
    if (paint) paint(ctx);
    const lw = Math.min(3, Math.max(1, size / 56)) / k;
    if (!prefix) outline(ctx, box[0], box[1], box[2] - box[0], box[3] - box[1], colour || '#ffd400', lw);
    else if (size >= 48) prefixLabel(ctx, dpr, unitName(geo, pos));
    canvas.dataset.drawn = '1';
    return canvas;
  });
  return { canvas, ready };
}

/** A prefix token has no pixels: its tile is the whole image, labelled with the token's name. */
function prefixLabel(ctx, dpr, text) {
  ctx.save();
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.font = 'bold 11px sans-serif';
  const w = ctx.measureText(text).width + 8;
  ctx.fillStyle = 'rgba(0,0,0,0.7)';
  ctx.fillRect(3, 3, w, 16);
  ctx.fillStyle = '#ffd400';
  ctx.fillText(text, 7, 15);
  ctx.restore();
}

/** An image's name (from the user's file name: text only). */
export const imageName = (sid) => (page.sentences.text ? String(page.sentences.text[sid]) : 'image ' + sid);

/** The legend of the activation overlay; n: how many images have a map. */
export function activationLegend(vmax, n) {
  return el('div', { class: 'act-legend small' },
    el('span', null, 'Activation of this factor on every patch: '),
    el('span', { class: 'act-scale', 'aria-hidden': 'true' }),
    el('span', null, ' 0 (dimmed) → ' + fmt(vmax) + ' (bright, orange; the top activation at this layer)'),
    n !== undefined ? el('span', { class: 'muted' }, ' · maps for the first ' + n + ' distinct images of the top contexts') : null);
}
