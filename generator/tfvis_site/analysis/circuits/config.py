"""CircuitsConfig: every knob of the circuit stages (heads x factors x outputs), with defaults
sized so that they add at most ~15 % to a default build (bench/circuits.py; numbers in
docs/factors.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ...stage_config import StageConfig

#: Version of what the circuit stages write; part of cache_key().
RESULT_VERSION = 2  # 2: random pairs keep their sentence counts; NaN written as null


@dataclass(frozen=True)
class CircuitsConfig(StageConfig):
    """Settings of the circuit stages.

    enabled: run them at all (``[circuits] enabled = false`` leaves them out of the site).
    top: pairs kept per head and measure (QK by weights, QK by data, OV by weights).
    n_null: shuffles of the data's factor labels for the QK agreement's null.
    ov_sentences: sentences of the attention sample on which a head is ablated (the first ones:
        the sample is already a seeded random draw); ov_random: random (read, written) pairs per
        head, the baseline of the ablation drop.
    splice_sequences: sentences of the attention sample run with each layer spliced.
    output_k: promoted and suppressed tokens kept per factor.
    induction_seq_len, induction_batch: the repeated random sequences of the induction score;
        induction_threshold: score from which a decoder's head is labelled ``induction``.
    batch_size: sequences per forward pass.
    """

    RUNTIME_ONLY: ClassVar[tuple[str, ...]] = ("batch_size", "device")
    KEY_EXTRA: ClassVar[dict[str, Any]] = {"version": RESULT_VERSION}

    enabled: bool = True
    top: int = 20
    n_null: int = 20
    ov_sentences: int = 48
    ov_random: int = 20
    splice_sequences: int = 24
    output_k: int = 10
    induction_seq_len: int = 50
    induction_batch: int = 10
    induction_threshold: float = 0.4
    batch_size: int = 16
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        self.require_at_least(1, ("top", "ov_sentences", "splice_sequences", "output_k", "induction_seq_len", "induction_batch", "batch_size"))
        self.require_at_least(0, ("n_null", "ov_random"))
        if not 0 < self.induction_threshold <= 1:
            raise ValueError(f"induction_threshold must be in (0, 1], got {self.induction_threshold}")

    @classmethod
    def for_preset(cls, preset: str, **overrides: Any) -> "CircuitsConfig":
        """"quick": small samples (tests, previews); "default"; "full": larger samples."""
        presets = {
            "quick": dict(ov_sentences=16, splice_sequences=8, n_null=10, induction_batch=4),
            "default": {},
            "full": dict(ov_sentences=128, splice_sequences=96, n_null=50),
        }
        if preset not in presets:
            raise ValueError(f"unknown preset {preset!r} (quick, default, full)")
        return cls(**{**presets[preset], **overrides})
