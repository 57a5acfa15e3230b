"""CircuitsConfig: every knob of the circuit stages (heads x factors x outputs), with defaults
sized so that they add at most ~15 % to a default build (bench/circuits.py; numbers in
docs/factors.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ...stage_config import StageConfig

#: Version of what the circuit stages write; part of cache_key().
RESULT_VERSION = 3  # 2: random pairs keep their sentence counts; NaN written as null; 3: ablations from the clean attention


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
    splice_precision: of the splice's forward passes on a CPU: "fp32", "bf16" (autocast) or
        "auto" (bf16 where the CPU multiplies bf16 natively, else fp32), resolved when the config
        is made (capture.extract.resolved_precision). In bf16 SmolLM2's splice takes 0.64x the
        time and its loss recovered moves by at most 0.006 in any layer; MiniLM's and DINOv2's
        final cosines by 0.0005 and 0.0012 (docs/factors.md). The ablations stay fp32: their
        random-pair drops are far below bf16's rounding.
    batch_size: sequences per forward pass (of like length: fewer pad tokens; 8 ran SmolLM2's
        ablations faster than 4 or 16).
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
    splice_precision: str = "auto"
    batch_size: int = 8
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        self.require_at_least(1, ("top", "ov_sentences", "splice_sequences", "output_k", "induction_seq_len", "induction_batch", "batch_size"))
        self.require_at_least(0, ("n_null", "ov_random"))
        from ...capture.extract import resolved_precision

        object.__setattr__(self, "splice_precision", resolved_precision(self.splice_precision, "circuits splice_precision"))
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
