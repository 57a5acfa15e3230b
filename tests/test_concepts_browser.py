"""The Concepts page of the tiny site with two probes, in a real browser from file:// and http:
F1 chart, layer table with links to the factor pages, strip plot coloured by label, switching
probe and factor through the URL (back button), clicking a dot, hostile example text as text."""

import json

import pytest
from playwright.sync_api import expect
from test_concepts import HOSTILE, tiny_concepts_site  # noqa: F401 (the fixture)
from sites import model_folder
from test_site_browser import open_site

from browser import skip_without_chromium

pytestmark = [pytest.mark.browser, skip_without_chromium]


def _best(probe):
    return max(probe["layers"], key=lambda r: r["f1"])


@pytest.mark.parametrize("how", ["file", "http"])
def test_concepts_page(tiny_concepts_site, how):  # noqa: F811
    site = tiny_concepts_site
    manifest = json.loads((model_folder(site) / "data/manifest.json").read_text())
    probes = manifest["concepts"]["probes"]
    L = manifest["layers"]
    with open_site(site, how) as (page, base):
        page.goto(base + "index.html")
        page.click("nav[aria-label=Site] >> text=Concepts")
        best = _best(probes[0])
        page.wait_for_selector(f"body[data-ready='0,{best['factor']}']")
        expect(page.locator("nav[aria-label=Site] a[aria-current=page]")).to_have_text("Concepts")
        # the probe's name is text, even when it looks like markup
        assert page.locator("#probe option").first.inner_text().startswith("cat or dog <b>")
        assert page.locator("#probe b").count() == 0
        # F1 chart: the factor and raw-state lines, one point per layer each, the baseline
        assert page.locator("#f1-chart polyline").count() == 2
        assert page.locator("#f1-chart circle.series-factor").count() == L
        assert page.locator("#f1-chart line.baseline").count() == 1
        # table: one row per layer, each chosen factor linked to its page at that layer
        assert page.locator("#layer-table tbody tr").count() == L
        first = probes[0]["layers"][0]
        assert page.locator("#layer-table tbody tr").first.locator("a").get_attribute("href") == f"factor.html?f={first['factor']}&l=0"
        # strip plot: one dot per example and layer, one colour per label
        dots = page.locator("#strip circle")
        assert dots.count() == probes[0]["n"] * L
        colours = page.eval_on_selector_all("#strip circle", "cs => [...new Set(cs.map(c => c.getAttribute('fill')))]")
        assert len(colours) == 2
        assert page.locator("#strip rect.chosen").count() == sum(r["factor"] == best["factor"] for r in probes[0]["layers"])
        assert "line 25: target 'dog' not found as a whole word" in page.locator("#skipped").text_content()
        # a dot opens its example, the target marked
        page.locator("#strip circle").first.dispatch_event("click")
        expect(page.locator("#example mark")).to_have_count(1)
        assert page.locator("#example mark").inner_text().lower() in ("cat", "dog")

        # the other probe (3 labels): URL state, three colours, its hostile example stays text
        page.select_option("#probe", "1")
        best1 = _best(probes[1])
        page.wait_for_selector(f"body[data-ready='1,{best1['factor']}']")
        assert "p=1" in page.url
        assert page.locator("#strip circle").count() == probes[1]["n"] * L
        colours = page.eval_on_selector_all("#strip circle", "cs => [...new Set(cs.map(c => c.getAttribute('fill')))]")
        assert len(colours) == 3
        hostile = next(i for i, e in enumerate(page.eval_on_selector_all("#strip circle", "cs => cs.map(c => c.textContent)")) if "onerror" in e)
        page.locator("#strip circle").nth(hostile).dispatch_event("click")
        expect(page.locator("#example")).to_contain_text(HOSTILE)
        assert page.locator("#example img, #strip img, #example script").count() == 0
        # back: the first probe again
        page.go_back()
        page.wait_for_selector(f"body[data-ready='0,{best['factor']}']")

        # plot another factor of probe 0 via the table, deep link restores it, the link opens the factor page
        others = [f for f in probes[0]["factors"] if f != best["factor"]]
        if others:
            row = next(r for r in probes[0]["layers"] if r["factor"] == others[0])
            page.locator(f"#layer-table tr[data-layer='{row['layer']}'] .plot-btn").click()
            page.wait_for_selector(f"body[data-ready='0,{others[0]}']")
            assert f"f={others[0]}" in page.url
        f = others[0] if others else best["factor"]
        page.goto(base + f"concepts.html?p=0&f={f}")
        page.wait_for_selector(f"body[data-ready='0,{f}']")
        expect(page.locator("#factor")).to_have_value(str(f))
        layer = next(r["layer"] for r in probes[0]["layers"] if r["factor"] == f)
        page.click("#factor-link")
        page.wait_for_selector(f"body[data-ready='{f},{layer}']")
