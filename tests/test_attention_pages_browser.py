"""Attention pages (matrix, single head, sentence view) of the tiny site in Debian chromium, from
file:// and http: the matrix draws (pixels), search highlights, a cell opens its head, a point opens
its sentence, deep links restore the view, back/forward work, no console errors, no external
requests, hostile corpus text stays text. Screenshots go to $TFVIS_ARTIFACTS (or the test's tmp dir)."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sites import model_folder, read_manifest
from test_site_browser import open_site

from browser import skip_without_chromium
from tfvis_site.site.bundles import read_data_table

pytestmark = [pytest.mark.browser, skip_without_chromium]


def artifacts(tmp_path: Path) -> Path:
    out = Path(os.environ.get("TFVIS_ARTIFACTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


#: The head page's inspection handle (for tests and benches only; assets/src/pages/attention-head.js).
HEAD = "document.getElementById('att-stage').inspect"


def sample_sentences(site: Path) -> dict:
    """The attention sample's sentences.parquet as columns (text, token_offset, sentence_id, ...)."""
    return read_data_table(model_folder(site) / "data", "attention/sentences.parquet").to_pydict()


def ready(page, n=1):
    page.wait_for_function(f"Number(document.body.dataset.attReady || 0) >= {n}", timeout=30_000)


def count(page):
    return page.evaluate("Number(document.body.dataset.attReady || 0)")


def colours_in(png: bytes) -> int:
    return len(set(png[i : i + 3] for i in range(200, len(png) - 3, 61)))


def canvas_drawn(page, selector, min_colours=6):
    """Wait until a 2D canvas (regl-scatterplot draws into one) holds several distinct colours."""
    page.wait_for_function(
        """([sel, k]) => { const c = document.querySelector(sel); if (!c || !c.width) return false;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 7) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
        return seen.size >= k; }""",
        arg=[selector, min_colours],
        timeout=15_000,
    )
    return True


@pytest.mark.parametrize("how", ["file", "http"])
def test_matrix_draws_searches_and_opens_a_head(tiny_site, how, tmp_path):
    att = read_manifest(tiny_site)["attention"]
    n_layers, n_heads = att["model"]["n_layers"], att["model"]["n_heads"]
    with open_site(tiny_site, how) as (page, base):
        page.goto(base + "attention.html")
        ready(page)
        assert page.locator("#att-cells a.att-cell").count() == n_layers * n_heads
        assert canvas_drawn(page, "#att-canvas")  # points drawn, not a blank canvas
        page.screenshot(path=str(artifacts(tmp_path) / f"attention-matrix-{how}.png"), full_page=True)
        # search: every cell shows its hits, the URL records the search
        n = count(page)
        page.fill("#att-q", "the")
        page.press("#att-q", "Enter")
        ready(page, n + 1)
        expect(page.locator("#att-count")).to_contain_text("tokens")
        assert "q=the" in page.url
        assert page.locator("#att-cells .att-has-hits").count() == n_layers * n_heads
        assert page.locator(".att-hits").first.inner_text().split()[0].isdigit()
        # colour switch: legend follows; back restores the previous colour
        n = count(page)
        page.select_option("#att-color", "punct")
        ready(page, n + 1)
        expect(page.locator("#att-legend")).to_contain_text("punctuation")
        page.go_back()
        expect(page.locator("#att-color")).to_have_value("qk")
        # 3D (three.js) draws too
        n = count(page)
        page.check("input[name=dim][value='3']")
        ready(page, n + 1)
        assert colours_in(page.locator("canvas.att-canvas3").screenshot()) > 3
        # a click on a cell opens that head, carrying the settings
        page.locator(f"a.att-cell[data-l='{n_layers - 1}'][data-h='1']").click()
        page.wait_for_url("**/attention-head.html?*")
        ready(page)
        assert f"l={n_layers - 1}" in page.url and "h=1" in page.url and "q=the" in page.url
        expect(page.locator("#att-title")).to_contain_text(f"Layer {n_layers - 1}, head 1")


