"""The overview page and the token browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ..render import render_page

NAV = [("index.html", "Overview"), ("tokens.html", "Tokens")]


def render(env: jinja2.Environment, site_dir: Path, manifest: dict[str, Any]) -> None:
    render_page(env, site_dir, "index.html", "index.html", manifest=manifest)
    render_page(env, site_dir, "tokens.html", "tokens.html", manifest=manifest)
