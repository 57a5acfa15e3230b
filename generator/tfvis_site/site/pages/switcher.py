"""The model switcher in every page's header: one link per model of the site, keeping the view.

The site's list of models (slug, name, modality, the pages each has, its heads) is rendered into
every page at build time, so switching works from file:// without reading another model's
manifest. A link's ``href`` is the other model's page for this view, without URL state (what
works without JavaScript); the switcher every page bundle starts (assets/src/core/switcher.js) adds, when the link is followed, the part of
the current URL state that means the same there (``data-keep``), and sends a head the other
model lacks to its matrix view instead.

Where a page leads: the same page when the other model has it (matrix -> matrix, factor index ->
factor index); a factor page -> the factor index (a factor id names nothing in another
dictionary); a page the other model lacks (the image browser for a text model) -> its overview.
"""

from __future__ import annotations

from typing import Any

from ..layout import MODELS

#: Pages whose URL names one item of this model lead to their index in another model.
UP = {"factor.html": "factors.html"}
#: URL state that means the same in another model (ids of texts, images and factors do not).
KEEP = {
    "attention.html": ("proj", "dim", "color", "size", "q"),
    "attention-head.html": ("l", "h", "proj", "dim", "color", "size", "hide", "heat", "arrows"),
    "factors.html": ("q", "level", "layer", "tok", "sort", "dir"),
}
#: A head (?l=&h=) the other model does not have: its matrix view instead.
HEAD_PAGE, HEAD_FALLBACK = "attention-head.html", "attention.html"


def site_listing(pages_by_slug: dict[str, list[str]], manifests: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The site's models as the switcher and the gallery show them, in build order."""
    names = [m["model"]["name"] for m in manifests.values()]
    listing = []
    for slug, manifest in manifests.items():
        model = manifest["model"]
        name = model["name"]
        attention_model = (manifest.get("attention") or {}).get("model") or {}
        listing.append({
            "slug": slug,
            "name": name,
            # two entries of one model (e.g. on two corpora) are told apart by their slugs
            "label": f"{name} ({slug})" if names.count(name) > 1 else name,
            "title": f"{name}: {model.get('family', model.get('architecture', ''))}, {manifest.get('modality', 'text')}",
            "modality": manifest.get("modality", "text"),
            "pages": list(pages_by_slug[slug]),
            "layers": int(attention_model.get("n_layers", model.get("n_layers", 0))),
            "heads": int(attention_model.get("n_heads", model.get("n_heads", 0))),
        })
    return listing


def target_page(page: str, pages: list[str]) -> str:
    """Where ``page`` of one model leads in a model that has ``pages``."""
    target = UP.get(page, page)
    return target if target in pages else "index.html"


def switch_links(page: str, root: str, current: str | None, listing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The switcher of one page: ``page`` its file name, ``root`` the way up to the site root,
    ``current`` the page's model (None on the gallery)."""
    links = []
    for m in listing:
        if m["slug"] == current:
            links.append({**m, "current": True})
            continue
        target = target_page(page, m["pages"])
        link = {**m, "current": False, "base": f"{root}{MODELS}/{m['slug']}/", "page": target,
                "keep": ",".join(KEEP.get(target, ())) if target == page else ""}
        if target == HEAD_PAGE:
            link["fallback"] = HEAD_FALLBACK
            link["fallback_keep"] = ",".join(KEEP[HEAD_FALLBACK])
        links.append(link)
    return links
