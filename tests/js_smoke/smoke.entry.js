/*
 * Runs in tests/js_smoke/page.html, bundled by assets/src/build.sh into smoke.js. Exercises the
 * shared data core (assets/src/core/data.js) and the vendored bundles and leaves the outcome in
 * document.getElementById('status').smoke = {done, error, results} for the pytest to check (and
 * the core's functions in .core, for the URL state test).
 */
import * as TFVIS from '../../assets/src/core/data.js';

var results = {};
// The outcome, for the pytest: a property of the status element (no window state).
var status = document.getElementById('status');
status.smoke = { done: false, error: null, results: results };
// The core itself, for the URL state test to call (status.core.query() ...).
status.core = TFVIS;

function plain(columns) {
  var out = {};
  Object.keys(columns).forEach(function (k) {
    var col = columns[k];
    out[k] = { type: Object.prototype.toString.call(col).slice(8, -1), values: Array.from(col) };
  });
  return out;
}

function typesOf(rows) {
  return rows.map(function (row) {
    var t = {};
    Object.keys(row).forEach(function (k) {
      t[k] = row[k] === null ? 'null' : typeof row[k];
    });
    return t;
  });
}

function renderTokens(rows) {
  var tbody = document.querySelector('#tokens tbody');
  rows.forEach(function (row) {
    tbody.appendChild(TFVIS.el('tr', { dataset: { id: row.id } },
      TFVIS.el('td', { class: 'id' }, row.id),
      TFVIS.el('td', { class: 'score' }, row.score.toFixed(3)),
      TFVIS.el('td', { class: 'text', title: row.text }, row.text)));
  });
}

function scatter() {
  var canvas = document.getElementById('scatter');
  var sp = window.ReglScatterplot.createScatterplot({ canvas: canvas, width: 200, height: 200, pointSize: 6 });
  var points = [[-0.5, -0.5], [0.5, 0.5], [0, 0], [0.25, -0.75]];
  return sp.draw(points).then(function () {
    sp.select([1, 2]);
    results.scatter = {
      numPoints: sp.get('points').length,
      selected: Array.from(sp.get('selectedPoints')),
    };
    sp.destroy();
  });
}

function three() {
  var THREE = window.THREE;
  var canvas = document.getElementById('three');
  var renderer = new THREE.WebGLRenderer({ canvas: canvas, preserveDrawingBuffer: true, antialias: false });
  renderer.setSize(200, 200, false);
  renderer.setClearColor(0x000000, 1);
  var scene = new THREE.Scene();
  var camera = new THREE.PerspectiveCamera(50, 1, 0.1, 100);
  camera.position.set(0, 0, 5);
  var geometry = new THREE.BufferGeometry();
  geometry.setAttribute('position', new THREE.Float32BufferAttribute([0, 0, 0, 1, 1, 0, -1, -1, 0.5], 3));
  var points = new THREE.Points(geometry, new THREE.PointsMaterial({ color: 0xffffff, size: 20, sizeAttenuation: false }));
  scene.add(points);
  var controls = new THREE.OrbitControls(camera, renderer.domElement);
  controls.update();
  renderer.render(scene, camera);
  var gl = renderer.getContext();
  var pixels = new Uint8Array(200 * 200 * 4);
  gl.readPixels(0, 0, 200, 200, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
  var lit = 0;
  for (var i = 0; i < pixels.length; i += 4) if (pixels[i] > 128) lit++;
  var raycaster = new THREE.Raycaster();
  raycaster.params.Points.threshold = 0.1;
  raycaster.setFromCamera(new THREE.Vector2(0, 0), camera);
  var hits = raycaster.intersectObject(points);
  results.three = {
    revision: THREE.REVISION,
    litPixels: lit,
    pickedIndex: hits.length ? hits[0].index : null,
  };
  controls.dispose();
  renderer.dispose();
}

function expectReject(promise) {
  return promise.then(function () {
    return 'resolved (should have failed)';
  }, function (err) {
    return err.message;
  });
}

function unsafeAttr() {
  try {
    TFVIS.el('a', { href: ' javascript:alert(1)' }, 'x');
    return 'accepted';
  } catch (err) {
    return 'refused';
  }
}

results.globals = {
  ReglScatterplot: Object.keys(window.ReglScatterplot || {}).sort(),
  THREE_OrbitControls: typeof (window.THREE && window.THREE.OrbitControls),
  hyparquet: Object.keys(window.hyparquet || {}).sort(),
};
results.dataRoot = TFVIS.dataRoot();
results.unsafeAttr = unsafeAttr();

Promise.all([
  TFVIS.manifest(),
  TFVIS.loadTable('tokens.parquet'),
  TFVIS.loadColumns('tokens.parquet'),
  TFVIS.loadColumns('tokens.parquet', ['score']),
  TFVIS.loadTable('big_plain.parquet'),
  TFVIS.loadColumns('big_plain.parquet'),
  TFVIS.loadFloat32('heads/points_L0H1.f32'),
  expectReject(TFVIS.loadBytes('does_not_exist.bin')),
  expectReject(TFVIS.loadColumns('tokens.parquet', ['nope'])),
  TFVIS.loadFloat32('deflated.f32'),
]).then(function (r) {
  results.manifest = r[0];
  results.tokensRows = r[1];
  results.tokensTypes = typesOf(r[1]);
  results.tokensColumns = plain(r[2]);
  results.scoreOnly = plain(r[3]);
  results.bigRows = r[4];
  results.bigColumns = plain(r[5]);
  results.points = { type: Object.prototype.toString.call(r[6]).slice(8, -1), values: Array.from(r[6]) };
  results.missingError = r[7];
  results.missingColumnError = r[8];
  results.deflated = Array.from(r[9]);
  // Shared cache: a second call gives the same bytes without loading again.
  return Promise.all([TFVIS.loadBytes('tokens.parquet'), TFVIS.loadBytes('tokens.parquet')]);
}).then(function (bufs) {
  results.sameBuffer = bufs[0] === bufs[1];
  results.leftoverGlobals = Object.keys(window.TFVIS_DATA || {});
  renderTokens(results.tokensRows);
  three();
  return scatter();
}).then(function () {
  status.textContent = 'done';
  status.smoke.done = true;
}).catch(function (err) {
  status.smoke.error = String(err && err.stack || err);
  status.smoke.done = true;
  status.textContent = 'failed';
  console.error(err);
});
