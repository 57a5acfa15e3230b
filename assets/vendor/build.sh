#!/usr/bin/env bash
# Rebuild the vendored front-end bundles of tfvis-site.
#
#   bash assets/vendor/build.sh
#
# Installs the exact versions pinned in package.json / package-lock.json (npm ci), then
# bundles each src/*.entry.js with esbuild into a minified classic IIFE script that sets one
# global (no ES modules: they do not load from file://). Finally copies the LICENSE file of
# every npm package that ended up inside a bundle into licenses/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

npm ci --no-audit --no-fund

ESBUILD=node_modules/.bin/esbuild
COMMON=(--bundle --minify --format=iife --platform=browser --target=es2020
        --legal-comments=eof --log-level=warning)

build() {  # build <entry name> <global name> <output file>
  local entry="$1" global="$2" out="$3"
  "$ESBUILD" "src/$entry.entry.js" "${COMMON[@]}" \
    --global-name="$global" \
    --metafile="node_modules/.meta-$entry.json" \
    --outfile="$out"
  echo "built $out ($(wc -c < "$out") bytes) -> window.$global"
}

build regl-scatterplot ReglScatterplot regl-scatterplot.min.js
build three            THREE           three.min.js
build hyparquet        hyparquet       hyparquet.min.js
build ort              ort             ort.min.js

# onnxruntime-web's WebAssembly binary as a classic script (file:// cannot fetch a .wasm): its
# bytes gzipped (14.2 MB -> 3.7 MB), base64, in window.TFVIS_ORT_WASM_GZIP; the page inflates them
# with the browser's DecompressionStream. Only this twin ships, not the raw .wasm (site size).
# gzip level 9 and a zero mtime: the same package gives the same file.
node - <<'NODE'
const fs = require('fs');
const zlib = require('zlib');
const wasm = fs.readFileSync('node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm');
const version = require('./node_modules/onnxruntime-web/package.json').version;
const gz = zlib.gzipSync(wasm, { level: 9 });
fs.writeFileSync('ort-wasm.min.js',
  `/* ort-wasm-simd-threaded.wasm of onnxruntime-web ${version} (MIT), gzip, base64; see README.md */\n` +
  `window.TFVIS_ORT_WASM_GZIP=${JSON.stringify(gz.toString('base64'))};\n`);
console.log(`built ort-wasm.min.js (${fs.statSync('ort-wasm.min.js').size} bytes) <- ${wasm.length} bytes of wasm, ${gz.length} gzipped`);
NODE

# Licenses of every package bundled (read from the esbuild metafiles).
rm -rf licenses
mkdir -p licenses
node - <<'NODE'
const fs = require('fs');
const path = require('path');
const pkgs = new Set();
for (const f of fs.readdirSync('node_modules')) {
  if (!f.startsWith('.meta-')) continue;
  const meta = JSON.parse(fs.readFileSync(path.join('node_modules', f), 'utf8'));
  for (const input of Object.keys(meta.inputs)) {
    const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (m) pkgs.add(m[1]);
  }
}
// Prebuilt package dists can inline their own dependencies (regl-scatterplot's dist inlines
// gl-matrix, earcut, dom-2d-camera, ...), so add installed runtime dependencies transitively,
// except for dists known to be self-contained: onnxruntime-web's ort.wasm.bundle.min.mjs holds
// only its own code and onnxruntime-common's (same repo, same license); its dependencies
// (protobufjs, flatbuffers, guid-typescript, ...) serve its other builds.
const SELF_CONTAINED = new Set(['onnxruntime-web']);
// Packages that ship no LICENSE file: the text their package.json and dist header state.
const LICENSE_TEXT = {
  'onnxruntime-web': `MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`,
};
const queue = [...pkgs].filter((name) => !SELF_CONTAINED.has(name));
while (queue.length) {
  const name = queue.pop();
  const pj = JSON.parse(fs.readFileSync(path.join('node_modules', name, 'package.json'), 'utf8'));
  for (const dep of Object.keys(pj.dependencies || {})) {
    if (!pkgs.has(dep) && fs.existsSync(path.join('node_modules', dep, 'package.json'))) {
      pkgs.add(dep);
      queue.push(dep);
    }
  }
}
for (const name of [...pkgs].sort()) {
  const dir = path.join('node_modules', name);
  const lic = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  if (!lic && !LICENSE_TEXT[name]) throw new Error(`no LICENSE file found in ${dir}`);
  const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  const out = path.join('licenses', `${name.replace(/^@/, '').replace('/', '-')}-LICENSE`);
  if (lic) fs.copyFileSync(path.join(dir, lic), out);
  else fs.writeFileSync(out, LICENSE_TEXT[name]);
  console.log(`license ${name}@${version} -> ${out}`);
}
NODE
