"""The overview page and the token browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ..render import render_page
from .attention import METHOD_NAMES

NAV = [("index.html", "Overview"), ("tokens.html", "Tokens")]

# One line per page kind for the overview's "Explore" list.
EXPLORE_TEXT = {
    "tokens.html": "every text of the sample, split into the model's tokens.",
    "factors.html": "every transformer factor: top contexts per layer, importance across layers, LIME saliency.",
    "attention.html": "every attention head: queries and keys embedded together, attention lines, sentence view.",
    "quality.html": "how well the dictionary reconstructs the hidden states, layer by layer.",
}


def render(env: jinja2.Environment, site_dir: Path, manifest: dict[str, Any]) -> None:
    render_page(env, site_dir, "index.html", "index.html", manifest=manifest, explore_text=EXPLORE_TEXT, method_names=METHOD_NAMES)
    render_page(env, site_dir, "tokens.html", "tokens.html", manifest=manifest)
