"""Attention pages in Debian chromium. The matrix drawn band by band (issue 10): a tall matrix
(8 layers x 2 heads, each row higher than a band) shows its rows in view at once and every row,
first to last, once the rest is drawn in the background; a colour switch redraws every row.
The matrix redraws only what a switch changed (colours, dot sizes, search, plot size): after each
switch its canvas holds exactly the pixels of a page opened in that state.
Without WebGL (issue 12): a plain note instead of the scatterplots, and the rest (cells, search
counts, metrics, sentence view, aggregate, head navigation) works. No console errors."""

import pytest
from playwright.sync_api import expect
from sites import read_manifest
from test_attention_pages_browser import count, ready
from test_site_browser import open_site

from browser import block_external_requests, console_errors, launch_browser, model_base, skip_without_chromium

pytestmark = [pytest.mark.browser, skip_without_chromium]

LAYERS, HEADS = 8, 2

#: Per row of the matrix canvas: [distinct colours, hash] of a strip through the middle of the row's cells.
ROWS = """(rows) => { const c = document.querySelector('#att-canvas'), x = c.getContext('2d');
  return Array.from({length: rows}, (_, r) => { const y0 = Math.floor(c.height * (r + 0.3) / rows), h = Math.max(1, Math.floor(c.height * 0.4 / rows));
    const d = x.getImageData(0, y0, c.width, h).data, seen = new Set(); let hash = 0;
    for (let i = 0; i < d.length; i += 4) { hash = (hash * 31 + d[i] * 7 + d[i + 1] * 3 + d[i + 2] + d[i + 3]) | 0; if (i % 20 === 0) seen.add(d.slice(i, i + 4).join()); }
    return [seen.size, hash]; }); }"""


@pytest.fixture(scope="module")
def tall_site(tmp_path_factory):
    """A site of a tiny random BERT with 8 layers of 2 heads: a matrix 4 times as high as wide."""
    import torch
    from tiny import make_tokenizer
    from transformers import AutoModel, BertConfig

    from conftest import HOSTILE_TEXTS
    from tfvis_site.cli import main

    root = tmp_path_factory.mktemp("tall-site")
    tokenizer = make_tokenizer("bert")
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                     intermediate_size=32, max_position_embeddings=128)
    AutoModel.from_config(cfg, attn_implementation="eager").save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    (root / "corpus.txt").write_text("\n".join(HOSTILE_TEXTS[:4]) + "\n")
    code = main(["build", "--quiet", "--preset", "quick", "--model", str(root / "model"), "--corpus", str(root / "corpus.txt"),
                 "--lime", "none", "--out", str(root / "site"), "--cache-dir", str(root / "cache")])
    assert code == 0
    return root / "site"


def test_tall_matrix_draws_rows_in_view_first_then_every_row(tall_site):
    with open_site(tall_site, "file") as (page, base):
        page.set_viewport_size({"width": 1000, "height": 700})
        page.goto(base + "attention.html")
        ready(page)
        plot = page.locator("#att-plot").bounding_box()
        assert plot["height"] > 3 * 700  # far taller than the window: several bands out of view
        rows = page.evaluate(ROWS, LAYERS)
        assert rows[0][0] >= 4  # the first row (in view) is drawn when the page says it is ready
        page.wait_for_function("document.body.dataset.attPending === '0'", timeout=60_000)
        rows = page.evaluate(ROWS, LAYERS)
        assert all(colours >= 4 for colours, _ in rows), rows  # every row, the last included, has points
        assert page.evaluate("document.querySelector('#att-canvas').height") >= plot["height"] - 2
        # a colour switch redraws the rows in view at once and then every other row
        n = count(page)
        page.select_option("#att-color", "position")
        ready(page, n + 1)
        page.wait_for_function("document.body.dataset.attPending === '0'", timeout=60_000)
        after = page.evaluate(ROWS, LAYERS)
        assert all(a[1] != b[1] and a[0] >= 4 for a, b in zip(after, rows)), after
        # scrolled to the bottom, the last rows are there (nothing to redraw: the view did not change)
        page.locator(f"a.att-cell[data-l='{LAYERS - 1}']").first.scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        assert page.evaluate("document.body.dataset.attPending") == "0"
        assert page.evaluate(ROWS, LAYERS)[-1] == after[-1]


#: The whole matrix canvas: [width, height, hash of every pixel, pixels unlike the background (its top-left
#: corner)], and what its dots were drawn with (per-point colours, sizes, draw order; assets/src/attention/matrix/paint.js).
CANVAS = """() => { const c = document.querySelector('#att-canvas'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const hash = (a) => { if (!a) return null; let h = a.length; for (let i = 0; i < a.length; i++) h = (Math.imul(h, 31) + a[i]) | 0; return h; };
  let ink = 0; for (let i = 0; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) ink++;
  const dots = document.getElementById('att-plot').inspect.dots();
  return [c.width, c.height, hash(d), ink, dots.key, hash(dots.colour), hash(dots.size), hash(dots.order), hash(dots.pix)]; }"""


def drawn(page, width=None):
    """The matrix canvas once every row is drawn (at the plot's width in pixels, when given)."""
    if width is not None:
        page.wait_for_function(f"document.querySelector('#att-canvas').width === {width}", timeout=30_000)
    page.wait_for_function("document.body.dataset.attPending === '0'", timeout=60_000)
    return page.evaluate(CANVAS)


