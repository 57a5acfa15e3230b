"""Page load times of a built site, from file:// and over http, in headless Debian chromium: how
long each kind of page takes from navigation until its data is loaded, decoded and drawn.

    python bench/page_load.py SITE_DIR [SITE_DIR ...] [--model SLUG] [--how file,http] [--repeat 3]

Several sites (the same build before and after a change of how data ships, say) are loaded in
turn, page by page, so that a loaded machine slows them alike. Each load is a fresh page in a fresh
browser context (no cached files); times are performance.now() in the page when the page's
"drawn" signal appears (0 = navigation start), so they include fetching or running the data
files' twins, decoding them and drawing:

- tokens.html: the list of texts (text sites; the overview, index.html, is static);
- factors.html: the table of every factor; factor.html: a factor's contexts (body[data-ready]);
- quality.html: every IS curve; attention.html: the matrix of every head (rows in view);
- attention-head.html: one head's joint embedding;
- live probe: factor.html?text=...: the model (ONNX), tokenizer and encoder loaded and the text's
  activations shown (text sites with the live probe).

Prints one table: page, then per site and way of opening the median (and max) in ms.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser import console_errors, launch_browser, model_base  # noqa: E402

from tfvis_site.site.layout import MANIFEST, model_dir, pick_model  # noqa: E402

# performance.now() when `selector` first matches, polled every animation frame from the start.
SPY = """window.__drawnAt = null; window.__want = %s;
(function poll() { if (window.__want && document.querySelector(window.__want)) { window.__drawnAt = performance.now(); return; } requestAnimationFrame(poll); })();"""


def pages(manifest: dict) -> list[tuple[str, str, str]]:
    """(label, path, selector that says drawn) of the pages a model has."""
    f = (manifest.get("factors", {}).get("lime") or {}).get("covered_factors") or [0]
    out = [("factors.html (table of every factor)", "factors.html", "#ftbody tr a"),
           (f"factor.html?f={f[0]} (contexts)", f"factor.html?f={f[0]}", "body[data-ready]"),
           ("quality.html (IS curves)", "quality.html", "#overlay svg"),
           ("attention.html (matrix, rows in view)", "attention.html", "body[data-att-ready]"),
           ("attention-head.html (one head)", "attention-head.html?l=2&h=5", "body[data-att-ready]")]
    if manifest.get("modality") != "image":
        out.insert(1, ("tokens.html (texts)", "tokens.html", "#sentences li"))
    if manifest.get("live"):
        out.append(("live probe: factor.html?text=... (model loaded, text run)", f"factor.html?f={f[0]}&text={quote('The cat sat on the mat.')}", "#live-table"))
    return out


def once(browser, url: str, selector: str, errors: list[str]) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors += console_errors(page)
    page.add_init_script(SPY % json.dumps(selector))
    page.goto(url)
    page.wait_for_selector(selector, state="attached", timeout=300_000)  # (the pages' CSP forbids wait_for_function's eval)
    page.wait_for_timeout(50)  # the spy's next animation frame
    ms = float(page.evaluate("window.__drawnAt"))
    context.close()
    return ms


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", type=Path, nargs="+")
    ap.add_argument("--model", metavar="SLUG")
    ap.add_argument("--how", default="file,http", help="file, http or both (default: file,http)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", help="only pages whose label contains this")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    hows = args.how.split(",")
    sites = [s.resolve() for s in args.site]
    slug = pick_model(sites[0], args.model)
    manifest = json.loads((model_dir(sites[0], slug) / MANIFEST).read_text())
    kinds = [p for p in pages(manifest) if not args.only or args.only in p[0]]
    times: dict[tuple[str, int, str], list[float]] = {}
    errors: list[str] = []
    with sync_playwright() as p, contextlib.ExitStack() as stack:
        bases = {(i, how): stack.enter_context(model_base(site, how, slug)) for i, site in enumerate(sites) for how in hows}
        browser = launch_browser(p)
        for _ in range(args.repeat):
            for label, path, selector in kinds:
                for how in hows:
                    for i in range(len(sites)):
                        times.setdefault((label, i, how), []).append(once(browser, bases[i, how] + path, selector, errors))
        browser.close()
    print(f"page load, ms from navigation to drawn (median / max of {args.repeat}; chromium headless; {time.strftime('%Y-%m-%d %H:%M')})")
    for i, site in enumerate(sites):
        print(f"  site {i}: {site}")
    head = "".join(f"{f'{how}:// site {i}':>22s}" for how in hows for i in range(len(sites)))
    print(f"{'page':58s}{head}")
    for label, _, _ in kinds:
        cells = "".join(f"{statistics.median(v):>13.0f} / {max(v):>6.0f}" for how in hows for i in range(len(sites)) for v in [times[label, i, how]])
        print(f"{label:58s}{cells}")
    if errors:
        print("console errors:", *errors[:10], sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
