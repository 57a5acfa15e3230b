"""Attention pages (issue 6): matrix, single-head and sentence views. Not written yet:
this module renders nothing and adds no navigation entry until those pages exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

NAV: list[tuple[str, str]] = []


def render(env: jinja2.Environment, site_dir: Path, manifest: dict[str, Any]) -> None:
    pass
