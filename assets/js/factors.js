(() => {
  // assets/src/core/data.js
  var T = () => window.TFVIS;
  var loadColumns = (...a) => T().loadColumns(...a);
  var manifest = (...a) => T().manifest(...a);
  var el = (...a) => T().el(...a);
  var clear = (...a) => T().clear(...a);
  var query = (...a) => T().query(...a);
  var setQuery = (...a) => T().setQuery(...a);
  var onState = (...a) => T().onState(...a);

  // assets/src/core/images.js
  var G = () => window.TFVIS_IMG;
  var isImageSite = (m) => m && m.modality === "image" && !!m.image;
  for (const k of []) k;
  var loadAll = (...a) => G().loadAll(...a);
  var drawRegion = (...a) => G().drawRegion(...a);
  var unitBox = (...a) => G().unitBox(...a);
  var unitName = (...a) => G().unitName(...a);
  var outline = (...a) => G().outline(...a);

  // assets/src/shared/pager.js
  function wirePager(go, top) {
    const turn = (delta) => {
      const page = Number(query().page || 0) + delta;
      go(page || null);
      top.scrollIntoView({ block: "start" });
    };
    document.getElementById("prev").addEventListener("click", () => turn(-1));
    document.getElementById("next").addEventListener("click", () => turn(1));
  }

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
  function ranges(keys, keyOf) {
    const out = /* @__PURE__ */ new Map();
    for (let i = 0; i < keys.length; i++) {
      const key2 = keyOf ? keyOf(i) : keys[i];
      const r = out.get(key2);
      if (!r) out.set(key2, [i, i + 1]);
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
  function fail(err) {
    const status = document.getElementById("status");
    status.textContent = "Could not load the data: " + (err && err.message ? err.message : err);
    status.className = "error";
  }
  var key = (text) => String(text || "").trim().toLowerCase();

  // assets/src/factors/results.js
  var MAX_RESULTS = 60;
  function resultsTable(box, heads, range, row) {
    const n = range[1] - range[0];
    const rows = [];
    for (let i = range[0]; i < Math.min(range[1], range[0] + MAX_RESULTS); i++) rows.push(row(i));
    box.appendChild(el(
      "table",
      null,
      el("thead", null, el("tr", null, heads.map(([text, cls]) => el("th", { scope: "col", class: cls || null }, text)))),
      el("tbody", null, rows)
    ));
    if (n > MAX_RESULTS) box.appendChild(el("p", { class: "muted small" }, "Showing the " + MAX_RESULTS + " strongest of " + n + "."));
  }
  var countBar = (count, best) => el("span", { class: "count-bar", style: { width: (4 * count / best).toFixed(2) + "rem" } });

  // assets/src/factors/index-images.js
  var $ = (id) => document.getElementById(id);
  var THUMB = 48;
  var THUMB_MARGIN = 2;
  var byImageP = null;
  var namesP = null;
  var pickerDone = false;
  var imageSeq = 0;
  function imageNames() {
    if (!namesP) namesP = loadColumns("sentences.parquet", ["text"]).then((c) => c.text);
    return namesP;
  }
  function byImage(fs) {
    if (!byImageP) {
      byImageP = loadColumns(fs.search.by_image.file).then((c) => {
        c.ranges = ranges(c.image);
        return c;
      });
      byImageP.catch(() => {
        byImageP = null;
      });
    }
    return byImageP;
  }
  function thumbCanvas(attrs) {
    const dpr = window.devicePixelRatio || 1;
    const c = el("canvas", Object.assign({ width: Math.round(THUMB * dpr), height: Math.round(THUMB * dpr) }, attrs));
    c.style.width = THUMB + "px";
    c.style.height = THUMB + "px";
    return c;
  }
  function buildPicker(ix, selected, show) {
    const box = $("image-picker");
    if (pickerDone) {
      box.querySelectorAll("button.pick").forEach((b) => b.setAttribute("aria-pressed", String(Number(b.dataset.image) === selected)));
      return;
    }
    pickerDone = true;
    const geo = ix.geo;
    Promise.all([imageNames(), ix.sheetsP]).then(([names]) => {
      const frag = document.createDocumentFragment();
      for (let i = 0; i < geo.n_images; i++) {
        const c = thumbCanvas();
        const ctx = c.getContext("2d");
        const dpr = window.devicePixelRatio || 1;
        ctx.setTransform(THUMB / geo.size[1] * dpr, 0, 0, THUMB / geo.size[0] * dpr, 0, 0);
        drawRegion(ctx, geo, i, 0, 0, geo.size[1], geo.size[0], 0, 0, geo.size[1], geo.size[0]);
        frag.appendChild(el("button", {
          type: "button",
          class: "pick",
          title: String(names[i]),
          "aria-label": "Image " + i + ": " + names[i],
          "aria-pressed": String(i === Number(query().img)),
          dataset: { image: i },
          onclick: () => show(setQuery({ img: String(i) === query().img ? null : i }, true))
        }, c));
      }
      box.appendChild(frag);
    }).catch((err) => {
      $("image-count").textContent = "Images unavailable: " + err.message;
    });
  }
  function renderImageSearch(ix, img, show) {
    buildPicker(ix, img, show);
    const { geo, index, fs } = ix;
    const box = $("image-results");
    const count = $("image-count");
    const seq = ++imageSeq;
    if (img === null || !(img >= 0 && img < geo.n_images)) {
      clear(box);
      count.textContent = "No image picked.";
      return;
    }
    count.textContent = "Looking up…";
    Promise.all([byImage(fs), imageNames(), ix.sheetsP]).then(([c, names]) => {
      if (seq !== imageSeq) return;
      clear(box);
      const range = c.ranges.get(img);
      const n = range ? range[1] - range[0] : 0;
      count.textContent = n + " factor" + (n === 1 ? "" : "s") + " fire on “" + names[img] + "” among their top contexts";
      if (!n) return;
      const best = c.count[range[0]] || 1;
      resultsTable(box, [["Factor", "num"], ["Level"], ["Top contexts in this image"], ["Strongest patch"], ["at layer", "num"], ["IS by layer"], ["Its top images"]], range, (i) => {
        const f = c.factor[i], k = c.count[i];
        const canvas = thumbCanvas();
        drawThumb(geo, canvas, img, c.position[i]);
        return el(
          "tr",
          null,
          el("td", { class: "num" }, el("a", { href: "factor.html?f=" + f + "&l=" + c.layer[i] }, String(f))),
          el("td", null, levelBadge(index.level[f])),
          el("td", { class: "nowrap" }, countBar(k, best), k + " of " + fs.top_k),
          el("td", null, el("span", { class: "thumbs" }, canvas, el("span", { class: "muted small" }, unitName(geo, c.position[i]) + " · " + fmt(c.value[i])))),
          el("td", { class: "num" }, String(c.layer[i])),
          el("td", null, factorSparkline(index, f)),
          el("td", { class: "tokens-cell" }, index.top_tokens[f])
        );
      });
    }).catch((err) => {
      count.textContent = "Lookup unavailable: " + err.message;
    });
  }
  function thumbsCell(ix, f, onError) {
    const { index, geo } = ix;
    const row = el("span", { class: "thumbs" });
    const canvases = [];
    for (let j = 0; j < 8; j++) {
      const imgCol = index["thumb_image_" + j];
      if (!imgCol) break;
      const img = imgCol[f], pos = index["thumb_pos_" + j][f];
      if (img < 0) continue;
      const c = thumbCanvas({ dataset: { image: img, pos } });
      canvases.push(c);
      row.appendChild(c);
    }
    ix.sheetsP.then(() => {
      canvases.forEach((c) => drawThumb(geo, c, Number(c.dataset.image), Number(c.dataset.pos)));
    }).catch(onError);
    return el(
      "td",
      { class: "thumbs-cell", title: "Top images at the peak layer: " + index.top_tokens[f] },
      row,
      el("span", { class: "thumb-names" }, index.top_tokens[f])
    );
  }
  function drawThumb(geo, canvas, img, pos) {
    const s = geo.patch_size, H = geo.size[0], W = geo.size[1];
    const box = unitBox(geo, pos), prefix = pos < geo.n_prefix_tokens;
    const side = prefix ? Math.min(H, W) : Math.min(Math.min(H, W), (2 * THUMB_MARGIN + 1) * s);
    const cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
    const x0 = prefix ? (W - side) / 2 : Math.max(0, Math.min(W - side, Math.round(cx - side / 2)));
    const y0 = prefix ? (H - side) / 2 : Math.max(0, Math.min(H - side, Math.round(cy - side / 2)));
    const dpr = window.devicePixelRatio || 1, k = THUMB / side;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(k * dpr, 0, 0, k * dpr, 0, 0);
    if (!drawRegion(ctx, geo, img, x0, y0, side, side, 0, 0, side, side)) return;
    if (!prefix) outline(ctx, box[0] - x0, box[1] - y0, box[2] - box[0], box[3] - box[1], "#ffd400", 1.5 / k);
    else {
      const name = unitName(geo, pos);
      canvas.title = name + " of the whole image";
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.font = "bold 9px sans-serif";
      ctx.fillStyle = "rgba(0,0,0,0.7)";
      ctx.fillRect(1, 1, ctx.measureText(name).width + 4, 11);
      ctx.fillStyle = "#ffd400";
      ctx.fillText(name, 3, 10);
    }
    canvas.dataset.drawn = "1";
  }

  // assets/src/factors/index-words.js
  var $2 = (id) => document.getElementById(id);
  var searchP = null;
  var searchSeq = 0;
  function searchIndex(fs) {
    if (!searchP) {
      searchP = loadColumns(fs.search.file).then((s) => {
        s.ranges = ranges(s.key);
        s.keys = Array.from(s.ranges.keys());
        return s;
      });
      searchP.catch(() => {
        searchP = null;
      });
    }
    return searchP;
  }
  function prefixMatches(s, prefix, limit) {
    const out = [];
    let lo = 0, hi = s.keys.length;
    while (lo < hi) {
      const mid = lo + hi >> 1;
      if (s.keys[mid] < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < s.keys.length && out.length < limit && s.keys[i].indexOf(prefix) === 0; i++) out.push(s.keys[i]);
    return out;
  }
  function wireWordSearch(ix, show) {
    $2("word-search").addEventListener("submit", (e) => {
      e.preventDefault();
      show(setQuery({ q: key($2("q").value) || null }, true));
    });
    $2("q").addEventListener("input", () => {
      const q = key($2("q").value);
      if (q.length < 2) return;
      searchIndex(ix.fs).then((s) => {
        const list = clear($2("word-suggestions"));
        prefixMatches(s, q, 12).forEach((k) => list.appendChild(el("option", { value: k })));
      }).catch(() => {
      });
    });
  }
  function renderSearch(ix, q, show) {
    const box = $2("search-results");
    const count = $2("search-count");
    const seq = ++searchSeq;
    if (!q) {
      clear(box);
      count.textContent = "";
      return;
    }
    count.textContent = "Searching…";
    searchIndex(ix.fs).then((s) => {
      if (seq !== searchSeq) return;
      clear(box);
      const r = s.ranges.get(q);
      if (!r) {
        count.textContent = "No factor has “" + q + "” among its top contexts.";
        const near = prefixMatches(s, q.slice(0, Math.max(1, Math.min(q.length, 3))), 12);
        if (near.length) {
          box.appendChild(el(
            "p",
            { class: "small" },
            "Words in the index that start like it: ",
            near.map((k, i) => [i ? ", " : "", el("a", { href: "?q=" + encodeURIComponent(k), onclick: (e) => {
              e.preventDefault();
              show(setQuery({ q: k }, true));
            } }, k)])
          ));
        }
        return;
      }
      const n = r[1] - r[0];
      count.textContent = n + " factor" + (n > 1 ? "s" : "") + " · “" + q + "” occurs " + s.total[r[0]].toLocaleString() + " times in the corpus";
      const best = s.count[r[0]] || 1;
      const { index, fs } = ix;
      resultsTable(box, [["Factor", "num"], ["Level"], ["Top contexts on “" + q + "”"], ["at layer", "num"], ["IS by layer"], ["Top tokens"]], r, (i) => {
        const f = s.factor[i];
        const c = s.count[i];
        return el(
          "tr",
          null,
          el("td", { class: "num" }, el("a", { href: "factor.html?f=" + f + "&l=" + s.layer[i] }, String(f))),
          el("td", null, levelBadge(index.level[f])),
          el("td", null, countBar(c, best), c + " of " + fs.top_k + (s.total[i] ? " (" + pct(Math.min(1, c / s.total[i])) + " of its occurrences)" : "")),
          el("td", { class: "num" }, String(s.layer[i])),
          el("td", null, factorSparkline(index, f)),
          el("td", { class: "tokens-cell" }, index.top_tokens[f])
        );
      });
    }).catch((err) => {
      count.textContent = "Search unavailable: " + err.message;
    });
  }

  // assets/src/factors/index-table.js
  var $3 = (id) => document.getElementById(id);
  var PAGE = 100;
  var LEVEL_ORDER = { low: 0, mid: 1, high: 2, dead: 3 };
  function startIndex() {
    const ix = { fs: null, index: null, geo: null, sheetsP: null };
    section().then((m) => {
      ix.fs = m.factors;
      ix.geo = geometry(m);
      if (ix.geo) ix.sheetsP = loadAll(ix.geo);
      return factorIndex(ix.fs);
    }).then((index) => {
      ix.index = index;
      index.peak_is = new Float32Array(index.n);
      for (let i = 0; i < index.n; i++) index.peak_is[i] = index.is[index.peak_layer[i]][i];
      $3("status").textContent = "";
      const show = (state) => {
        if ($3("q")) $3("q").value = state.q || "";
        $3("f-level").value = state.level || "";
        $3("f-layer").value = state.layer || "";
        if (document.activeElement !== $3("f-token")) $3("f-token").value = state.tok || "";
        renderTable(ix, state);
        if ($3("search-results")) renderSearch(ix, state.q ? key(state.q) : "", show);
        if ($3("image-picker")) renderImageSearch(ix, state.img === void 0 || state.img === "" ? null : Number(state.img), show);
      };
      wire(ix, show);
      onState(show);
      show(query());
    }).catch(fail);
  }
  function wire(ix, show) {
    if ($3("word-search")) wireWordSearch(ix, show);
    $3("f-level").addEventListener("change", () => show(setQuery({ level: $3("f-level").value || null, page: null }, true)));
    $3("f-layer").addEventListener("change", () => show(setQuery({ layer: $3("f-layer").value || null, page: null }, true)));
    let timer = null;
    $3("f-token").addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => show(setQuery({ tok: key($3("f-token").value) || null, page: null }, false)), 120);
    });
    document.querySelectorAll("#ftable th[data-sort] button").forEach((b) => {
      b.addEventListener("click", () => {
        const by = b.parentNode.dataset.sort;
        const st = query();
        const sort = st.sort || "factor";
        const dir = st.dir || "asc";
        const nextDir = sort === by ? dir === "asc" ? "desc" : "asc" : by === "factor" || by === "level" || by === "peak_layer" ? "asc" : "desc";
        show(setQuery({ sort: by === "factor" && nextDir === "asc" ? null : by, dir: nextDir === "asc" ? null : nextDir, page: null }, true));
      });
    });
    wirePager((page) => show(setQuery({ page }, true)), $3("ftable"));
    document.querySelectorAll("[data-random]").forEach((b) => {
      b.addEventListener("click", () => {
        const f = randomFactor(ix.index, b.dataset.random);
        if (f !== null) window.location.href = "factor.html?f=" + f;
      });
    });
  }
  function selection(index, state) {
    const level = state.level || "";
    const layer = state.layer === void 0 || state.layer === "" ? null : Number(state.layer);
    const tok = key(state.tok);
    const ids = [];
    for (let i = 0; i < index.n; i++) {
      if (level && index.level[i] !== level) continue;
      if (layer !== null && index.peak_layer[i] !== layer) continue;
      if (tok && index.top_tokens[i].toLowerCase().indexOf(tok) === -1) continue;
      ids.push(i);
    }
    const sort = state.sort || "factor";
    const dir = state.dir === "desc" ? -1 : 1;
    const col = sort === "level" ? null : index[sort];
    if (sort === "level") ids.sort((a, b) => dir * (LEVEL_ORDER[index.level[a]] - LEVEL_ORDER[index.level[b]]) || a - b);
    else if (col) ids.sort((a, b) => dir * (col[a] - col[b]) || a - b);
    document.querySelectorAll("#ftable th[data-sort]").forEach((th) => {
      if (th.dataset.sort === sort) th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
    return ids;
  }
  function renderTable(ix, state) {
    const { index, geo } = ix;
    const ids = selection(index, state);
    const pages = Math.max(1, Math.ceil(ids.length / PAGE));
    const page = Math.min(pages - 1, Math.max(0, Number(state.page || 0)));
    $3("table-count").textContent = ids.length.toLocaleString() + " of " + index.n.toLocaleString() + " factors";
    $3("page-info").textContent = "page " + (page + 1) + " of " + pages;
    $3("prev").disabled = page === 0;
    $3("next").disabled = page >= pages - 1;
    const onError = (err) => {
      $3("status").textContent = "Could not load the images: " + err.message;
      $3("status").className = "error";
    };
    const frag = document.createDocumentFragment();
    ids.slice(page * PAGE, (page + 1) * PAGE).forEach((f) => {
      frag.appendChild(el(
        "tr",
        null,
        el("td", { class: "num" }, el("a", { href: "factor.html?f=" + f }, String(f))),
        el("td", null, levelBadge(index.level[f])),
        el("td", { class: "num" }, String(index.peak_layer[f])),
        el(
          "td",
          { title: "IS by layer: " + isCurve(index, f).map((v) => fmt(v)).join(", ") },
          factorSparkline(index, f),
          " ",
          el("span", { class: "muted small" }, fmt(index.peak_is[f]))
        ),
        el("td", { class: "num" }, pct(index.density[f])),
        el("td", { class: "num col-max" }, fmt(index.max_activation[f])),
        el("td", { class: "num col-spread" }, fmt(index.spread[f], 2)),
        geo ? thumbsCell(ix, f, onError) : el("td", { class: "tokens-cell" }, index.top_tokens[f])
      ));
    });
    if (!ids.length) frag.appendChild(el("tr", null, el("td", { colspan: 8, class: "muted" }, "No factor matches these filters.")));
    clear($3("ftbody")).appendChild(frag);
  }

  // assets/src/pages/factors.js
  startIndex();
})();
