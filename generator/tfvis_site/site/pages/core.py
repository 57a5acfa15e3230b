"""The overview page and the unit browser: the token browser (tokens.html) of text models, the
image browser (images.html) of image models. An image site still gets a tokens.html, a small
page that forwards ``tokens.html?s=<image>&t=<unit>`` (the links other pages make to "the token
browser") to ``images.html?i=<image>&p=<unit>``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ...modality import site_kind
from ..render import render_page

#: The overview and unit-browser entries of the top navigation, by site kind.
NAV = {"text": [("index.html", "Overview"), ("tokens.html", "Tokens")], "image": [("index.html", "Overview"), ("images.html", "Images")]}
#: This module's pages by site kind (an image site's tokens.html forwards to images.html).
PAGES = {"text": ["index.html", "tokens.html"], "image": ["index.html", "tokens.html", "images.html"]}

# One line per page kind for the overview's "Explore" list, by site kind.
_EXPLORE_TEXT = {
    "tokens.html": "every text of the sample, split into the model's tokens.",
    "factors.html": "every transformer factor: top contexts per layer, importance across layers, LIME saliency.",
    "attention.html": "every attention head: queries and keys embedded together, attention lines, sentence view.",
    "quality.html": "how well the dictionary reconstructs the hidden states, layer by layer.",
    "concepts.html": "concept probes: per layer, the one factor that best tells apart labelled examples of a word.",
}

# The same for image models: an image plays the part of a text, a patch the part of a token.
_EXPLORE_IMAGE = {
    "images.html": "every image of the sample with its grid of patches; click a patch for its position, colour and frequency.",
    "factors.html": "every transformer factor: the image patches it fires on most, per layer, importance across layers, LIME saliency.",
    "attention.html": "every attention head: the queries and keys of all patches embedded together, attention drawn over the image.",
    "quality.html": "how well the dictionary reconstructs the patches' hidden states, layer by layer.",
}
EXPLORE = {"text": _EXPLORE_TEXT, "image": _EXPLORE_IMAGE}

#: The AttentionViz paper's own value of its statistic (per query, Spearman between q·k and the
#: query–key cosine distance within the sentence / image, mean over queries), for comparison.
PAPER_SPEARMAN = [("BERT", "−0.938"), ("GPT-2", "−0.792"), ("ViT", "−0.873 (ViT-B/32) / −0.884 (ViT-B/16)")]


#: Projection methods as the pages name them (the overview's and the attention pages' choices).
METHOD_NAMES = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE"}


def kind_context(manifest: dict[str, Any]) -> dict[str, Any]:
    """What every template knows of the modality: ``site_kind`` ("text", "image"; the seam's
    modality.site_kind, read from the manifest as the front end's siteKind does) and, for the
    templates' wording, ``is_image``. Pages look up everything else in tables by site kind."""
    kind = site_kind(manifest)
    return {"site_kind": kind, "is_image": kind == "image"}


def nav_for(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    return NAV[site_kind(manifest)]


def pages(manifest: dict[str, Any]) -> list[str]:
    return PAGES[site_kind(manifest)]


def prefix_text(manifest: dict[str, Any]) -> str:
    """What an image model puts before the patches, in words: "[CLS]", "[CLS] + [DIST]" (DeiT),
    "[CLS] + 4 registers" (as generator/tfvis_site/capture/patches.py names the units)."""
    k = int((manifest.get("image") or {}).get("n_prefix_tokens", 0))
    if k <= 0:
        return "no prefix tokens"
    names = ["[CLS]", "[DIST]"] if manifest.get("model", {}).get("model_type") == "deit" else ["[CLS]"]
    names = names[:k]
    registers = k - len(names)
    text = " + ".join(names)
    if registers:
        text += f" + {registers} register{'s' if registers != 1 else ''}"
    return text


def _kind_counts(corpus: dict[str, Any]) -> list[tuple[str, int]]:
    kinds = corpus.get("kinds") or {}
    return [(k, int(v)) for k, v in kinds.items() if v]


def render(env: jinja2.Environment, site_dir: Path, manifest: dict[str, Any]) -> None:
    kind = kind_context(manifest)
    ctx: dict[str, Any] = {
        "manifest": manifest,
        **kind,
        "explore_text": EXPLORE[kind["site_kind"]],
        "method_names": METHOD_NAMES,
        "paper_spearman": PAPER_SPEARMAN,
        "kind_counts": _kind_counts(manifest.get("corpus", {})),  # only image sets count kinds (hue sweeps, gratings, ...)
        "prefix_text": prefix_text(manifest),
    }
    for page in pages(manifest):
        render_page(env, site_dir, page, page, **ctx)
