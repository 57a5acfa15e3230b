"""The modality seam (docs/architecture.md, "The modality seam"): one ``Modality`` per kind of
input, chosen once from the model's config; the rest of the package asks it instead of
testing the modality.

    modality_for(hf_config)  the modality of a model's config (a dict: config.json)
    modality_named(name)     the modality of a ModelInfo / store / manifest ("text", "image")
    site_modality(manifest)  the modality of a built model, read from its manifest
    site_kind(manifest)      its name: the kind of the model's pages
    corpus_owner(spec)       the modality a ``--corpus`` value belongs to
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError
from .base import MODALITIES, Corpus, Modality, ModelSourceLike, modality_for, modality_named, register
from .image import ImageModality, is_image_config
from .text import TextModality

# the order they are asked in: text, which reads whatever no other modality claims, last
IMAGE = register(ImageModality())
TEXT = register(TextModality())

__all__ = ["Corpus", "Modality", "ModelSourceLike", "MODALITIES", "TEXT", "IMAGE", "register", "modality_for",
           "modality_named", "site_modality", "site_kind", "corpus_owner", "load_corpus", "corpus_from_python", "is_image_config"]


def site_modality(manifest: dict[str, Any]) -> Modality:
    """The modality of a built model, read from its manifest's "modality" (older manifests
    without it are text sites)."""
    return modality_named(manifest.get("modality", TEXT.name))


def site_kind(manifest: dict[str, Any]) -> str:
    """The kind of a built model's pages, "text" or "image" (what pages/ branches on)."""
    return site_modality(manifest).name


def corpus_owner(spec: str | Path) -> Modality:
    """The modality whose corpus ``spec`` (a ``--corpus`` value) names."""
    return next(m for m in MODALITIES.values() if m.claims_corpus(spec))


def load_corpus(modality: Modality, spec: str | Path | None, config: Any, reporter: Any) -> Any:
    """The corpus of ``spec`` for a model of ``modality``; a corpus of another kind is a one-line error."""
    if spec is not None:
        owner = corpus_owner(spec)
        if owner is not modality:
            raise UserError(f"{spec}: {owner.corpus_phrase}, but the model is {modality.model_phrase} ({modality.corpus_hint})")
    return modality.load_corpus(spec, config, reporter)


def corpus_from_python(items: list[Any], config: Any, modality: Modality | None) -> Any:
    """The corpus of a list given to ``tfvis_site.build`` (texts or PIL images); when the model
    is known (``modality``), a list of the other kind is a one-line error."""
    owner = next(m for m in MODALITIES.values() if m.accepts_python(items))
    corpus = owner.corpus_from_python(items, config)
    if modality is not None and owner is not modality:
        raise UserError(f"corpus: {owner.item_noun}, but the model is {modality.model_phrase}")
    return corpus
