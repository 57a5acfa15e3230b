"""Factor pages (factors.html, factor.html, quality.html) of the tiny site in a real browser,
from file:// and http: index + word search, factor page, layer switch by clicking the IS curve,
LIME shading, deep link, back/forward, hostile corpus text stays literal text."""


import pytest
from playwright.sync_api import expect
from sites import model_folder, read_manifest
from test_site_browser import open_site

from browser import skip_without_chromium
from tfvis_site.site.bundles import read_data_table

pytestmark = [pytest.mark.browser, skip_without_chromium]

HOSTILE_SENTENCE = 4  # conftest.HOSTILE_TEXTS[4]: "<script>alert('pwned')</script> and <img ...> stay text."


def _factors(site):
    return read_manifest(site)["factors"]


def _hostile_context(site, fs):
    """(factor, layer) whose top contexts include the hostile sentence."""
    for chunk in range(fs["n_chunks"]):
        t = read_data_table(model_folder(site) / "data", fs["files"]["topk"].format(chunk=chunk)).to_pylist()
        for r in t:
            if r["sentence_id"] == HOSTILE_SENTENCE:
                return r["factor"], r["layer"]
    raise AssertionError("no factor context in the hostile sentence")


def test_search_index_file(tiny_site):
    t = read_data_table(model_folder(tiny_site) / "data", "factors/search.parquet").to_pylist()
    assert t and {"key", "factor", "layer", "count", "total"} <= set(t[0])
    the = [r for r in t if r["key"] == "the"]
    assert the and the == sorted(the, key=lambda r: -r["count"])
    assert all(r["count"] <= _factors(tiny_site)["top_k"] for r in t)


@pytest.mark.parametrize("how", ["file", "http"])
def test_factor_pages(tiny_site, how):
    fs = _factors(tiny_site)
    n = fs["n_factors"]
    lime = fs.get("lime") or {}
    with open_site(tiny_site, how) as (page, base):
        # index: every factor listed, a word search, then open a factor from the results
        page.goto(base + "factors.html")
        page.wait_for_selector("#ftbody tr a")
        expect(page.locator("#table-count")).to_contain_text(f"{n} of {n}")
        page.select_option("#f-level", "low")
        expect(page.locator("#ftbody tr").first.locator(".flevel")).to_have_text("low")
        page.fill("#q", "the")
        page.press("#q", "Enter")
        page.wait_for_selector("#search-results tbody a")
        assert "q=the" in page.url
        page.locator("#search-results tbody a").first.click()
        page.wait_for_selector("body[data-ready]")
        assert "factor.html?f=" in page.url
        assert page.locator("#contexts .ctx .ctok.hit").count() > 0
        hits = page.locator("#contexts .ctok.hit").all_inner_texts()
        assert "the" in [h.strip().lower() for h in hits]

        # click another layer on the IS curve: contexts switch and the URL records it
        page.goto(base + "factor.html?f=0")
        page.wait_for_selector("body[data-ready]")
        ready = page.evaluate("document.body.dataset.ready")
        peak = int(ready.split(",")[1])
        other = 0 if peak != 0 else 1
        page.locator(f"#is-chart .is-col[data-layer='{other}']").click()
        page.wait_for_selector(f"body[data-ready='0,{other}']")
        assert f"l={other}" in page.url
        expect(page.locator("#ctx-h")).to_contain_text(f"layer {other}")
        expect(page.locator(f"#layer-buttons button[data-layer='{other}']")).to_have_attribute("aria-pressed", "true")
        # keyboard: focus the chart and go right/left
        page.locator("#is-chart svg").focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_selector(f"body[data-ready='0,{other + 1}']")
        # back / forward
        page.go_back()
        page.wait_for_selector(f"body[data-ready='0,{other}']")
        page.go_back()
        page.wait_for_selector(f"body[data-ready='0,{peak}']")
        page.go_forward()
        page.wait_for_selector(f"body[data-ready='0,{other}']")
        # next factor
        page.click("#next")
        page.wait_for_selector("body[data-ready^='1,']")
        assert "f=1" in page.url

        # LIME shading on a covered factor at its LIME layer, with the legend
        if lime.get("covered_factors"):
            f = lime["covered_factors"][0]
            page.goto(base + f"factor.html?f={f}")
            page.wait_for_selector("body[data-ready]")
            shaded = page.locator("#contexts .has-lime .ctok[data-w]")
            assert shaded.count() > 0
            assert page.locator("#lime-note .lime-legend").count() == 1
            assert "rgba" in shaded.first.get_attribute("style")

        # deep link to a context in the hostile sentence: the markup is literal text
        f, layer = _hostile_context(tiny_site, fs)
        page.goto(base + f"factor.html?f={f}&l={layer}&w=all")
        page.wait_for_selector(f"body[data-ready='{f},{layer}']")
        expect(page.locator("#ctx-h")).to_contain_text(f"layer {layer}")
        text = page.locator("#contexts").inner_text().replace(" ", "")
        assert "<script>" in text and "onerror" in text
        assert page.locator("#contexts script, #contexts img, #neighbors img").count() == 0
        # a bad id is reported, not crashed on
        page.goto(base + f"factor.html?f={n + 5}")
        expect(page.locator("#status")).to_contain_text("no factor")

        # quality page: metrics partial, L0 histogram, one curve per factor
        page.goto(base + "quality.html")
        page.wait_for_selector("#overlay svg")
        assert page.locator(".factor-quality-table").count() == 1
        assert page.locator("#overlay polyline[data-f]").count() == n - fs["level_counts"].get("dead", 0)
