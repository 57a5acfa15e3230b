"""Attention pages (issue 6).

- ``attention.html``: the matrix view, every head of the model at once (layers as rows, heads as
  columns) drawn in ONE WebGL context; URL state ``?proj=<method>&dim=<2|3>&color=<mode>&q=<search>``.
- ``attention-head.html``: the single-head view (2D scatterplot or 3D, hover, click, lasso,
  attention lines), the sentence view (bertviz-style two columns) and the head's aggregate
  position-by-position attention; URL state ``?l=&h=&proj=&dim=&color=&size=&q=&s=&t=&hide=``.

Both pages are static HTML rendered here from ``manifest["attention"]``; the points, tokens
and weights are loaded by the page bundles assets/js/attention.js and attention-head.js (sources:
assets/src/pages/, assets/src/attention/) from data/attention/ (layout: see
generator/tfvis_site/analysis/attention/bundle.py and docs/attention-pages.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ..render import render_page
from .core import METHOD_NAMES, kind_context

NAV: list[tuple[str, str]] = [("attention.html", "Attention")]

#: Short badges of the automatic head labels (the full text is in manifest["attention"]["labels"]).
LABEL_BADGES = {
    "prev": "prev",
    "next": "next",
    "self": "self",
    "sink": "sink",
    "positional": "local",
    "local2d": "2D-local",
    "colour": "colour",
    "broad": "broad",
    "induction": "induction",
    "other": "other",
}

#: The vendored libraries both attention pages load before their bundle (under assets/vendor/).
ATTENTION_VENDOR = ["hyparquet.min.js", "regl-scatterplot.min.js", "three.min.js"]


def _fmt_signed(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.2f}".replace("-", "\u2212")


def _head_rows(section: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Heads as rows (layers) of cells (heads), with what the cell labels show."""
    n_layers, n_heads = section["model"]["n_layers"], section["model"]["n_heads"]
    by_index = {h["index"]: h for h in section.get("heads", [])}
    rows = []
    for layer in range(n_layers):
        row = []
        for head in range(n_heads):
            g = layer * n_heads + head
            h = by_index.get(g, {})
            sp = h.get("spearman_after")
            paper = h.get("spearman_paper_after")
            row.append(
                {
                    "g": g,
                    "layer": layer,
                    "head": head,
                    "label": h.get("label", "other"),
                    "badge": LABEL_BADGES.get(h.get("label", "other"), h.get("label", "other")),
                    "label_text": h.get("label_text", h.get("label", "")),
                    "spearman": sp,
                    "spearman_text": _fmt_signed(sp),
                    # the AttentionViz statistic (per query, then averaged), when the build wrote it
                    "paper": paper,
                    "paper_text": _fmt_signed(paper),
                }
            )
        rows.append(row)
    return rows


def _projection_choices(section: dict[str, Any]) -> list[dict[str, Any]]:
    """Projection methods that were built, each with the dimensions available."""
    methods: dict[str, list[int]] = {}
    for p in section.get("projections", []):
        methods.setdefault(p["method"], []).append(int(p["dim"]))
    order = ["umap", "tsne", "pca"]
    out = []
    for m in sorted(methods, key=lambda m: order.index(m) if m in order else len(order)):
        out.append({"method": m, "name": METHOD_NAMES.get(m, m), "dims": sorted(methods[m])})
    return out


def pages(manifest: dict[str, Any]) -> list[str]:
    return ["attention.html", "attention-head.html"]


def render(env: jinja2.Environment, site_dir: Path, manifest: dict[str, Any]) -> None:
    section = manifest.get("attention")
    context: dict[str, Any] = {
        "manifest": manifest,
        "att": section,
        "ATTENTION_VENDOR": ATTENTION_VENDOR,
        **kind_context(manifest),
        "image": manifest.get("image"),  # the patch grid of an image site (None on text sites)
    }
    if section:
        context["rows"] = _head_rows(section)
        context["projections"] = _projection_choices(section)
        context["label_badges"] = LABEL_BADGES
    for page in pages(manifest):
        render_page(env, site_dir, page, page, **context)
