/*
 * The colour modes of image sites (AttentionViz, Yeh et al. 2023, Fig. 1): patch row / column,
 * hue, mean colour, brightness, spatial frequency; prefix tokens ([CLS], registers) dark.
 */
import { site } from './site.js';
import { K_RAMP, PREFIX_K, PREFIX_Q, Q_RAMP, VIRIDIS, NORM_BINS, hsvHex, lerpRamp } from '../core/palette.js';

/** The token column each image mode needs (a build without it hides the mode). */
export var IMAGE_MODE_NEEDS = { row: 'row', col: 'col', hue: 'hue', rgb: 'colour_r', brightness: 'brightness', sfreq: 'frequency' };
var HUE_BINS = 12;

/** Colour categories of the image modes (see colorCategories); null when the mode does not apply. */
export function imageCategories(mode, tokens, N) {
  if (!site.image || !IMAGE_MODE_NEEDS[mode] || !tokens[IMAGE_MODE_NEEDS[mode]]) return null;
  var P = 2 * N, cat = new Uint8Array(P), i, k;
  var geo = site.image, special = tokens.is_special;
  var isPrefix = function (t) { return tokens.row ? tokens.row[t] < 0 : special[t]; };
  var prefixItems = function (pal) {
    return [{ color: pal[pal.length - 2], label: '[CLS] / register (query)' }, { color: pal[pal.length - 1], label: '[CLS] / register (key)' }];
  };
  var finish = function (palette, legend) {
    // the two last categories: prefix queries and keys
    var pq = palette.length, pk = palette.length + 1;
    for (var t = 0; t < N; t++) if (isPrefix(t)) { cat[t] = pq; cat[N + t] = pk; }
    palette = palette.concat([PREFIX_Q, PREFIX_K]);
    legend.items = (legend.items || []).concat(prefixItems(palette));
    return { cat: cat, palette: palette, legend: legend };
  };
  if (mode === 'row' || mode === 'col') {
    var n = mode === 'row' ? geo.grid[0] : geo.grid[1], bins = Math.min(n, 16), v = tokens[mode];
    var qr = lerpRamp(Q_RAMP.slice(1), bins), kr = lerpRamp(K_RAMP.slice(1), bins);
    for (i = 0; i < N; i++) {
      var b = Math.max(0, Math.min(bins - 1, Math.floor(v[i] / n * bins)));
      cat[i] = b; cat[N + i] = bins + b;
    }
    return finish(qr.concat(kr), { title: 'patch ' + (mode === 'row' ? 'row (0 = top)' : 'column (0 = left)') + ', queries green, keys pink',
      ramps: [{ label: 'queries', colors: qr }, { label: 'keys', colors: kr }], min: '0', max: String(n - 1) });
  }
  if (mode === 'hue') {
    // a hue wheel in HUE_BINS steps; patches with little saturation (greys) get their own grey
    var wheel = [];
    for (k = 0; k < HUE_BINS; k++) wheel.push(hsvHex((k + 0.5) / HUE_BINS, 0.85, 0.85));
    var grey = '#bdbdbd';
    for (i = 0; i < N; i++) {
      var sat = tokens.saturation ? tokens.saturation[i] : 1;
      cat[i] = cat[N + i] = sat < 0.15 ? HUE_BINS : Math.min(HUE_BINS - 1, Math.floor(tokens.hue[i] * HUE_BINS));
    }
    return finish(wheel.concat([grey]), { title: 'mean hue of the patch (queries and keys alike)',
      ramps: [{ label: 'hue', colors: wheel.concat([wheel[0]]) }], min: 'red', max: 'red',
      items: [{ color: grey, label: 'grey (saturation < 0.15)' }] });
  }
  if (mode === 'rgb') {
    // the patch's mean colour, quantised to a 6 x 6 x 6 cube (216 colours)
    var cube = [];
    for (var r = 0; r < 6; r++) for (var g = 0; g < 6; g++) for (var bl = 0; bl < 6; bl++) cube.push(hsvLess(r, g, bl));
    var q6 = function (x) { return Math.min(5, Math.round(x / 51)); };
    for (i = 0; i < N; i++) cat[i] = cat[N + i] = q6(tokens.colour_r[i]) * 36 + q6(tokens.colour_g[i]) * 6 + q6(tokens.colour_b[i]);
    return finish(cube, { title: 'mean colour of the patch (queries and keys alike)', items: [] });
  }
  // brightness, spatial frequency: viridis in 10 bins over the range of the patches
  var col = mode === 'brightness' ? tokens.brightness : tokens.frequency;
  var lo = Infinity, hi = -Infinity;
  for (i = 0; i < N; i++) if (!isPrefix(i)) { lo = Math.min(lo, col[i]); hi = Math.max(hi, col[i]); }
  if (!(lo <= hi)) { lo = 0; hi = 1; }
  for (i = 0; i < N; i++) {
    var f = (col[i] - lo) / (hi - lo || 1);
    cat[i] = cat[N + i] = Math.max(0, Math.min(NORM_BINS - 1, Math.floor(f * NORM_BINS)));
  }
  return finish(VIRIDIS.slice(), { title: mode === 'brightness' ? 'brightness of the patch (queries and keys alike)' :
    'spatial frequency of the patch (cycles per patch; queries and keys alike)',
    ramps: [{ label: '', colors: VIRIDIS }], min: lo.toFixed(2), max: hi.toFixed(2) });
}

function hsvLess(r, g, b) {
  return '#' + [r, g, b].map(function (x) { var n = x * 51; return (n < 16 ? '0' : '') + n.toString(16); }).join('');
}
