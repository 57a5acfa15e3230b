"""Where things are in a built site (layout: generator/tfvis_site/site/layout.py), for tests: the
gallery at the root, each model's pages and data/ in models/<slug>/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tfvis_site.site.layout import MANIFEST, model_dir, site_models


def model_folder(site: Path) -> Path:
    """The folder of the only model of a site: its pages and its data/."""
    slugs = site_models(site)
    assert len(slugs) == 1, f"{site} holds {len(slugs)} models: {slugs}"
    return model_dir(site, slugs[0])


def read_manifest(site: Path) -> dict[str, Any]:
    """The only model's manifest."""
    return json.loads((model_folder(site) / MANIFEST).read_text())


def assert_ships_once(data: Path, files: dict[str, Any]) -> None:
    """Every data file ships exactly once, as its twin data/NAME.js (docs/data-contract.md): data/
    holds the manifest (manifest.json, the index for tools, and its twin, the one file shipped
    twice), one twin per file the manifest lists and nothing else (no binary data/NAME); each twin
    hands over the bytes the manifest describes (size, sha256), is ``twin_bytes`` long and is
    deflated exactly when its entry says ``deflate``."""
    import hashlib

    from tfvis_site.site.bundles import DEFLATE_MARK, twin_payload

    on_disk = {str(p.relative_to(data)) for p in data.rglob("*") if p.is_file()}
    assert on_disk == {"manifest.json", "manifest.json.js"} | {f"{name}.js" for name in files}, sorted(on_disk ^ ({"manifest.json", "manifest.json.js"} | {f"{n}.js" for n in files}))[:10]
    for name, entry in files.items():
        twin = (data / f"{name}.js").read_bytes()
        payload = twin_payload(twin)
        assert len(payload) == entry["bytes"] and hashlib.sha256(payload).hexdigest() == entry["sha256"], name
        assert len(twin) == entry["twin_bytes"], name
        assert (b'="' + DEFLATE_MARK.encode()) in twin[:300] if entry.get("deflate") else DEFLATE_MARK.encode() not in twin[:300], name
    assert twin_payload((data / "manifest.json.js").read_bytes()) == (data / "manifest.json").read_bytes()
