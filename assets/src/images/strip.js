/* The overview's strip of sample images (index.html of an image site: #image-strip). */
import { byId, el, loadColumns, manifest, siteKind } from '../core/data.js';
import { thumbCanvas } from './thumb.js';

/** Fill #image-strip, when the page has one, with thumbnails linking to the image browser. */
export function initStrip() {
  var strip = byId('image-strip');
  if (!strip) return;
  Promise.all([manifest(), loadColumns('sentences.parquet', ['text'])]).then(function (r) {
    var m = r[0], names = r[1].text;
    if (siteKind(m) !== 'image') return;
    var geo = m.image, n = names.length, want = Math.min(n, Number(strip.dataset.n || 12));
    var seen = {};
    for (var k = 0; k < want; k++) {
      var i = Math.floor(k * n / want);
      if (seen[i]) continue;
      seen[i] = true;
      strip.appendChild(el('a', { class: 'thumb', href: 'images.html?i=' + i, title: names[i] },
        thumbCanvas(geo, i, 96), el('span', { class: 'thumb-name' }, names[i])));
    }
    strip.dataset.ready = '1';
  }).catch(function (err) {
    strip.appendChild(el('p', { class: 'error' }, 'Could not load the images: ' + err.message));
  });
}
