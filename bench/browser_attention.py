"""Browser benchmark of the attention pages (issue 6), in headless Debian chromium (software WebGL).

    python bench/browser_attention.py SITE_DIR [SITE_DIR ...] [--model SLUG] [--how file|http] [--repeat 3] [--only matrix]

SITE_DIR is a built site (e.g. ``tfvis-site build --out /tmp/att-default``). Several sites (the
same build with the old and the new JS, say) are loaded in turn, so that a loaded machine slows
them alike: compare them side by side. Prints a table per site:
matrix view drawn (from navigation: the rows in the window; and every row, the rest being drawn
when the browser is idle), projection / colour / size switches and search in the
matrix, the 3D matrix, the single-head view drawn, and hover latency on the single view
(mousemove -> tooltip + attention lines painted, next animation frame). Targets from the issue:
matrix < 3 s, switches < 0.5 s, hover < 50 ms. Times are measured in the page (the timings of
the inspect handle of #att-plot / #att-stage, performance.now()), so they include data decoding
and drawing.

Image sites (manifest "modality": "image", detected) use the image colour modes and search for
[CLS], and also time the image view: a click on a point of the plot until the plot and the image
view (heat map, arrows, lines) are drawn (target < 1 s), a click on a patch of the image, and the
patch thumbnails when zoomed in (zoom -> thumbnails drawn, hover latency over them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser import console_errors, launch_browser, model_base  # noqa: E402
from pagebench import print_table  # noqa: E402

from tfvis_site.site.layout import MANIFEST, model_dir, pick_model  # noqa: E402


def ready(page, n: int, timeout: float = 120_000) -> None:
    page.wait_for_function(f"Number(document.body.dataset.attReady || 0) >= {n}", timeout=timeout)


def count(page) -> int:
    return int(page.evaluate("Number(document.body.dataset.attReady || 0)"))


def timing(page, name: str) -> float:
    return float(page.evaluate(f"(document.getElementById('att-plot') || document.getElementById('att-stage')).inspect.timings[{json.dumps(name)}]"))


def change(page, selector: str, value: str, mark: str) -> float:
    n = count(page)
    page.select_option(selector, value)
    ready(page, n + 1)
    return timing(page, mark)


def image_rows(browser, base: str, manifest: dict, args, errors: list[str]) -> list[tuple[str, list[float], str]]:
    """Image sites: the image view after a click on a point and on the image, thumbnails when zoomed in."""
    att, geo = manifest["attention"], manifest["image"]
    N, npre, cols = att["n_tokens"], geo["n_prefix_tokens"], geo["grid"][1]
    units = npre + geo["grid"][0] * cols
    first, click, patch, zoom, overlay, thumb_hover = [], [], [], [], [], []
    for r in range(args.repeat):
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        errors += console_errors(page)
        page.goto(base + "attention-head.html?l=2&h=5")
        ready(page, 1)
        first.append(timing(page, "image_drawn"))
        page.locator("#att-stage").scroll_into_view_if_needed()
        box = page.locator("#att-canvas").bounding_box()
        # click query points of different images: points on screen that our picker finds at their centre
        # (else the library may see a click on empty space, which deselects instead)
        picked = page.evaluate(
            """([N, units, npre, r, h]) => { const s = document.getElementById('att-stage').inspect, out = [];
            for (let k = 0; k < 400 && out.length < 4; k++) { const i = (k * units + npre + 37 * (r + 1) + 11 * k) % N, p = s.screenPos(i);
              if (p && p[0] > 10 && p[1] > 10 && p[1] < h - 10 && s.pick(p[0], p[1]) === i) out.push(p); }
            return out; }""",
            [N, units, npre, r, min(box["height"], 900 - box["y"])],
        )
        for x, y in picked:
            n = count(page)
            page.mouse.click(box["x"] + x, box["y"] + y)
            ready(page, n + 1, timeout=30_000)
            click.append(timing(page, "click_point"))
        # click patches of the image
        canvas = page.locator(".att-image-canvas")
        canvas.scroll_into_view_if_needed()
        cb = canvas.bounding_box()
        for k in range(4):
            n = count(page)
            page.mouse.click(cb["x"] + cb["width"] * (0.15 + 0.2 * k), cb["y"] + cb["height"] * (0.8 - 0.17 * k))
            ready(page, n + 1)
            patch.append(timing(page, "image_select"))
        # zoom in until thumbnails are drawn, then hover over them
        page.locator("#att-stage").scroll_into_view_if_needed()
        box = page.locator("#att-canvas").bounding_box()
        t = page.evaluate(
            """() => { const sp = document.getElementById('att-stage').inspect.scatter(), pts = sp.get('points'), p0 = pts[Math.floor(pts.length / 3)];
            const near = pts.map((p, i) => [(p[0] - p0[0]) ** 2 + (p[1] - p0[1]) ** 2, i]).sort((a, b) => a[0] - b[0]).slice(0, 120).map(x => x[1]);
            document.body.dataset.attThumbs = '0'; window.__z0 = performance.now();
            sp.zoomToPoints(near, { transition: false, padding: 0.1 }); }"""
        )
        page.wait_for_function("Number(document.body.dataset.attThumbs || 0) > 0", timeout=30_000)
        zoom.append(float(page.evaluate("performance.now() - window.__z0")))
        overlay += page.evaluate("Array.from({length: 10}, () => document.getElementById('att-stage').inspect.redrawOverlay())")
        page.evaluate("document.getElementById('att-stage').inspect.hoverLatency.length = 0")
        pts = page.evaluate(
            "(() => { const s = document.getElementById('att-stage').inspect, sp = s.scatter(); return Array.from(sp.get('pointsInView')).slice(0, 40).map(i => s.screenPos(i)); })()"
        )
        for x, y in pts:
            if 0 < x < box["width"] and 0 < y < box["height"]:
                page.mouse.move(box["x"] + x + 0.3, box["y"] + y + 0.3)
                page.wait_for_timeout(30)
        thumb_hover += page.evaluate("document.getElementById('att-stage').inspect.hoverLatency.slice()")
        page.close()
    del t
    return [
        ("image view drawn from navigation (first image)", first, ""),
        ("click a point -> plot + image view drawn (heat map, arrows)", click, "< 1000"),
        ("click a patch on the image -> image view + plot drawn", patch, "< 1000"),
        ("zoom in -> patch thumbnails drawn (up to 400 points)", zoom, ""),
        ("overlay with the thumbnails placed again (each pan / zoom frame)", overlay, ""),
        (f"hover over thumbnails -> next animation frame (n={len(thumb_hover)})", thumb_hover, "< 50"),
    ]


class Site:
    """A built site under test: its manifest facts, base URL and the measurements gathered so far."""

    def __init__(self, path: Path, slug: str, base: str):
        self.path, self.base = path, base
        manifest = json.loads((model_dir(path, slug) / MANIFEST).read_text())
        self.manifest = manifest
        self.att = att = manifest["attention"]
        self.image = manifest.get("modality") == "image" and bool(manifest.get("image"))
        self.colours = ["hue", "row", "qk"] if self.image else ["position", "norm", "qk"]
        self.term = "[CLS]" if self.image else "the"
        order = ["umap", "tsne", "pca"]
        self.methods = sorted({p["method"] for p in att["projections"]}, key=lambda m: order.index(m) if m in order else 9)
        self.G = att["model"]["n_layers"] * att["model"]["n_heads"]
        self.matrix: dict[str, list[float]] = {k: [] for k in ("drawn", "complete", "preload", "proj", "color", "size", "search", "three")}


def matrix_once(browser, site: Site, args, errors: list[str]) -> None:
    """One cold load of the matrix page (a fresh page; the browser's cache is warm after the first) and its switches."""
    m = site.matrix
    page = browser.new_page(viewport={"width": args.width, "height": 900})
    errors += console_errors(page)
    page.goto(site.base + "attention.html")
    ready(page, 1)
    m["drawn"].append(timing(page, "matrix_drawn"))
    page.wait_for_function("document.body.dataset.attPreloaded === '1'", timeout=120_000)
    if page.evaluate("'matrix_complete' in (document.getElementById('att-plot') || document.getElementById('att-stage')).inspect.timings"):  # (not in builds before the bands)
        m["complete"].append(timing(page, "matrix_complete"))
    m["preload"].append(timing(page, "matrix_preloaded"))
    if len(site.methods) > 1:
        m["proj"].append(change(page, "#att-proj", site.methods[1], "switch_projection"))
        m["proj"].append(change(page, "#att-proj", site.methods[0], "switch_projection"))
    for c in site.colours:
        m["color"].append(change(page, "#att-color", c, "switch_color"))
    n = count(page)
    page.check("#att-size")
    ready(page, n + 1)
    m["size"].append(timing(page, "switch_size"))
    n = count(page)
    page.fill("#att-q", site.term)
    page.press("#att-q", "Enter")
    ready(page, n + 1)
    m["search"].append(timing(page, "search"))
    n = count(page)
    page.check("input[name=dim][value='3']")
    ready(page, n + 1)
    m["three"].append(timing(page, "switch_projection"))
    page.close()


def matrix_rows(site: Site) -> list[tuple[str, list[float], str]]:
    m, att = site.matrix, site.att
    return [
        (f"matrix drawn from navigation ({site.G} heads x {att['n_points']:,} points; rows in view)", m["drawn"], "< 3000"),
        ("matrix: every row drawn, from navigation (rows out of view: when idle)", m["complete"], ""),
        ("matrix: other 2D projections ready in the background (after)", m["preload"], ""),
        ("matrix: switch projection " + " <-> ".join(site.methods[:2]), m["proj"], "< 500"),
        ("matrix: switch colour (" + ", ".join(site.colours) + ")", m["color"], "< 500"),
        ("matrix: dot size by norm", m["size"], "< 500"),
        (f"matrix: search '{site.term}' (highlight + counts)", m["search"], "< 500"),
        ("matrix: switch to 3D (load 3D points + draw)", m["three"], ""),
    ]


def head_rows(browser, site: Site, args, errors: list[str]) -> list[tuple[str, list[float], str]]:
    """The single head view: drawn from navigation, hover latency; image sites: the image view too."""
    head_drawn, hover, handler = [], [], []
    for r in range(args.repeat):
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        errors += console_errors(page)
        page.goto(site.base + "attention-head.html?l=2&h=5")
        ready(page, 1)
        head_drawn.append(timing(page, "head_drawn"))
        box = page.locator("#att-canvas").bounding_box()
        pts = page.evaluate(
            "(() => { const s = document.getElementById('att-stage').inspect; const N = %d; const out = [];"
            " for (let i = 0; i < 2 * N; i += Math.max(1, Math.floor(2 * N / 60))) { const p = s.screenPos(i); if (p) out.push(p); }"
            " return out; })()" % site.att["n_tokens"]
        )
        page.evaluate("document.getElementById('att-stage').inspect.hoverLatency.length = 0")
        for x, y in pts:
            page.mouse.move(box["x"] + x + 0.3, box["y"] + y + 0.3)
            page.wait_for_timeout(30)
        page.mouse.move(box["x"] + 2, box["y"] + 2)
        page.wait_for_timeout(100)
        hover += page.evaluate("document.getElementById('att-stage').inspect.hoverLatency.slice()")
        handler += page.evaluate("document.getElementById('att-stage').inspect.hoverParts.map(a => a[0] + a[1])")
        page.close()
    rows = [("single head view drawn from navigation", head_drawn, "")]
    if site.image:
        rows += image_rows(browser, site.base, site.manifest, args, errors)
    rows.append((f"single view hover -> tooltip + lines drawn (n={len(handler)})", handler, "< 50"))
    rows.append(("single view hover -> next animation frame (frame painted)", hover, "< 50"))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", type=Path, nargs="+", help="one or more built sites; several are loaded in turn (compare them in one run)")
    ap.add_argument("--how", choices=["file", "http"], default="file")
    ap.add_argument("--model", metavar="SLUG", help="which model of a site of several (its folder under models/)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--only", choices=["matrix"], help="only the matrix view")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    tables = []
    with sync_playwright() as p, contextlib.ExitStack() as stack:
        sites = []
        for path in args.site:
            slug = pick_model(path.resolve(), args.model)
            sites.append(Site(path.resolve(), slug, stack.enter_context(model_base(path.resolve(), args.how, slug))))
        browser = launch_browser(p)
        for _ in range(args.repeat):  # the sites in turn, so that they share the machine's load
            for site in sites:
                matrix_once(browser, site, args, errors)
        for site in sites:
            rows = matrix_rows(site)
            if args.only != "matrix":
                rows += head_rows(browser, site, args, errors)
            tables.append((site, rows))
        browser.close()
    for site, rows in tables:
        print(f"site: {site.path}  ({args.how}://, chromium headless, SwiftShader WebGL; {time.strftime('%Y-%m-%d %H:%M')})")
        print_table(rows)
    if errors:
        print("console errors:", *errors, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
