"""The built site in a real browser (Debian chromium): from file:// and from a local http server."""

import contextlib

import pytest
from playwright.sync_api import expect

from browser import block_external_requests, console_errors, launch_browser, model_base, site_base, skip_without_chromium
from sites import read_manifest

pytestmark = [pytest.mark.browser, skip_without_chromium]


@contextlib.contextmanager
def open_site(site, how, root=False):
    """A fresh chromium on the only model's folder of ``site`` (``root``: on the site root, the
    gallery); yields (page, base URL) and fails on console errors or requests leaving the machine."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, (site_base if root else model_base)(site, how) as base:
        browser = launch_browser(p)
        page = browser.new_page()
        errors = console_errors(page)
        external = block_external_requests(page)
        yield page, base
        assert errors == []
        assert external == []
        browser.close()


@pytest.mark.parametrize("how", ["file", "http"])
def test_overview_renders_manifest_content(tiny_site, how):
    with open_site(tiny_site, how) as (page, base):
        page.goto(base + "index.html")
        assert page.locator("h1").inner_text().endswith("on corpus.txt")
        assert "BertModel" in page.locator("#model-h + dl").inner_text()
        assert page.locator("svg.chart rect").count() > 0
        # a text site keeps its token browser (image sites have images.html instead)
        assert page.locator("nav[aria-label=Site] a", has_text="Images").count() == 0
        summary = read_manifest(tiny_site)["attention"]["summary"]
        if "spearman_paper_after" in summary:  # the AttentionViz statistic beside the paper's numbers
            table = page.locator("table.paper-compare").inner_text()
            assert "this model, after normalisation" in table and "paper: BERT" in table
        page.click(".explore >> text=Tokens")
        page.wait_for_selector("#sentences li")


@pytest.mark.parametrize("how", ["file", "http"])
def test_token_browser_click_search_deep_link_and_back(tiny_site, how):
    with open_site(tiny_site, how) as (page, base):
        page.goto(base + "tokens.html")
        page.wait_for_selector("#sentences li")
        assert page.locator("#sentences li").count() == 8
        # untrusted corpus text stays literal text: no element was created from it
        hostile = page.locator("#s4")
        assert "<script>" in hostile.inner_text().replace(" ", "")
        assert hostile.locator("script, img").count() == 0
        # click a token: details appear and the URL records it
        page.locator("#s2 .tok").nth(1).click()
        assert "paris" in page.locator("#token-detail h2").inner_text().lower()
        assert "s=2" in page.url and "t=1" in page.url
        # the token links to the factor search for its word and, its text being in the attention
        # sample (row 2 of attention/sentences.parquet, sentence_id 2), to its attention view
        expect(page.locator("#token-detail a", has_text="Factors that fire")).to_have_attribute("href", "factors.html?q=paris")
        expect(page.locator("#token-detail a", has_text="Attention from this token")).to_have_attribute("href", "attention-head.html?s=2&t=1")
        # search narrows the list; back restores the previous view
        page.fill("#q", "capital")
        page.press("#q", "Enter")
        page.wait_for_function("document.querySelectorAll('#sentences li').length === 1")
        page.go_back()
        page.wait_for_function("document.querySelectorAll('#sentences li').length === 8")
        assert "paris" in page.locator("#token-detail h2").inner_text().lower()
        # a deep link restores a view on its own
        page.goto(base + "tokens.html?s=5&t=2")
        page.wait_for_selector("#s5.selected .tok.selected")
        assert page.locator("#token-detail").inner_text().count("text #5") == 1
