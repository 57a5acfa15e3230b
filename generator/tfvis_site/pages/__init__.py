"""Page kinds. Each module has ``NAV`` (its entries in the top navigation: (file, label)), or
``nav_for(manifest)`` when they depend on the build (image models get an image browser instead
of the token browser), and ``render(env, site_dir, manifest)``, which writes its pages from the
manifest; the pages load their data from data/ in the browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..render import copy_assets, environment
from . import attention, concepts, core, factors

PAGE_KINDS = (core, factors, concepts, attention)


def render_site(site_dir: Path, manifest: dict[str, Any]) -> None:
    """Copy the assets and render every page into ``site_dir``."""
    copy_assets(site_dir)
    nav = [entry for kind in PAGE_KINDS for entry in (kind.nav_for(manifest) if hasattr(kind, "nav_for") else kind.NAV)]
    nav.sort(key=lambda entry: NAV_ORDER.index(entry[0]) if entry[0] in NAV_ORDER else len(NAV_ORDER))
    env = environment(nav)
    for kind in PAGE_KINDS:
        kind.render(env, site_dir, manifest)


NAV_ORDER = ["index.html", "factors.html", "attention.html", "tokens.html", "images.html"]
