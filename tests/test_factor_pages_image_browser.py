"""Factor pages of the tiny image site (tiny DINOv2 with registers) in a real browser, from file://
and http: the index lists factors with thumbnails of their top images (no word search), the factor
page shows crops with the patch outlined, the activation map on demand, the LIME overlay toggle,
an IS-curve layer switch that redraws the crops, and the hostile image name stays text."""


import pytest
from conftest import HOSTILE_IMAGE_NAME
from playwright.sync_api import expect
from sites import model_folder, read_manifest
from test_site_browser import open_site

from browser import skip_without_chromium
from tfvis_site.site.bundles import read_data_table

pytestmark = [pytest.mark.browser, skip_without_chromium]

# Summaries of a canvas computed in the page (moving whole pixel arrays to Python is slow):
# width, the largest per-channel range (0 = blank), a checksum, and the colour at given points.
PIXELS = """([sel, points]) => {
  const c = document.querySelector(sel);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let lo = [255, 255, 255], hi = [0, 0, 0], sum = 0;
  for (let i = 0; i < d.length; i += 4) {
    for (let k = 0; k < 3; k++) { lo[k] = Math.min(lo[k], d[i + k]); hi[k] = Math.max(hi[k], d[i + k]); }
    sum = (sum * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) % 1000000007;
  }
  const at = (points || []).map(([x, y]) => Array.from(d.slice(4 * (Math.floor(y) * c.width + Math.floor(x)), 4 * (Math.floor(y) * c.width + Math.floor(x)) + 3)));
  return {w: c.width, h: c.height, spread: Math.max(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]), sum: sum, at: at};
}"""


def _manifest(site):
    return read_manifest(site)


def _pixels(page, sel, points=None):
    return page.evaluate(PIXELS, [sel, points or []])


def _pick(site):
    """(factor, peak layer, an other layer, the rank of a LIME context at the peak or None) for a
    LIME-covered factor, and (factor, layer, rank) of a context in the hostile image."""
    m = _manifest(site)
    fs = m["factors"]
    data = model_folder(site) / "data"
    names = read_data_table(data, "sentences.parquet").column("text").to_pylist()
    hostile = names.index(HOSTILE_IMAGE_NAME)
    index = read_data_table(data, fs["files"]["index"]).to_pylist()
    lime_rows = []
    for name in fs["lime"]["files"]:
        lime_rows += read_data_table(data, name, columns=["factor", "layer", "sentence_id", "position"]).to_pylist()
    lime_keys = {(r["factor"], r["layer"], r["sentence_id"], r["position"]) for r in lime_rows}
    main = host = None
    for chunk in range(fs["n_chunks"]):
        for r in read_data_table(data, fs["files"]["topk"].format(chunk=chunk)).to_pylist():
            f, layer = r["factor"], r["layer"]
            peak = index[f]["peak_layer"]
            if main is None and layer == peak and (f, layer, r["sentence_id"], r["position"]) in lime_keys:
                main = (f, peak, 0 if peak else 1, r["rank"])
            if host is None and r["sentence_id"] == hostile:
                host = (f, layer, r["rank"])
    assert main and host
    return main, host


