/* A thumbnail of an image drawn from its sprite sheet (the image browser's grid, the overview's strip). */
import { el } from '../core/data.js';
import * as IMG from '../core/images.js';

/** A canvas with image i drawn to fit `size` CSS px; dataset.drawn = "1" once drawn. */
export function thumbCanvas(geo, i, size) {
  var h = geo.size[0], w = geo.size[1], k = size / Math.max(h, w), dpr = window.devicePixelRatio || 1;
  var cw = Math.round(w * k), ch = Math.round(h * k);
  var canvas = el('canvas', { class: 'thumb-canvas', width: Math.round(cw * dpr), height: Math.round(ch * dpr), 'aria-hidden': 'true' });
  canvas.style.width = cw + 'px';
  canvas.style.height = ch + 'px';
  IMG.source(geo, i).then(function (src) {
    var ctx = canvas.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(src.img, src.x, src.y, w, h, 0, 0, canvas.width, canvas.height);
    canvas.dataset.drawn = '1';
  });
  return canvas;
}
