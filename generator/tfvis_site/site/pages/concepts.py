"""The Concepts page (concepts.html), built when the config has ``[[probes]]`` tables: per probe,
the held-out F1 per layer of the best single factor vs the raw hidden state and the majority
baseline, the chosen factors linked to their pages, and a strip plot of a factor's activation on
every labelled example per layer. URL state ``?p=<probe>&f=<factor>``. Front-end:
assets/js/concepts.js (from assets/src/pages/concepts.js); data: manifest["concepts"] and data/concepts/ (docs/data-contract.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ..render import render_page


def nav_for(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """In the navigation only when the build ran concept probes."""
    return [("concepts.html", "Concepts")] if (manifest.get("concepts") or {}).get("probes") else []


def render(env: jinja2.Environment, site_dir: Path, manifest: dict[str, Any]) -> None:
    if nav_for(manifest):
        render_page(env, site_dir, "concepts.html", "concepts.html", manifest=manifest, concepts=manifest["concepts"])


def pages(manifest: dict[str, Any]) -> list[str]:
    return ["concepts.html"] if nav_for(manifest) else []