def test_matrix_switches_draw_what_a_fresh_page_draws(tall_site):
    """Each switch updates only what changed (a colour buffer, the dot sizes, the search's fading and
    order, the size of the plot): the canvas, rows in view and out of view, must then hold the very
    pixels of a page opened directly in that state, drawn from the same per-point buffers. A switch
    that left a buffer stale differs."""
    with open_site(tall_site, "file") as (page, base):
        page.set_viewport_size({"width": 1000, "height": 700})
        page.goto(base + "attention.html")
        ready(page)
        seen = {page.url: drawn(page)}

        def switch(action):
            n = count(page)
            action()
            ready(page, n + 1)
            seen[page.url] = drawn(page)

        switch(lambda: page.select_option("#att-color", "position"))
        switch(lambda: page.check("#att-size"))
        switch(lambda: (page.fill("#att-q", "the"), page.press("#att-q", "Enter")))
        switch(lambda: page.select_option("#att-color", "norm"))  # per-head colours, searched
        switch(lambda: page.uncheck("#att-size"))
        switch(lambda: page.check("input[name=dim][value='3']"))  # colour changed in 3D, then back to 2D
        switch(lambda: page.select_option("#att-color", "punct"))
        switch(lambda: page.check("input[name=dim][value='2']"))
        switch(lambda: (page.fill("#att-q", ""), page.press("#att-q", "Enter")))
        page.set_viewport_size({"width": 760, "height": 700})  # the plot's size changes: every row again
        resized = (page.url, drawn(page, page.evaluate("Math.round(document.querySelector('#att-plot').clientWidth)")))
        assert resized[1][:2] != seen[page.url][:2]
        states = [(url, sig) for url, sig in seen.items() if "dim=3" not in url]
        assert len({sig[2] for _, sig in states}) == len(states) >= 8, states  # every switch changed the picture
        dots = read_manifest(tall_site)["attention"]["n_points"] * LAYERS * HEADS
        assert all(sig[3] >= 2 * dots for _, sig in states), states  # every dot drawn, not an empty canvas
        for width, cases in ((1000, states), (760, [resized])):  # each state opened afresh (a new document)
            page.set_viewport_size({"width": width, "height": 700})
            for url, sig in cases:
                page.goto(url)
                ready(page)
                assert drawn(page) == sig, f"{url}: after the switch {sig}, opened so {drawn(page)}"


#: The aggregate canvas: distinct colours (a heat map, not a blank canvas).
AGG_COLOURS = """() => { const c = document.querySelector('#att-agg'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const seen = new Set(); for (let i = 0; i < d.length; i += 4 * 3) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]); return seen.size; }"""


@pytest.mark.parametrize("how", ["file", "http"])
def test_attention_pages_without_webgl(tiny_site, how):
    from playwright.sync_api import sync_playwright

    att = read_manifest(tiny_site)["attention"]
    n_layers, n_heads = att["model"]["n_layers"], att["model"]["n_heads"]
    with sync_playwright() as p, model_base(tiny_site, how) as base:
        browser = launch_browser(p, extra_args=["--disable-webgl"])
        page = browser.new_page()
        errors = console_errors(page)
        external = block_external_requests(page)
        assert page.evaluate("() => !document.createElement('canvas').getContext('webgl')")  # WebGL is off
        # matrix: the note, the cells with their labels; search counts and colours still work
        page.goto(base + "attention.html")
        ready(page)
        expect(page.locator(".att-nogl")).to_contain_text("The scatterplots need WebGL, which this browser has turned off")
        assert page.locator(".att-nogl").count() == 1
        assert page.locator("#att-status").get_attribute("class") != "error"
        assert page.locator("#att-cells a.att-cell").count() == n_layers * n_heads
        assert page.locator("#att-cells .att-badge").count() == n_layers * n_heads
        n = count(page)
        page.fill("#att-q", "the")
        page.press("#att-q", "Enter")
        ready(page, n + 1)
        assert page.locator("#att-cells .att-has-hits").count() == n_layers * n_heads
        n = count(page)
        page.check("input[name=dim][value='3']")  # 3D needs WebGL too: the note stays, no error
        ready(page, n + 1)
        assert page.locator(".att-nogl").count() == 1
        # a cell opens its head: metrics, sentence view, aggregate and head navigation work
        page.locator(f"a.att-cell[data-l='{n_layers - 1}'][data-h='1']").click()
        page.wait_for_url("**/attention-head.html?*")
        ready(page)
        expect(page.locator("#att-stage .att-nogl")).to_contain_text("the sentence view and the aggregate below still work")
        assert page.locator("#att-canvas").is_hidden()
        expect(page.locator("#att-title")).to_contain_text(f"Layer {n_layers - 1}, head 1")
        expect(page.locator("#att-metrics")).to_contain_text("Spearman after")
        page.goto(base + "attention-head.html?l=1&h=2&s=1")
        ready(page)
        assert page.locator("#att-sentence svg line, #att-sentence svg path").count() > 0  # the sentence view's lines
        page.wait_for_function(f"({AGG_COLOURS})() > 8", timeout=15_000)
        n = count(page)
        page.click("#att-next-head")
        ready(page, n + 1)
        expect(page.locator("#att-title")).to_contain_text("Layer 1, head 3")
        assert errors == [] and external == []
        browser.close()
