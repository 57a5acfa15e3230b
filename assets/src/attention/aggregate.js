/*
 * The aggregate position-by-position heat map of a head (text sites; image sites draw the
 * 2D-offset map of image/offset.js instead).
 */
import { legend } from './controls.js';
import { VIRIDIS, hexToRgb, lerpRamp } from '../core/palette.js';

/**
 * Aggregate heat map of head g: canvas of max_len x max_len cells, viridis, grey where no sentence
 * holds both positions; causal models: the cells above the diagonal (a later key) stay empty
 * (transparent), since no query sees them. readout: element for the hovered cell's value.
 */
export function aggregateView(canvas, legendNode, readout, agg, count, g, maxLen, causal) {
  var L = maxLen;
  var base = g * L * L;
  var used = 0;
  for (var i = 0; i < L; i++) for (var j = 0; j < L; j++) if (count[i * L + j] > 0) used = Math.max(used, i + 1, j + 1);
  L = Math.max(1, used);
  var vmax = 0;
  // a causal model's first query sees only itself (weight 1 by construction): the scale starts
  // at the second row, so the forced 1 does not wash out the rest
  for (var a = causal && L > 1 ? 1 : 0; a < L; a++) for (var b = 0; b < L; b++) vmax = Math.max(vmax, agg[base + a * maxLen + b]);
  vmax = vmax || 1;
  var ramp = lerpRamp(VIRIDIS, 64).map(hexToRgb);
  canvas.width = L;
  canvas.height = L;
  var ctx = canvas.getContext('2d');
  var img = ctx.createImageData(L, L);
  for (var q = 0; q < L; q++) {
    for (var k = 0; k < L; k++) {
      var o = 4 * (q * L + k);
      if (causal && k > q) continue; // masked: left transparent (alpha 0)
      if (count[q * maxLen + k] <= 0) {
        img.data[o] = img.data[o + 1] = img.data[o + 2] = 200; img.data[o + 3] = 255;
        continue;
      }
      var c = ramp[Math.min(63, Math.floor(Math.sqrt(Math.min(1, agg[base + q * maxLen + k] / vmax)) * 63.999))];
      img.data[o] = c[0]; img.data[o + 1] = c[1]; img.data[o + 2] = c[2]; img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  legend(legendNode, { title: 'mean attention weight, square-root colour scale (grey: no sentence has both positions' +
    (causal ? '; empty above the diagonal: a causal model\'s query cannot see a later key)' : ')'),
    ramps: [{ label: '', colors: VIRIDIS }], min: '0', max: vmax.toFixed(2) });
  canvas.onmousemove = function (e) {
    var r = canvas.getBoundingClientRect();
    var k = Math.floor((e.clientX - r.left) / r.width * L), q = Math.floor((e.clientY - r.top) / r.height * L);
    if (q < 0 || k < 0 || q >= L || k >= L) return;
    var n = count[q * maxLen + k];
    readout.textContent = 'query position ' + q + ' → key position ' + k + ': ' + (causal && k > q ? 'masked (a later key)' :
      n > 0 ? 'mean ' + agg[base + q * maxLen + k].toFixed(3) + ' over ' + n + ' sentences' : 'no sentence');
  };
  readout.textContent = 'Rows: query position 0–' + (L - 1) + ' (top to bottom); columns: key position 0–' + (L - 1) +
    ' (left to right). Hover for values.';
}
