(() => {
  // assets/src/core/data.js
  var T = () => window.TFVIS;
  var loadColumns = (...a) => T().loadColumns(...a);
  var manifest = (...a) => T().manifest(...a);
  var el = (...a) => T().el(...a);
  var clear = (...a) => T().clear(...a);

  // assets/src/core/images.js
  var isImageSite = (m) => m && m.modality === "image" && !!m.image;
  for (const k of []) k;

  // assets/src/factors/common.js
  var LEVELS = ["low", "mid", "high", "dead"];
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
  function levelBadge(level, extra) {
    return el("span", { class: "flevel flevel-" + level, title: levelText[level] || "" }, level, extra || null);
  }
  function fmt(x, digits) {
    if (x === null || x === void 0 || isNaN(x)) return "–";
    const a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(1);
    return x.toFixed(digits === void 0 ? a >= 100 ? 0 : a >= 10 ? 1 : 3 : digits);
  }
  var layerName = (layer) => layer === 0 ? "emb" : String(layer);
  function fail(err) {
    const status = document.getElementById("status");
    status.textContent = "Could not load the data: " + (err && err.message ? err.message : err);
    status.className = "error";
  }

  // assets/src/factors/quality.js
  var $ = (id) => document.getElementById(id);
  function startQuality() {
    section().then((m) => factorIndex(m.factors).then((index) => {
      const fs = m.factors;
      $("status").textContent = "";
      levelMatrix(fs, index);
      const draw = () => drawCurves(fs, index);
      draw();
      $("norm").addEventListener("change", draw);
      document.querySelectorAll("[data-level]").forEach((c) => c.addEventListener("change", draw));
    })).catch(fail);
  }
  function levelMatrix(fs, index) {
    const L = fs.n_layers;
    const counts = {};
    LEVELS.forEach((lv) => {
      counts[lv] = new Array(L).fill(0);
    });
    for (let i = 0; i < index.n; i++) {
      const lv = index.level[i];
      if (counts[lv]) counts[lv][index.peak_layer[i]]++;
    }
    const head = [el("th", { scope: "col" }, "level \\ peak layer")];
    for (let l = 0; l < L; l++) head.push(el("th", { scope: "col" }, layerName(l)));
    const rows = LEVELS.filter((lv) => counts[lv].some((x) => x)).map((lv) => el(
      "tr",
      null,
      el("th", { scope: "row" }, levelBadge(lv)),
      counts[lv].map((c, l) => el("td", null, c ? el("a", { href: "factors.html?level=" + lv + "&layer=" + l }, String(c)) : "·"))
    ));
    $("level-matrix").appendChild(el("table", { class: "level-matrix" }, el("thead", null, el("tr", null, head)), el("tbody", null, rows)));
  }
  function drawCurves(fs, index) {
    const norm = $("norm").checked;
    const shown = {};
    document.querySelectorAll("[data-level]").forEach((c) => {
      shown[c.dataset.level] = c.checked;
    });
    const L = fs.n_layers;
    const W = 900, H = 380, ml = 50, mr = 16, mt = 14, mb = 40;
    const curves = [];
    let max = 0;
    for (let i = 0; i < index.n; i++) {
      const lv = index.level[i];
      if (!shown[lv]) continue;
      let c = isCurve(index, i);
      const peak = c[index.peak_layer[i]];
      if (norm) c = c.map((v) => peak > 0 ? v / peak : 0);
      c.forEach((v) => {
        if (v > max) max = v;
      });
      curves.push({ f: i, level: lv, values: c });
    }
    const top = norm ? 1.05 : (max || 1) * 1.05;
    const xs = (l) => ml + l * (W - ml - mr) / Math.max(1, L - 1);
    const ys = (v) => mt + (1 - v / top) * (H - mt - mb);
    const points = (values, scale = 1) => values.map((v, l) => xs(l).toFixed(1) + "," + ys(v / scale).toFixed(1)).join(" ");
    const svg = el("svg:svg", {
      class: "overlay-svg",
      viewBox: "0 0 " + W + " " + H,
      role: "img",
      "aria-label": "Importance score curves of " + curves.length + " factors across " + L + " layers, coloured by level"
    });
    for (let t = 0; t <= 4; t++) {
      const v = top * t / 4;
      svg.appendChild(el("svg:line", { class: "grid", x1: ml, x2: W - mr, y1: ys(v), y2: ys(v) }));
      svg.appendChild(el("svg:text", { x: ml - 6, y: ys(v) + 4, "text-anchor": "end" }, fmt(v, 2)));
    }
    for (let l = 0; l < L; l++) svg.appendChild(el("svg:text", { x: xs(l), y: H - mb + 16, "text-anchor": "middle" }, layerName(l)));
    svg.appendChild(el("svg:text", { x: ml + (W - ml - mr) / 2, y: H - 6, "text-anchor": "middle" }, "layer"));
    svg.appendChild(el(
      "svg:text",
      { x: 14, y: mt + (H - mt - mb) / 2, transform: "rotate(-90 14 " + (mt + (H - mt - mb) / 2) + ")", "text-anchor": "middle" },
      norm ? "IS / peak IS" : "IS"
    ));
    const sums = {};
    const frag = document.createDocumentFragment();
    curves.forEach((c) => {
      frag.appendChild(el(
        "svg:polyline",
        { class: c.level, points: points(c.values), dataset: { f: c.f } },
        el("svg:title", null, "Factor " + c.f + " (" + c.level + ", peak layer " + index.peak_layer[c.f] + "): " + index.top_tokens[c.f])
      ));
      const s = sums[c.level] || (sums[c.level] = { n: 0, v: new Array(L).fill(0) });
      s.n++;
      c.values.forEach((v, l) => {
        s.v[l] += v;
      });
    });
    svg.appendChild(frag);
    Object.keys(sums).forEach((lv) => {
      svg.appendChild(el("svg:polyline", { class: "mean " + lv, points: points(sums[lv].v, sums[lv].n), "pointer-events": "none" }));
    });
    const curveOf = (e) => e.target.dataset && e.target.dataset.f !== void 0 ? e.target : null;
    svg.addEventListener("mouseover", (e) => {
      if (curveOf(e)) e.target.classList.add("hl");
    });
    svg.addEventListener("mouseout", (e) => {
      if (curveOf(e)) e.target.classList.remove("hl");
    });
    svg.addEventListener("click", (e) => {
      if (curveOf(e)) window.location.href = "factor.html?f=" + e.target.dataset.f;
    });
    clear($("overlay")).appendChild(svg);
  }

  // assets/src/pages/quality.js
  startQuality();
})();
