"""ExplanationConfig: every knob of the rule explanations (issue 25), with the choices documented
in docs/factors.md, "Explanations"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ...stage_config import StageConfig

#: Version of what the explanations stage writes; part of cache_key().
RESULT_VERSION = 1


@dataclass(frozen=True)
class ExplanationConfig(StageConfig):
    """Settings of the rule explanations.

    enabled: run the stage at all (``[explanations] enabled = false`` leaves them out of the site).
    layer_fraction: a factor is explained at its peak layer and at every layer where its
        importance score is at least this fraction of its peak score.
    bands, per_band: activating contexts drawn uniformly from each of ``bands`` equal-count
        activation bands (quantiles, as delphi's detection scorer samples them), up to
        ``per_band`` each; top: as many again drawn at random from the factor's top-k contexts.
    pool: token rows drawn at random (seeded) and coded at each layer; a factor's non-activating
        contexts are drawn from the rows of the pool where it is not active, as many as its
        activating ones.
    min_active: a factor with fewer activating contexts than this at a layer is not explained.
    max_set: the most tokens of a token-set rule ("the token "a", "b" or "c"").
    min_support: a condition (and every token of a set) must hold on at least this many
        activating contexts of the selection half: no rule is built around a single context.
    penalty: what each condition or set member beyond the first costs a rule in the selection
        half (balanced accuracy): a longer rule must fit that much better to be chosen.
    threshold: a rule scoring below it on the held-out half does not explain the factor, and
        its words say so; good: the score the manifest's summary counts factors at or above.
    """

    KEY_EXTRA: ClassVar[dict[str, Any]] = {"version": RESULT_VERSION}

    enabled: bool = True
    layer_fraction: float = 0.8
    bands: int = 10
    per_band: int = 10
    top: int = 10
    pool: int = 4096
    min_active: int = 6
    max_set: int = 3
    min_support: int = 2
    penalty: float = 0.01
    threshold: float = 0.7
    good: float = 0.8
    seed: int = 0

    def __post_init__(self) -> None:
        self.require_at_least(1, ("bands", "per_band", "pool", "max_set", "min_support"))
        self.require_at_least(0, ("top",))
        if self.min_active < 4:
            raise ValueError(f"min_active must be at least 4 (two contexts in each half), got {self.min_active}")
        if not 0 < self.layer_fraction <= 1:
            raise ValueError(f"layer_fraction must be in (0, 1], got {self.layer_fraction}")
        for name in ("threshold", "good"):
            if not 0.5 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0.5, 1], got {getattr(self, name)}")
        if not 0 <= self.penalty < 0.5:
            raise ValueError(f"penalty must be in [0, 0.5), got {self.penalty}")

    @classmethod
    def for_preset(cls, preset: str, **overrides: Any) -> "ExplanationConfig":
        """The same sampling in every preset ("full": more contexts per factor)."""
        presets = {"quick": {}, "default": {}, "full": dict(per_band=20, top=20, pool=16384)}
        if preset not in presets:
            raise ValueError(f"unknown preset {preset!r} (quick, default, full)")
        return cls(**{**presets[preset], **overrides})
