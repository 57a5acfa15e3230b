"""Factor pages (issue 4): the factor index (factors.html), one factor page for every factor
(factor.html?f=ID&l=LAYER: a single HTML file whose URL restores the view) and the quality page
(quality.html). Front-end: one bundle per page (assets/js/factors.js, factor.js, quality.js, built
from assets/src/pages/ and assets/src/factors/), assets/css/factors.css; docs/factor-pages.md.

The word index behind the index page's search is a data file (factors/search.py), written by the
build with the other data files.

Image models (site_kind "image"): the same bundles draw from the sprite sheets (assets/src/core/
images.js); contexts are image crops around the patch, the index shows thumbnails instead of top
tokens and has no word search (there are no words).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ..render import render_page
from ...modality import site_modality
from .core import kind_context

NAV = [("factors.html", "Factors"), ("quality.html", "Factor quality")]


def pages(manifest: dict[str, Any]) -> list[str]:
    factors = manifest.get("factors")
    return ["factors.html", "factor.html", "quality.html"] if factors and factors.get("n_factors") else []


def render(env: jinja2.Environment, site_dir: Path, manifest: dict[str, Any]) -> None:
    factors = manifest.get("factors")
    site_dir = Path(site_dir)
    modality = site_modality(manifest)
    ctx = {"manifest": manifest, "factors": factors, **kind_context(manifest), "unit": modality.page_unit, "units": modality.page_units}
    for page in pages(manifest):
        render_page(env, site_dir, page, page, **ctx)
