"""Factor pages (issue 4): the factor index (factors.html), one factor page for every factor
(factor.html?f=ID&l=LAYER: a single HTML file whose URL restores the view) and the quality page
(quality.html). Front-end: assets/js/factor-*.js, assets/css/factors.css; docs/factor-pages.md.

The word index behind the index page's search is a data file (factors/search.py), written by the
build with the other data files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ..render import render_page

NAV = [("factors.html", "Factors"), ("quality.html", "Factor quality")]


def render(env: jinja2.Environment, site_dir: Path, manifest: dict[str, Any]) -> None:
    factors = manifest.get("factors")
    if not factors or not factors.get("n_factors"):
        return
    site_dir = Path(site_dir)
    ctx = {"manifest": manifest, "factors": factors}
    render_page(env, site_dir, "factors.html", "factors.html", **ctx)
    render_page(env, site_dir, "factor.html", "factor.html", **ctx)
    render_page(env, site_dir, "quality.html", "quality.html", **ctx)
