"""The modality seam: what differs between a text model and an image model, behind one interface.

A build asks the model's ``Modality`` (chosen once from its config, ``modality_for``) instead of
testing the modality itself: the preset sizes, the corpus and how it is sampled and hashed, the
units of the activation store and their names, the LIME masker, the attention statistics, the
factor pages' extra data and the extra bundles. docs/architecture.md, "The modality seam", lists
what an implementation owns; a new modality (audio, say) is one more implementation registered
in ``modality/__init__.py``.

The Protocols below are structural: ``TextModality`` / ``ImageModality`` satisfy them without
inheriting from them. A ``Modality`` also satisfies the small Protocols of the layers below that
take one as an argument (model/load.py ``InputKind``, capture/extract.py ``UnitKind``,
analysis/factors/lime.py ``MaskerKind``); the units and maskers it hands out are theirs
(``Units``, ``Masker``).

Dependencies point down: the build chooses the modality (run/: ``modality_for`` on the model's
config) and passes it, or what it hands out, to model/, capture/ and analysis/, which never
import modality/ or look a modality up. This module names their types; none of them names it.
The registry (``register``, ``modality_for``, ``modality_named``) lives here, apart from the
implementations; ``modality/__init__.py`` registers the built-in ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from ..analysis.attention.stats import HeadStatistics
    from ..analysis.explanations.features import RuleFeatures
    from ..site.bundles import BundleWriter
    from ..run.config import BuildConfig, StageConfigs
    from ..capture.extract import ActivationStore, ExtractOptions, Units
    from ..analysis.factors.bundle import FactorContexts
    from ..analysis.factors.lime import LimeConfig, Masker
    from ..model.load import LoadedModel
    from ..progress import Reporter
    from ..analysis.results import Analyses


class Corpus(Protocol):
    """A sampled corpus (corpus.Corpus of texts, images.ImageCorpus of PIL images)."""

    name: str

    def card(self) -> dict[str, Any]:
        """The corpus card of the manifest: source, licence, counts."""
        ...


class ModelSourceLike(Protocol):
    """What the stages read of a model: pipeline.ModelSource (a checkpoint loaded on first use)
    or api.InMemoryModel (a model object given in Python)."""

    name: str
    modality: Modality
    dir: Path | None
    is_default: bool

    @property
    def key(self) -> Any:
        """The model's part of every cache key."""
        ...

    def get(self) -> LoadedModel:
        """The loaded model (loads it on first use)."""
        ...

    def hf_config(self) -> Any:
        """The transformers config, without loading the weights."""
        ...

    @property
    def display_source(self) -> str: ...