@pytest.mark.parametrize("how", ["file", "http"])
def test_factor_pages_image(tiny_image_site, how):
    site = tiny_image_site
    m = _manifest(site)
    fs, geo = m["factors"], m["image"]
    n = fs["n_factors"]
    (f, peak, other, lime_rank), (hf, hl, hrank) = _pick(site)
    with open_site(site, how) as (page, base):
        # index: every factor, thumbnails drawn from the sprite sheets, no word search
        page.goto(base + "factors.html")
        page.wait_for_selector("#ftbody tr canvas[data-drawn]")
        expect(page.locator("#table-count")).to_contain_text(f"{n} of {n}")
        assert page.locator("#word-search").count() == 0
        assert _pixels(page, "#ftbody tr canvas[data-drawn]")["spread"] > 20
        page.select_option("#f-level", "low")
        expect(page.locator("#ftbody tr").first.locator(".flevel")).to_have_text("low")
        # the name filter finds the hostile image, shown as text
        page.select_option("#f-level", "")
        page.fill("#f-token", "onerror")
        expect(page.locator("#ftbody tr").first.locator(".thumb-names")).to_contain_text(HOSTILE_IMAGE_NAME)
        assert page.locator("#ftbody img, #ftbody script").count() == 0
        # which factors fire on an image: pick the hostile one
        hostile = read_data_table(model_folder(site) / "data", "sentences.parquet").column("text").to_pylist().index(HOSTILE_IMAGE_NAME)
        page.locator(f"#image-picker button[data-image='{hostile}']").click()
        page.wait_for_selector("#image-results tbody tr a")
        assert f"img={hostile}" in page.url
        expect(page.locator("#image-count")).to_contain_text(HOSTILE_IMAGE_NAME)
        assert page.locator("#image-results img, #image-picker img").count() == 0

        # factor page: crops with the patch outlined
        page.goto(base + f"factor.html?f={f}")
        page.wait_for_selector(f"body[data-drawn='{f},{peak}']")
        tiles = page.locator("#contexts li.ctx-img")
        assert tiles.count() > 0
        first = page.locator("#contexts li.ctx-img").first
        pos = int(first.get_attribute("data-pos"))
        px = _pixels(page, "#contexts li.ctx-img canvas")
        assert px["spread"] > 20
        # the outline: yellow on the left edge of the patch box (crop geometry as in the page)
        s, (H, W) = geo["patch_size"], geo["size"]
        p = pos - geo["n_prefix_tokens"]
        if p >= 0:
            r, c = divmod(p, geo["grid"][1])
            side = min(H, W, 7 * s)
            x0 = max(0, min(W - side, round(c * s + s / 2 - side / 2)))
            y0 = max(0, min(H - side, round(r * s + s / 2 - side / 2)))
            k = px["w"] / side
            red, green, blue = _pixels(page, "#contexts li.ctx-img canvas", [[(c * s - x0) * k, (r * s + s / 2 - y0) * k]])["at"][0]
            assert red > 180 and green > 150 and blue < 100, (red, green, blue)

        # heat map on demand: click a tile -> the whole image with the activation map
        first.locator("button.ctx-tile").click()
        page.wait_for_selector("#detail-canvas[data-mode='act'][data-drawn]")
        assert "c=" in page.url
        heat = _pixels(page, "#detail-canvas")
        page.click("#ctx-detail button[data-mode='none']")
        page.wait_for_selector("#detail-canvas[data-mode='none'][data-drawn]")
        plain = _pixels(page, "#detail-canvas")
        assert heat["w"] == plain["w"] and heat["sum"] != plain["sum"]
        expect(page.locator("#ctx-detail .detail-name")).not_to_be_empty()
        expect(page.locator("#ctx-detail a.detail-by-image")).to_have_attribute("href", f"factors.html?img={first.get_attribute('data-image')}")

        # LIME overlay on the tiles, toggled by the overlay menu
        lime_tile = f"#contexts li.ctx-img[data-rank='{lime_rank}'] canvas"
        page.wait_for_selector(f"body[data-drawn='{f},{peak}']")
        before = _pixels(page, lime_tile)
        page.select_option("#overlay", "lime")
        page.wait_for_selector(f"body[data-drawn='{f},{peak}']")
        assert "o=lime" in page.url
        assert page.locator("#lime-note .lime-legend").count() == 1
        assert _pixels(page, lime_tile)["sum"] != before["sum"]
        page.select_option("#overlay", "none")
        page.wait_for_selector(f"body[data-drawn='{f},{peak}']")
        assert _pixels(page, lime_tile)["sum"] == before["sum"]

        # IS curve: another layer redraws the crops from that layer's contexts
        page.locator(f"#is-chart .is-col[data-layer='{other}']").click()
        page.wait_for_selector(f"body[data-drawn='{f},{other}']")
        assert f"l={other}" in page.url
        expect(page.locator("#ctx-h")).to_contain_text(f"layer {other}")
        assert page.locator(f"#contexts li.ctx-img[data-layer='{other}']").count() > 0
        assert page.locator(f"#contexts li.ctx-img[data-layer='{peak}']").count() == 0
        page.go_back()
        page.wait_for_selector(f"body[data-drawn='{f},{peak}']")

        # the hostile image name: text only, in the tile and the detail view
        page.goto(base + f"factor.html?f={hf}&l={hl}&c={hrank}")
        page.wait_for_selector(f"body[data-drawn='{hf},{hl}']")
        expect(page.locator(f"#contexts li.ctx-img[data-rank='{hrank}'] .ctx-name")).to_have_text(HOSTILE_IMAGE_NAME)
        expect(page.locator("#ctx-detail .detail-name")).to_have_text(HOSTILE_IMAGE_NAME)
        assert page.locator("#contexts img, #ctx-detail img, #contexts script, #neighbors img").count() == 0

        # quality page
        page.goto(base + "quality.html")
        page.wait_for_selector("#overlay svg")
        assert page.locator("#overlay polyline[data-f]").count() == n - fs["level_counts"].get("dead", 0)
        expect(page.locator("#l0-h")).to_contain_text("patch")
