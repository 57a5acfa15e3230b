/*
 * 3D point views with three.js (window.THREE + THREE.OrbitControls, assets/vendor/three.min.js),
 * one WebGL context per view. Used by the matrix (all heads, one viewport per grid cell, one
 * shared camera) and by the single-head view (one head, orbit controls, screen-space picking).
 */

var VERTEX = [
  'attribute vec3 acolor;',
  'attribute float asize;',
  'attribute float aalpha;',
  'uniform float pixelRatio;',
  'uniform float sizeScale;',
  'varying vec4 vColor;',
  'void main() {',
  '  vColor = vec4(acolor, aalpha);',
  '  gl_PointSize = asize * sizeScale * pixelRatio;',
  '  gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0);',
  '}',
].join('\n');
var FRAGMENT = [
  'varying vec4 vColor;',
  'void main() {',
  '  vec2 c = gl_PointCoord - vec2(0.5);',
  '  if (dot(c, c) > 0.25) discard;',
  '  gl_FragColor = vColor;',
  '}',
].join('\n');

/**
 * new Points3D(canvas, {control: element receiving the orbit drags, background: css colour})
 * setData({positions: Float32Array(n*3), colors: Uint8Array(n*3), sizes: Float32Array(n), alpha: Float32Array(n)})
 * cells: [{x, y, w, h, start, count}] in CSS px from the canvas' top-left (matrix), or null (single view).
 */
export function Points3D(canvas, opts) {
  var THREE = window.THREE;
  if (!THREE || !THREE.OrbitControls) throw new Error('three.js (assets/vendor/three.min.js) is missing');
  opts = opts || {};
  this.THREE = THREE;
  this.canvas = canvas;
  this.renderer = new THREE.WebGLRenderer({ canvas: canvas, antialias: false, alpha: false, preserveDrawingBuffer: !!opts.preserve });
  this.renderer.setPixelRatio(window.devicePixelRatio || 1);
  this.renderer.setClearColor(new THREE.Color(opts.background || '#ffffff'), 1);
  this.renderer.outputColorSpace = THREE.LinearSRGBColorSpace;
  this.scene = new THREE.Scene();
  this.camera = new THREE.PerspectiveCamera(opts.fov || 38, 1, 0.01, 100);
  this.camera.position.set(0, 0, opts.distance || 3.3);
  this.controls = new THREE.OrbitControls(this.camera, opts.control || canvas);
  this.controls.enableDamping = false;
  this.controls.enablePan = !opts.noPan;
  this.controls.rotateSpeed = opts.rotateSpeed || 0.8;
  this.geometry = new THREE.BufferGeometry();
  this.material = new THREE.ShaderMaterial({
    vertexShader: VERTEX,
    fragmentShader: FRAGMENT,
    transparent: true,
    depthWrite: true,
    uniforms: { pixelRatio: { value: window.devicePixelRatio || 1 }, sizeScale: { value: 1 } },
  });
  this.points = new THREE.Points(this.geometry, this.material);
  this.points.frustumCulled = false;
  this.scene.add(this.points);
  this.cells = null;
  this.width = 1;
  this.height = 1;
  this.n = 0;
  this._pending = false;
  this._listeners = [];
  var self = this;
  this.controls.addEventListener('change', function () {
    self.requestRender();
    self._listeners.forEach(function (fn) { fn(); });
  });
}

Points3D.prototype.onView = function (fn) {
  this._listeners.push(fn);
};

Points3D.prototype.setSize = function (width, height) {
  this.width = Math.max(1, width);
  this.height = Math.max(1, height);
  this.renderer.setSize(this.width, this.height, true);
  if (!this.cells) {
    this.camera.aspect = this.width / this.height;
    this.camera.updateProjectionMatrix();
  }
  this.requestRender();
};

