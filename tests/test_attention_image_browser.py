"""Attention pages of an image site (tiny DINOv2 with registers, conftest tiny_image_site) in Debian
chromium, from file:// and http: the matrix draws and recolours by patch row / hue with a legend;
the single view opens the image view on a point click (heat map over the image, Fig. 13 arrows,
the selected patch outlined), a click on the image selects a patch (URL t=), deep links and
back/forward restore it, the keyboard moves it, [CLS] can be selected from the strip, zooming in
draws patch thumbnails, and the HTML-looking image name stays text. No console errors, no
external requests. Screenshots go to $TFVIS_ARTIFACTS (or the test's tmp dir)."""


import pytest
from conftest import HOSTILE_IMAGE_NAME
from playwright.sync_api import expect
from test_attention_pages_browser import artifacts, count, ready
from sites import model_folder, read_manifest
from test_site_browser import open_site

from browser import skip_without_chromium
from tfvis_site.site.bundles import read_data_table, read_data_array

pytestmark = [pytest.mark.browser, skip_without_chromium]


#: Summary of a 2D canvas: [distinct colours (sampled), hash of all pixels].
PIXELS = """(sel) => { const c = document.querySelector(sel); if (!c || !c.width) return [0, 0];
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const seen = new Set(); let h = 0;
  for (let i = 0; i < d.length; i += 4) { h = (h * 31 + d[i] * 7 + d[i + 1] * 3 + d[i + 2]) | 0; if (i % 28 === 0) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]); }
  return [seen.size, h]; }"""

#: The head page's inspection handle (for tests and benches only; assets/src/pages/attention-head.js).
HEAD = "document.getElementById('att-stage').inspect"

#: Mean absolute difference (0-255) between the image view's canvas now and a saved copy.
SAVE = "() => { const c = document.querySelector('.att-image-canvas'); window.__saved = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; }"
DIFF = """() => { const c = document.querySelector('.att-image-canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const s = window.__saved; if (!s || s.length !== d.length) return -1; let t = 0; for (let i = 0; i < d.length; i += 4) t += Math.abs(d[i] - s[i]) + Math.abs(d[i + 1] - s[i + 1]) + Math.abs(d[i + 2] - s[i + 2]);
  return t / (d.length / 4) / 3; }"""


#: The first of the candidate points with no other point within 8 px on screen (a click picks it).
ISOLATED = """(cands) => { const s = document.getElementById('att-stage').inspect, n = s.scatter().get('points').length;
  const pos = Array.from({length: n}, (_, j) => s.screenPos(j));
  for (const i of cands) { const p = pos[i]; let ok = p[0] > 20 && p[1] > 20;
    for (let j = 0; j < n && ok; j++) if (j !== i && (pos[j][0] - p[0]) ** 2 + (pos[j][1] - p[1]) ** 2 < 64) ok = false;
    if (ok) return i; }
  return cands[0]; }"""


#: Mean absolute difference (0-255) between the image view's canvas and the plain image at the same scale.
PLAIN_DIFF = """async () => { const c = document.querySelector('.att-image-canvas');
  const plain = document.getElementById('att-stage').inspect.plainImage(Number(c.dataset.image)); await plain.ready;
  const a = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, b = plain.ctx.getImageData(0, 0, c.width, c.height).data;
  let t = 0; for (let i = 0; i < a.length; i += 4) t += Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]);
  return t / (a.length / 4) / 3; }"""


def image_drawn(page, sel=None):
    """Wait until the image view's canvas is drawn (with `sel` selected, when given)."""
    cond = "c && Number(c.dataset.drawn || 0) > 0" + ("" if sel is None else f" && c.dataset.sel === '{sel}'")
    page.wait_for_function(f"(() => {{ const c = document.querySelector('.att-image-canvas'); return {cond}; }})()", timeout=15_000)


