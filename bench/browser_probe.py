"""Browser benchmark of the live probe (issue 14), in headless Debian chromium (software rendering).

    python bench/browser_probe.py SITE_DIR [--model SLUG] [--how file|http] [--loads 5] [--runs 10]

SITE_DIR is a built site with the live probe (e.g. ``tfvis-site build --preset quick --out
/tmp/site``: MiniLM). Measured in the page with performance.now(), medians over fresh pages:

- load: from the reader's first request to a ready probe: onnxruntime-web's bundle and its
  WebAssembly twin (14 MB of wasm, gzipped) loaded by <script> tags and inflated, the model / tokenizer / encoder twins decoded, both
  inference sessions created (target <= 3 s);
- inference: one 32-token sentence through the model (all layers, hidden states and attentions)
  plus the encoder of every layer and the top-k (target <= 300 ms), after one warm-up run.

Then the bytes the live probe adds to the site: the wasm twin, the ort bundle, our live scripts
and the model's live/ files (as listed in its manifest, twins included).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser import console_errors, launch_browser, model_base
from pagebench import print_table
from tfvis_site.site.layout import MANIFEST, model_dir, pick_model

#: 30 word pieces + [CLS] + [SEP] = 32 tokens for MiniLM's tokenizer (checked in the page).
SENTENCE = ("The old lighthouse keeper walked slowly along the rocky shore at dawn, counting the ships "
            "that had sailed past the harbour during the long and stormy winter night.")

#: The live card's inspection handle (assets/src/lib/live-probe.js wireForm: for tests and benches).
PROBE = "document.getElementById('live-card').inspect"

LOAD = """() => { const t0 = performance.now(), probe = document.getElementById('live-card').inspect;
  return probe.load().then(() => { const t = probe.timings();
    return {ms: performance.now() - t0, session: t.sessionMs, runtime: t.loadMs.runtime, model: t.loadMs.model}; }); }"""

RUN = """([text, runs]) => document.getElementById('live-card').inspect.load().then(async (probe) => {
  const first = await probe.run(text);   // warm-up
  const out = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await probe.run(text);
    out.push({total: performance.now() - t0, model: r.timings.model, encoder: r.timings.encoder});
  }
  return {n: first.n, runs: out};
})"""

#: The page bundle measured (assets/js): the factor page's, which holds the live probe (tokenizer, runtime loader, view).
LIVE_SCRIPTS = ("factor.js",)


def site_bytes(site: Path, slug: str) -> list[tuple[str, int]]:
    assets = site / "assets"
    manifest = json.loads((model_dir(site, slug) / MANIFEST).read_text())
    data = model_dir(site, slug) / "data"
    live_files = [name for name in manifest.get("files", {}) if name.startswith("live/")]
    on_disk = sum((data / n).stat().st_size for n in live_files if (data / n).exists())
    twins = sum((data / (n + ".js")).stat().st_size for n in live_files if (data / (n + ".js")).exists())
    return [
        ("assets/vendor/ort-wasm.min.js (the wasm, gzip, base64)", (assets / "vendor" / "ort-wasm.min.js").stat().st_size),
        ("assets/vendor/ort.min.js (onnxruntime-web)", (assets / "vendor" / "ort.min.js").stat().st_size),
        ("assets/js page bundle with the live probe (" + ", ".join(LIVE_SCRIPTS) + ")", sum((assets / "js" / f).stat().st_size for f in LIVE_SCRIPTS)),
        (f"models/{slug}/data/live/ binary files", on_disk),
        (f"models/{slug}/data/live/ .js twins", twins),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", type=Path)
    ap.add_argument("--model", default=None, help="model slug (a site of several models)")
    ap.add_argument("--how", choices=["file", "http"], default="file")
    ap.add_argument("--loads", type=int, default=5, help="fresh pages for the load time")
    ap.add_argument("--runs", type=int, default=10, help="inference runs (after a warm-up)")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    slug = pick_model(args.site, args.model)
    manifest = json.loads((model_dir(args.site, slug) / MANIFEST).read_text())
    if "live" not in manifest:
        print(f"{args.site}: model {slug} has no live probe ({manifest.get('live_unavailable', 'built with --no-live-probe')})")
        return 2
    loads, session, runtime_ready, model_ready, total, model, encoder, n_tokens = [], [], [], [], [], [], [], None
    with sync_playwright() as p, model_base(args.site, args.how, slug) as base:
        browser = launch_browser(p)
        for i in range(args.loads):
            page = browser.new_page()
            errors = console_errors(page)
            page.goto(base + "factor.html?f=0")
            page.wait_for_function(PROBE, timeout=60_000)
            r = page.evaluate(LOAD)
            loads.append(r["ms"])
            session.append(r["session"])
            runtime_ready.append(r["runtime"])
            model_ready.append(r["model"])
            if i == args.loads - 1:
                out = page.evaluate(RUN, [SENTENCE, args.runs])
                n_tokens = out["n"]
                total += [x["total"] for x in out["runs"]]
                model += [x["model"] for x in out["runs"]]
                encoder += [x["encoder"] for x in out["runs"]]
            assert errors == [], errors
            page.close()
        browser.close()
    w = manifest["live"]
    print(f"live probe of {manifest['model']['name']} ({w['weights']} weights, {manifest['live']['encoder'].get('n_factors', '?')} factors, "
          f"k = {w['encoder']['k']}), {args.how}://, {args.loads} fresh pages, {args.runs} runs of a {n_tokens}-token sentence")
    print_table([
        ("load: runtime + wasm + model + tokenizer + encoder, sessions", loads, "3000"),
        ("  runtime ready (ort bundle, wasm twin decoded and inflated)", runtime_ready, ""),
        ("  model twin loaded and decoded (in parallel with the runtime)", model_ready, ""),
        ("  of which: creating the two inference sessions", session, ""),
        (f"inference: {n_tokens} tokens, all layers + encoder + top-k", total, "300"),
        ("  of which: the model (onnxruntime, 1 thread)", model, ""),
        ("  of which: the encoder of all layers (onnxruntime)", encoder, ""),
    ])
    print()
    rows = site_bytes(args.site, slug)
    for name, n in rows:
        print(f"{name:70s} {n / 1e6:9.2f} MB")
    print(f"{'total added by the live probe':70s} {sum(n for _, n in rows) / 1e6:9.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
