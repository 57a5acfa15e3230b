// Entry for assets/vendor/three.min.js (classic IIFE script).
// Exposes window.THREE = the whole `three` namespace + THREE.OrbitControls.
export * from 'three';
export { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
