(() => {
  // assets/src/core/data.js
  var T = () => window.TFVIS;
  var loadBytes = (...a) => T().loadBytes(...a);
  var loadJSON = (...a) => T().loadJSON(...a);
  var loadColumns = (...a) => T().loadColumns(...a);
  var loadFloat32 = (...a) => T().loadFloat32(...a);
  var manifest = (...a) => T().manifest(...a);
  var forget = (...a) => T().forget(...a);
  var base64ToBuffer = (...a) => T().base64ToBuffer(...a);
  var el = (...a) => T().el(...a);
  var clear = (...a) => T().clear(...a);
  var query = (...a) => T().query(...a);
  var setQuery = (...a) => T().setQuery(...a);
  var onState = (...a) => T().onState(...a);

  // assets/src/shared/token-factors.js
  var loaded = null;
  function tokenFactors() {
    if (!loaded) loaded = manifest().then(build);
    return loaded;
  }
  function build(m) {
    const att = m.attention;
    const tf = att && att.token_factors;
    const out = {
      sampleRow: /* @__PURE__ */ new Map(),
      nLayers: att ? att.model.n_layers : 0,
      nHidden: 0,
      top: 0,
      at: () => null,
      atSample: () => null
    };
    if (!att || !att.files || !att.files.sentences) return out;
    return Promise.all([
      loadColumns(att.files.sentences, ["sentence_id", "token_offset", "n_tokens"]),
      tf ? loadBytes(tf.file) : null
    ]).then(([s, bytes]) => {
      if (s.sentence_id) for (let i = 0; i < s.sentence_id.length; i++) out.sampleRow.set(Number(s.sentence_id[i]), i);
      if (!bytes) return out;
      const packed = new Uint16Array(bytes);
      const top = tf.top;
      const nTok = att.n_tokens;
      out.top = top;
      out.nHidden = packed.length / (nTok * top * 2);
      out.atSample = (hidden, row, pos) => {
        if (row === void 0 || row === null || pos >= s.n_tokens[row] || hidden < 0 || hidden >= out.nHidden) return null;
        const base = (hidden * nTok + s.token_offset[row] + pos) * top * 2;
        const list = [];
        for (let k = 0; k < top; k++) {
          const f = packed[base + 2 * k];
          if (f !== tf.missing) list.push({ factor: f, value: packed[base + 2 * k + 1] * tf.scale });
        }
        return list;
      };
      out.at = (hidden, sid, pos) => out.atSample(hidden, out.sampleRow.get(sid), pos);
      return out;
    });
  }

  // assets/src/core/images.js
  var G = () => window.TFVIS_IMG;
  var isImageSite = (m) => m && m.modality === "image" && !!m.image;
  for (const k of []) k;
  var source = (...a) => G().source(...a);
  var unitBox = (...a) => G().unitBox(...a);
  var unitName = (...a) => G().unitName(...a);
  var outline = (...a) => G().outline(...a);
  var heatmap = (...a) => G().heatmap(...a);

  // assets/src/factors/common.js
  var LEVEL_TEXT = {
    low: "word level: the importance score peaks in an early layer",
    mid: "sentence level: peaks in a later layer, activity stays local to the token",
    high: "long range: peaks in a later layer and activity persists along the sentence",
    dead: "never active on the corpus"
  };
  var LEVEL_TEXT_IMAGE = {
    low: "early: the importance score peaks in an early layer (local patch features such as colour, edges, texture)",
    mid: "peaks in a later layer, activity stays local to the patch",
    high: "peaks in a later layer and activity persists to the next patch: regions wider than one patch",
    dead: "never active on the images"
  };
  var levelText = LEVEL_TEXT;
  function section() {
    return manifest().then((m) => {
      if (!m.factors || !m.factors.n_factors) throw new Error("this site was built without transformer factors");
      if (isImageSite(m)) levelText = LEVEL_TEXT_IMAGE;
      return m;
    });
  }
  function geometry(m) {
    return isImageSite(m) ? m.image : null;
  }
  var indexPromise = null;
  function factorIndex(fs) {
    if (!indexPromise) {
      indexPromise = loadColumns(fs.files.index).then((c) => {
        c.n = c.factor.length;
        c.is = [];
        for (let l = 0; l < fs.n_layers; l++) c.is.push(c["is_" + l]);
        return c;
      });
      indexPromise.catch(() => {
        indexPromise = null;
      });
    }
    return indexPromise;
  }
  var isCurve = (index, f) => index.is.map((col) => col[f]);
  var chunkOf = (fs, f) => Math.floor(f / fs.chunk_size);
  var chunkFile = (pattern, chunk) => pattern.replace("{chunk:03d}", String(chunk).padStart(3, "0"));
  function ranges(keys, keyOf) {
    const out = /* @__PURE__ */ new Map();
    for (let i = 0; i < keys.length; i++) {
      const key = keyOf ? keyOf(i) : keys[i];
      const r = out.get(key);
      if (!r) out.set(key, [i, i + 1]);
      else r[1] = i + 1;
    }
    return out;
  }
  function randomFactor(index, level, not) {
    const ids = [];
    for (let i = 0; i < index.n; i++) {
      if ((!level || index.level[i] === level) && i !== not) ids.push(i);
    }
    if (!ids.length) return null;
    return ids[Math.floor(Math.random() * ids.length)];
  }
  function levelBadge(level, extra) {
    return el("span", { class: "flevel flevel-" + level, title: levelText[level] || "" }, level, extra || null);
  }
  function fmt(x, digits) {
    if (x === null || x === void 0 || isNaN(x)) return "–";
    const a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(1);
    return x.toFixed(digits === void 0 ? a >= 100 ? 0 : a >= 10 ? 1 : 3 : digits);
  }
  function pct(x) {
    if (x === 0) return "0%";
    if (x < 1e-3) return "<0.1%";
    return (100 * x).toFixed(x < 0.1 ? 1 : 0) + "%";
  }
  function sparkline(values, level, peak, w = 84, h = 22) {
    let max = 0;
    values.forEach((v) => {
      if (v > max) max = v;
    });
    const n = values.length;
    const pts = values.map((v, i) => {
      const x = 2 + (n > 1 ? i * (w - 4) / (n - 1) : 0);
      const y = h - 2 - (max > 0 ? v / max : 0) * (h - 4);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    const svg = el(
      "svg:svg",
      { class: "spark spark-" + level, viewBox: "0 0 " + w + " " + h, width: w, height: h, "aria-hidden": "true", focusable: "false" },
      el("svg:polyline", { points: pts.join(" ") })
    );
    if (peak !== void 0 && peak !== null) {
      const p = pts[peak].split(",");
      svg.appendChild(el("svg:circle", { cx: p[0], cy: p[1], r: 2.2 }));
    }
    return svg;
  }
  var factorSparkline = (index, f, w, h) => sparkline(isCurve(index, f), index.level[f], index.peak_layer[f], w, h);
  var factRow = (k, v) => el("div", null, el("dt", null, k), el("dd", null, v));
  function fail(err) {
    const status = document.getElementById("status");
    status.textContent = "Could not load the data: " + (err && err.message ? err.message : err);
    status.className = "error";
  }
  function alnumAt(s, i) {
    const ch = s.charAt(i < 0 ? s.length + i : i);
    return ch !== "" && /[\p{L}\p{N}]/u.test(ch);
  }
  function continues(tokens, i, sentStart) {
    if (i <= sentStart) return false;
    if (tokens.space_before[i] || tokens.is_special[i] || tokens.is_special[i - 1]) return false;
    return alnumAt(tokens.text[i - 1], -1) && alnumAt(tokens.text[i], 0);
  }
  function wordSpan(tokens, i, start2, end) {
    let a = i;
    let b = i;
    while (a > start2 && continues(tokens, a, start2)) a--;
    while (b + 1 < end && continues(tokens, b + 1, start2)) b++;
    return [a, b];
  }

  // assets/src/factors/page/context.js
  var page = {
    fs: null,
    // manifest.factors
    geo: null,
    // manifest.image on image sites, else null
    index: null,
    // factors/index.parquet (factorIndex)
    neighbors: null,
    // factors/neighbors.parquet
    sentences: null,
    // sentences.parquet (image sites: the image names in .text)
    tokens: null,
    // tokens.parquet (text sites)
    links: null,
    // tokenFactors(): which texts the attention pages show (text sites)
    current: { f: null, l: null },
    seq: 0,
    // render sequence: a view drawn for an older state drops its result
    /** Show layer l of the current factor (a history entry). */
    selectLayer: null,
    /** Merge a change into the URL state (no history entry) and show it. */
    change: null
  };
  var $ = (id) => document.getElementById(id);

  // assets/src/factors/page/data.js
  var chunks = /* @__PURE__ */ new Map();
  function chunkData(chunk) {
    const cached = chunks.get(chunk);
    if (cached) return cached;
    const fs = page.fs;
    const limeName = limeFile(chunk);
    const hm = fs.heatmaps && fs.heatmaps.files;
    const p = Promise.all([
      loadColumns(chunkFile(fs.files.topk, chunk)),
      loadFloat32(chunkFile(fs.files.hist, chunk)),
      limeName ? loadColumns(limeName) : null,
      hm ? loadBytes(chunkFile(hm.maps, chunk)) : null,
      hm ? loadFloat32(chunkFile(hm.meta, chunk)) : null
    ]).then(([topk, hist, lime, maps, meta]) => ({
      topk,
      starts: ranges(topk.factor, (i) => topk.factor[i] + "," + topk.layer[i]),
      hist,
      lime: lime ? groupLime(lime) : null,
      heat: maps ? { maps: new Uint8Array(maps), meta, lo: chunk * fs.chunk_size } : null
    }));
    chunks.set(chunk, p);
    p.catch(() => {
      chunks.delete(chunk);
    });
    return p;
  }
  function limeFile(chunk) {
    const lime = page.fs.lime;
    if (!lime || !lime.files || !lime.files.length) return null;
    const name = chunkFile("factors/lime-{chunk:03d}.parquet", chunk);
    return lime.files.indexOf(name) !== -1 ? name : null;
  }
  function groupLime(c) {
    const out = /* @__PURE__ */ new Map();
    for (let i = 0; i < c.factor.length; i++) {
      const key = c.factor[i] + "," + c.layer[i] + "," + c.sentence_id[i] + "," + c.position[i];
      let g = out.get(key);
      if (!g) {
        g = { tokens: [], weights: [], activation: c.activation ? c.activation[i] : null, layer: c.layer[i] };
        out.set(key, g);
      }
      g.tokens.push(c.token[i]);
      g.weights.push(c.weight[i]);
    }
    return out;
  }
  var limeOf = (cd, f, l, sid, pos) => cd.lime ? cd.lime.get(f + "," + l + "," + sid + "," + pos) || null : null;
  function limeLayers(lime, f) {
    const layers = {};
    if (!lime) return [];
    lime.forEach((g, key) => {
      if (key.split(",")[0] === String(f)) layers[g.layer] = (layers[g.layer] || 0) + 1;
    });
    return Object.keys(layers).map(Number).map((l) => ({ layer: l, contexts: layers[l] }));
  }
  function heatMap(cd, f, img) {
    const h = cd.heat;
    const hm = page.fs.heatmaps;
    if (!h || !hm) return null;
    const N = hm.contexts;
    const U = hm.n_units;
    const fi = f - h.lo;
    for (let j = 0; j < N; j++) {
      const id = h.meta[(fi * N + j) * 2];
      if (id < 0) break;
      if (id !== img) continue;
      const mx = h.meta[(fi * N + j) * 2 + 1];
      const bytes = h.maps.subarray((fi * N + j) * U, (fi * N + j + 1) * U);
      const values = new Float32Array(U);
      for (let u = 0; u < U; u++) values[u] = bytes[u] / 255 * mx;
      return { values, max: mx };
    }
    return null;
  }
  function nMaps(cd, f) {
    const h = cd.heat;
    const hm = page.fs.heatmaps;
    let n = 0;
    if (!h || !hm) return 0;
    for (let j = 0; j < hm.contexts; j++) if (h.meta[((f - h.lo) * hm.contexts + j) * 2] >= 0) n++;
    return n;
  }
  function contextRange(cd, f, l, shownOpt) {
    const range = cd.starts.get(f + "," + l);
    const total = range ? range[1] - range[0] : 0;
    const shown = shownOpt === "all" ? total : Math.min(total, parseInt(shownOpt, 10));
    return { range, total, shown, vmax: range ? cd.topk.value[range[0]] || 1 : 1 };
  }

  // assets/src/factors/page/curve.js
  var hoverInfo = null;
  function renderCurve(f, l) {
    const { index } = page;
    const values = isCurve(index, f);
    const L = values.length;
    const peak = index.peak_layer[f];
    const W = 560, H = 220, ml = 46, mr = 14, mt = 16, mb = 36;
    let max = 0;
    values.forEach((v) => {
      if (v > max) max = v;
    });
    const top = max > 0 ? max * 1.12 : 1;
    const xs = (i) => ml + (L > 1 ? i * (W - ml - mr) / (L - 1) : (W - ml - mr) / 2);
    const ys = (v) => mt + (1 - v / top) * (H - mt - mb);
    const colW = L > 1 ? (W - ml - mr) / (L - 1) : W - ml - mr;
    const keys = { ArrowLeft: () => Math.max(0, page.current.l - 1), ArrowRight: () => Math.min(L - 1, page.current.l + 1), Home: () => 0, End: () => L - 1 };
    const svg = el("svg:svg", {
      class: "is-svg level-" + index.level[f],
      viewBox: "0 0 " + W + " " + H,
      role: "img",
      tabindex: "0",
      "aria-label": "Importance score of factor " + f + " by layer: " + values.map((v, i) => "layer " + i + " " + fmt(v)).join(", ") + ". Selected layer " + l + ". Use the left and right arrow keys to change the layer.",
      onkeydown: (e) => {
        if (!keys[e.key]) return;
        e.preventDefault();
        page.selectLayer(keys[e.key]());
      }
    });
    for (let t = 0; t <= 4; t++) {
      const v = top * t / 4;
      svg.appendChild(el("svg:line", { class: "grid", x1: ml, x2: W - mr, y1: ys(v), y2: ys(v) }));
      svg.appendChild(el("svg:text", { x: ml - 6, y: ys(v) + 3, "text-anchor": "end" }, fmt(v, v >= 10 ? 0 : 2)));
    }
    svg.appendChild(el("svg:text", { class: "axis-title", x: 12, y: mt + (H - mt - mb) / 2, transform: "rotate(-90 12 " + (mt + (H - mt - mb) / 2) + ")", "text-anchor": "middle" }, "IS"));
    svg.appendChild(el("svg:rect", { class: "sel-band", x: xs(l) - colW / 2 + 2, y: mt - 6, width: colW - 4, height: H - mt - mb + 6 }));
    svg.appendChild(el("svg:polyline", { class: "is-line", points: values.map((v, i) => xs(i).toFixed(1) + "," + ys(v).toFixed(1)).join(" ") }));
    const hover = el("svg:g", { class: "is-hover" });
    values.forEach((v, i) => {
      svg.appendChild(el("svg:circle", { class: i === l ? "is-pt selected" : "is-pt", cx: xs(i), cy: ys(v), r: i === l ? 6 : 4 }));
      svg.appendChild(el("svg:text", { class: i === l ? "xlab selected" : "xlab", x: xs(i), y: H - mb + 16, "text-anchor": "middle" }, i === 0 ? "emb" : String(i)));
      if (i === peak) svg.appendChild(el("svg:text", { class: "peak-lab", x: xs(i), y: ys(v) - 10, "text-anchor": "middle" }, "peak"));
    });
    svg.appendChild(el("svg:text", { class: "axis-title", x: ml + (W - ml - mr) / 2, y: H - 4, "text-anchor": "middle" }, "layer (emb = embeddings)"));
    svg.appendChild(hover);
    values.forEach((v, i) => {
      svg.appendChild(el("svg:rect", {
        class: "is-col",
        x: xs(i) - colW / 2,
        y: 0,
        width: colW,
        height: H,
        dataset: { layer: i },
        onclick: () => page.selectLayer(i),
        onmouseenter: () => showHover(f, i),
        onmouseleave: () => showHover(f, null)
      }, el("svg:title", null, "Layer " + i + ": IS " + fmt(v) + (i === peak ? " (peak)" : "") + " · click to show its contexts")));
    });
    const box = clear($("is-chart"));
    box.appendChild(svg);
    hoverInfo = el("p", { class: "is-info", "aria-hidden": "true" });
    box.appendChild(hoverInfo);
    showHover(f, null);
    const buttons = clear($("layer-buttons"));
    values.forEach((v, i) => {
      buttons.appendChild(el("button", {
        type: "button",
        class: i === peak ? "peak" : null,
        "aria-pressed": i === l ? "true" : "false",
        title: "Layer " + i + (i === 0 ? " (embeddings)" : "") + ": IS " + fmt(v) + (i === peak ? " (peak)" : ""),
        dataset: { layer: i },
        onclick: () => page.selectLayer(i)
      }, "L" + i));
    });
  }
  function showHover(f, i) {
    if (!hoverInfo) return;
    const { index } = page;
    const layer = i === null ? page.current.l : i;
    const v = index.is[layer][f];
    const peak = index.peak_layer[f];
    hoverInfo.textContent = (i === null ? "Selected: " : "") + "layer " + layer + (layer === 0 ? " (embeddings)" : "") + " · IS " + fmt(v) + " · " + (index.is[peak][f] > 0 ? Math.round(100 * v / index.is[peak][f]) + "% of the peak" : "") + (layer === peak ? " · peak" : "");
  }

  // assets/src/factors/page/facts.js
  function renderFacts(f, l, cd) {
    const { fs, index, geo, tokens, sentences } = page;
    const bins = fs.hist_edges.length - 1;
    const lo = chunkOf(fs, f) * fs.chunk_size;
    const off = ((f - lo) * fs.n_layers + l) * bins;
    const counts = cd.hist.subarray(off, off + bins);
    let active = 0;
    for (let b = 0; b < bins; b++) active += counts[b];
    const last = sentences.token_offset.length - 1;
    const nTok = tokens ? tokens.text.length : sentences.token_offset[last] + sentences.n_tokens[last];
    const unitWord = geo ? "units (patches + " + (geo.n_prefix_tokens > 1 ? "prefix tokens" : "[CLS]") + ")" : "tokens";
    const range = cd.starts.get(f + "," + l);
    const topMin = range ? cd.topk.value[range[1] - 1] : null;
    const topMax = range ? cd.topk.value[range[0]] : null;
    const peak = index.peak_layer[f];
    $("stats-layer").textContent = l + (l === 0 ? " (embeddings)" : "");
    clear($("facts")).append(
      factRow("IS", fmt(index.is[l][f]) + (l === peak ? " (peak)" : " (peak " + fmt(index.is[peak][f]) + " at layer " + peak + ")")),
      factRow("Active on", active.toLocaleString() + " of " + nTok.toLocaleString() + " " + unitWord + " (" + pct(active / nTok) + ")"),
      factRow("Top-" + fs.top_k + " range", range ? fmt(topMin) + " – " + fmt(topMax) : "no activations"),
      factRow("Density (all layers)", pct(index.density[f])),
      factRow("Max activation", fmt(index.max_activation[f]) + " (any layer)"),
      factRow("Spread at peak", fmt(index.spread[f], 2) + " = P(active at t+1 | active at t)" + (geo ? ", t+1 = the next unit in row-major order" : ""))
    );
    renderHist(counts, topMin);
  }
  function renderHist(counts, topMin) {
    const edges = page.fs.hist_edges;
    const units = page.geo ? " units" : " tokens";
    const n = counts.length;
    const W = 360, H = 160, ml = 34, mr = 14, mt = 18, mb = 30;
    const lmin = Math.log10(edges[0]), lmax = Math.log10(edges[n]);
    const xs = (x) => ml + (Math.log10(x) - lmin) / (lmax - lmin) * (W - ml - mr);
    let max = 0;
    for (let i = 0; i < n; i++) if (counts[i] > max) max = counts[i];
    const lmaxC = Math.log10(1 + max) || 1;
    const ys = (c) => mt + (1 - Math.log10(1 + c) / lmaxC) * (H - mt - mb);
    const svg = el("svg:svg", {
      class: "hist-svg",
      viewBox: "0 0 " + W + " " + H,
      role: "img",
      "aria-label": "Histogram of positive activations at this layer, log-scaled axes; " + (max ? "largest bin " + max + units : "no activations")
    });
    for (let b = 0; b < n; b++) {
      if (!counts[b]) continue;
      const x0 = xs(edges[b]), x1 = xs(edges[b + 1]);
      svg.appendChild(el(
        "svg:rect",
        { class: topMin !== null && edges[b + 1] > topMin ? "bar top" : "bar", x: x0 + 0.5, y: ys(counts[b]), width: Math.max(1, x1 - x0 - 1), height: H - mb - ys(counts[b]) },
        el("svg:title", null, fmt(edges[b]) + " – " + fmt(edges[b + 1]) + ": " + counts[b].toLocaleString() + units)
      ));
    }
    svg.appendChild(el("svg:line", { class: "axis", x1: ml, x2: W - mr, y1: H - mb, y2: H - mb }));
    for (let p = Math.ceil(lmin); p <= Math.floor(lmax); p++) {
      svg.appendChild(el("svg:text", { x: xs(Math.pow(10, p)), y: H - mb + 12, "text-anchor": "middle" }, p >= 0 ? String(Math.pow(10, p)) : Math.pow(10, p).toFixed(-p)));
    }
    svg.appendChild(el("svg:text", { x: ml + (W - ml - mr) / 2, y: H - 3, "text-anchor": "middle", class: "axis-title" }, "activation (log scale)"));
    svg.appendChild(el("svg:text", { x: ml - 4, y: mt + 8, "text-anchor": "end" }, max.toLocaleString()));
    svg.appendChild(el("svg:text", { x: ml - 4, y: H - mb, "text-anchor": "end" }, "0"));
    if (topMin !== null && topMin > 0) {
      const tx = xs(Math.max(edges[0], Math.min(edges[n], topMin)));
      svg.appendChild(el("svg:line", { class: "topk-line", x1: tx, x2: tx, y1: mt - 14, y2: H - mb }));
      svg.appendChild(el("svg:text", { class: "topk-lab", x: tx - 3, y: mt - 6, "text-anchor": "end" }, "top-" + page.fs.top_k + " →"));
    }
    clear($("hist")).appendChild(svg);
  }

  // assets/src/factors/page/header.js
  function renderHeader(f, l) {
    const { fs, index, geo } = page;
    const level = index.level[f];
    document.title = "Factor " + f + " (" + level + ") · layer " + l + " · tfvis-site";
    $("ftitle").textContent = "Factor " + f;
    clear($("fbadge")).appendChild(levelBadge(level));
    $("fid").value = f;
    $("prev").title = "Previous factor (" + (f - 1 + index.n) % index.n + ")";
    $("next").title = "Next factor (" + (f + 1) % index.n + ")";
    const peak = index.peak_layer[f];
    clear($("fwhy")).appendChild(document.createTextNode(why(
      level,
      peak,
      index.spread[f],
      fs.level_low_max_layer,
      fs.config && fs.config.level_spread_threshold,
      geo ? "patch" : "token"
    )));
    const top = clear($("ftop"));
    if (index.top_tokens[f]) {
      top.appendChild(el("span", { class: "muted" }, (geo ? "Images of its top contexts at layer " : "Most frequent tokens in its top contexts at layer ") + peak + ": "));
      top.appendChild(el("span", { class: "ftop-tokens" }, index.top_tokens[f]));
    }
  }
  function why(level, peak, spread, lowMax, thr, unit) {
    const image = unit === "patch";
    if (level === "dead") return "Dead: never active on the corpus at any layer.";
    if (level === "low") {
      return "Low level (" + (image ? "early" : "word level") + "): its importance score peaks at layer " + peak + ", at or before layer " + lowMax + ", the last layer counted as early.";
    }
    const high = level === "high";
    const names = image ? ["High level (regions): ", "Mid level (local): "] : ["High level (long range): ", "Mid level (sentence level): "];
    const next = image ? "the next patch (to the right)" : "the next token";
    const wide = image ? "covers regions wider than a patch." : "persists along the sentence.";
    return (high ? names[0] : names[1]) + "its importance score peaks late, at layer " + peak + " (after layer " + lowMax + "), and when it is active on a " + unit + " it is active on " + next + " with probability " + fmt(spread, 2) + (high ? " ≥ " : " < ") + fmt(thr, 2) + " (the spread threshold), so its activity " + (high ? wide : "stays local to the " + unit + ".");
  }

  // assets/src/factors/page/image-paint.js
  var MARGIN = 3;
  function paintActivation(ctx, map, vmax) {
    const geo = page.geo;
    const P = geo.n_prefix_tokens, n = geo.grid[0] * geo.grid[1], s = geo.patch_size, cols = geo.grid[1];
    ctx.save();
    for (let p = 0; p < n; p++) {
      const v = vmax > 0 ? Math.max(0, Math.min(1, map.values[P + p] / vmax)) : 0;
      if (v >= 1) continue;
      ctx.fillStyle = "rgba(10,12,30," + (0.62 * (1 - v)).toFixed(3) + ")";
      ctx.fillRect(p % cols * s, Math.floor(p / cols) * s, s, s);
    }
    ctx.restore();
    heatmap(ctx, geo, map.values.subarray(P), vmax, [255, 140, 0], 0.45);
  }
  function paintLime(ctx, lime) {
    const geo = page.geo;
    const P = geo.n_prefix_tokens, n = geo.grid[0] * geo.grid[1];
    const pos = new Float32Array(n), neg = new Float32Array(n);
    let wmax = 0;
    for (let k = 0; k < lime.tokens.length; k++) {
      const u = lime.tokens[k] - P, w = lime.weights[k];
      if (u < 0 || u >= n) continue;
      if (w > 0) pos[u] = w;
      else neg[u] = -w;
      wmax = Math.max(wmax, Math.abs(w));
    }
    heatmap(ctx, geo, pos, wmax, [220, 38, 38], 0.7);
    heatmap(ctx, geo, neg, wmax, [22, 163, 74], 0.7);
  }
  function painter(mode, map, lime, vmax) {
    if (mode === "act" && map) return (ctx) => paintActivation(ctx, map, vmax);
    if (mode === "lime" && lime) return (ctx) => paintLime(ctx, lime);
    return null;
  }
  function unitView(img, pos, full, size, paint, colour) {
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
    const canvas = el("canvas", { class: "tfvis-crop", width: Math.round(sw * k * dpr), height: Math.round(sh * k * dpr) });
    canvas.style.width = Math.round(sw * k) + "px";
    canvas.style.height = Math.round(sh * k) + "px";
    const ctx = canvas.getContext("2d");
    const ready = source(geo, img).then((src) => {
      ctx.setTransform(k * dpr, 0, 0, k * dpr, -x0 * k * dpr, -y0 * k * dpr);
      ctx.drawImage(src.img, src.x + x0, src.y + y0, sw, sh, x0, y0, sw, sh);
      if (paint) paint(ctx);
      const lw = Math.min(3, Math.max(1, size / 56)) / k;
      if (!prefix) outline(ctx, box[0], box[1], box[2] - box[0], box[3] - box[1], colour || "#ffd400", lw);
      else if (size >= 48) prefixLabel(ctx, dpr, unitName(geo, pos));
      canvas.dataset.drawn = "1";
      return canvas;
    });
    return { canvas, ready };
  }
  function prefixLabel(ctx, dpr, text2) {
    ctx.save();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = "bold 11px sans-serif";
    const w = ctx.measureText(text2).width + 8;
    ctx.fillStyle = "rgba(0,0,0,0.7)";
    ctx.fillRect(3, 3, w, 16);
    ctx.fillStyle = "#ffd400";
    ctx.fillText(text2, 7, 15);
    ctx.restore();
  }
  var imageName = (sid) => page.sentences.text ? String(page.sentences.text[sid]) : "image " + sid;
  function activationLegend(vmax, n) {
    return el(
      "div",
      { class: "act-legend small" },
      el("span", null, "Activation of this factor on every patch: "),
      el("span", { class: "act-scale", "aria-hidden": "true" }),
      el("span", null, " 0 (dimmed) → " + fmt(vmax) + " (bright, orange; the top activation at this layer)"),
      n !== void 0 ? el("span", { class: "muted" }, " · maps for the first " + n + " distinct images of the top contexts") : null
    );
  }

  // assets/src/factors/page/lime.js
  function limeScale() {
    return [
      el("span", { class: "lime-swatch lime-neg", "aria-hidden": "true" }),
      el("span", null, " lowers the activation "),
      el("span", { class: "lime-scale", "aria-hidden": "true" }),
      el("span", { class: "lime-swatch lime-pos", "aria-hidden": "true" }),
      el("span", null, " raises it")
    ];
  }
  function limeLegend(extra) {
    const lime = page.fs.lime || {};
    const cfg = lime.config || {};
    return el(
      "div",
      { class: "lime-legend" },
      el("span", null, "LIME saliency per patch: "),
      limeScale(),
      el("span", { class: "muted" }, " · intensity = |weight| / largest |weight| in that image · " + (cfg.samples ? cfg.samples + " copies with patches replaced by " + (lime.mask_token || "the mean colour") + ", " : "") + "ridge regression on which patches were kept." + (extra || ""))
    );
  }
  var plural = (n, word) => n + " " + word + (n > 1 ? "s" : "");
  function renderLimeNote(f, l, cd, legendHere) {
    const note = clear($("lime-note"));
    const lime = page.fs.lime;
    if (!lime || !lime.files) {
      note.appendChild(el("p", { class: "muted small" }, "This build has no LIME saliency data."));
      return;
    }
    const layers = limeLayers(cd.lime, f);
    const here = layers.filter((x) => x.layer === l)[0];
    if (here) {
      note.appendChild(legendHere(here.contexts));
    } else if (layers.length) {
      const to = layers[0].layer;
      note.appendChild(el(
        "p",
        { class: "small" },
        "LIME saliency for this factor is computed at layer " + to + " (its peak). ",
        el("button", { type: "button", onclick: () => page.selectLayer(to) }, "Show layer " + to)
      ));
    } else {
      const cov = lime.config && lime.config.coverage;
      const covered = (lime.covered_factors || []).indexOf(f) !== -1;
      note.appendChild(el("p", { class: "muted small" }, covered ? "No LIME contexts for this factor." : "No LIME saliency for this factor: this build computed it for " + (cov === "mid-high" ? "mid- and high-level factors" : cov || "some factors") + " only (" + (lime.covered_factors || []).length + " factors); build with --lime all to cover every factor."));
    }
  }

  // assets/src/factors/page/image-detail.js
  var DETAIL = 336;
  function renderDetail(f, l, cd, i, vmax, wanted) {
    const box = clear($("ctx-detail"));
    if (i === null || i === void 0) {
      box.hidden = true;
      return null;
    }
    box.hidden = false;
    const { fs, geo, index } = page;
    const topk = cd.topk;
    const sid = topk.sentence_id[i], pos = topk.position[i], value = topk.value[i], rank = topk.rank[i];
    const peak = index.peak_layer[f];
    const map = l === peak ? heatMap(cd, f, sid) : null;
    const lime = limeOf(cd, f, l, sid, pos);
    let mode = wanted;
    if (mode !== "lime" && mode !== "none") mode = map ? "act" : lime ? "lime" : "none";
    if (mode === "lime" && !lime) mode = "none";
    const long = Math.max(geo.size[0], geo.size[1]);
    const scale = Math.max(1, Math.floor(DETAIL / long));
    const view = unitView(sid, pos, true, Math.max(DETAIL, scale * long), painter(mode, map, lime, vmax), mode === "lime" ? "#1d4ed8" : null);
    view.canvas.id = "detail-canvas";
    view.canvas.dataset.mode = mode;
    const modeButton = (m, label, enabled) => el("button", {
      type: "button",
      "aria-pressed": m === mode ? "true" : "false",
      disabled: enabled ? null : "disabled",
      dataset: { mode: m },
      onclick: () => page.change({ d: m === "act" ? null : m })
    }, label);
    const info = el(
      "div",
      { class: "detail-info" },
      el("h3", null, "Rank " + (rank + 1) + " · ", el("span", { class: "detail-name" }, imageName(sid))),
      el(
        "p",
        null,
        unitName(geo, pos) + " · activation " + fmt(value) + " at layer " + l + " · ",
        el("a", { href: "tokens.html?s=" + sid + "&t=" + pos, title: "This unit in the unit browser" }, "image #" + sid + ", unit " + pos),
        fs.search && fs.search.by_image ? [" · ", el("a", { href: "factors.html?img=" + sid, class: "detail-by-image" }, "factors that fire on this image")] : null
      ),
      el(
        "div",
        { class: "detail-modes", role: "group", "aria-label": "Overlay on the whole image" },
        modeButton("act", "activation map", !!map),
        modeButton("lime", "LIME", !!lime),
        modeButton("none", "plain", true)
      )
    );
    if (mode === "act" && map) {
      if ($("overlay").value !== "act") info.appendChild(activationLegend(vmax));
      info.append(...mapFacts(map));
    } else if (mode === "lime") {
      if ($("overlay").value !== "lime") info.appendChild(limeLegend());
    } else if (!map) {
      info.appendChild(el("p", { class: "muted small" }, l !== peak ? "Activation maps of whole images are precomputed at the peak layer (" + peak + ") only." : "No activation map for this image: maps cover the first " + nMaps(cd, f) + " distinct images of the top contexts."));
    }
    info.appendChild(el("button", { type: "button", class: "detail-close", onclick: () => page.change({ c: null, d: null }) }, "Close"));
    box.appendChild(el("div", { class: "detail-image" }, view.canvas));
    box.appendChild(info);
    return view.ready;
  }
  function mapFacts(map) {
    const geo = page.geo;
    const out = [];
    const P = geo.n_prefix_tokens;
    if (P > 0) {
      const chips = el("p", { class: "prefix-acts small" }, el("span", { class: "muted" }, "Prefix tokens (no pixels): "));
      for (let u = 0; u < P; u++) chips.appendChild(el("span", { class: "prefix-chip", title: "activation of this factor on " + unitName(geo, u) }, unitName(geo, u) + " " + fmt(map.values[u])));
      out.push(chips);
    }
    let best = 0;
    for (let q = 1; q < map.values.length; q++) if (map.values[q] > map.values[best]) best = q;
    out.push(el("p", { class: "muted small" }, "Strongest unit in this image: " + unitName(geo, best) + " (" + fmt(map.max) + ")."));
    return out;
  }

  // assets/src/factors/page/text-contexts.js
  function renderContexts(f, l, cd) {
    const list = clear($("contexts"));
    const W = $("window").value === "all" ? Infinity : parseInt($("window").value, 10);
    const { range, total, shown, vmax } = contextRange(cd, f, l, $("shown").value);
    $("ctx-h").textContent = "Top contexts at layer " + l + (l === 0 ? " (embeddings)" : "");
    $("ctx-count").textContent = total ? shown + " of " + total + " contexts, strongest first" : "";
    renderLimeNote(f, l, cd, textLegend);
    if (!range) {
      list.appendChild(el("li", { class: "muted" }, "This factor is never active at layer " + l + "."));
      return;
    }
    const topk = cd.topk;
    const frag = document.createDocumentFragment();
    for (let i = range[0]; i < range[0] + shown; i++) {
      const sid = topk.sentence_id[i];
      const pos = topk.position[i];
      const value = topk.value[i];
      const lime = limeOf(cd, f, l, sid, pos);
      frag.appendChild(el(
        "li",
        { class: lime ? "ctx has-lime" : "ctx" },
        el("span", { class: "ctx-rank" }, String(topk.rank[i] + 1)),
        valueBar(value, vmax),
        contextText(sid, pos, W, lime, value),
        el("a", { class: "ctx-link", href: "tokens.html?s=" + sid + "&t=" + pos, title: "Text #" + sid + ", token " + pos + " in the token browser" }, "#" + sid),
        attentionLink(sid, pos, l)
      ));
    }
    list.appendChild(frag);
  }
  function valueBar(value, vmax) {
    return el(
      "span",
      { class: "ctx-val", title: "activation " + value },
      el("span", { class: "ctx-bar", style: { width: Math.max(2, 100 * value / vmax).toFixed(1) + "%" } }),
      el("span", { class: "ctx-num" }, fmt(value))
    );
  }
  function textLegend(contexts) {
    const lime = page.fs.lime;
    const cfg = lime.config || {};
    return el(
      "div",
      { class: "lime-legend" },
      el("span", null, "LIME saliency on the top " + plural(contexts, "context") + " (marked LIME; whole text shown): "),
      limeScale(),
      el("span", { class: "muted" }, " · intensity = |weight| / largest |weight| in that text · " + (cfg.samples ? cfg.samples + " copies with tokens replaced by " + (lime.mask_token || "the mask token") + ", " : "") + "ridge regression on which tokens were kept. Hover a token for its weight.")
    );
  }
  function attentionLink(sid, pos, l) {
    const links = page.links;
    const row = links ? links.sampleRow.get(sid) : void 0;
    if (row === void 0 || !links.nLayers) return null;
    const layer = Math.min(l, links.nLayers - 1);
    return el("a", {
      class: "ctx-link ctx-attention",
      href: "attention-head.html?s=" + row + "&t=" + pos + "&l=" + layer,
      title: "This token in the attention view of layer " + layer + " (text " + row + " of the attention sample)"
    }, "attention");
  }
  function contextText(sid, pos, W, lime, value) {
    const { tokens, sentences } = page;
    const start2 = sentences.token_offset[sid];
    const end = start2 + sentences.n_tokens[sid];
    const hit = start2 + pos;
    const word = wordSpan(tokens, hit, start2, end);
    let a = start2;
    let b = end - 1;
    if (!lime && W !== Infinity) {
      a = wordSpan(tokens, Math.max(start2, hit - W), start2, end)[0];
      b = wordSpan(tokens, Math.min(end - 1, hit + W), start2, end)[1];
    }
    const weights = /* @__PURE__ */ new Map();
    let wmax = 0;
    if (lime) {
      lime.tokens.forEach((t, k) => {
        weights.set(t, lime.weights[k]);
        wmax = Math.max(wmax, Math.abs(lime.weights[k]));
      });
    }
    const title = (i, w) => tokens.piece[i] + (w !== void 0 ? " · LIME weight " + fmt(w) : "");
    const p = el("p", { class: "ctx-text" });
    let first = true;
    if (a > start2 && !(a === start2 + 1 && tokens.is_special[start2])) p.appendChild(el("span", { class: "ell" }, "… "));
    for (let i = a; i <= b; i++) {
      const isHit = i === hit;
      if (tokens.is_special[i] && !isHit) continue;
      if (!first && tokens.space_before[i]) p.appendChild(document.createTextNode(" "));
      first = false;
      let cls = "ctok";
      if (isHit) cls += " hit";
      else if (i >= word[0] && i <= word[1]) cls += " hitword";
      if (tokens.is_special[i]) cls += " special";
      const attrs = { class: cls };
      const w = weights.get(i - start2);
      if (w !== void 0) {
        const alpha = wmax > 0 ? Math.min(1, Math.abs(w) / wmax) * 0.8 : 0;
        attrs.style = { "background-color": (w >= 0 ? "rgba(220, 38, 38, " : "rgba(22, 163, 74, ") + alpha.toFixed(3) + ")" };
        attrs.dataset = { w: w.toFixed(4) };
      }
      attrs.title = isHit ? "activating token · " + title(i, w) + " · activation " + fmt(value) : title(i, w);
      p.appendChild(el("span", attrs, tokens.text[i]));
    }
    if (b < end - 1 && !(b === end - 2 && tokens.is_special[end - 1])) p.appendChild(el("span", { class: "ell" }, " …"));
    if (lime) p.appendChild(el("span", { class: "lime-tag", title: "LIME saliency shown on this text" }, "LIME"));
    return p;
  }

  // assets/src/factors/page/image-contexts.js
  var CROP = 112;
  function renderImageContexts(f, l, cd, state) {
    const list = clear($("contexts"));
    const { range, total, shown, vmax } = contextRange(cd, f, l, $("shown").value);
    const full = $("view").value === "full";
    const overlay = $("overlay").value;
    const peak = page.index.peak_layer[f];
    $("ctx-h").textContent = "Top contexts at layer " + l + (l === 0 ? " (embeddings)" : "");
    $("ctx-count").textContent = total ? shown + " of " + total + " contexts, strongest first" : "";
    renderLimeNote(f, l, cd, (n) => overlay === "lime" ? limeLegend(" " + plural(n, "context") + " (marked LIME) at this layer.") : el("p", { class: "small" }, "LIME saliency is available for " + plural(n, "context") + " (marked LIME): choose Overlay → LIME saliency, or open one."));
    renderOverlayNote(f, l, cd, overlay, vmax);
    const waits = [];
    if (!range) {
      list.appendChild(el("li", { class: "muted" }, "This factor is never active at layer " + l + "."));
      renderDetail(f, l, cd, null, vmax);
      markDrawn(f, l, waits);
      return;
    }
    const topk = cd.topk;
    const frag = document.createDocumentFragment();
    const opened = state.c === void 0 ? null : parseInt(state.c, 10);
    let openedRow = null;
    for (let i = range[0]; i < range[0] + shown; i++) {
      const sid = topk.sentence_id[i], pos = topk.position[i], value = topk.value[i], rank = topk.rank[i];
      const lime = limeOf(cd, f, l, sid, pos);
      const map = l === peak ? heatMap(cd, f, sid) : null;
      const view = unitView(sid, pos, full, CROP, painter(overlay, map, lime, vmax), overlay === "lime" ? "#1d4ed8" : null);
      waits.push(view.ready);
      const unit = unitName(page.geo, pos);
      if (rank === opened) openedRow = i;
      const tile = el("button", {
        type: "button",
        class: "ctx-tile",
        "aria-pressed": rank === opened ? "true" : "false",
        title: "Rank " + (rank + 1) + " · " + unit + " of " + imageName(sid) + " · activation " + fmt(value) + " · click to see the whole image" + (map ? " with its activation map" : ""),
        dataset: { rank },
        onclick: () => openContext(rank)
      }, view.canvas);
      frag.appendChild(el(
        "li",
        {
          class: "ctx-img" + (lime ? " has-lime" : "") + (map ? " has-map" : ""),
          dataset: { image: sid, pos, layer: l, rank }
        },
        tile,
        el(
          "div",
          { class: "ctx-meta" },
          el("span", { class: "ctx-rank" }, "#" + (rank + 1)),
          valueBar(value, vmax),
          lime ? el("span", { class: "lime-tag", title: "LIME saliency computed for this context" }, "LIME") : null
        ),
        el("div", { class: "ctx-name", title: imageName(sid) }, imageName(sid)),
        el("div", { class: "ctx-unit muted" }, unit)
      ));
    }
    list.appendChild(frag);
    const detail = renderDetail(f, l, cd, openedRow, vmax, state.d);
    if (detail) waits.push(detail);
    markDrawn(f, l, waits);
  }
  function markDrawn(f, l, waits) {
    const seq = page.seq;
    delete document.body.dataset.drawn;
    Promise.all(waits).then(() => {
      if (seq === page.seq) document.body.dataset.drawn = f + "," + l;
    }).catch(fail);
  }
  function openContext(rank) {
    const open = String(query().c) === String(rank) ? null : rank;
    page.change({ c: open });
    if (open !== null) $("ctx-detail").scrollIntoView({ block: "nearest" });
  }
  function renderOverlayNote(f, l, cd, overlay, vmax) {
    const note = clear($("overlay-note"));
    const peak = page.index.peak_layer[f];
    if (overlay !== "act") return;
    if (l !== peak) {
      note.appendChild(el(
        "p",
        { class: "small" },
        "Activation maps of whole images are precomputed at the peak layer (" + peak + ") only. ",
        el("button", { type: "button", onclick: () => page.selectLayer(peak) }, "Show layer " + peak)
      ));
    } else {
      note.appendChild(activationLegend(vmax, nMaps(cd, f)));
    }
  }

  // assets/src/factors/page/neighbors.js
  function renderNeighbors(f) {
    const { index, neighbors } = page;
    const list = clear($("neighbors"));
    const nn = Math.round(neighbors.factor.length / index.n);
    for (let i = f * nn; i < (f + 1) * nn && i < neighbors.factor.length; i++) {
      const g = neighbors.neighbor[i];
      if (g < 0) continue;
      list.appendChild(el(
        "li",
        null,
        el("a", { href: "?f=" + g, title: "Factor " + g + " (" + index.level[g] + ", peak layer " + index.peak_layer[g] + ")" }, "#" + g),
        " ",
        levelBadge(index.level[g]),
        el("span", { class: "nn-cos", title: "cosine of the dictionary columns" }, fmt(neighbors.cosine[i], 2)),
        factorSparkline(index, g, 56, 18),
        neighbourTop(g)
      ));
    }
    if (!list.firstChild) list.appendChild(el("li", { class: "muted" }, "No neighbours recorded."));
  }
  function neighbourTop(g) {
    const { index, geo } = page;
    const span2 = el("span", { class: "nn-top", title: index.top_tokens[g] });
    if (geo && index.thumb_image_0 && index.thumb_image_0[g] >= 0) {
      const view = unitView(index.thumb_image_0[g], index.thumb_pos_0[g], false, 24);
      view.ready.catch(fail);
      span2.append(view.canvas, " ");
    }
    span2.appendChild(document.createTextNode(index.top_tokens[g]));
    return span2;
  }

  // assets/src/factors/page/state.js
  function start() {
    const status = $("status");
    const manifestP = section();
    const indexP = manifestP.then((m) => factorIndex(m.factors));
    const neighborsP = manifestP.then((m) => loadColumns(m.factors.files.neighbors));
    const textP = manifestP.then((m) => geometry(m) ? Promise.all([loadColumns("sentences.parquet", ["token_offset", "n_tokens", "text"]), null]) : Promise.all([
      loadColumns("sentences.parquet", ["token_offset", "n_tokens"]),
      loadColumns("tokens.parquet", ["text", "space_before", "is_special", "piece"])
    ]));
    manifestP.then((m) => {
      page.fs = m.factors;
      const f = parseInt(query().f, 10);
      if (f >= 0 && f < m.factors.n_factors) chunkData(chunkOf(m.factors, f));
    }).catch(() => {
    });
    page.selectLayer = (l) => {
      if (l !== page.current.l) show(setQuery({ f: page.current.f, l, c: null }, true));
    };
    page.change = (obj) => show(setQuery(obj, false));
    function show(state) {
      const seq = ++page.seq;
      const { fs, index } = page;
      const f = state.f === void 0 ? 0 : parseInt(state.f, 10);
      if (!(f >= 0 && f < index.n)) {
        status.textContent = 'There is no factor "' + state.f + '": factors are numbered 0–' + (index.n - 1) + ".";
        status.className = "error";
        return Promise.resolve();
      }
      const peak = index.peak_layer[f];
      let l = state.l === void 0 ? peak : parseInt(state.l, 10);
      if (!(l >= 0 && l < fs.n_layers)) l = peak;
      const factorChanged = f !== page.current.f;
      page.current = { f, l };
      document.dispatchEvent(new CustomEvent("tfvis:factor", { detail: { f, l } }));
      syncControls(state);
      renderHeader(f, l);
      renderCurve(f, l);
      if (factorChanged) renderNeighbors(f);
      status.textContent = "Loading contexts…";
      status.className = "muted";
      return Promise.all([chunkData(chunkOf(fs, f)), textP, page.geo ? null : tokenFactors()]).then(([cd, text2, links]) => {
        if (seq !== page.seq) return;
        [page.sentences, page.tokens] = text2;
        page.links = links;
        renderFacts(f, l, cd);
        if (page.geo) renderImageContexts(f, l, cd, state);
        else renderContexts(f, l, cd);
        status.textContent = "";
        document.body.dataset.ready = f + "," + l;
      }).catch(fail);
    }
    Promise.all([manifestP, indexP, neighborsP]).then(([m, index, neighbors]) => {
      Object.assign(page, { fs: m.factors, geo: geometry(m), index, neighbors });
      wire(show);
      onState(show);
      return show(query());
    }).catch(fail);
  }
  function syncControls(state) {
    if ($("window")) $("window").value = ["6", "24", "all"].indexOf(state.w) !== -1 ? state.w : "12";
    if ($("view")) {
      $("view").value = state.v === "full" ? "full" : "crop";
      $("overlay").value = state.o === "act" || state.o === "lime" ? state.o : "none";
    }
    $("shown").value = ["20", "50"].indexOf(state.n) !== -1 ? state.n : "all";
  }
  function wire(show) {
    const { index } = page;
    const go = (f) => show(setQuery({ f, l: null, c: null }, true));
    $("prev").addEventListener("click", () => go((page.current.f - 1 + index.n) % index.n));
    $("next").addEventListener("click", () => go((page.current.f + 1) % index.n));
    $("jump").addEventListener("submit", (e) => {
      e.preventDefault();
      const f = parseInt($("fid").value, 10);
      if (f >= 0 && f < index.n) go(f);
    });
    document.querySelectorAll("[data-random]").forEach((b) => {
      b.addEventListener("click", () => {
        const f = randomFactor(index, b.dataset.random, page.current.f);
        if (f !== null) go(f);
      });
    });
    const selects = [["window", "w", "12"], ["view", "v", "crop"], ["overlay", "o", "none"], ["shown", "n", "all"]];
    selects.forEach(([id, param, byDefault]) => {
      if (!$(id)) return;
      $(id).addEventListener("change", () => page.change({ [param]: $(id).value === byDefault ? null : $(id).value }));
    });
  }

  // assets/src/shared/tokenizer/strings.js
  var RE_WHITE = /^\p{White_Space}$/u;
  var RE_MN = /^\p{Mn}$/u;
  var RE_OTHER = /^\p{C}$/u;
  var RE_PUNCT = /^\p{P}$/u;
  var ASCII_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  var GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
  function isWhite(c) {
    return RE_WHITE.test(c);
  }
  function isBertPunct(c) {
    return ASCII_PUNCT.indexOf(c) !== -1 || RE_PUNCT.test(c);
  }
  function isChinese(cp) {
    return cp >= 19968 && cp <= 40959 || cp >= 13312 && cp <= 19903 || cp >= 131072 && cp <= 173791 || cp >= 173824 && cp <= 177983 || cp >= 177984 && cp <= 178207 || cp >= 178464 && cp <= 183983 || cp >= 63744 && cp <= 64255 || cp >= 194560 && cp <= 195103;
  }
  function mapChars(ns, fn) {
    var out = [];
    for (var i = 0; i < ns.length; i++) {
      var parts = Array.from(fn(ns[i].c));
      for (var j = 0; j < parts.length; j++) out.push({ c: parts[j], a: ns[i].a });
    }
    return out;
  }
  function filterChars(ns, keep) {
    return ns.filter(function(x) {
      return keep(x.c);
    });
  }
  function text(ns) {
    var s = "";
    for (var i = 0; i < ns.length; i++) s += ns[i].c;
    return s;
  }
  function span(ns, lo, hi) {
    return [ns[lo].a[0], ns[hi - 1].a[1]];
  }
  function splitBy(ns, isMatch, behavior) {
    var ranges2 = [];
    if (typeof isMatch === "function") {
      var lo = 0;
      for (var i = 0; i < ns.length; i++) {
        if (isMatch(ns[i].c)) {
          if (i > lo) ranges2.push([lo, i, false]);
          ranges2.push([i, i + 1, true]);
          lo = i + 1;
        }
      }
      if (lo < ns.length) ranges2.push([lo, ns.length, false]);
    } else {
      ranges2 = regexRanges(ns, isMatch);
    }
    return applyBehavior(ns, ranges2, behavior);
  }
  function regexRanges(ns, re) {
    var s = text(ns), unitToChar = new Int32Array(s.length + 1), u = 0;
    for (var i = 0; i < ns.length; i++) {
      unitToChar[u] = i;
      u += ns[i].c.length;
    }
    unitToChar[u] = ns.length;
    var ranges2 = [], last = 0, m;
    re.lastIndex = 0;
    while ((m = re.exec(s)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      var a = unitToChar[m.index], b = unitToChar[m.index + m[0].length];
      if (a > last) ranges2.push([last, a, false]);
      ranges2.push([a, b, true]);
      last = b;
    }
    if (last < ns.length) ranges2.push([last, ns.length, false]);
    return ranges2;
  }
  function applyBehavior(ns, ranges2, behavior) {
    var pieces = [], i, r;
    if (behavior === "Removed") {
      for (i = 0; i < ranges2.length; i++) if (!ranges2[i][2]) pieces.push([ranges2[i][0], ranges2[i][1]]);
    } else if (behavior === "Isolated") {
      pieces = ranges2.map(function(x) {
        return [x[0], x[1]];
      });
    } else if (behavior === "MergedWithPrevious") {
      for (i = 0; i < ranges2.length; i++) {
        r = ranges2[i];
        if (r[2] && pieces.length && !ranges2[i - 1][2]) pieces[pieces.length - 1][1] = r[1];
        else pieces.push([r[0], r[1]]);
      }
    } else if (behavior === "MergedWithNext") {
      var pending = null;
      for (i = 0; i < ranges2.length; i++) {
        r = ranges2[i];
        if (r[2]) {
          if (pending !== null) pieces.push([pending, r[0]]);
          pending = r[0];
        } else {
          pieces.push([pending !== null ? pending : r[0], r[1]]);
          pending = null;
        }
      }
      if (pending !== null) pieces.push([pending, ns.length]);
    } else if (behavior === "Contiguous") {
      for (i = 0; i < ranges2.length; i++) {
        r = ranges2[i];
        if (r[2] && i > 0 && ranges2[i - 1][2]) pieces[pieces.length - 1][1] = r[1];
        else pieces.push([r[0], r[1]]);
      }
    } else {
      throw new Error("unsupported split behaviour " + behavior);
    }
    return pieces.filter(function(p) {
      return p[1] > p[0];
    }).map(function(p) {
      return ns.slice(p[0], p[1]);
    });
  }
  function unsupported(kind, spec) {
    return new Error("unsupported tokenizer " + kind + ' "' + (spec && spec.type) + '"');
  }
  function isDigit(c) {
    return /^\p{Nd}$/u.test(c);
  }
  function keepMatches(ns, re, behavior) {
    var ranges2 = regexRanges(ns, re).map(function(r) {
      return [r[0], r[1], !r[2]];
    });
    return applyBehavior(ns, ranges2, behavior || "Removed");
  }
  var BYTE_CHAR = (function() {
    var table = new Array(256), n = 0;
    for (var b = 0; b < 256; b++) {
      var printable = b >= 33 && b <= 126 || b >= 161 && b <= 172 || b >= 174 && b <= 255;
      table[b] = String.fromCodePoint(printable ? b : 256 + n++);
    }
    return table;
  })();
  var utf8 = new TextEncoder();
  function toByteChars(ns) {
    var out = [];
    for (var i = 0; i < ns.length; i++) {
      var bytes = utf8.encode(ns[i].c);
      for (var j = 0; j < bytes.length; j++) out.push({ c: BYTE_CHAR[bytes[j]], a: ns[i].a });
    }
    return out;
  }

  // assets/src/shared/tokenizer/normalizers.js
  function normalizer(spec) {
    if (!spec) return function(ns) {
      return ns;
    };
    switch (spec.type) {
      case "Sequence": {
        var steps = spec.normalizers.map(normalizer);
        return function(ns) {
          steps.forEach(function(f) {
            ns = f(ns);
          });
          return ns;
        };
      }
      case "BertNormalizer":
        return function(ns) {
          if (spec.clean_text) {
            ns = filterChars(ns, function(c) {
              var cp = c.codePointAt(0);
              if (cp === 0 || cp === 65533) return false;
              if (c === "	" || c === "\n" || c === "\r") return true;
              return !RE_OTHER.test(c);
            });
            ns = mapChars(ns, function(c) {
              return isWhite(c) ? " " : c;
            });
          }
          if (spec.handle_chinese_chars) {
            ns = mapChars(ns, function(c) {
              return isChinese(c.codePointAt(0)) ? " " + c + " " : c;
            });
          }
          var strip = spec.strip_accents === null || spec.strip_accents === void 0 ? spec.lowercase : spec.strip_accents;
          if (strip) ns = stripAccents(nf(ns, "NFD"));
          if (spec.lowercase) ns = mapChars(ns, lower);
          return ns;
        };
      case "Lowercase":
        return function(ns) {
          return mapChars(ns, lower);
        };
      case "NFC":
      case "NFD":
      case "NFKC":
      case "NFKD":
        return function(ns) {
          return nf(ns, spec.type);
        };
      case "StripAccents":
        return stripAccents;
      case "Strip":
        return function(ns) {
          var lo = 0, hi = ns.length;
          if (spec.strip_left) while (lo < hi && isWhite(ns[lo].c)) lo++;
          if (spec.strip_right) while (hi > lo && isWhite(ns[hi - 1].c)) hi--;
          return ns.slice(lo, hi);
        };
      case "Prepend":
        return function(ns) {
          if (!ns.length) return ns;
          return Array.from(spec.prepend).map(function(c) {
            return { c, a: ns[0].a };
          }).concat(ns);
        };
      case "Replace": {
        if (!spec.pattern || spec.pattern.String === void 0) throw unsupported("normalizer", { type: "Replace (regex)" });
        var from = Array.from(spec.pattern.String), to = Array.from(spec.content);
        return function(ns) {
          if (!from.length) return ns;
          var out = [];
          for (var i = 0; i < ns.length; ) {
            var hit = i + from.length <= ns.length;
            for (var k = 0; hit && k < from.length; k++) hit = ns[i + k].c === from[k];
            if (!hit) {
              out.push(ns[i]);
              i++;
              continue;
            }
            var a = [ns[i].a[0], ns[i + from.length - 1].a[1]];
            to.forEach(function(c) {
              out.push({ c, a });
            });
            i += from.length;
          }
          return out;
        };
      }
      default:
        throw unsupported("normalizer", spec);
    }
  }
  function lower(c) {
    return c.toLowerCase();
  }
  function nf(ns, form) {
    return mapChars(ns, function(c) {
      return c.normalize(form);
    });
  }
  function stripAccents(ns) {
    return filterChars(ns, function(c) {
      return !RE_MN.test(c);
    });
  }

  // assets/src/shared/tokenizer/pre-tokenizers.js
  function preTokenizer(spec) {
    if (!spec) return function(splits) {
      return splits;
    };
    var each = function(fn) {
      return function(splits) {
        var out = [];
        splits.forEach(function(ns) {
          fn(ns).forEach(function(p) {
            out.push(p);
          });
        });
        return out;
      };
    };
    switch (spec.type) {
      case "Sequence": {
        var steps = spec.pretokenizers.map(preTokenizer);
        return function(splits) {
          steps.forEach(function(f) {
            splits = f(splits);
          });
          return splits;
        };
      }
      case "BertPreTokenizer":
        return function(splits) {
          return each(function(ns) {
            return splitBy(ns, isBertPunct, "Isolated");
          })(
            each(function(ns) {
              return splitBy(ns, isWhite, "Removed");
            })(splits)
          );
        };
      case "WhitespaceSplit":
        return each(function(ns) {
          return splitBy(ns, isWhite, "Removed");
        });
      case "Whitespace": {
        var word = /[\p{L}\p{N}\p{M}\p{Pc}]+|[^\p{L}\p{N}\p{M}\p{Pc}\p{White_Space}]+/gu;
        return each(function(ns) {
          return keepMatches(ns, word);
        });
      }
      case "Punctuation":
        return each(function(ns) {
          return splitBy(ns, isBertPunct, spec.behavior || "Isolated");
        });
      case "Digits":
        return each(function(ns) {
          return spec.individual_digits ? splitBy(ns, isDigit, "Isolated") : splitBy(ns, /\p{Nd}+/gu, "Isolated");
        });
      case "Split": {
        var pattern = spec.pattern.Regex !== void 0 ? new RegExp(spec.pattern.Regex, "gu") : new RegExp(spec.pattern.String.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
        return each(function(ns) {
          if (spec.invert) return keepMatches(ns, pattern, spec.behavior);
          return splitBy(ns, pattern, spec.behavior);
        });
      }
      case "ByteLevel":
        return each(function(ns) {
          if (spec.add_prefix_space && ns.length && ns[0].c !== " ") ns = [{ c: " ", a: ns[0].a }].concat(ns);
          var parts = spec.use_regex === false ? [ns] : splitBy(ns, GPT2_SPLIT, "Isolated");
          return parts.map(toByteChars);
        });
      case "Metaspace": {
        var rep = spec.replacement || "▁";
        var scheme = spec.prepend_scheme || (spec.add_prefix_space === false ? "never" : "always");
        return function(splits) {
          var out = [];
          splits.forEach(function(ns, k) {
            ns = mapChars(ns, function(c) {
              return c === " " ? rep : c;
            });
            if (ns.length && ns[0].c !== rep && (scheme === "always" || scheme === "first" && k === 0)) {
              ns = [{ c: rep, a: ns[0].a }].concat(ns);
            }
            (spec.split === false ? [ns] : splitBy(ns, function(c) {
              return c === rep;
            }, "MergedWithNext")).forEach(function(p) {
              out.push(p);
            });
          });
          return out;
        };
      }
      default:
        throw unsupported("pre-tokenizer", spec);
    }
  }

  // assets/src/shared/tokenizer/models.js
  function model(spec) {
    var vocab = new Map(Object.keys(spec.vocab).map(function(k) {
      return [k, spec.vocab[k]];
    }));
    var unk = spec.unk_token;
    var unkId = unk !== null && unk !== void 0 && vocab.has(unk) ? vocab.get(unk) : null;
    if (spec.type === "WordPiece") {
      var prefix = spec.continuing_subword_prefix === void 0 ? "##" : spec.continuing_subword_prefix;
      var maxChars = spec.max_input_chars_per_word || 100;
      return {
        vocab,
        tokenize: function(chars) {
          var unkTok = [{ id: unkId, value: unk, lo: 0, hi: chars.length }];
          if (chars.length > maxChars) return unkTok;
          var out = [], start2 = 0;
          while (start2 < chars.length) {
            var end = chars.length, found = null;
            while (start2 < end) {
              var sub = chars.slice(start2, end).join("");
              if (start2 > 0) sub = prefix + sub;
              if (vocab.has(sub)) {
                found = { id: vocab.get(sub), value: sub, lo: start2, hi: end };
                break;
              }
              end--;
            }
            if (!found) return unkTok;
            out.push(found);
            start2 = end;
          }
          return out;
        }
      };
    }
    if (spec.type === "BPE") {
      var ranks = /* @__PURE__ */ new Map();
      (spec.merges || []).forEach(function(m, r) {
        ranks.set(Array.isArray(m) ? m[0] + " " + m[1] : m, r);
      });
      var cache = /* @__PURE__ */ new Map();
      var cont = spec.continuing_subword_prefix || "", suffix = spec.end_of_word_suffix || "";
      return {
        vocab,
        tokenize: function(chars) {
          var word = chars.join("");
          if (spec.ignore_merges && vocab.has(word)) return [{ id: vocab.get(word), value: word, lo: 0, hi: chars.length }];
          var hit = cache.get(word);
          if (hit) return hit;
          var sym = chars.map(function(c, i2) {
            var s = (i2 > 0 ? cont : "") + c + (i2 === chars.length - 1 ? suffix : "");
            return [s, i2, i2 + 1];
          });
          for (; ; ) {
            var best = Infinity;
            for (var i = 0; i + 1 < sym.length; i++) {
              var r = ranks.get(sym[i][0] + " " + sym[i + 1][0]);
              if (r !== void 0 && r < best) best = r;
            }
            if (best === Infinity) break;
            var merged = [];
            for (var j = 0; j < sym.length; j++) {
              if (j + 1 < sym.length && ranks.get(sym[j][0] + " " + sym[j + 1][0]) === best) {
                var right = sym[j + 1][0];
                if (cont && right.indexOf(cont) === 0) right = right.slice(cont.length);
                merged.push([sym[j][0] + right, sym[j][1], sym[j + 1][2]]);
                j++;
              } else {
                merged.push(sym[j]);
              }
            }
            sym = merged;
          }
          var out = [];
          sym.forEach(function(s) {
            if (vocab.has(s[0])) {
              out.push({ id: vocab.get(s[0]), value: s[0], lo: s[1], hi: s[2] });
              return;
            }
            if (spec.byte_fallback) {
              var bytes = utf8.encode(s[0]), all = [];
              for (var b = 0; b < bytes.length; b++) {
                var name = "<0x" + (bytes[b] < 16 ? "0" : "") + bytes[b].toString(16).toUpperCase() + ">";
                if (!vocab.has(name)) {
                  all = null;
                  break;
                }
                all.push({ id: vocab.get(name), value: name, lo: s[1], hi: s[2] });
              }
              if (all) {
                all.forEach(function(t) {
                  out.push(t);
                });
                return;
              }
            }
            if (unkId !== null) {
              var prev = out[out.length - 1];
              if (spec.fuse_unk && prev && prev.id === unkId) prev.hi = s[2];
              else out.push({ id: unkId, value: unk, lo: s[1], hi: s[2] });
            }
          });
          if (cache.size < 5e4) cache.set(word, out);
          return out;
        }
      };
    }
    throw unsupported("model", spec);
  }

  // assets/src/shared/tokenizer/post-processors.js
  function postProcessor(spec) {
    if (!spec) return { added: 0, apply: function(e) {
      return e;
    } };
    switch (spec.type) {
      case "Sequence": {
        var steps = spec.processors.map(postProcessor);
        return {
          added: steps.reduce(function(n, s) {
            return n + s.added;
          }, 0),
          apply: function(e) {
            steps.forEach(function(s) {
              e = s.apply(e);
            });
            return e;
          }
        };
      }
      case "TemplateProcessing": {
        var added = 0;
        spec.single.forEach(function(item) {
          if (item.SpecialToken) added += spec.special_tokens[item.SpecialToken.id].ids.length;
        });
        return {
          added,
          apply: function(e) {
            var out = emptyEnc();
            spec.single.forEach(function(item) {
              if (item.Sequence) {
                appendEnc(out, e);
                return;
              }
              var st = spec.special_tokens[item.SpecialToken.id];
              st.ids.forEach(function(id, k) {
                pushSpecial(out, id, st.tokens[k]);
              });
            });
            return out;
          }
        };
      }
      case "BertProcessing":
      case "RobertaProcessing":
        return {
          added: 2,
          apply: function(e) {
            if (spec.type === "RobertaProcessing" && spec.trim_offsets) e = trimOffsets(e, spec.add_prefix_space);
            var out = emptyEnc();
            pushSpecial(out, spec.cls[1], spec.cls[0]);
            appendEnc(out, e);
            pushSpecial(out, spec.sep[1], spec.sep[0]);
            return out;
          }
        };
      case "ByteLevel":
        return { added: 0, apply: function(e) {
          return spec.trim_offsets ? trimOffsets(e, spec.add_prefix_space) : e;
        } };
      default:
        throw unsupported("post-processor", spec);
    }
  }
  function emptyEnc() {
    return { ids: [], tokens: [], offsets: [], special: [] };
  }
  function pushSpecial(enc, id, token) {
    enc.ids.push(id);
    enc.tokens.push(token);
    enc.offsets.push([0, 0]);
    enc.special.push(1);
  }
  function appendEnc(out, e) {
    for (var i = 0; i < e.ids.length; i++) {
      out.ids.push(e.ids[i]);
      out.tokens.push(e.tokens[i]);
      out.offsets.push(e.offsets[i]);
      out.special.push(e.special[i]);
    }
  }
  function trimOffsets(e, addPrefixSpace) {
    var space = BYTE_CHAR[32];
    var offsets = e.offsets.map(function(o, i) {
      var chars = Array.from(e.tokens[i]), lead = 0, trail = 0;
      while (lead < chars.length && (chars[lead] === space || isWhite(chars[lead]))) lead++;
      while (trail < chars.length && (chars[chars.length - 1 - trail] === space || isWhite(chars[chars.length - 1 - trail]))) trail++;
      var s = o[0], t = o[1];
      if (lead > 0) {
        if ((i === 0 || s === 0) && addPrefixSpace && lead === 1) lead = 0;
        s = Math.min(s + lead, t);
      }
      if (trail > 0 && t >= trail) t = Math.max(t - trail, s);
      return [s, t];
    });
    return { ids: e.ids, tokens: e.tokens, offsets, special: e.special };
  }

  // assets/src/shared/tokenizer.js
  function Tokenizer(json) {
    this.normalize = normalizer(json.normalizer);
    this.preTokenize = preTokenizer(json.pre_tokenizer);
    this.model = model(json.model);
    this.post = postProcessor(json.post_processor);
    this.added = (json.added_tokens || []).filter(function(t) {
      return !t.normalized;
    }).map(function(t) {
      return { id: t.id, chars: Array.from(t.content), content: t.content };
    }).sort(function(a, b) {
      return b.chars.length - a.chars.length;
    });
    this.idToToken = /* @__PURE__ */ new Map();
    var self = this;
    this.model.vocab.forEach(function(id, tok) {
      self.idToToken.set(id, tok);
    });
    (json.added_tokens || []).forEach(function(t) {
      self.idToToken.set(t.id, t.content);
    });
  }
  Tokenizer.prototype.splitAdded = function(cps) {
    var parts = [], lo = 0, i = 0;
    while (i < cps.length) {
      var hit = null;
      for (var k = 0; k < this.added.length && !hit; k++) {
        var t = this.added[k], ok = t.chars.length > 0 && i + t.chars.length <= cps.length;
        for (var j = 0; ok && j < t.chars.length; j++) ok = cps[i + j] === t.chars[j];
        if (ok) hit = t;
      }
      if (!hit) {
        i++;
        continue;
      }
      if (i > lo) parts.push({ lo, hi: i, added: null });
      parts.push({ lo: i, hi: i + hit.chars.length, added: hit });
      i += hit.chars.length;
      lo = i;
    }
    if (lo < cps.length) parts.push({ lo, hi: cps.length, added: null });
    return parts;
  };
  Tokenizer.prototype.encode = function(input, maxTokens) {
    var cps = Array.from(String(input));
    var enc = emptyEnc(), self = this;
    this.splitAdded(cps).forEach(function(part) {
      if (part.added) {
        enc.ids.push(part.added.id);
        enc.tokens.push(part.added.content);
        enc.offsets.push([part.lo, part.hi]);
        enc.special.push(0);
        return;
      }
      var ns = [];
      for (var i = part.lo; i < part.hi; i++) ns.push({ c: cps[i], a: [i, i + 1] });
      self.preTokenize([self.normalize(ns)]).forEach(function(piece) {
        if (!piece.length) return;
        self.model.tokenize(piece.map(function(x) {
          return x.c;
        })).forEach(function(t) {
          enc.ids.push(t.id);
          enc.tokens.push(t.value);
          enc.offsets.push(span(piece, t.lo, t.hi));
          enc.special.push(0);
        });
      });
    });
    var nFull = enc.ids.length, truncated = false;
    if (maxTokens) {
      var keep = Math.max(0, maxTokens - this.post.added);
      if (nFull > keep) {
        truncated = true;
        ["ids", "tokens", "offsets", "special"].forEach(function(k) {
          enc[k] = enc[k].slice(0, keep);
        });
      }
    }
    var out = this.post.apply(enc);
    out.chars = cps;
    out.truncated = truncated;
    out.nFull = nFull;
    return out;
  };
  Tokenizer.tokenText = function(enc, i) {
    var o = enc.offsets[i];
    return enc.special[i] || o[1] <= o[0] ? enc.tokens[i] : enc.chars.slice(o[0], o[1]).join("");
  };

  // assets/src/shared/live-probe.js
  var ENCODER_ONNX = "CAgSCnRmdmlzLXNpdGU6uQIKEQoBaAoEbWVhbhIBYyIDU3ViChIKAWMKBXNjYWxlEgF6IgNEaXYKEwoBegoFYl9kZWMSAnpjIgNTdWIKFgoCemMKBVdfZW5jEgFwIgZNYXRNdWwKFAoBcAoFYl9lbmMSA3ByZSIDQWRkEg10ZnZpc19lbmNvZGVyWhoKAWgSFQoTCAESDwoDEgFMCgMSAVQKAxIBZFodCgRtZWFuEhUKEwgBEg8KAxIBTAoCCAEKBBICZDJaHgoFc2NhbGUSFQoTCAESDwoDEgFMCgIIAQoEEgJkM1oUCgViX2RlYxILCgkIARIFCgMSAWRaGQoFV19lbmMSEAoOCAESCgoDEgFkCgMSAW1aFAoFYl9lbmMSCwoJCAESBQoDEgFtYhwKA3ByZRIVChMIARIPCgMSAUwKAxIBVAoDEgFtQgQKABAN";
  var ASSETS = (() => {
    const s = document.currentScript && document.currentScript.src;
    return s ? s.replace(/js\/[^/]+\.js(\?.*)?$/, "") : "../../assets/";
  })();
  var timings = { loadMs: {}, sessionMs: null };
  function unavailable(m) {
    if (m.live_unavailable) return "The live probe is not available for this model: " + m.live_unavailable;
    if (!m.live) return "This site was built without the live probe (tfvis-site build --no-live-probe).";
    const enc = m.live.encoder || {};
    if (enc.method && enc.method !== "topk-sae") {
      return "The live probe needs the TopK SAE encoder; this site's factors were coded with " + enc.method + ".";
    }
    if (typeof window.WebAssembly !== "object") return "This browser has no WebAssembly, which the live probe needs.";
    if (typeof window.DecompressionStream !== "function") {
      return "This browser cannot inflate the probe's runtime (no DecompressionStream): use Chrome 80, Firefox 113, Safari 16.4 or newer.";
    }
    return null;
  }
  function addScript(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.async = true;
      s.onload = () => {
        s.remove();
        resolve();
      };
      s.onerror = () => {
        s.remove();
        reject(new Error("could not load " + src));
      };
      (document.head || document.documentElement).appendChild(s);
    });
  }
  function gunzip(buffer) {
    const stream = new Blob([buffer]).stream().pipeThrough(new window.DecompressionStream("gzip"));
    return new Response(stream).arrayBuffer();
  }
  var runtimeP = null;
  function runtime() {
    if (!runtimeP) {
      runtimeP = Promise.all([
        window.ort ? null : addScript(ASSETS + "vendor/ort.min.js"),
        window.TFVIS_ORT_WASM_GZIP ? null : addScript(ASSETS + "vendor/ort-wasm.min.js")
      ]).then(() => {
        const ort = window.ort;
        if (!ort || !ort.InferenceSession) throw new Error("onnxruntime-web did not load (assets/vendor/ort.min.js)");
        if (typeof window.TFVIS_ORT_WASM_GZIP !== "string") throw new Error("the WebAssembly binary did not load (assets/vendor/ort-wasm.min.js)");
        const gzipped = base64ToBuffer(window.TFVIS_ORT_WASM_GZIP);
        delete window.TFVIS_ORT_WASM_GZIP;
        return gunzip(gzipped).then((wasm) => {
          ort.env.wasm.numThreads = 1;
          ort.env.wasm.proxy = false;
          ort.env.wasm.wasmBinary = new Uint8Array(wasm);
          return ort;
        });
      });
      runtimeP.catch(() => {
        runtimeP = null;
      });
    }
    return runtimeP;
  }
  function encoderArrays(spec, buf) {
    const out = {};
    Object.keys(spec.arrays).forEach((name) => {
      const a = spec.arrays[name];
      if (a.dtype !== "float32") throw new Error("live/encoder.bin: array " + name + " is " + a.dtype + ", expected float32");
      const n = a.shape.reduce((x, y) => x * y, 1);
      out[name] = { data: new Float32Array(buf.slice(a.offset, a.offset + 4 * n)), shape: a.shape };
    });
    ["mean", "scale", "W_enc", "b_enc", "b_dec"].forEach((k) => {
      if (!out[k]) throw new Error('live/encoder.bin has no array "' + k + '"');
    });
    return out;
  }
  function sizeText(bytes) {
    return bytes ? (bytes / 1048576).toFixed(0) + " MB" : "size unknown";
  }
  var probeP = null;
  function load(onStep) {
    const step = onStep || (() => {
    });
    if (probeP) return probeP;
    probeP = manifest().then((m) => {
      const why2 = unavailable(m);
      if (why2) throw new Error(why2);
      const live = m.live;
      step("Loading the runtime (3.7 MB of compressed WebAssembly) and the model (" + sizeText(live.bytes) + ")…");
      const tStart = window.performance.now();
      timings.loadMs = {};
      const stamp = (key) => (x) => {
        timings.loadMs[key] = window.performance.now() - tStart;
        return x;
      };
      return Promise.all([
        runtime().then(stamp("runtime")),
        loadBytes(live.model).then(stamp("model")),
        loadJSON(live.tokenizer),
        loadBytes(live.encoder.file)
      ]).then(([ort, modelBytes, tokenizerJson, encoderBytes]) => {
        step("Starting the model…");
        const t0 = window.performance.now();
        return Promise.all([
          // No graph optimisation: folding the int8 weights' Cast * scale into fp32 and fusing
          // the graph cost ~1.0 s of the load, and the unfolded graph costs ~40 ms per run
          // (bench/browser_probe.py, default MiniLM site: load 3.16 -> 2.26 s, a 32-token
          // sentence 117 -> 138 ms; targets 3 s and 300 ms).
          ort.InferenceSession.create(new Uint8Array(modelBytes), { executionProviders: ["wasm"], graphOptimizationLevel: "disabled" }),
          ort.InferenceSession.create(new Uint8Array(base64ToBuffer(ENCODER_ONNX)), { executionProviders: ["wasm"] })
        ]).then(([model2, encoder]) => {
          forget(live.model);
          timings.sessionMs = window.performance.now() - t0;
          return makeProbe(ort, model2, encoder, new Tokenizer(tokenizerJson), encoderArrays(live.encoder, encoderBytes), m);
        });
      });
    });
    probeP.catch(() => {
      probeP = null;
    });
    return probeP;
  }
  function makeProbe(ort, model2, encoder, tokenizer, arrays, m) {
    const live = m.live;
    const k = live.encoder.k;
    const nHidden = arrays.mean.shape[0];
    const d = arrays.mean.shape[arrays.mean.shape.length - 1];
    const nFactors = arrays.b_enc.shape[0];
    const scaleDim = arrays.scale.data.length / nHidden;
    const feeds = {
      mean: new ort.Tensor("float32", arrays.mean.data, [nHidden, 1, d]),
      scale: new ort.Tensor("float32", arrays.scale.data, [nHidden, 1, scaleDim]),
      b_dec: new ort.Tensor("float32", arrays.b_dec.data, [d]),
      W_enc: new ort.Tensor("float32", arrays.W_enc.data, [d, nFactors]),
      b_enc: new ort.Tensor("float32", arrays.b_enc.data, [nFactors])
    };
    const outScale = arrays.output_scale ? arrays.output_scale.data : null;
    const massiveNorm = arrays.massive_norm ? arrays.massive_norm.data : null;
    let queue = Promise.resolve();
    function run(text2) {
      const job = queue.then(() => {
        const enc = tokenizer.encode(text2, live.max_tokens);
        const n = enc.ids.length;
        const ids = new BigInt64Array(n);
        const mask = new BigInt64Array(n);
        for (let i = 0; i < n; i++) {
          ids[i] = BigInt(enc.ids[i]);
          mask[i] = 1n;
        }
        const t0 = window.performance.now();
        return model2.run({ input_ids: new ort.Tensor("int64", ids, [1, n]), attention_mask: new ort.Tensor("int64", mask, [1, n]) }).then((out) => {
          const t1 = window.performance.now();
          return encoder.run(Object.assign({ h: out.hidden_states }, feeds)).then((e) => {
            const res = result(enc, out.hidden_states, out.attentions, e.pre.data, n);
            res.timings = { model: t1 - t0, encoder: window.performance.now() - t1 };
            return res;
          });
        });
      });
      queue = job.catch(() => {
      });
      return job;
    }
    function result(enc, hs, att, pre, n) {
      const kk = Math.min(k, nFactors);
      const topIdx = new Int32Array(nHidden * n * kk);
      const topVal = new Float32Array(nHidden * n * kk);
      for (let row = 0; row < nHidden * n; row++) {
        topK(pre, row * nFactors, nFactors, kk, topIdx, topVal, row * kk, outScale);
        if (massiveNorm && norm(hs.data, row * d, d) > massiveNorm[Math.floor(row / n)]) topVal.fill(0, row * kk, (row + 1) * kk);
      }
      return {
        enc,
        n,
        text: enc.ids.map((_, i) => Tokenizer.tokenText(enc, i)),
        hidden: hs.data,
        attentions: att.data,
        nHidden,
        nLayers: att.dims[0],
        nHeads: att.dims[1],
        k: kk,
        nFactors,
        topIdx,
        topVal,
        activation(l, t, factor) {
          const base = (l * n + t) * kk;
          for (let j = 0; j < kk; j++) if (topIdx[base + j] === factor) return topVal[base + j];
          return 0;
        },
        top(l, t, count) {
          const base = (l * n + t) * kk;
          const out = [];
          for (let j = 0; j < Math.min(count, kk); j++) if (topVal[base + j] > 0) out.push({ factor: topIdx[base + j], value: topVal[base + j] });
          return out;
        },
        /** Attention weights of layer l, head h: Float32Array n x n (rows = queries). */
        weights(l, h) {
          const off = (l * att.dims[1] + h) * n * n;
          return att.data.slice(off, off + n * n);
        }
      };
    }
    return { manifest: m, live, tokenizer, nFactors, nHidden, run };
  }
  function norm(x, off, d) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[off + j] * x[off + j];
    return Math.sqrt(s);
  }
  function topK(pre, off, m, k, idx, val, at, outScale) {
    let n = 0;
    for (let j = 0; j < m; j++) {
      const v = pre[off + j];
      if (n === k && v <= val[at + k - 1]) continue;
      let p = n < k ? n++ : k - 1;
      while (p > 0 && val[at + p - 1] < v) {
        val[at + p] = val[at + p - 1];
        idx[at + p] = idx[at + p - 1];
        p--;
      }
      val[at + p] = v;
      idx[at + p] = j;
    }
    for (let q = 0; q < k; q++) {
      const x = val[at + q] > 0 ? val[at + q] : 0;
      val[at + q] = outScale ? x * outScale[idx[at + q]] : x;
    }
  }
  function wireForm(opts) {
    const param = opts.param || "text";
    const status = opts.status;
    let shown = null;
    let seq = 0;
    const card = opts.form.closest(".live-card") || opts.form;
    card.inspect = { load, timings: () => ({ loadMs: Object.assign({}, timings.loadMs), sessionMs: timings.sessionMs }) };
    const say = (msg, cls) => {
      status.textContent = msg;
      status.className = cls || "muted";
    };
    const sync = (text2) => {
      if (text2 === void 0 || text2 === "") {
        shown = null;
        opts.input.value = "";
        say("", "muted");
        if (opts.onClear) opts.onClear();
        return;
      }
      if (text2 === shown) return;
      opts.input.value = text2;
      go(text2);
    };
    const go = (text2) => {
      const my = ++seq;
      shown = text2;
      opts.form.setAttribute("aria-busy", "true");
      say("Loading…", "muted live-loading");
      load((msg) => {
        if (my === seq) say(msg, "muted live-loading");
      }).then((probe) => {
        if (my === seq) say("Running the model…", "muted live-loading");
        return probe.run(text2).then((res) => [probe, res]);
      }).then(([probe, res]) => {
        if (my !== seq) return;
        opts.form.removeAttribute("aria-busy");
        say(res.enc.truncated ? "Your text has " + (res.enc.nFull + probe.tokenizer.post.added) + " tokens; only the first " + probe.live.max_tokens + " (the model's limit on this site) were run." : "", res.enc.truncated ? "live-notice" : "muted");
        opts.onResult(res, text2, probe);
        document.body.dataset.liveReady = String(Date.now());
      }).catch((err) => {
        if (my !== seq) return;
        opts.form.removeAttribute("aria-busy");
        say("The live probe failed: " + (err && err.message ? err.message : err), "error");
      });
    };
    manifest().then((m) => {
      const why2 = unavailable(m);
      if (why2) {
        opts.form.querySelectorAll("textarea, input, button").forEach((x) => {
          x.disabled = true;
        });
        say(why2, "error");
        return;
      }
      opts.form.addEventListener("submit", (e) => {
        e.preventDefault();
        const text2 = opts.input.value;
        if (!text2.trim()) {
          say("Type some text first.", "error");
          return;
        }
        setQuery({ [param]: text2 }, true);
        go(text2);
      });
      onState((q) => sync(q[param]));
      sync(query()[param]);
    }).catch((err) => say("Could not load the data: " + err.message, "error"));
  }
  function highlight(res, valueOf, peak, onPick) {
    const p = el("p", { class: "live-text" });
    let prevEnd = 0;
    for (let t = 0; t < res.n; t++) {
      const o = res.enc.offsets[t];
      if (!res.enc.special[t] && o[0] > prevEnd) p.appendChild(document.createTextNode(res.enc.chars.slice(prevEnd, o[0]).join("")));
      const v = valueOf(t);
      const span2 = el("span", {
        class: ["live-tok", res.enc.special[t] ? "live-special" : null],
        title: "token " + t + (v === null ? "" : ": " + v.toFixed(3)),
        style: v > 0 && peak > 0 ? { backgroundColor: "rgba(197, 27, 125, " + Math.min(1, v / peak).toFixed(3) + ")" } : null,
        dataset: { t }
      }, res.text[t]);
      if (onPick) span2.addEventListener("click", onPick.bind(null, t));
      p.appendChild(span2);
      if (!res.enc.special[t]) prevEnd = Math.max(prevEnd, o[1]);
    }
    return p;
  }

  // assets/src/live/view.js
  var $2 = (id) => document.getElementById(id);
  function wireLive(param, onResult, onClear) {
    const form = $2("live-form");
    if (!form) return null;
    const out = $2("live-out");
    wireForm({
      form,
      input: $2("live-input"),
      status: $2("live-status"),
      param,
      onResult,
      onClear: () => {
        onClear();
        clear(out);
      }
    });
    return out;
  }
  function liveTable(res, layers, opts, cell) {
    const head = el("tr", null, el("th", { scope: "col" }, "token"));
    layers.forEach((k) => head.appendChild(el("th", { scope: "col", class: k === opts.current ? "live-cur" : null }, "L" + k)));
    const body = el("tbody");
    for (let t = 0; t < res.n; t++) {
      const tr = el("tr", null, el("th", { scope: "row", class: res.enc.special[t] ? "live-special" : null }, res.text[t]));
      layers.forEach((k) => tr.appendChild(cell(t, k)));
      body.appendChild(tr);
    }
    return el(
      "div",
      { class: "live-table-wrap" },
      el("table", { class: opts.class, id: "live-table", "aria-label": opts.label }, el("thead", null, head), body)
    );
  }

  // assets/src/live/factor.js
  function startLiveFactor() {
    let view = { f: null, l: null };
    let last = null;
    const out = wireLive("text", (res) => {
      last = res;
      render();
    }, () => {
      last = null;
    });
    if (!out) return;
    document.addEventListener("tfvis:factor", (e) => {
      view = { f: e.detail.f, l: e.detail.l };
      render();
    });
    function render() {
      clear(out);
      if (!last || view.f === null) return;
      const res = last, f = view.f, l = Math.min(view.l, res.nHidden - 1);
      let peak = 0;
      for (let t = 0; t < res.n; t++) for (let k = 0; k < res.nHidden; k++) peak = Math.max(peak, res.activation(k, t, f));
      out.appendChild(el("h3", null, "Factor " + f + " on your text at layer " + l));
      out.appendChild(highlight(res, (t) => res.activation(l, t, f), peak));
      out.appendChild(el("p", { class: "muted small" }, peak > 0 ? "Peak activation " + peak.toFixed(3) + " (tint = activation / peak). Bold cells: at least half the peak." : "Factor " + f + " is not active on any token of this text at any layer."));
      const layers = Array.from({ length: res.nHidden }, (_, k) => k);
      out.appendChild(liveTable(res, layers, { class: "live-table", label: "Activation of factor " + f + " per token and layer", current: l }, (t, k) => {
        const v = res.activation(k, t, f);
        return el("td", {
          class: [k === l ? "live-cur" : null, v > 0 && v >= 0.5 * peak ? "live-strong" : null],
          dataset: { activation: v.toFixed(4), layer: k, token: t }
        }, v > 0 ? v.toFixed(3) : "·");
      }));
    }
  }

  // assets/src/pages/factor.js
  startLiveFactor();
  start();
})();
