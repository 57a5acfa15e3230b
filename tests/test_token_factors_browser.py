"""Links between tokens, heads and factors in a real browser, from file:// and http (issue 12):
head view token -> factor page -> context -> head view of that token; token browser per-layer factors."""

import re

import pytest
from playwright.sync_api import expect

from browser import skip_without_chromium
from sites import read_manifest
from test_attention_pages_browser import ready
from test_site_browser import open_site

pytestmark = [pytest.mark.browser, skip_without_chromium]


@pytest.mark.parametrize("how", ["file", "http"])
def test_head_view_token_factor_page_and_back_to_the_token(tiny_site, how):
    with open_site(tiny_site, how) as (page, base):
        page.goto(base + "attention-head.html?l=1&h=0&s=2&t=1")
        ready(page)
        panel = page.locator("#att-token-factors")
        expect(panel).to_contain_text("at the input of layer 1 (hidden state 1)")
        first = panel.locator("a[href^='factor.html?f=']").first
        href = first.get_attribute("href")
        factor = int(re.search(r"f=(\d+)&l=1$", href).group(1))
        first.click()
        page.wait_for_selector("body[data-ready]")
        assert page.evaluate("document.body.dataset.ready") == f"{factor},1"
        # the tiny site's attention sample holds every text, so every context links to its token there
        contexts = page.locator("#contexts .ctx")
        assert contexts.count() > 0
        assert page.locator("#contexts .ctx a.ctx-attention").count() == contexts.count()
        link = contexts.first.locator("a.ctx-attention")
        s, t, layer = map(int, re.search(r"attention-head\.html\?s=(\d+)&t=(\d+)&l=(\d+)$", link.get_attribute("href")).groups())
        assert layer == 1
        link.click()
        page.wait_for_url("**/attention-head.html?*")
        ready(page)
        # the head view opened on that token, at layer 1, with its own factors linked at hidden state 1
        assert f"s={s}" in page.url and f"t={t}" in page.url
        expect(page.locator("#att-token-factors")).to_contain_text("hidden state 1")
        expect(page.locator("#att-sentence-text")).to_contain_text(f"Sentence {s}")
        hrefs = page.locator("#att-token-factors a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert hrefs and all(h.endswith("&l=1") for h in hrefs)


@pytest.mark.parametrize("how", ["file", "http"])
def test_token_browser_lists_strongest_factors_per_layer(tiny_site, how):
    n_hidden = read_manifest(tiny_site)["layers"]
    with open_site(tiny_site, how) as (page, base):
        page.goto(base + "tokens.html?s=2&t=1")
        page.wait_for_selector("#token-factors dl")
        rows = page.locator("#token-factors dl > div")
        assert rows.count() == n_hidden
        expect(rows.first).to_contain_text("Layer 0 (embeddings)")
        link = page.locator("#token-factors a[href^='factor.html?f=']").last
        href = link.get_attribute("href")
        assert href.endswith(f"&l={n_hidden - 1}")
        link.click()
        page.wait_for_selector("body[data-ready]")
        f = re.search(r"f=(\d+)", href).group(1)
        assert page.evaluate("document.body.dataset.ready") == f"{f},{n_hidden - 1}"