class Modality(Protocol):
    """Everything that differs by modality. ``name`` is ModelInfo.modality, the store's and the
    manifest's "modality" and the site kind the pages read (``site_kind``)."""

    name: str
    #: what a corpus holds / what one forward pass reads / what a store row is, for log lines
    item_noun: str
    sequence_noun: str
    unit_noun: str
    #: a unit in the pages' words, one and many ("token" / "tokens", "patch" / "patches")
    page_unit: str
    page_units: str
    #: "a text corpus" / "a vision transformer" / "give a ... file": the one-line errors of a
    #: corpus of the other kind
    corpus_phrase: str
    model_phrase: str
    corpus_hint: str
    #: whether the sequences are text (the [[probes]] concept probes, ``tfvis-site probe``)
    reads_text: bool
    #: whether the units lie on a 2D grid (each factor's activation maps over its top images)
    unit_grid: bool
    #: whether the full attention matrices go into the site as sqrt(w) in uint8 rather than
    #: uint16 (an image's L x L block holds ~70x a sentence's weights)
    compact_attention: bool
    #: why a model of this modality has no live probe, or None
    live_probe_unavailable: str | None
    #: why its factors get no LLM explanation (the explainer reads text contexts), or None
    llm_explainer_unavailable: str | None
    #: why ``tfvis-site probe`` cannot run a text through a site of this modality, or None
    probe_unavailable: str | None

    def claims_config(self, hf_config: dict[str, Any]) -> bool:
        """Whether a model's config.json (a dict) describes a model of this modality."""
        ...

    def info_fields(self, hf_config: dict[str, Any]) -> dict[str, Any]:
        """Extra ModelInfo fields read from the model's config (as a dict)."""
        ...

    def load_preprocessing(self, model_dir: Path) -> tuple[Any, Any]:
        """(fast tokenizer or None, image processor or None) of a checkpoint folder."""
        ...

    def fit_sizes(self, config: BuildConfig, model: ModelSourceLike, configs: StageConfigs,
                  reporter: Reporter) -> tuple[BuildConfig, StageConfigs]:
        """The preset's sample sizes for this model; options the user set stay as given."""
        ...

    def claims_corpus(self, spec: str | Path) -> bool:
        """Whether a ``--corpus`` value names a corpus of this modality."""
        ...

    def accepts_python(self, items: list[Any]) -> bool:
        """Whether a list given to ``tfvis_site.build(corpus=...)`` holds this modality's items."""
        ...

    def load_corpus(self, spec: str | Path | None, config: BuildConfig, reporter: Reporter) -> Corpus:
        """The sampled corpus of ``spec`` (None: the default corpus)."""
        ...

    def corpus_from_python(self, items: list[Any], config: BuildConfig) -> Corpus:
        """A corpus of items given in Python."""
        ...

    def corpus_items(self, corpus: Corpus) -> list[Any]:
        """(n_items,) what the model reads: texts, PIL images."""
        ...

    def item_names(self, corpus: Corpus, indices: np.ndarray) -> list[str] | None:
        """The names of the items ``indices`` the store keeps, or None (texts name themselves)."""
        ...

    def corpus_fingerprint(self, corpus: Corpus, indices: np.ndarray) -> str:
        """Hash of the chosen items' content: the corpus's part of the extraction key."""
        ...

    def make_units(self, loaded: LoadedModel, inputs: list[Any], options: ExtractOptions,
                   names: list[str] | None = None) -> Units:
        """The units of ``inputs`` for extraction (capture/extract.py ``Units``)."""
        ...

    def make_masker(self, loaded: LoadedModel, store: ActivationStore, cfg: LimeConfig) -> Masker:
        """The LIME masker of the store's sequences (factors/lime.py ``Masker``)."""
        ...

    def head_statistics(self) -> HeadStatistics:
        """The attention statistics and labels of a head (attention/stats.py)."""
        ...

    def factor_contexts(self) -> FactorContexts:
        """How the factor bundle names and shows a factor's contexts (factors/bundle.py)."""
        ...

    def write_search_index(self, bundle: BundleWriter, section: dict[str, Any]) -> dict[str, Any]:
        """The factor search index -> manifest["factors"]["search"]."""
        ...

    def rule_features(self, store: ActivationStore) -> RuleFeatures:
        """What a factor's rule explanation may test of each of the store's units (the token, its
        neighbour, its word, its position; a patch's place, hue, brightness, frequency):
        analysis/explanations/features.py."""
        ...

    def write_bundles(self, manifest: dict[str, Any], analyses: Analyses, bundle: BundleWriter) -> None:
        """The modality's own data files (text: the tokens' strongest factors; image: the sprite
        sheets), their manifest entries added to ``manifest``."""
        ...


#: Every registered modality by name, in the order they are asked (the fallback, text, last).
MODALITIES: dict[str, Modality] = {}


def register(modality: Modality) -> Modality:
    """Add ``modality`` to the registry; the later a modality is registered, the later it is asked."""
    MODALITIES[modality.name] = modality
    return modality


def modality_named(name: str) -> Modality:
    """The modality called ``name`` (ModelInfo.modality, a store's or a manifest's "modality")."""
    try:
        return MODALITIES[name]
    except KeyError:
        raise ValueError(f"unknown modality {name!r} (one of {', '.join(MODALITIES)})") from None


def modality_for(hf_config: dict[str, Any]) -> Modality:
    """The modality of a model from its config.json (a dict): the first that claims it."""
    return next(m for m in MODALITIES.values() if m.claims_config(hf_config))
