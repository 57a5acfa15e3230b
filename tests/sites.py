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