@pytest.mark.parametrize("how", ["file", "http"])
def test_head_view_point_click_sentence_deep_link_and_history(tiny_site, how, tmp_path):
    with open_site(tiny_site, how) as (page, base):
        page.goto(base + "attention-head.html?l=1&h=0")
        ready(page)
        assert canvas_drawn(page, "#att-canvas")
        expect(page.locator("#att-metrics")).to_contain_text("Spearman after")
        # the hostile sentence (<script>, <img onerror>) stays text in the sentence view
        sample = sample_sentences(tiny_site)
        sents = sample["text"]
        hostile = next(i for i, t in enumerate(sents) if "<script>" in t)
        page.goto(base + f"attention-head.html?l=1&h=0&s={hostile}&t=1")
        ready(page)
        expect(page.locator("#att-sentence-text")).to_contain_text("<script>")
        assert page.locator("#att-sentence script, #att-sentence img, #att-sentence-text script, #att-sentence-text img").count() == 0
        assert page.locator("#att-sentence svg text").count() > 4
        # hover a point: tooltip with text; click it: its sentence opens and the URL records it
        other = (hostile + 1) % len(sents)
        tok = sample["token_offset"][other] + 1
        pos = page.evaluate(f"{HEAD}.screenPos({tok})")
        box = page.locator("#att-canvas").bounding_box()
        page.mouse.move(box["x"] + pos[0], box["y"] + pos[1])
        expect(page.locator("#att-tooltip")).to_be_visible()
        assert page.locator("#att-tooltip script, #att-tooltip img").count() == 0
        n = count(page)
        page.mouse.click(box["x"] + pos[0], box["y"] + pos[1])
        ready(page, n + 1)
        assert f"s={other}" in page.url
        expect(page.locator("#att-sentence-text")).to_contain_text(sents[other][:15])
        sid = sample["sentence_id"][other]
        expect(page.locator("#att-sentence-text a")).to_have_attribute("href", f"tokens.html?s={sid}&t=1")
        page.screenshot(path=str(artifacts(tmp_path) / f"attention-head-{how}.png"), full_page=True)
        # sentence view: hide [CLS]/[SEP] renormalises rows
        n = count(page)
        page.check("#att-hide-cls")
        ready(page, n + 1)
        assert "hide=cls" in page.url
        assert "[CLS]" not in page.locator("#att-sentence").text_content()
        # next head, then back and forward
        n = count(page)
        page.click("#att-next-head")
        ready(page, n + 1)
        expect(page.locator("#att-title")).to_contain_text("Layer 1, head 1")
        page.go_back()
        expect(page.locator("#att-title")).to_contain_text("Layer 1, head 0")
        page.go_forward()
        expect(page.locator("#att-title")).to_contain_text("Layer 1, head 1")
        # keyboard: left arrow = previous head
        page.locator("#att-title").click()
        page.keyboard.press("ArrowLeft")
        expect(page.locator("#att-title")).to_contain_text("Layer 1, head 0")
        # 3D single view with the same sentence highlighted
        page.goto(base + f"attention-head.html?l=0&h=1&dim=3&s={other}")
        ready(page)
        assert colours_in(page.locator("canvas.att-canvas3").screenshot()) > 3
        expect(page.locator("#att-sentence-text")).to_contain_text(sents[other][:15])


def test_head_view_hover_picks_without_redraw_pan_and_lasso(tiny_site, tmp_path):
    with open_site(tiny_site, "file") as (page, base):
        page.set_viewport_size({"width": 1280, "height": 1200})  # the whole plot on screen: the mouse reaches every point
        page.goto(base + "attention-head.html?l=0&h=0")
        ready(page)
        box = page.locator("#att-canvas").bounding_box()
        assert box["y"] + box["height"] <= 1200
        n_points = page.evaluate(f"{HEAD}.state() && {HEAD}.scatter().get('points').length")
        screen = page.evaluate(f"Array.from({{length: {n_points}}}, (_, i) => {HEAD}.screenPos(i))")

        def nearest(x, y):
            d = [(px - x) ** 2 + (py - y) ** 2 for px, py in screen]
            return min(range(len(d)), key=d.__getitem__)

        # hovering anywhere picks the nearest point on screen (the library's own hover never runs)
        for i in range(0, n_points, max(1, n_points // 12)):
            x, y = screen[i][0] + 1.5, screen[i][1] - 1.0
            page.mouse.move(box["x"] + x, box["y"] + y)
            assert page.evaluate(f"{HEAD}.pick({x}, {y})") == nearest(x, y)
            expect(page.locator("#att-tooltip")).to_be_visible()
        assert page.evaluate(f"{HEAD}.scatter().get('hoveredPoint')") is None
        # a drag pans: every point moves by the drag
        i = n_points // 3
        before = page.evaluate(f"{HEAD}.screenPos({i})")
        page.mouse.move(box["x"] + 20, box["y"] + 20)
        page.mouse.down()
        for k in range(1, 6):
            page.mouse.move(box["x"] + 20 + 8 * k, box["y"] + 20 + 5 * k)
        page.mouse.up()
        page.wait_for_timeout(200)
        after = page.evaluate(f"{HEAD}.screenPos({i})")
        assert abs(after[0] - before[0] - 40) < 2 and abs(after[1] - before[1] - 25) < 2
        # hover after the pan follows the moved points
        x, y = after
        page.mouse.move(box["x"] + x, box["y"] + y)
        expect(page.locator("#att-tooltip")).to_be_visible()
        assert page.evaluate(f"{HEAD}.pick({x}, {y})") == page.evaluate(
            f"(() => {{ let b = -1, bd = 1e9; for (let j = 0; j < {n_points}; j++) {{ const p = {HEAD}.screenPos(j);"
            f" const d = (p[0] - {x}) ** 2 + (p[1] - {y}) ** 2; if (d < bd) {{ bd = d; b = j; }} }} return b; }})()"
        )
        # shift + drag lassoes the points inside and lists their tokens
        w, h = box["width"], box["height"]
        corners = [(0.03, 0.03), (0.97, 0.03), (0.97, 0.97), (0.03, 0.97), (0.03, 0.04)]
        page.keyboard.down("Shift")
        page.mouse.move(box["x"] + corners[0][0] * w, box["y"] + corners[0][1] * h)
        page.mouse.down()
        for (ax, ay), (bx, by) in zip(corners, corners[1:]):
            for k in range(1, 9):
                page.mouse.move(box["x"] + (ax + (bx - ax) * k / 8) * w, box["y"] + (ay + (by - ay) * k / 8) * h)
        page.mouse.up()
        page.keyboard.up("Shift")
        expect(page.locator("#att-lasso")).to_contain_text("points selected")
