"""Factor and attention pages of the tiny site in a real browser (file:// and http): they render
real content from the data files, deep links restore a view, hostile corpus text stays text."""


import pytest
from playwright.sync_api import expect
from sites import read_manifest
from test_site_browser import open_site

from browser import skip_without_chromium

pytestmark = [pytest.mark.browser, skip_without_chromium]


@pytest.mark.parametrize("how", ["file", "http"])
def test_factor_index_search_and_factor_page(tiny_site, how):
    n_factors = read_manifest(tiny_site)["factors"]["n_factors"]
    with open_site(tiny_site, how) as (page, base):
        page.goto(base + "factors.html")
        page.wait_for_selector("#ftbody tr a")
        assert str(n_factors) in page.locator("#table-count").inner_text()
        page.fill("#q", "the")
        page.press("#q", "Enter")
        page.wait_for_selector("#search-results a")
        page.locator("#ftbody tr a").first.click()
        page.wait_for_selector("#contexts li, #contexts tr, #contexts p")
        assert "factor.html" in page.url and "f=" in page.url
        # a deep link to another layer restores it
        page.goto(base + "factor.html?f=1&l=2")
        expect(page.locator("#ctx-h")).to_contain_text("layer 2")
        assert page.locator("#is-chart svg, svg#is-chart").count() >= 1
        # hostile text in contexts is never turned into elements
        assert page.locator("#contexts script, #contexts img").count() == 0


@pytest.mark.parametrize("how", ["file", "http"])
def test_attention_matrix_and_head_view(tiny_site, how):
    with open_site(tiny_site, how) as (page, base):
        page.goto(base + "attention.html")
        page.wait_for_selector("#att-cells a, #att-cells button, #att-cells [data-head]")
        canvas = page.locator("#att-canvas")
        shot = canvas.screenshot()
        assert len(set(shot[i] for i in range(100, len(shot), 97))) > 8  # not a blank canvas
        page.goto(base + "attention-head.html?l=1&h=2")
        expect(page.locator("#att-sentence")).not_to_be_empty()
        assert "1" in page.locator("#att-title").inner_text() and "2" in page.locator("#att-title").inner_text()
        assert page.locator("#att-sentence script, #att-sentence img").count() == 0