def canvas_point(page, geo, pos):
    """Page coordinates of the centre of unit `pos`'s patch on the image view's canvas."""
    page.locator(".att-image-canvas").scroll_into_view_if_needed()
    box = page.locator(".att-image-canvas").bounding_box()
    p = pos - geo["n_prefix_tokens"]
    r, c = divmod(p, geo["grid"][1])
    return box["x"] + (c + 0.5) / geo["grid"][1] * box["width"], box["y"] + (r + 0.5) / geo["grid"][0] * box["height"]


def sample(site):
    """Names, token offsets and image indices of the attention sample's images (pyarrow, no page load)."""

    t = read_data_table(model_folder(site) / "data", "attention/sentences.parquet", columns=["text", "token_offset", "sentence_id"]).to_pydict()
    return t["text"], t["token_offset"], t["sentence_id"]


def click_point(page, i):
    """Click point i of the 2D plot (after hovering it: the tooltip shows)."""
    pos = page.evaluate(f"{HEAD}.screenPos({i})")
    box = page.locator("#att-canvas").bounding_box()
    page.mouse.move(box["x"] + pos[0], box["y"] + pos[1])
    expect(page.locator("#att-tooltip")).to_be_visible()
    n = count(page)
    page.mouse.click(box["x"] + pos[0], box["y"] + pos[1])
    ready(page, n + 1)


def outline_colour_near(page, x, y):
    """Pixels of the image view's canvas in a short horizontal run around CSS point (x, y)."""
    return page.evaluate(
        """([x, y]) => { const c = document.querySelector('.att-image-canvas'); const k = c.width / c.getBoundingClientRect().width;
        const d = c.getContext('2d').getImageData(Math.round((x - 3) * k), Math.round(y * k), Math.round(6 * k), 1).data;
        const out = []; for (let i = 0; i < d.length; i += 4) out.push([d[i], d[i + 1], d[i + 2]]); return out; }""",
        [x, y],
    )


