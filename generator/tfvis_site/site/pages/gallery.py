"""The gallery (site/index.html): every model of the site side by side, one card each with the
same rows (family, layers, heads, modality, corpus, factor quality, head labels, the
AttentionViz statistic), each card linking into its model's pages under models/<slug>/.
Rendered from the models' manifests at build time: the page loads no data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ..layout import MODELS
from ..render import render_page
from .attention import LABEL_BADGES, _fmt_signed
from .core import PAPER_SPEARMAN


def model_card(slug: str, manifest: dict[str, Any], entry: dict[str, Any], nav: list[tuple[str, str]]) -> dict[str, Any]:
    """What one card shows, pulled out of the manifest (sections a build left out are None)."""
    factors = manifest.get("factors") or {}
    attention = manifest.get("attention") or {}
    summary = attention.get("summary") or {}
    labels = summary.get("label_counts") or {}
    return {
        **entry,
        "href": f"{MODELS}/{slug}/",
        "manifest": manifest,
        "quality": (factors.get("quality") or {}).get("overall"),
        "factors": factors if factors.get("n_factors") else None,
        "paper_after": _fmt_signed((summary.get("spearman_paper_after") or {}).get("mean")),
        "paper_before": _fmt_signed((summary.get("spearman_paper_before") or {}).get("mean")),
        # most frequent label first; the badge text the attention pages use
        "labels": [(label, LABEL_BADGES.get(label, label), int(n)) for label, n in sorted(labels.items(), key=lambda kv: (-kv[1], kv[0])) if n],
        "n_heads_total": int(attention.get("model", {}).get("n_layers", 0)) * int(attention.get("model", {}).get("n_heads", 0)),
        "links": [(f"{MODELS}/{slug}/{href}", label) for href, label in nav],
    }


def render(env: jinja2.Environment, site_dir: Path, manifests: dict[str, dict[str, Any]], listing: list[dict[str, Any]],
           navs: dict[str, list[tuple[str, str]]], title: str) -> None:
    """``listing``: the site's models (switcher.site_listing); ``navs``: each model's navigation."""
    cards = [model_card(entry["slug"], manifests[entry["slug"]], entry, navs[entry["slug"]]) for entry in listing]
    attributions = sorted({m["corpus"]["attribution"] for m in manifests.values() if m["corpus"].get("attribution")})
    render_page(env, site_dir, "gallery.html", "index.html", title=title, cards=cards, attributions=attributions, paper_spearman=PAPER_SPEARMAN)
