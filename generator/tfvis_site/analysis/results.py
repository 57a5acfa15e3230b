"""The results of one model's analysis stages together (``Analyses``): what its data files are
written from (site/model_data.py) and what a modality's own data files read
(``Modality.write_bundles``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..capture.extract import ActivationStore
    from .attention import AttentionResult
    from .circuits.bundle import CircuitResults
    from .concepts import ConceptResult
    from .explanations import ExplanationResult, LLMExplanations
    from .factors import FactorResult
    from .live import LiveExport


@dataclass
class Analyses:
    """Everything the pages are made from."""

    store: ActivationStore  # the corpus sample: hidden states of every layer
    factors: FactorResult
    factor_maps: dict[str, np.ndarray] | None  # units on a grid: activation maps (factors/heatmaps.py)
    lime: Path  # folder with lime.parquet + lime.json
    attention_store: ActivationStore  # the attention sample: q, k and attention weights too
    attention: AttentionResult
    attention_sample: np.ndarray  # (n_attention_sentences,) sentence_id of each sample sentence in ``store``
    concepts: list[ConceptResult] = field(default_factory=list)  # per [[probes]] table
    live: LiveExport | None = None  # the live probe's export, or None
    live_unavailable: str | None = None  # why the model has no live probe (None: it has one, or --no-live-probe)
    circuits: CircuitResults | None = None  # heads x factors x outputs (None: [circuits] enabled = false)
    explanations: ExplanationResult | None = None  # a rule per factor and layer (None: [explanations] enabled = false)
    llm_explanations: LLMExplanations | None = None  # an LLM's explanation per factor (None: no --explainer)