@pytest.mark.parametrize("how", ["file", "http"])
def test_image_attention_matrix_and_image_view(tiny_image_site, how, tmp_path):
    manifest = read_manifest(tiny_image_site)
    att, geo = manifest["attention"], manifest["image"]
    n_layers, n_heads, npre, cols = att["model"]["n_layers"], att["model"]["n_heads"], geo["n_prefix_tokens"], geo["grid"][1]
    names, _, image_ids = sample(tiny_image_site)
    s = 1 if names[0] == HOSTILE_IMAGE_NAME else 0
    with open_site(tiny_image_site, how) as (page, base):
        # --- matrix: drawn, image colour modes with legends (text-only modes gone)
        if how == "file":  # a window lower than the plot: the shared renderer must still cover every row
            page.set_viewport_size({"width": 1280, "height": 260})
        page.goto(base + "attention.html")
        ready(page)
        if how == "file":  # (rows out of the window are drawn when the browser is idle)
            page.wait_for_function("document.body.dataset.attPending === '0'", timeout=30_000)
            bands = page.evaluate(
                """(rows) => { const c = document.querySelector('#att-canvas'), x = c.getContext('2d');
                const band = (r, f) => { const d = x.getImageData(0, Math.floor(c.height * (r + f) / rows), c.width, Math.floor(c.height * 0.2 / rows)).data;
                  const seen = new Set(); for (let i = 0; i < d.length; i += 4 * 5) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]); return seen.size; };
                return [c.height, band(0, 0.14), band(rows - 1, 0.64)]; }""",
                n_layers,
            )
            assert bands[0] > 260 and bands[1] >= 4 and bands[2] >= 4, bands
            page.set_viewport_size({"width": 1280, "height": 720})
        assert page.locator("#att-cells a.att-cell").count() == n_layers * n_heads
        page.wait_for_function(f"({PIXELS})('#att-canvas')[0] >= 6", timeout=15_000)
        options = page.eval_on_selector_all("#att-color option", "os => os.map(o => o.value)")
        assert {"qk", "row", "col", "hue", "brightness", "sfreq"} <= set(options)
        assert not {"punct", "mod5", "freq"} & set(options)
        before = page.evaluate(PIXELS, "#att-canvas")
        for mode in ("hue", "row") if how == "file" else ("hue",):
            n = count(page)
            page.select_option("#att-color", mode)
            ready(page, n + 1)
            expect(page.locator("#att-legend")).to_contain_text(mode)
            expect(page.locator("#att-legend")).to_contain_text("[CLS] / register")
            after = page.evaluate(PIXELS, "#att-canvas")
            assert after[1] != before[1]  # the points changed colour
            before = after
        assert f"color={mode}" in page.url
        if how == "file":
            page.screenshot(path=str(artifacts(tmp_path) / "attention-image-matrix.png"), full_page=True)

        # --- deep link to a patch of an image: the image view with the heat map
        t_sel = npre + 7
        page.goto(base + f"attention-head.html?l=1&h=0&s={s}&t={t_sel}")
        ready(page)
        image_drawn(page, t_sel)
        assert page.locator("#att-sentence-card").count() == 0
        expect(page.locator("#att-s")).to_have_value(str(s))
        expect(page.locator("#att-sentence-text")).to_contain_text(names[s])
        # the image browser opens the same image and patch (sentence_id = the image's index)
        expect(page.locator("#att-sentence-text a")).to_have_attribute("href", f"images.html?i={image_ids[s]}&p={t_sel}")
        canvas = page.locator(".att-image-canvas")
        assert canvas.get_attribute("data-kind") == "query" and canvas.get_attribute("data-heat") == "1"
        # heat map: the picture differs from the plain image; with the heat map off it is the plain image
        assert page.evaluate(PLAIN_DIFF) > 3
        if how == "file":  # (http: the same code; the CI budget keeps that run short)
            n = count(page)
            page.uncheck("#att-heat")
            ready(page, n + 1)
            assert "heat=0" in page.url and page.locator(".att-image-canvas").get_attribute("data-heat") == "0"
            assert page.evaluate(PLAIN_DIFF) < 3  # only the outline (and arrows: none in this model) remain
        # a click on a patch of the image selects it as the query: URL and green outline follow
        target = npre + 2 * cols + 3  # patch 2,3
        x, y = canvas_point(page, geo, target)
        n = count(page)
        page.mouse.click(x, y)
        ready(page, n + 1)
        image_drawn(page, target)
        assert f"t={target}" in page.url
        cell = page.locator(".att-image-canvas").bounding_box()["width"] / cols
        rgbs = outline_colour_near(page, 3 * cell, 2.5 * cell)  # left edge of patch 2,3
        assert min(abs(r - 77) + abs(g - 146) + abs(b - 33) for r, g, b in rgbs) < 40, rgbs
        expect(page.locator(".att-image-read")).to_contain_text("query patch 2,3")
        if how == "file":
            page.go_back()
            image_drawn(page, t_sel)
            page.go_forward()
            image_drawn(page, target)
            page.screenshot(path=str(artifacts(tmp_path) / "attention-image-head.png"), full_page=True)


