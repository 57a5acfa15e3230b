/*
 * The shared core of every view that shows images (image models only).
 *
 * Data (manifest["image"], written by the generator's image bundle):
 *   size [H, W] of the processed image (what the model saw), patch_size, grid [rows, cols],
 *   n_prefix_tokens (CLS, DeiT's [DIST], DINOv2 registers: units 0..n_prefix-1 of every image,
 *   then the patches row-major), n_images, sheets {files, per_sheet, columns, tile [H, W]}:
 *   image i is tile (i % per_sheet) of sheet (i / per_sheet | 0), tiles row-major, `columns`
 *   per row, in JPEG sprite sheets that load through their .js twins like any data file (so
 *   file:// works: the bytes become a blob: URL, never a cross-origin request).
 *   Unit columns of tokens.parquet: row, col (-1 for prefix tokens), x0, y0, x1, y1 (pixel box),
 *   hue, saturation, brightness, frequency, colour_r/g/b.
 * Image names come from the user's file names: they reach the DOM only through textContent.
 */
import { el, loadBytes, siteKind } from './data.js';

const sheetCache = new Map(); // sheet index -> Promise<HTMLImageElement>

/** True when the site was built from an image model. */
export function isImageSite(manifest) {
  return siteKind(manifest) === 'image';
}

function loadSheet(geo, k) {
  if (!sheetCache.has(k)) {
    sheetCache.set(k, loadBytes(geo.sheets.files[k]).then((buf) => new Promise((resolve, reject) => {
      const img = new window.Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error('TFVIS: cannot decode image sheet ' + geo.sheets.files[k]));
      img.src = window.URL.createObjectURL(new window.Blob([buf], { type: 'image/jpeg' }));
    })));
  }
  return sheetCache.get(k);
}

/** Where image i sits: {sheet, x, y} (top-left pixel of its tile in the sheet). */
export function tileOf(geo, i) {
  const per = geo.sheets.per_sheet, cols = geo.sheets.columns, j = i % per;
  return { sheet: Math.floor(i / per), x: (j % cols) * geo.sheets.tile[1], y: Math.floor(j / cols) * geo.sheets.tile[0] };
}

const plainCache = new Map(); // image index -> Promise<{img, x, y}>

/**
 * Promise of image i as a drawing source {img, x, y}: its pixels at (x, y) of img, here a 1x
 * canvas of the image alone (cached). Scaling a tile straight out of the sprite sheet with
 * smoothing on lets the filter read the neighbouring tile: a coloured seam along the edges.
 */
export function source(geo, i) {
  if (!plainCache.has(i)) {
    const t = tileOf(geo, i);
    plainCache.set(i, loadSheet(geo, t.sheet).then((sheet) => {
      const c = document.createElement('canvas');
      c.width = geo.size[1];
      c.height = geo.size[0];
      c.getContext('2d').drawImage(sheet, t.x, t.y, c.width, c.height, 0, 0, c.width, c.height);
      return { img: c, x: 0, y: 0 };
    }));
  }
  return plainCache.get(i);
}

/** Every sheet decoded (for synchronous drawing of many thumbnails with drawRegion). */
let loadedSheets = [];
export function loadAll(geo) {
  return Promise.all(geo.sheets.files.map((_, k) => loadSheet(geo, k))).then((imgs) => {
    loadedSheets = imgs;
    return imgs;
  });
}

/** Draw the region [sx, sy, sw, sh] (pixels of the processed image) of image i into ctx at
 * [dx, dy, dw, dh]; needs loadAll first. Returns false when the sheet is not loaded. */
export function drawRegion(ctx, geo, i, sx, sy, sw, sh, dx, dy, dw, dh) {
  const t = tileOf(geo, i), img = loadedSheets[t.sheet];
  if (!img) return false;
  ctx.drawImage(img, t.x + sx, t.y + sy, sw, sh, dx, dy, dw, dh);
  return true;
}

/** Pixel box [x0, y0, x1, y1] of unit `position` of an image (prefix tokens: the whole image). */
export function unitBox(geo, position) {
  const p = position - geo.n_prefix_tokens, s = geo.patch_size;
  if (p < 0) return [0, 0, geo.size[1], geo.size[0]];
  const r = Math.floor(p / geo.grid[1]), c = p % geo.grid[1];
  return [c * s, r * s, (c + 1) * s, (r + 1) * s];
}

/** Grid cell {row, col} of a unit, or null for a prefix token. */
export function unitCell(geo, position) {
  const p = position - geo.n_prefix_tokens;
  if (p < 0) return null;
  return { row: Math.floor(p / geo.grid[1]), col: p % geo.grid[1] };
}

