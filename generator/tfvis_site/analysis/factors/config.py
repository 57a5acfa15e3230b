"""FactorConfig: every parameter of the factor stages, with measured defaults (docs/factors.md)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from ...stage_config import StageConfig

#: Version of what the stage learns and writes; part of cache_key(), so a new version never
#: reuses an older cached result (nor the LIME stage, whose key holds the factors key).
#: 2: stats.npz holds each token's strongest factors and the activation samples.
#: 3: the TopK SAE's encoder gradient from the k active latents only (learn._TopKEncoder): the
#: same dictionary up to float rounding, not bit for bit.
RESULT_VERSION = 3


@dataclass(frozen=True)
class FactorConfig(StageConfig):
    """Parameters of dictionary learning + inference.

    method: "topk-sae" (default: best quality per second measured on MiniLM, docs/factors.md) or
        "fista-dl" (the paper: FISTA lasso codes + dictionary gradient steps).
    n_components: m, factors (atoms) in the one dictionary shared by all layers.
    alpha: L1 weight of the non-negative lasso in preprocessed units (every layer is scaled so
        that E||z||^2 = 1).
    sae_k, sae_n_steps, sae_lr: active latents per vector, Adam steps and step size for "topk-sae".
    sae_precision: of the SAE encoder's dense forward product in training (TopKSAE.precision):
        "fp32", "bf16" or "auto" (bf16 where the CPU multiplies bf16 natively, else fp32),
        resolved when the config is made (capture.extract.resolved_precision). Inference codes
        every state in float32 either way.
    preprocess: "center-scale" (per layer: subtract the mean, divide by the RMS norm),
        "standardize" (per layer and dimension: subtract the mean, divide by the std, then by
        sqrt(d)), or "none" (only the global RMS scale).
    n_train: vectors sampled (uniformly over layers and tokens) to fit on.
    n_steps, batch_size, lr, update: optimiser settings (update "hessian" | "sgd" for fista-dl).
    massive_ratio: a token state whose norm exceeds this times the median norm of its layer's
        states is a massive activation (Sun et al. 2024: a decoder's first token from its early
        layers on, 100-170x the median in SmolLM2): it is left out of the layer statistics, the
        training sample and the coding (no activations, not in FVU), and counted on the quality
        page. 0 keeps every state.
    token_weight_power: p >= 0; training samples are drawn with probability proportional to
        count(token_id)^-p (0 = uniform; the paper down-weights frequent tokens).
    tol / fit_tol: relative duality gap of the FISTA codes in inference / during fitting.
    working_set: initial working-set size of the FISTA solver.
    top_k: contexts kept per factor and layer; IS = mean of those top-k activations.
    level_low_max_layer: peak layer <= this (in hidden-state indices) => level "low"; None
        means n_layers // 3.
    level_spread_threshold: among later peaks, neighbour co-activity >= this => "high".
    dense_threshold: a factor active on more than this fraction of tokens is "dense".
    hist_bins, hist_min, hist_max: log-spaced histogram edges of activations (reported units).
    inference_batch: tokens coded per batch in inference (bounds memory).
    chunk_size: factors per data file in the bundle.
    seed, device.
    """

    KEY_EXTRA: ClassVar[dict[str, Any]] = {"result_version": RESULT_VERSION}

    method: str = "topk-sae"
    n_components: int = 3072
    alpha: float = 0.1
    sae_k: int = 24
    sae_n_steps: int = 3000
    sae_lr: float = 3e-3
    sae_precision: str = "auto"
    preprocess: str = "center-scale"
    n_train: int = 200_000
    n_steps: int = 400
    batch_size: int = 1024
    lr: float = 0.3
    update: str = "hessian"
    massive_ratio: float = 10.0
    token_weight_power: float = 0.0
    tol: float = 1e-2
    fit_tol: float = 3e-2
    working_set: int = 32
    top_k: int = 200
    level_low_max_layer: int | None = None
    level_spread_threshold: float = 0.15
    dense_threshold: float = 0.1
    hist_bins: int = 32
    hist_min: float = 1e-3
    hist_max: float = 1e2
    inference_batch: int = 2048
    chunk_size: int = 32
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        from ...capture.extract import resolved_precision

        object.__setattr__(self, "sae_precision", resolved_precision(self.sae_precision, "factors.sae_precision"))
        if self.method not in ("fista-dl", "topk-sae"):
            raise ValueError(f"factors.method must be 'fista-dl' or 'topk-sae', not {self.method!r}")
        if self.preprocess not in ("center-scale", "standardize", "none"):
            raise ValueError(f"factors.preprocess must be center-scale, standardize or none, not {self.preprocess!r}")
        if self.update not in ("hessian", "sgd"):
            raise ValueError(f"factors.update must be 'hessian' or 'sgd', not {self.update!r}")
        if self.massive_ratio < 0:
            raise ValueError(f"factors.massive_ratio must be >= 0 (0 keeps every state), not {self.massive_ratio}")
        if self.n_components < 1 or self.top_k < 1 or self.n_steps < 0:
            raise ValueError("factors: n_components and top_k must be >= 1, n_steps >= 0")
        if self.sae_k < 1 or self.n_train < 0 or self.sae_lr <= 0:
            raise ValueError(f"factors: sae_k must be >= 1, n_train >= 0 and sae_lr > 0, not {self.sae_k}, {self.n_train}, {self.sae_lr}")
        if self.chunk_size < 1:  # factors per data file of the bundle
            raise ValueError(f"factors: chunk_size must be >= 1, not {self.chunk_size}")
        if self.hist_bins < 1 or not 0 < self.hist_min < self.hist_max:  # log-spaced bins (inference.py)
            raise ValueError(f"factors: hist_bins must be >= 1 and 0 < hist_min < hist_max, not {self.hist_bins}, {self.hist_min}, {self.hist_max}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FactorConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown factor settings: {sorted(unknown)}")
        return cls(**d)

    @classmethod
    def for_preset(cls, preset: str, **overrides: Any) -> "FactorConfig":
        """"quick" (~5 s on a 200-sentence sample), "default" (~4 min on ~115k tokens x 7 layers,
        2 cores), "full" (no time limit: bigger dictionary, more steps)."""
        presets = {
            "quick": dict(n_components=256, sae_k=8, n_train=20_000, n_steps=60, sae_n_steps=250, batch_size=512, top_k=50),
            "default": {},
            "full": dict(n_components=6144, n_train=1_000_000, n_steps=2000, sae_n_steps=15000, tol=3e-3, fit_tol=1e-2),
        }
        if preset not in presets:
            raise ValueError(f"unknown preset {preset!r} (quick, default, full)")
        return cls(**{**presets[preset], **overrides})