def test_image_view_points_arrows_keyboard_cls_thumbnails_and_hostile_name(tiny_image_site, tmp_path):
    manifest = read_manifest(tiny_image_site)
    geo = manifest["image"]
    npre, cols = geo["n_prefix_tokens"], geo["grid"][1]
    units = npre + geo["grid"][0] * cols
    names, offsets, _ = sample(tiny_image_site)
    n_tokens = manifest["attention"]["n_tokens"]
    hostile = names.index(HOSTILE_IMAGE_NAME)
    other = (hostile + 1) % len(names)
    with open_site(tiny_image_site, "file") as (page, base):
        page.set_viewport_size({"width": 1280, "height": 1000})
        # the HTML-looking image name is text: shown literally, nothing injected
        page.goto(base + f"attention-head.html?l=0&h=1&s={hostile}&t={npre}")
        ready(page)
        image_drawn(page, npre)
        expect(page.locator("#att-sentence-text")).to_contain_text(HOSTILE_IMAGE_NAME)
        # a query point of another image: its image opens with that patch as the query
        tok = page.evaluate(ISOLATED, [offsets[other] + k for k in range(npre, units)])
        click_point(page, tok)
        assert f"s={other}" in page.url and f"t={tok - offsets[other]}" in page.url
        image_drawn(page, tok - offsets[other])
        assert page.locator(".att-image-canvas").get_attribute("data-kind") == "query"
        # a key point: its column becomes the heat map (which queries attend to it)
        key_point = page.evaluate(ISOLATED, [n_tokens + k for k in range(n_tokens) if k % units >= npre])
        click_point(page, key_point)
        assert "key=1" in page.url
        page.wait_for_function("document.querySelector('.att-image-canvas').dataset.kind === 'key'")
        expect(page.locator(".att-image-read")).to_contain_text("key patch")
        assert page.locator("main img, #att-tooltip img").count() == 0
        # arrows: the random tiny model attends almost uniformly (every weight < 0.05: no arrow), so
        # give the view peaked weights: a patch -> its right neighbour, the last column -> itself
        # (circle), the first row -> [CLS] (square)
        assert page.locator(".att-image-canvas").get_attribute("data-arrows") == "0"
        page.evaluate(
            """([np, cols]) => { document.getElementById('att-stage').inspect.imageHooks.weights = function (sec, sentences, layerData, h, s) {
              const n = sentences.n_tokens[s], w = new Float32Array(n * n).fill(0.1 / n);
              for (let q = 0; q < n; q++) { const p = q - np; let k = q;
                if (p >= 0 && p < cols) k = 0; else if (p >= 0 && p % cols !== cols - 1) k = q + 1;
                w[q * n + k] = 0.9; }
              return w; }; }""",
            [npre, cols],
        )
        n = count(page)
        page.uncheck("#att-arrows")
        ready(page, n + 1)
        assert "arrows=0" in page.url
        page.evaluate(SAVE)
        n = count(page)
        page.check("#att-arrows")
        ready(page, n + 1)
        assert page.locator(".att-image-canvas").get_attribute("data-arrows") == str(geo["grid"][0] * cols)
        assert page.evaluate(DIFF) > 0.5  # the arrows changed pixels
        page.locator(".att-image-canvas").screenshot(path=str(artifacts(tmp_path) / "attention-image-arrows.png"))
        # keyboard: arrow keys move the selected patch (and the URL); focus stays on the image
        sel = int(page.locator(".att-image-canvas").get_attribute("data-sel"))
        right = sel + 1 if (sel - npre) % cols < cols - 1 else sel
        page.locator(".att-image-canvas").focus()
        page.keyboard.press("ArrowRight")
        image_drawn(page, right)
        assert f"t={right}" in page.url
        down = right + cols if right + cols < units else right
        page.locator(".att-image-canvas").press("ArrowDown")
        image_drawn(page, down)
        expect(page.locator(".att-image-canvas")).to_be_focused()
        # the [CLS] strip: selecting [CLS] makes it the query (its attention over the patches)
        page.locator(".att-prefix[data-pos='0']").click()
        image_drawn(page, 0)
        assert "t=0" in page.url
        expect(page.locator(".att-prefix[data-pos='0']")).to_have_attribute("aria-pressed", "true")
        # previous / next image of the sample
        cur = int(page.input_value("#att-s"))
        step, to = ("#att-next-s", cur + 1) if cur + 1 < len(names) else ("#att-prev-s", cur - 1)
        page.click(step)
        page.wait_for_function(f"document.querySelector('#att-s').value === '{to}'")
        # zoomed in: each point in view is drawn as its patch (thumbnails on the overlay)
        before = page.evaluate(PIXELS, "#att-overlay")
        page.evaluate(
            """(c) => { const sp = document.getElementById('att-stage').inspect.scatter(), pts = sp.get('points'), p0 = pts[c];
            const near = pts.map((p, i) => [(p[0] - p0[0]) ** 2 + (p[1] - p0[1]) ** 2, i]).sort((a, b) => a[0] - b[0]).slice(0, 30).map(x => x[1]);
            sp.zoomToPoints(near, { transition: false, padding: 0.2 }); }""",
            key_point,
        )
        page.wait_for_function("Number(document.body.dataset.attThumbs || 0) > 0", timeout=10_000)
        after = page.evaluate(PIXELS, "#att-overlay")
        assert after[0] > before[0]
        # hovering still works over the thumbnails; the tooltip shows the patch and the image name as text
        page.locator("#att-stage").scroll_into_view_if_needed()
        pos = page.evaluate(f"{HEAD}.screenPos({key_point})")
        box = page.locator("#att-canvas").bounding_box()
        page.mouse.move(box["x"] + pos[0] + 0.5, box["y"] + pos[1] + 0.5)
        expect(page.locator("#att-tooltip")).to_contain_text("key")
        page.locator("#att-stage").screenshot(path=str(artifacts(tmp_path) / "attention-image-thumbnails.png"))
        assert page.locator("main img, #att-tooltip img").count() == 0


