"""Page kinds. Each module has ``NAV`` (its entries in the top navigation: (file, label)), or
``nav_for(manifest)`` when they depend on the build (image models get an image browser instead
of the token browser), ``pages(manifest)`` (the page files it writes for a model; each is
rendered from the template of the same name) and ``render(env, model_dir, manifest)``, which
writes them from the manifest; the pages load their data from data/ in the browser.

A site (layout.py): the gallery (gallery.html -> site/index.html) and, per model, its pages in
models/<slug>/, all sharing site/assets/.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from ..layout import MODEL_TO_SITE, model_dir
from ..render import copy_assets, environment
from . import attention, concepts, core, factors, gallery
from .switcher import site_listing, switch_links

PAGE_KINDS = (core, factors, concepts, attention)

NAV_ORDER = ["index.html", "factors.html", "concepts.html", "attention.html", "tokens.html", "images.html"]


def model_nav(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    nav = [entry for kind in PAGE_KINDS for entry in (kind.nav_for(manifest) if hasattr(kind, "nav_for") else kind.NAV)]
    nav.sort(key=lambda entry: NAV_ORDER.index(entry[0]) if entry[0] in NAV_ORDER else len(NAV_ORDER))
    return nav


def model_pages(manifest: dict[str, Any]) -> list[str]:
    """Every page file a model's folder holds."""
    return [page for kind in PAGE_KINDS for page in kind.pages(manifest)]


def render_site(site_dir: Path, manifests: dict[str, dict[str, Any]], title: str) -> None:
    """Copy the assets once, render every model's pages into models/<slug>/ and the gallery.
    ``manifests``: slug -> manifest, in the order the site shows the models."""
    copy_assets(site_dir)
    listing = site_listing({slug: model_pages(m) for slug, m in manifests.items()}, manifests)
    navs = {slug: model_nav(m) for slug, m in manifests.items()}
    for slug, manifest in manifests.items():
        env = environment(navs[slug], to_site=MODEL_TO_SITE, switcher=partial(switch_links, current=slug, listing=listing), n_models=len(listing))
        for kind in PAGE_KINDS:
            kind.render(env, model_dir(site_dir, slug), manifest)
    env = environment([], switcher=partial(switch_links, current=None, listing=listing), n_models=len(listing))
    gallery.render(env, site_dir, manifests, listing, navs, title)

