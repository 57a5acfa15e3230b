"""The attention matrix drawn band by band (issue 10), in Debian chromium: a tall matrix (8 layers
x 2 heads, each row higher than a band) shows its rows in view at once and every row, first to
last, once the rest is drawn in the background; a colour switch redraws every row. No console
errors."""

import pytest
from test_attention_pages_browser import count, ready
from test_site_browser import open_site

from browser import skip_without_chromium

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