/** Unit position of the patch under processed-image pixel (x, y). */
export function unitAt(geo, x, y) {
  const s = geo.patch_size;
  const c = Math.max(0, Math.min(geo.grid[1] - 1, Math.floor(x / s)));
  const r = Math.max(0, Math.min(geo.grid[0] - 1, Math.floor(y / s)));
  return geo.n_prefix_tokens + r * geo.grid[1] + c;
}

/** Name of a unit: "[CLS]", "[REG1]", or "patch r,c". */
export function unitName(geo, position, prefixNames) {
  const cell = unitCell(geo, position);
  if (!cell) return (prefixNames && prefixNames[position]) || (position === 0 ? '[CLS]' : '[REG' + position + ']');
  return 'patch ' + cell.row + ',' + cell.col;
}

/** A canvas of CSS size w x h drawn at the device's pixel ratio: {canvas, ctx, dpr}. */
function sharpCanvas(cls, w, h) {
  const dpr = window.devicePixelRatio || 1;
  const canvas = el('canvas', { class: cls, width: Math.round(w * dpr), height: Math.round(h * dpr) });
  canvas.style.width = w + 'px';
  canvas.style.height = h + 'px';
  return { canvas, ctx: canvas.getContext('2d'), dpr };
}

/** A canvas showing image i at `scale` x its processed size (device-pixel sharp). */
export function imageCanvas(geo, i, scale) {
  const h = geo.size[0], w = geo.size[1];
  const { canvas, ctx, dpr } = sharpCanvas('tfvis-image', w * scale, h * scale);
  canvas.dataset.image = String(i);
  ctx.setTransform(scale * dpr, 0, 0, scale * dpr, 0, 0);
  return { canvas, ctx, scale, ready: source(geo, i).then((src) => {
    ctx.drawImage(src.img, src.x, src.y, w, h, 0, 0, w, h);
    return canvas;
  }) };
}

/** A canvas with the crop of image i around unit `position` (the patch plus `margin` patches
 * on every side, clamped to the image), the patch outlined. Returns {canvas, ready}. */
export function cropCanvas(geo, i, position, margin, size, colour) {
  const box = unitBox(geo, position), s = geo.patch_size, h = geo.size[0], w = geo.size[1];
  const side = Math.min(Math.min(h, w), (2 * margin + 1) * s);
  const cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
  const x0 = Math.max(0, Math.min(w - side, Math.round(cx - side / 2)));
  const y0 = Math.max(0, Math.min(h - side, Math.round(cy - side / 2)));
  const k = size / side;
  const { canvas, ctx, dpr } = sharpCanvas('tfvis-crop', size, size);
  const ready = source(geo, i).then((src) => {
    ctx.setTransform(k * dpr, 0, 0, k * dpr, 0, 0);
    ctx.drawImage(src.img, src.x + x0, src.y + y0, side, side, 0, 0, side, side);
    outline(ctx, box[0] - x0, box[1] - y0, box[2] - box[0], box[3] - box[1], colour || '#ffd400', 2 / k);
    return canvas;
  });
  return { canvas, ready };
}

/** Outline a rectangle with a dark halo so it shows on light and dark images alike. */
export function outline(ctx, x, y, w, h, colour, width) {
  ctx.save();
  ctx.lineWidth = width * 2;
  ctx.strokeStyle = 'rgba(0,0,0,0.6)';
  ctx.strokeRect(x, y, w, h);
  ctx.lineWidth = width;
  ctx.strokeStyle = colour;
  ctx.strokeRect(x, y, w, h);
  ctx.restore();
}

/** Paint a per-patch heat map over an image drawn at the context's current transform.
 * values: array of length rows*cols (row-major), vmax: value of full intensity; rgb: colour. */
export function heatmap(ctx, geo, values, vmax, rgb, maxAlpha) {
  const s = geo.patch_size, cols = geo.grid[1], a = maxAlpha === undefined ? 0.75 : maxAlpha;
  ctx.save();
  for (let p = 0; p < values.length; p++) {
    const v = vmax > 0 ? Math.max(0, Math.min(1, values[p] / vmax)) : 0;
    if (v <= 0) continue;
    ctx.fillStyle = 'rgba(' + rgb[0] + ',' + rgb[1] + ',' + rgb[2] + ',' + (a * v).toFixed(3) + ')';
    ctx.fillRect((p % cols) * s, Math.floor(p / cols) * s, s, s);
  }
  ctx.restore();
}
