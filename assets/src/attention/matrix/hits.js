/*
 * The search counts in the matrix's cells: per head the number of matching points and how
 * tightly they cluster in that head's projection (spread). Computed once per projection and
 * search: a colour or dot-size switch leaves them as they are.
 */
import { byId, clear } from '../../core/data.js';
import { fmt } from '../site.js';
import { pointHits } from './paint.js';
import { M } from './state.js';

/** Per cell: number of matches and how tightly they cluster in that head (spread, 1 = like all points). */
export function showHits() {
  var lay = M.layout[M.view.entry.name];
  var count = byId('att-count');
  var key = M.view.entry.name + '|' + M.view.q;
  if (M.hitsShown === key) return; // (a colour or size switch: the counts are the same)
  M.hitsShown = key;
  if (!M.match.count) {
    count.textContent = M.view.q ? 'no token matches "' + M.view.q + '"' : '';
    M.cellLinks.forEach(function (a) { clear(a.querySelector('.att-hits')); a.classList.remove('att-has-hits'); });
    return;
  }
  count.textContent = M.match.count + (M.match.exact ? ' tokens' : ' tokens containing "' + M.view.q + '"') +
    ' highlighted in every head (' + (2 * M.match.count) + ' points per head: queries and keys)';
  M.cellLinks.forEach(function (a) {
    var g = Number(a.dataset.g);
    var spread = headSpread(lay, g);
    var hits = a.querySelector('.att-hits');
    hits.textContent = (2 * M.match.count) + ' · sp ' + fmt(spread, 2);
    hits.title = 'matching points in this head, and their mean distance to their centroid relative to all points (lower = tighter cluster)';
    a.classList.add('att-has-hits');
  });
}

/** Mean distance of points `idx` of head g (indices within the head; null: all) to their centroid. */
function spreadOf(lay, g, idx) {
  var three = lay.dim === 3, st = three ? 3 : 1, X = three ? lay.xyz : lay.x, Y = three ? lay.xyz : lay.y, oy = three ? 1 : 0;
  var n = idx ? idx.length : M.P, cx = 0, cy = 0, cz = 0, d = 0, i, j, dx, dy, dz;
  if (!n) return 0;
  for (j = 0; j < n; j++) {
    i = (g * M.P + (idx ? idx[j] : j)) * st;
    cx += X[i]; cy += Y[i + oy]; cz += three ? X[i + 2] : 0;
  }
  cx /= n; cy /= n; cz /= n;
  for (j = 0; j < n; j++) {
    i = (g * M.P + (idx ? idx[j] : j)) * st;
    dx = X[i] - cx; dy = Y[i + oy] - cy; dz = three ? X[i + 2] - cz : 0;
    d += Math.sqrt(dx * dx + dy * dy + dz * dz);
  }
  return d / n;
}

function headSpread(lay, g) {
  allSpreads(lay);
  return spreadOf(lay, g, pointHits()) / (lay.all[g] || 1);
}

/** Every head's spread of all its points in layout `lay` (the denominator of the cells' spread), when not yet known. */
export function allSpreads(lay) {
  lay.all = lay.all || {};
  for (var g = 0; g < M.G; g++) if (lay.all[g] === undefined) lay.all[g] = spreadOf(lay, g, null);
}