Points3D.prototype.setData = function (d) {
  var THREE = this.THREE;
  this.n = d.positions.length / 3;
  this.geometry.setAttribute('position', new THREE.BufferAttribute(d.positions, 3));
  this.geometry.setAttribute('acolor', new THREE.BufferAttribute(d.colors, 3, true));
  this.geometry.setAttribute('asize', new THREE.BufferAttribute(d.sizes, 1));
  this.geometry.setAttribute('aalpha', new THREE.BufferAttribute(d.alpha, 1));
  this.positions = d.positions;
  this.requestRender();
};

/** Mark an attribute ('acolor', 'asize', 'aalpha', 'position') as changed. */
Points3D.prototype.touch = function (name) {
  var attr = this.geometry.getAttribute(name);
  if (attr) attr.needsUpdate = true;
  this.requestRender();
};

Points3D.prototype.setCells = function (cells) {
  this.cells = cells;
  this.camera.aspect = 1;
  this.camera.updateProjectionMatrix();
  this.requestRender();
};

Points3D.prototype.setBackground = function (color) {
  this.renderer.setClearColor(new this.THREE.Color(color), 1);
  this.requestRender();
};

Points3D.prototype.requestRender = function () {
  if (this._pending) return;
  this._pending = true;
  var self = this;
  window.requestAnimationFrame(function () {
    self._pending = false;
    self.render();
  });
};

Points3D.prototype.render = function () {
  var r = this.renderer;
  if (!this.n) {
    r.setScissorTest(false);
    r.clear();
    return;
  }
  if (!this.cells) {
    r.setScissorTest(false);
    this.geometry.setDrawRange(0, this.n);
    r.render(this.scene, this.camera);
    return;
  }
  r.setScissorTest(false);
  r.clear();
  r.setScissorTest(true);
  r.autoClear = false;
  for (var i = 0; i < this.cells.length; i++) {
    var c = this.cells[i];
    var y = this.height - c.y - c.h; // WebGL viewports count from the bottom
    r.setViewport(c.x, y, c.w, c.h);
    r.setScissor(c.x, y, c.w, c.h);
    this.geometry.setDrawRange(c.start, c.count);
    r.render(this.scene, this.camera);
  }
  r.autoClear = true;
  r.setScissorTest(false);
  r.setViewport(0, 0, this.width, this.height);
};

/** Screen position (CSS px from the canvas' top-left) of point i in the single view, or null. */
Points3D.prototype.project = function (i, out) {
  var p = this.positions;
  var m = this._pv || (this._pv = new this.THREE.Matrix4());
  var e = m.elements;
  var x = p[3 * i], y = p[3 * i + 1], z = p[3 * i + 2];
  var w = e[3] * x + e[7] * y + e[11] * z + e[15];
  if (w <= 0) return null;
  out = out || [0, 0];
  out[0] = ((e[0] * x + e[4] * y + e[8] * z + e[12]) / w * 0.5 + 0.5) * this.width;
  out[1] = (0.5 - (e[1] * x + e[5] * y + e[9] * z + e[13]) / w * 0.5) * this.height;
  return out;
};

/** Refresh the projection matrix used by project() (call after the camera moved). */
Points3D.prototype.updateProjection = function () {
  this.camera.updateMatrixWorld();
  var m = this._pv || (this._pv = new this.THREE.Matrix4());
  m.multiplyMatrices(this.camera.projectionMatrix, this.camera.matrixWorldInverse);
};

/** Nearest point to (x, y) CSS px within radius among those with visible(i) true, or -1. */
Points3D.prototype.pick = function (x, y, radius, visible) {
  this.updateProjection();
  var best = -1, bestD = radius * radius, out = [0, 0];
  for (var i = 0; i < this.n; i++) {
    if (visible && !visible(i)) continue;
    if (!this.project(i, out)) continue;
    var dx = out[0] - x, dy = out[1] - y, d = dx * dx + dy * dy;
    if (d < bestD) { bestD = d; best = i; }
  }
  return best;
};

Points3D.prototype.resetCamera = function () {
  this.controls.reset();
  this.requestRender();
};
