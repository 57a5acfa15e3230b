"""The wheel alone builds a site whose every referenced asset is in it.

A site is built by the package unpacked from the wheel (``pip wheel`` of this checkout), with the
checkout out of reach: its templates and assets come from the wheel. Then every file a page
loads (script, stylesheet, image, link into assets/) and every vendored file a page bundle loads
on demand (``'vendor/...'`` in assets/js, e.g. the live probe's onnxruntime-web) must exist in
the built site. The live probe's runtime was missing from the wheel once.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import HOSTILE_TEXTS

REPO = Path(__file__).resolve().parents[1]
REFERENCE = re.compile(r"""(?:src|href)="([^"#?]+)""")
ON_DEMAND = re.compile(r"""['"](vendor/[\w.-]+)['"]""")


def test_the_wheel_ships_every_asset_a_site_references(tiny_checkpoints, tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(REPO)], check=True)
    unpacked = tmp_path / "wheel"
    zipfile.ZipFile(next(dist.glob("tfvis_site-*.whl"))).extractall(unpacked)
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    where = subprocess.run([sys.executable, "-c", "import tfvis_site.resources as r; print(r.resource_dir('assets'))"],
                           env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where) == unpacked / "tfvis_site" / "assets"  # the wheel's, not the checkout's

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(HOSTILE_TEXTS) + "\n", encoding="utf-8")
    site = tmp_path / "site"
    build = [sys.executable, "-m", "tfvis_site", "build", "--quiet", "--preset", "quick", "--model", str(tiny_checkpoints["bert"]),
             "--corpus", str(corpus), "--out", str(site), "--cache-dir", str(tmp_path / "cache")]
    subprocess.run(build, env=env, cwd=tmp_path, check=True)
    assert (site / "models").is_dir() and any((site / "models").glob("*/data/live"))  # the live probe is part of this site

    missing = []
    pages = sorted(site.rglob("*.html"))
    for page in pages:
        for ref in REFERENCE.findall(page.read_text(encoding="utf-8")):
            if "://" in ref or ref.startswith(("mailto:", "data:")):
                continue
            if not (page.parent / ref).resolve().exists():
                missing.append(f"{page.relative_to(site)} -> {ref}")
    bundles = sorted((site / "assets" / "js").glob("*.js"))
    on_demand = {ref for bundle in bundles for ref in ON_DEMAND.findall(bundle.read_text(encoding="utf-8"))}
    assert {"vendor/ort.min.js", "vendor/ort-wasm.min.js"} <= on_demand  # the scan sees the live probe's loads
    missing += [f"assets/js -> {ref}" for ref in sorted(on_demand) if not (site / "assets" / ref).exists()]
    assert len(pages) > 5 and bundles
    assert not missing, missing
