/*
 * Image sites: a point of the 2D plot drawn as its patch (the zoomed-in thumbnails), and the
 * aggregate of a head as mean attention by 2D offset (Δrow, Δcol) between query and key patch.
 */
import * as IMG from '../core/images.js';
import { legend } from './controls.js';
import { VIRIDIS, hexToRgb, lerpRamp } from '../core/palette.js';

/** A point of the 2D plot drawn as its patch with some context (side px), framed in `colour`. */
export function drawThumb(ctx, geo, image, pos, x, y, side, colour) {
  var b = IMG.unitBox(geo, pos), ps = geo.patch_size, W = geo.size[1], H = geo.size[0];
  var prefix = pos < geo.n_prefix_tokens;
  // a patch: 2 x 2 patches of context centred on it (clamped to the image); a prefix token: the whole image
  var span = prefix ? Math.min(W, H) : Math.min(2 * ps, W, H);
  var cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
  var sx = prefix ? (W - span) / 2 : Math.max(0, Math.min(W - span, cx - span / 2));
  var sy = prefix ? (H - span) / 2 : Math.max(0, Math.min(H - span, cy - span / 2));
  var x0 = x - side / 2, y0 = y - side / 2;
  if (!IMG.drawRegion(ctx, geo, image, sx, sy, span, span, x0, y0, side, side)) return false;
  if (!prefix) { // the patch itself, lightly marked inside its context
    var k = side / span;
    ctx.strokeStyle = 'rgba(255,255,255,0.7)';
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 + (b[0] - sx) * k + 0.5, y0 + (b[1] - sy) * k + 0.5, ps * k - 1, ps * k - 1);
  }
  ctx.lineWidth = prefix ? 3.5 : 2.5;
  ctx.strokeStyle = colour;
  ctx.strokeRect(x0, y0, side, side);
  if (prefix) { // prefix tokens: a dark inner frame too
    ctx.lineWidth = 1;
    ctx.strokeStyle = '#111';
    ctx.strokeRect(x0 + 2.5, y0 + 2.5, side - 5, side - 5);
  }
  return true;
}

/**
 * Aggregate of a head on image sites: mean weight from a query patch to the key patch at offset
 * (Δrow, Δcol), over every patch of every sample image (weights of the loaded layer), as a
 * (2R-1) x (2C-1) heat map (viridis, square-root scale); the readout gives the share on the prefix tokens.
 */
export function offsetView(canvas, legendNode, readout, sec, geo, sentences, layerData, h) {
  var R = geo.grid[0], C = geo.grid[1], np = geo.n_prefix_tokens, DR = 2 * R - 1, DC = 2 * C - 1;
  var sum = new Float64Array(DR * DC), cnt = new Float64Array(DR * DC), prefix = 0, nq = 0;
  for (var s = 0; s < sec.n_sentences; s++) {
    var L = sentences.n_tokens[s];
    if (L !== np + R * C) continue;
    var off = h * sec.total_pairs + Number(sentences.pair_offset[s]);
    for (var q = 0; q < R * C; q++) {
      var qr = Math.floor(q / C), qc = q % C, row = off + (np + q) * L;
      for (var j = 0; j < np; j++) prefix += layerData.weightAt(row + j);
      nq++;
      for (var k = 0; k < R * C; k++) {
        var o = (Math.floor(k / C) - qr + R - 1) * DC + (k % C - qc + C - 1);
        sum[o] += layerData.weightAt(row + np + k);
        cnt[o] += 1;
      }
    }
  }
  var vmax = 0, i;
  for (i = 0; i < DR * DC; i++) if (cnt[i] > 0) vmax = Math.max(vmax, sum[i] / cnt[i]);
  vmax = vmax || 1;
  var ramp = lerpRamp(VIRIDIS, 64).map(hexToRgb);
  canvas.width = DC;
  canvas.height = DR;
  var ctx = canvas.getContext('2d'), img = ctx.createImageData(DC, DR);
  for (i = 0; i < DR * DC; i++) {
    var c = cnt[i] > 0 ? ramp[Math.min(63, Math.floor(Math.sqrt(sum[i] / cnt[i] / vmax) * 63.999))] : [200, 200, 200];
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  legend(legendNode, { title: 'mean attention weight to the patch at that offset, square-root colour scale',
    ramps: [{ label: '', colors: VIRIDIS }], min: '0', max: vmax.toFixed(3) });
  var base = 'Centre = the query patch itself; rows: Δrow −' + (R - 1) + '…+' + (R - 1) + ' (key above → below), columns: Δcol −' +
    (C - 1) + '…+' + (C - 1) + ' (left → right). Mean share on the prefix tokens ([CLS]' + (np > 1 ? ', registers' : '') + '): ' +
    (nq ? (prefix / nq).toFixed(3) : 'n/a') + '. Hover for values.';
  readout.textContent = base;
  canvas.onmousemove = function (e) {
    var r = canvas.getBoundingClientRect();
    var dc = Math.floor((e.clientX - r.left) / r.width * DC), dr = Math.floor((e.clientY - r.top) / r.height * DR);
    if (dr < 0 || dc < 0 || dr >= DR || dc >= DC) return;
    var o = dr * DC + dc;
    readout.textContent = 'Δrow ' + (dr - R + 1) + ', Δcol ' + (dc - C + 1) + ': ' +
      (cnt[o] > 0 ? 'mean ' + (sum[o] / cnt[o]).toFixed(4) + ' over ' + cnt[o] + ' query–key pairs' : 'no pair');
  };
  canvas.onmouseleave = function () { readout.textContent = base; };
}
