"""The overview page and the unit browser: the token browser (tokens.html) of text models, the
image browser (images.html) of image models. An image site still gets a tokens.html, a small
page that forwards ``tokens.html?s=<image>&t=<unit>`` (the links other pages make to "the token
browser") to ``images.html?i=<image>&p=<unit>``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from ..render import render_page

NAV = [("index.html", "Overview"), ("tokens.html", "Tokens")]
IMAGE_NAV = [("index.html", "Overview"), ("images.html", "Images")]

# One line per page kind for the overview's "Explore" list.
EXPLORE_TEXT = {
    "tokens.html": "every text of the sample, split into the model's tokens.",
    "factors.html": "every transformer factor: top contexts per layer, importance across layers, LIME saliency.",
    "attention.html": "every attention head: queries and keys embedded together, attention lines, sentence view.",
    "quality.html": "how well the dictionary reconstructs the hidden states, layer by layer.",
    "concepts.html": "concept probes: per layer, the one factor that best tells apart labelled examples of a word.",
}

# The same for image models: an image plays the part of a text, a patch the part of a token.
EXPLORE_TEXT_IMAGE = {
    "images.html": "every image of the sample with its grid of patches; click a patch for its position, colour and frequency.",
    "factors.html": "every transformer factor: the image patches it fires on most, per layer, importance across layers, LIME saliency.",
    "attention.html": "every attention head: the queries and keys of all patches embedded together, attention drawn over the image.",
    "quality.html": "how well the dictionary reconstructs the patches' hidden states, layer by layer.",
}

#: The AttentionViz paper's own value of its statistic (per query, Spearman between q·k and the
#: query–key cosine distance within the sentence / image, mean over queries), for comparison.
PAPER_SPEARMAN = [("BERT", "−0.938"), ("GPT-2", "−0.792"), ("ViT", "−0.873 (ViT-B/32) / −0.884 (ViT-B/16)")]


#: Projection methods as the pages name them (the overview's and the attention pages' choices).
METHOD_NAMES = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE"}


def site_kind(manifest: dict[str, Any]) -> str:
    """What a site was built from, as the pages need to know it: "image" (an image model: its
    manifest has the image section) or "text". The one test of the modality in pages/; the
    front end's siteKind (assets/src/core/data.js) reads the manifest the same way."""
    return "image" if manifest.get("modality") == "image" and manifest.get("image") else "text"


def is_image(manifest: dict[str, Any]) -> bool:
    return site_kind(manifest) == "image"


def nav_for(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    return IMAGE_NAV if is_image(manifest) else NAV


def pages(manifest: dict[str, Any]) -> list[str]:
    return ["index.html", "tokens.html"] + (["images.html"] if is_image(manifest) else [])


def prefix_text(manifest: dict[str, Any]) -> str:
    """What an image model puts before the patches, in words: "[CLS]", "[CLS] + [DIST]" (DeiT),
    "[CLS] + 4 registers" (as generator/tfvis_site/patches.py names the units)."""
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
    image = is_image(manifest)
    ctx: dict[str, Any] = {
        "manifest": manifest,
        "explore_text": EXPLORE_TEXT_IMAGE if image else EXPLORE_TEXT,
        "method_names": METHOD_NAMES,
        "paper_spearman": PAPER_SPEARMAN,
        "is_image": image,
        "kind_counts": _kind_counts(manifest.get("corpus", {})) if image else [],
        "prefix_text": prefix_text(manifest) if image else "",
    }
    for page in pages(manifest):
        render_page(env, site_dir, page, page, **ctx)
