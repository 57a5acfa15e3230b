/*
 * image-common.js: the shared core of every view that shows images (image models only).
 * Classic script; defines window.TFVIS_IMG. Needs tfvis-data.js (window.TFVIS).
 *
 * Data (manifest["image"], written by generator/tfvis_site/patches.py write_image_bundle):
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
(function (window) {
  'use strict';
  var T = window.TFVIS;
  var IMG = {};
  window.TFVIS_IMG = IMG;

  var sheetCache = new Map(); // sheet index -> Promise<HTMLImageElement>

  /** True when the site was built from an image model. */
  IMG.isImageSite = function (manifest) {
    return manifest && manifest.modality === 'image' && !!manifest.image;
  };

  function loadSheet(geo, k) {
    if (!sheetCache.has(k)) {
      sheetCache.set(k, T.loadBytes(geo.sheets.files[k]).then(function (buf) {
        return new Promise(function (resolve, reject) {
          var img = new window.Image();
          img.onload = function () { resolve(img); };
          img.onerror = function () { reject(new Error('TFVIS: cannot decode image sheet ' + geo.sheets.files[k])); };
          img.src = window.URL.createObjectURL(new window.Blob([buf], { type: 'image/jpeg' }));
        });
      }));
    }
    return sheetCache.get(k);
  }

  /** Where image i sits: {sheet, x, y} (top-left pixel of its tile in the sheet). */
  IMG.tileOf = function (geo, i) {
    var per = geo.sheets.per_sheet, cols = geo.sheets.columns, j = i % per;
    return { sheet: Math.floor(i / per), x: (j % cols) * geo.sheets.tile[1], y: Math.floor(j / cols) * geo.sheets.tile[0] };
  };

  /**
   * Promise of image i as a drawing source {img, x, y}: its pixels at (x, y) of img, here a 1x
   * canvas of the image alone (cached). Scaling a tile straight out of the sprite sheet with
   * smoothing on lets the filter read the neighbouring tile: a coloured seam along the edges.
   */
  var plainCache = new Map(); // image index -> Promise<{img, x, y}>
  IMG.source = function (geo, i) {
    if (!plainCache.has(i)) {
      var t = IMG.tileOf(geo, i);
      plainCache.set(i, loadSheet(geo, t.sheet).then(function (sheet) {
        var c = window.document.createElement('canvas');
        c.width = geo.size[1];
        c.height = geo.size[0];
        c.getContext('2d').drawImage(sheet, t.x, t.y, c.width, c.height, 0, 0, c.width, c.height);
        return { img: c, x: 0, y: 0 };
      }));
    }
    return plainCache.get(i);
  };

  /** Every sheet decoded, in IMG.loadedSheets (for synchronous drawing of many thumbnails). */
  IMG.loadedSheets = [];
  IMG.loadAll = function (geo) {
    return Promise.all(geo.sheets.files.map(function (_, k) { return loadSheet(geo, k); })).then(function (imgs) {
      IMG.loadedSheets = imgs;
      return imgs;
    });
  };

  /** Draw the region [sx, sy, sw, sh] (pixels of the processed image) of image i into ctx at
   * [dx, dy, dw, dh]; needs IMG.loadAll first. Returns false when the sheet is not loaded. */
  IMG.drawRegion = function (ctx, geo, i, sx, sy, sw, sh, dx, dy, dw, dh) {
    var t = IMG.tileOf(geo, i), img = IMG.loadedSheets[t.sheet];
    if (!img) return false;
    ctx.drawImage(img, t.x + sx, t.y + sy, sw, sh, dx, dy, dw, dh);
    return true;
  };

  /** Pixel box [x0, y0, x1, y1] of unit `position` of an image (prefix tokens: the whole image). */
  IMG.unitBox = function (geo, position) {
    var p = position - geo.n_prefix_tokens, s = geo.patch_size;
    if (p < 0) return [0, 0, geo.size[1], geo.size[0]];
    var r = Math.floor(p / geo.grid[1]), c = p % geo.grid[1];
    return [c * s, r * s, (c + 1) * s, (r + 1) * s];
  };

  /** Grid cell {row, col} of a unit, or null for a prefix token. */
  IMG.unitCell = function (geo, position) {
    var p = position - geo.n_prefix_tokens;
    if (p < 0) return null;
    return { row: Math.floor(p / geo.grid[1]), col: p % geo.grid[1] };
  };

  /** Unit position of the patch under processed-image pixel (x, y). */
  IMG.unitAt = function (geo, x, y) {
    var s = geo.patch_size;
    var c = Math.max(0, Math.min(geo.grid[1] - 1, Math.floor(x / s)));
    var r = Math.max(0, Math.min(geo.grid[0] - 1, Math.floor(y / s)));
    return geo.n_prefix_tokens + r * geo.grid[1] + c;
  };

  /** Name of a unit: "[CLS]", "[REG1]", or "patch r,c". */
  IMG.unitName = function (geo, position, prefixNames) {
    var cell = IMG.unitCell(geo, position);
    if (!cell) return (prefixNames && prefixNames[position]) || (position === 0 ? '[CLS]' : '[REG' + position + ']');
    return 'patch ' + cell.row + ',' + cell.col;
  };

  /** A canvas showing image i at `scale` x its processed size (device-pixel sharp). */
  IMG.imageCanvas = function (geo, i, scale) {
    var h = geo.size[0], w = geo.size[1], dpr = window.devicePixelRatio || 1;
    var canvas = T.el('canvas', { class: 'tfvis-image', width: Math.round(w * scale * dpr), height: Math.round(h * scale * dpr) });
    canvas.style.width = w * scale + 'px';
    canvas.style.height = h * scale + 'px';
    canvas.dataset.image = String(i);
    var ctx = canvas.getContext('2d');
    ctx.setTransform(scale * dpr, 0, 0, scale * dpr, 0, 0);
    return { canvas: canvas, ctx: ctx, scale: scale, ready: IMG.source(geo, i).then(function (src) {
      ctx.drawImage(src.img, src.x, src.y, w, h, 0, 0, w, h);
      return canvas;
    }) };
  };

  /** A canvas with the crop of image i around unit `position` (the patch plus `margin` patches
   * on every side, clamped to the image), the patch outlined. Returns {canvas, ready}. */
  IMG.cropCanvas = function (geo, i, position, margin, size, colour) {
    var box = IMG.unitBox(geo, position), s = geo.patch_size, h = geo.size[0], w = geo.size[1];
    var side = Math.min(Math.min(h, w), (2 * margin + 1) * s);
    var cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
    var x0 = Math.max(0, Math.min(w - side, Math.round(cx - side / 2)));
    var y0 = Math.max(0, Math.min(h - side, Math.round(cy - side / 2)));
    var dpr = window.devicePixelRatio || 1, k = size / side;
    var canvas = T.el('canvas', { class: 'tfvis-crop', width: Math.round(size * dpr), height: Math.round(size * dpr) });
    canvas.style.width = size + 'px';
    canvas.style.height = size + 'px';
    var ctx = canvas.getContext('2d');
    var ready = IMG.source(geo, i).then(function (src) {
      ctx.setTransform(k * dpr, 0, 0, k * dpr, 0, 0);
      ctx.drawImage(src.img, src.x + x0, src.y + y0, side, side, 0, 0, side, side);
      IMG.outline(ctx, box[0] - x0, box[1] - y0, box[2] - box[0], box[3] - box[1], colour || '#ffd400', 2 / k);
      return canvas;
    });
    return { canvas: canvas, ready: ready };
  };

  /** Outline a rectangle with a dark halo so it shows on light and dark images alike. */
  IMG.outline = function (ctx, x, y, w, h, colour, width) {
    ctx.save();
    ctx.lineWidth = width * 2;
    ctx.strokeStyle = 'rgba(0,0,0,0.6)';
    ctx.strokeRect(x, y, w, h);
    ctx.lineWidth = width;
    ctx.strokeStyle = colour;
    ctx.strokeRect(x, y, w, h);
    ctx.restore();
  };

  /** Paint a per-patch heat map over an image drawn at the context's current transform.
   * values: array of length rows*cols (row-major), vmax: value of full intensity; rgb: colour. */
  IMG.heatmap = function (ctx, geo, values, vmax, rgb, maxAlpha) {
    var s = geo.patch_size, cols = geo.grid[1], a = maxAlpha === undefined ? 0.75 : maxAlpha;
    ctx.save();
    for (var p = 0; p < values.length; p++) {
      var v = vmax > 0 ? Math.max(0, Math.min(1, values[p] / vmax)) : 0;
      if (v <= 0) continue;
      ctx.fillStyle = 'rgba(' + rgb[0] + ',' + rgb[1] + ',' + rgb[2] + ',' + (a * v).toFixed(3) + ')';
      ctx.fillRect((p % cols) * s, Math.floor(p / cols) * s, s, s);
    }
    ctx.restore();
  };
})(window);
