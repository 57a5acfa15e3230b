"""AttentionConfig: every knob of the attention stage, with defaults chosen by measurement
(bench/attention.py; numbers in docs/attention.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ...errors import UserError
from ...stage_config import StageConfig
from .project import PROJECTIONS
from .stats import LabelRule

#: Version of what the stage writes (result.json and the arrays); part of cache_key(), so a new
#: version never reuses an older cached result. 2: image units and labels, spearman_paper_*.
#: 3: decoders: weights above the diagonal zeroed, no "next" label, first-token sink wording.
#: 4: weights.npy stores sqrt(w) (quantise_sqrt_u16).
RESULT_VERSION = 4


@dataclass(frozen=True)
class AttentionConfig(StageConfig):
    """Settings of the attention stage.

    n_sentences: sample size (sentences); ~200 English sentences ≈ 5.9k MiniLM tokens ≈ 11.7k
        points (queries + keys) per head.
    projections: any of "pca", "umap", "tsne" ("pca" is always computed).
    dims: output dimensions, any of 2, 3.
    umap_*: UMAP on the shared exact kNN graph; 3D starts from the 2D layout ("from2d").
    tsne_*: scikit-learn Barnes-Hut t-SNE on the same (larger) exact kNN graph; opt-in (slow).
    trust_k, trust_sample: trustworthiness (scikit-learn definition) with k neighbours on a fixed
        seeded subsample of that many points per head.
    translate_keys, scale_norms: the two normalisation steps (both on: AttentionViz).
    max_pairs: query-key pairs (same sentence) sampled for the Spearman correlations and c.
    top_k_keys, min_weight: per query, the strongest keys kept as sparse rows.
    label_rule: thresholds of the automatic head labels (text and image ones, see LabelRule).
    n_jobs: worker processes for the projections (0 = one per CPU core, at most 2 by default
        machine size; 1 = in this process).
    device: where each head's exact kNN search runs ("cpu", "cuda"; the build's --device).
    """

    n_sentences: int = 200
    translate_keys: bool = True
    scale_norms: bool = True
    projections: tuple[str, ...] = ("pca", "umap")
    dims: tuple[int, ...] = (2, 3)
    seed: int = 0
    top_k_keys: int = 8
    min_weight: float = 0.005
    umap_n_neighbors: int = 15
    umap_min_dist: float = 0.1
    umap_n_epochs: int = 50
    umap_metric: str = "cosine"
    umap_init3d: str = "from2d"
    tsne_perplexity: float = 50.0
    tsne_max_iter: int = 300
    tsne_metric: str = "cosine"
    trust_k: int = 15
    trust_sample: int = 1000
    trust_metric: str = "euclidean"
    max_pairs: int = 50_000
    label_rule: LabelRule = field(default_factory=LabelRule)
    n_jobs: int = 0
    device: str = "cpu"

    # n_jobs changes how fast the stage runs, never what it writes; the result version makes a
    # new version never reuse an older cached result
    RUNTIME_ONLY: ClassVar[tuple[str, ...]] = ("n_jobs",)
    KEY_EXTRA: ClassVar[dict[str, Any]] = {"result_version": RESULT_VERSION}

    def __post_init__(self) -> None:
        projections = tuple(dict.fromkeys(("pca", *self.projections)))
        object.__setattr__(self, "projections", projections)
        object.__setattr__(self, "dims", tuple(sorted(set(int(d) for d in self.dims))))
        for p in projections:
            if p not in PROJECTIONS:
                raise UserError(f"attention projections: unknown {p!r} (choose from {', '.join(PROJECTIONS)})")
        if not self.dims or any(d not in (2, 3) for d in self.dims):
            raise UserError(f"attention dims must be 2 and/or 3, not {self.dims}")
        if self.n_sentences < 1:
            raise UserError("attention n_sentences must be at least 1")
        if not 1 <= self.top_k_keys <= 64:
            raise UserError("attention top_k_keys must be between 1 and 64")
        if self.trust_k < 1 or self.max_pairs < 1 or self.trust_sample < 0:
            raise UserError(f"attention trust_k and max_pairs must be at least 1 and trust_sample at least 0, not "
                            f"{self.trust_k}, {self.max_pairs}, {self.trust_sample}")
        for name in ("umap_metric", "tsne_metric"):
            if getattr(self, name) not in ("cosine", "euclidean"):
                raise UserError(f"attention {name} must be 'cosine' or 'euclidean'")
        if self.umap_init3d not in ("from2d", "pca"):
            raise UserError("attention umap_init3d must be 'from2d' or 'pca'")
        if isinstance(self.label_rule, dict):
            object.__setattr__(self, "label_rule", LabelRule(**self.label_rule))

    @classmethod
    def for_preset(cls, preset: str, **overrides: Any) -> "AttentionConfig":
        """"quick" (seconds: PCA only, 40 sentences), "default", "full" (t-SNE too, 300 sentences,
        more UMAP epochs)."""
        presets: dict[str, dict[str, Any]] = {
            "quick": {"n_sentences": 40, "projections": ("pca",), "trust_sample": 500, "max_pairs": 10_000},
            "default": {},
            "full": {"n_sentences": 300, "projections": ("pca", "umap", "tsne"), "umap_n_epochs": 200, "trust_sample": 2000},
        }
        if preset not in presets:
            raise UserError(f"unknown preset {preset!r} (quick, default, full)")
        return cls(**{**presets[preset], **overrides})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AttentionConfig":
        d = dict(d)
        for key in ("projections", "dims"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["projections"] = list(self.projections)
        d["dims"] = list(self.dims)
        return d

    def workers(self) -> int:
        if self.n_jobs > 0:
            return self.n_jobs
        return max(1, min(2, os.cpu_count() or 1))


def sample_sentences(n_available: int, n: int, seed: int = 0) -> np.ndarray:
    """Deterministic sample: ``n`` sorted sentence indices out of ``n_available`` (all when
    n_available <= n). Same (n_available, n, seed) -> same indices on every machine."""
    if n_available <= n:
        return np.arange(n_available, dtype=np.int64)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5A77]))
    return np.sort(rng.choice(n_available, n, replace=False)).astype(np.int64)