def test_image_view_weight_by_value_norm(tiny_image_site, tmp_path):
    """The value-norm box reweights the image view (attention x ||v_j||, renormalised per query):
    the prefix-token strip shows the weighted weights of the data files, the heat map changes,
    the URL records it and back undoes it."""
    import numpy as np

    manifest = read_manifest(tiny_image_site)
    data = model_folder(tiny_image_site) / "data"
    sec, geo = manifest["attention"], manifest["image"]
    npre, H = geo["n_prefix_tokens"], sec["model"]["n_heads"]
    _, offsets, _ = sample(tiny_image_site)
    layer, head, s = 1, 2, 1
    L = offsets[s + 1] - offsets[s]
    u8 = read_data_array(data, sec["files"]["weights"][layer], np.uint8).reshape(H, -1)
    pair = L * L * s  # every image of the sample has the same number of units
    block = (u8[head, pair : pair + L * L].reshape(L, L).astype(np.float64) / 255) ** 2
    vn = read_data_array(data, sec["files"]["value_norms"], "<f4").reshape(sec["model"]["n_layers"], sec["n_tokens"], -1)
    kv = sec["heads"][layer * H + head]["kv_head"]
    weighted = block * vn[layer, offsets[s] : offsets[s] + L, kv][None, :]
    weighted /= weighted.sum(1, keepdims=True)
    # the patch query whose prefix-token weights move most (the strip shows them with 2 decimals)
    t = npre + int(np.argmax(np.abs(weighted - block)[npre:, :npre].max(1)))
    assert np.abs(weighted - block).max() > 0.003  # a random tiny model attends almost uniformly
    strip = "Array.from(document.querySelectorAll('.att-prefix .att-prefix-w')).map(e => +e.textContent)"
    drawn = "Array.from(document.querySelector('.att-image-canvas')._weights)"
    with open_site(tiny_image_site, "file") as (page, base):
        page.goto(base + f"attention-head.html?l={layer}&h={head}&s={s}&t={t}")
        ready(page)
        image_drawn(page, t)
        np.testing.assert_allclose(np.reshape(page.evaluate(drawn), (L, L)), block, atol=1e-6)
        assert page.evaluate(strip) == pytest.approx(block[t, :npre], abs=0.0051)
        page.evaluate(SAVE)
        n = count(page)
        page.check("#att-vnorm")
        ready(page, n + 1)
        assert "vnorm=1" in page.url
        image_drawn(page, t)
        np.testing.assert_allclose(np.reshape(page.evaluate(drawn), (L, L)), weighted, atol=1e-6)
        assert page.evaluate(strip) == pytest.approx(weighted[t, :npre], abs=0.0051)
        assert page.evaluate(DIFF) > 0  # the heat map follows
        page.locator(".att-image-canvas").screenshot(path=str(artifacts(tmp_path) / "attention-image-vnorm.png"))
        page.go_back()
        page.wait_for_function("!document.getElementById('att-vnorm').checked")
