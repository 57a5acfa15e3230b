"""Browser benchmark of the factor pages, in headless Debian chromium.

    python bench/browser_factors.py SITE_DIR [--model SLUG] [--how file|http] [--repeat 3]

SITE_DIR is a built site (e.g. ``tfvis-site build --out /tmp/site``). Prints a table of page
timings measured in the page with performance.now() (0 = navigation start), so they include
loading and decoding the data files:

- factors.html: the table of all factors shown; a word search answered (submit -> results);
- factor.html for factors with LIME saliency: ready (contexts shown, LIME shading included) and
  an IS-curve layer switch (ArrowRight -> the other layer's contexts shown);
- quality.html: all IS curves drawn.

Factors are taken evenly from the LIME-covered ones (the heaviest page: LIME file + shading).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser import console_errors, launch_browser, model_base  # noqa: E402
from pagebench import print_table  # noqa: E402

from tfvis_site.site.layout import MANIFEST, model_dir, pick_model  # noqa: E402

# Records performance.now() at every change of body[data-ready] (the factor page's "drawn" signal).
READY_SPY = """
window.__readyAt = [];
new MutationObserver(function () {
  if (document.body && document.body.dataset.ready) window.__readyAt.push([document.body.dataset.ready, performance.now()]);
}).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-ready'] });
"""

# Resolves with ms from now until `selector` matches (polled every animation frame).
UNTIL = """([selector, action]) => new Promise(resolve => {
  const t0 = performance.now();
  if (action) eval(action);
  (function poll() { document.querySelector(selector) ? resolve(performance.now() - t0) : requestAnimationFrame(poll); })();
})"""


def until(page, selector: str, action: str | None = None) -> float:
    return float(page.evaluate(UNTIL, [selector, action]))


def ready_time(page, state: str) -> float:
    page.wait_for_selector(f"body[data-ready='{state}']", timeout=120_000)
    return float(page.evaluate("t => window.__readyAt.filter(r => r[0] === t).slice(-1)[0][1]", state))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", type=Path)
    ap.add_argument("--how", choices=["file", "http"], default="file")
    ap.add_argument("--model", metavar="SLUG", help="which model of a site of several (its folder under models/)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--word", default="north", help="word for the index page's search")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    site = args.site.resolve()
    slug = pick_model(site, args.model)
    fs = json.loads((model_dir(site, slug) / MANIFEST).read_text())["factors"]
    covered = (fs.get("lime") or {}).get("covered_factors") or list(range(fs["n_factors"]))
    picks = [covered[int(i * (len(covered) - 1) / max(1, args.repeat - 1))] for i in range(args.repeat)]
    rows: list[tuple[str, list[float], str]] = []
    with sync_playwright() as p, model_base(site, args.how, slug) as base:
        browser = launch_browser(p)
        errors: list[str] = []
        table, search, factor, switch, shaded, quality = [], [], [], [], [], []
        for r in range(args.repeat):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors += console_errors(page)
            page.add_init_script(READY_SPY)
            page.goto(base + "factors.html")
            page.wait_for_selector("#ftbody tr a", timeout=120_000)
            table.append(page.evaluate("performance.now()"))
            page.fill("#q", args.word)
            search.append(until(page, "#search-results tbody a, #search-results .muted",
                                "document.getElementById('word-search').requestSubmit()"))

            f = picks[r]
            page.goto(base + f"factor.html?f={f}")
            page.wait_for_selector("body[data-ready]", timeout=120_000)
            state = page.evaluate("document.body.dataset.ready")
            factor.append(ready_time(page, state))
            shaded.append(page.locator("#contexts .has-lime").count())
            layer = int(state.split(",")[1])
            other = layer + 1 if layer + 1 < fs["n_layers"] else layer - 1
            page.locator("#is-chart svg").focus()
            t0 = page.evaluate("performance.now()")
            page.keyboard.press("ArrowRight" if other > layer else "ArrowLeft")
            switch.append(ready_time(page, f"{f},{other}") - t0)

            page.goto(base + "quality.html")
            page.wait_for_selector("#overlay svg", timeout=120_000)
            quality.append(page.evaluate("performance.now()"))
            page.close()
        rows += [
            (f"factors.html: table of {fs['n_factors']:,} factors shown (from navigation)", table, ""),
            (f"factors.html: word search '{args.word}' answered", search, ""),
            ("factor.html (LIME-covered factor): contexts + shading shown", factor, ""),
            ("factor.html: IS-curve layer switch (arrow key)", switch, ""),
            ("quality.html: all IS curves drawn (from navigation)", quality, ""),
        ]
        browser.close()
    print(f"site: {site}  ({args.how}://, chromium headless; {time.strftime('%Y-%m-%d %H:%M')}; factors {picks})")
    print_table(rows)
    print(f"contexts with LIME shading on the factor pages: {shaded}")
    if errors:
        print("console errors:", *errors, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
