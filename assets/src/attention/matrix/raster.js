/*
 * The 2D matrix's dots drawn on the CPU into a strip of pixels (a Uint32Array over an ImageData's
 * RGBA bytes): each dot a disc alpha-blended over what is there, in index order.
 * Why not WebGL: under software WebGL (SwiftShader: no GPU, headless, many VMs) a frame of the
 * 871k dots of the default MiniLM matrix cost 0.5-1 s, even with a trivial shader, so every
 * colour, size or search change took that long; blending a few pixels per dot in a typed array
 * takes a few tens of ms, the same on any machine.
 */

/** One opaque pixel (RGBA bytes, little-endian Uint32) of an [r, g, b] in 0..255. */
export function pixel(rgb) {
  return (0xff000000 | (rgb[2] << 16) | (rgb[1] << 8) | rgb[0]) >>> 0;
}

/**
 * The pixels of a dot of diameter d (device px) in a strip W pixels wide, as offsets from its
 * anchor (the pixel corner nearest the dot's centre) with weights 0..256 (coverage x opacity):
 * first the `full` ones of the top weight, then the edge. Coverage as regl-scatterplot's point
 * shader: full within (d - 0.5) / 2 of the centre, none beyond (d + 0.5) / 2. A dot of odd
 * diameter is centred on the anchor's pixel, else on its corner.
 */
export function stamp(d, W, opacity) {
  var c = Math.round(d) % 2 ? 0.5 : 0, R = Math.ceil(d / 2) + 1, px = [];
  for (var y = -R; y <= R; y++) {
    for (var x = -R; x <= R; x++) {
      var cover = Math.min(1, Math.max(0, d + 0.5 - 2 * Math.hypot(x + 0.5 - c, y + 0.5 - c)));
      var k = Math.round(cover * opacity * 256);
      if (k > 0) px.push([y * W + x, k]);
    }
  }
  px.sort(function (p, q) { return q[1] - p[1] || p[0] - q[0]; });
  var off = Int32Array.from(px, function (p) { return p[0]; }), w = Int32Array.from(px, function (p) { return p[1]; });
  return { off: off, w: w, full: w.filter(function (k) { return k === w[0]; }).length,
    lo: Math.min.apply(null, off), hi: Math.max.apply(null, off) };
}

/**
 * Draw the dots of heads [a, z) (point indices, whole heads of P points) into `out`, a strip whose
 * first pixel is pixel `origin` of the plot: dot i at anchor dots.pix[i] (a plot pixel, -1: off
 * the plot) in dots.colour[i], shaped dots.stamps[dots.size ? dots.size[i] : 0], the points of
 * each head in dots.order (their indices within the head; null: 0 to P - 1).
 * A dot that would reach outside the strip is left out (the cells keep their dots off their edges).
 */
export function drawDots(out, origin, dots, a, z, P) {
  var pix = dots.pix, colour = dots.colour, size = dots.size, stamps = dots.stamps, order = dots.order, n = out.length;
  var s = stamps[0], k, q, d, wa, wb;
  for (var head = a; head < z; head += P) {
    for (var j = 0; j < P; j++) {
      var i = head + (order ? order[j] : j), o = pix[i];
      if (o < 0) continue;
      o -= origin;
      if (size) s = stamps[size[i]];
      if (o + s.lo < 0 || o + s.hi >= n) continue;
      var c = colour[i], rb = c & 0xff00ff, g = c & 0xff00, off = s.off, w = s.w;
      // the full pixels: one weight, so the dot's share is the same for each
      wa = w[0]; wb = 256 - wa;
      var rbw = rb * wa, gw = g * wa;
      for (k = 0; k < s.full; k++) {
        q = o + off[k]; d = out[q];
        out[q] = 0xff000000 | (((rbw + (d & 0xff00ff) * wb) >>> 8) & 0xff00ff) | (((gw + (d & 0xff00) * wb) >>> 8) & 0xff00);
      }
      for (; k < off.length; k++) {
        q = o + off[k]; d = out[q]; wa = w[k]; wb = 256 - wa;
        out[q] = 0xff000000 | (((rb * wa + (d & 0xff00ff) * wb) >>> 8) & 0xff00ff) | (((g * wa + (d & 0xff00) * wb) >>> 8) & 0xff00);
      }
    }
  }
}
