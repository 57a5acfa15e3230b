/* Drawing an image context of the factor page (image sites): the image around a unit (or whole),
 * the unit outlined, with the factor's activation map or LIME weights painted over it and the
 * patches where the explanation's rule holds outlined (dashed). */
import { el } from '../../core/data.js';
import { heatmap, outline, source, unitBox, unitName } from '../../core/images.js';
import { fmt } from '../common.js';
import { $, page } from './context.js';
import { ruleHolds } from './explanation.js';

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

/** The units of image img where the shown rule holds (positions, ascending), or null: no rule,
 * or its outlines are switched off (#rule-marks). A prefix token ([CLS], a register) is among
 * them only for a rule on the unit itself ("the [CLS] token"): it has no pixels to outline. */
export function ruleUnits(img) {
  const on = $('rule-marks');
  if (!page.rule || !on || !on.checked) return null;
  const start = page.sentences.token_offset[img];
  const holds = ruleHolds(start, start + page.sentences.n_tokens[img]);
  return holds ? Array.from(holds, (i) => i - start).sort((a, b) => a - b) : null;
}

/** Outline the region of the patches `units` (its border: the patch edges not shared with
 * another of them), dashed white on dark, lw image px wide. */
function paintRule(ctx, units, lw) {
  const geo = page.geo;
  const P = geo.n_prefix_tokens, rows = geo.grid[0], cols = geo.grid[1], s = geo.patch_size;
  const on = new Uint8Array(rows * cols);
  units.forEach((u) => { if (u >= P) on[u - P] = 1; });
  const inside = (r, c) => r >= 0 && r < rows && c >= 0 && c < cols && on[r * cols + c] === 1;
  // lines on the image's border move inside it, to show whole
  const X = (x) => Math.min(cols * s - lw, Math.max(lw, x)), Y = (y) => Math.min(rows * s - lw, Math.max(lw, y));
  ctx.save();
  ctx.beginPath();
  const edge = (x0, y0, x1, y1) => { ctx.moveTo(X(x0), Y(y0)); ctx.lineTo(X(x1), Y(y1)); };
  for (let p = 0; p < rows * cols; p++) {
    if (!on[p]) continue;
    const r = Math.floor(p / cols), c = p % cols, x = c * s, y = r * s;
    if (!inside(r - 1, c)) edge(x, y, x + s, y);
    if (!inside(r + 1, c)) edge(x, y + s, x + s, y + s);
    if (!inside(r, c - 1)) edge(x, y, x, y + s);
    if (!inside(r, c + 1)) edge(x + s, y, x + s, y + s);
  }
  ctx.lineWidth = 2 * lw;
  ctx.strokeStyle = 'rgba(0,0,0,0.55)';
  ctx.stroke();
  ctx.lineWidth = lw;
  ctx.setLineDash([3 * lw, 2 * lw]);
  ctx.strokeStyle = '#ffffff';
  ctx.stroke();
  ctx.restore();
}

/** A canvas with image img around unit pos (full: the whole image), `size` px on its long side,
 * the unit outlined, paint(ctx) called in image pixel coordinates before the outline and, with
 * `marks` (ruleUnits, listed in the canvas's data-rule), their patches outlined dashed (a prefix
 * token's label then says whether the rule holds on it). */
export function unitView(img, pos, full, size, paint, colour, marks) {
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
    if (marks) {
      paintRule(ctx, marks, Math.min(1.5, Math.max(1, size / 224)) / k);
      canvas.dataset.rule = marks.join(' ');
    }
    if (!prefix) outline(ctx, box[0], box[1], box[2] - box[0], box[3] - box[1], colour || '#ffd400', lw);
    else if (size >= 48) prefixLabel(ctx, dpr, unitName(geo, pos) + (marks && marks.indexOf(pos) !== -1 ? ' · rule holds' : ''));
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

/** The legend of the rule's outlines (image sites; null without them); onPrefix: the rule holds
 * on a prefix token shown. */
export function ruleLegend(onPrefix) {
  if (!page.rule || !$('rule-marks').checked) return null;
  return el('p', { class: 'rule-legend small' },
    el('span', { class: 'rule-swatch', 'aria-hidden': 'true' }),
    ' Dashed outline: patches where the rule holds: ', el('span', { class: 'rule-text' }, page.rule.text), '.',
    onPrefix ? ' Prefix tokens have no pixels: their label says "rule holds".' : null);
}

/** "The rule holds on n of the N patches of this image" (and the prefix tokens it holds on). */
export function ruleCount(marks) {
  const geo = page.geo;
  const P = geo.n_prefix_tokens;
  const prefix = marks.filter((u) => u < P).map((u) => unitName(geo, u));
  return el('p', { class: 'rule-count small' }, el('span', { class: 'rule-swatch', 'aria-hidden': 'true' }),
    ' The rule holds on ' + (marks.length - prefix.length) + ' of the ' + geo.grid[0] * geo.grid[1] + ' patches of this image' +
    (prefix.length ? ' and on ' + prefix.join(', ') : '') + '.');
}
