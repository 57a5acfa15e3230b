"""Build size by model cost: the text presets are tuned on all-MiniLM-L6-v2 (6 blocks of width
384, 72 heads); a bigger text model gets a smaller sample so that its build keeps to the time
budget (MiniLM <= 10 min, SmolLM2 <= 20 min on 2 cores; docs/models.md).

Two costs scale differently:
- forward passes (extraction, LIME's perturbed copies) cost about the parameters of the blocks
  per token: measured side by side on 64 Wikipedia sentences, one thread, SmolLM2-135M took
  8-9x MiniLM's time, and its blocks hold 10x MiniLM's parameters;
- the attention stage projects every head separately: it costs about heads x points per head;
- a step of the factor stage's SAE costs 4·B·d·m FLOPs (encoder forward and its weight
  gradient): at the preset's fixed dictionary size m and batch B, it grows with the width d of
  the hidden states, whatever the corpus size, so its steps shrink with the width ratio;
- the splice (circuits) runs the model from each hidden state to the end, about (L + 1) / 2
  forward passes a sequence: forward ratio x (L + 1) / 7;
- the OV ablations (circuits) run one block per head: heads ratio x the forward ratio of one
  block (forward ratio x 6 / L).

The two stages that cost the most keep MiniLM's time: LIME's sentences shrink by the whole
forward-pass ratio and the attention sample by the whole heads ratio (LIME on SmolLM2's default
dictionary: 14.4 s a sentence, 9.6x MiniLM's, nearly all of it the copies' forward passes;
bench/lime_cost.py). The corpus (extraction is cheap next to them) and the SAE's steps shrink by
the square root of their ratio: half of the larger cost is paid back by fewer texts or steps,
half is accepted as a longer build, which keeps enough tokens and steps for the factors to mean
something. The circuit stages' samples shrink too: the splice's sequences by the square root of
its cost ratio, as the corpus (SmolLM2's splice costs 44x MiniLM's a sequence, and took 232 s of a
2,784 s build with MiniLM's 24), the OV ablations' sentences by the whole ratio, as LIME, down to
one batch (docs/factors.md, "Cost"). A model no bigger than the reference keeps the preset unchanged (never scaled up).
Options the user set are never touched (the caller passes only the ones left to the preset).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import BuildConfig, StageConfigs
    from ..modality.base import ModelSourceLike
    from ..progress import Reporter

#: Parameters in the blocks (attention + MLP, no embeddings) of all-MiniLM-L6-v2.
REFERENCE_BLOCK_PARAMS = 6 * (4 * 384 * 384 + 2 * 384 * 1536)
#: Heads of all-MiniLM-L6-v2 (6 layers x 12).
REFERENCE_HEADS = 72
#: Width of all-MiniLM-L6-v2's hidden states.
REFERENCE_WIDTH = 384
#: Blocks of all-MiniLM-L6-v2.
REFERENCE_LAYERS = 6


@dataclass(frozen=True)
class ModelCost:
    """What a transformers config says about the cost of a text model.

    block_params: parameters of its blocks (q, k, v, o projections and MLP; embeddings excluded,
    a lookup costs nothing); heads: query heads over all layers; width: d_model, the width of
    its hidden states; layers: its blocks."""

    block_params: float
    heads: int
    width: int = REFERENCE_WIDTH
    layers: int = REFERENCE_LAYERS

    @classmethod
    def from_config(cls, config: Any) -> "ModelCost":
        """``config``: a transformers PretrainedConfig (its text config is used)."""
        cfg = config.get_text_config() if hasattr(config, "get_text_config") else config
        d = int(cfg.hidden_size)
        n_layers = int(cfg.num_hidden_layers)
        n_heads = int(cfg.num_attention_heads)
        d_head = int(getattr(cfg, "head_dim", None) or d // n_heads)
        n_kv = int(getattr(cfg, "num_key_value_heads", None) or n_heads)
        d_ff = int(getattr(cfg, "intermediate_size", None) or getattr(cfg, "n_inner", None) or 4 * d)
        # Gated MLPs (Llama, Mistral, Qwen2, Gemma: gate, up, down) have three matrices, others two.
        gated = str(getattr(cfg, "hidden_act", "") or getattr(cfg, "hidden_activation", "")) in ("silu", "swiglu") or "llama" in str(cfg.model_type)
        attention = 2 * d * n_heads * d_head + 2 * d * n_kv * d_head
        mlp = (3 if gated else 2) * d * d_ff
        return cls(block_params=float(n_layers * (attention + mlp)), heads=n_layers * n_heads, width=d, layers=n_layers)

    @property
    def forward_ratio(self) -> float:
        """Forward-pass cost per token relative to MiniLM (>= 1)."""
        return max(1.0, self.block_params / REFERENCE_BLOCK_PARAMS)

    @property
    def heads_ratio(self) -> float:
        """Attention-stage cost per point relative to MiniLM (>= 1)."""
        return max(1.0, self.heads / REFERENCE_HEADS)

    @property
    def width_ratio(self) -> float:
        """SAE training cost per step relative to MiniLM (>= 1)."""
        return max(1.0, self.width / REFERENCE_WIDTH)

    @property
    def splice_ratio(self) -> float:
        """Splice cost per sequence relative to MiniLM (>= 1): a forward pass from every hidden
        state to the last, (L + 1) / 2 passes."""
        return max(1.0, self.block_params / REFERENCE_BLOCK_PARAMS * (self.layers + 1) / (REFERENCE_LAYERS + 1))

    @property
    def ablation_ratio(self) -> float:
        """OV ablation cost per sentence relative to MiniLM (>= 1): one block per head."""
        per_block = self.block_params / self.layers / (REFERENCE_BLOCK_PARAMS / REFERENCE_LAYERS)
        return max(1.0, self.heads / REFERENCE_HEADS * per_block)


def scaled_sizes(cost: ModelCost, sizes: dict[str, int]) -> dict[str, int]:
    """Sample sizes for a model of ``cost``, from the preset's ``sizes`` (those the user left to
    the preset). Keys: ``n_sentences`` (corpus texts; 0 = all stays all), ``lime_max_sentences``
    (texts LIME perturbs), ``attention_n_sentences`` (texts of the attention sample),
    ``sae_n_steps`` (the factor stage's SAE steps), ``splice_sequences`` and ``ov_sentences``
    (the circuit stages' samples). Each shrinks by its cost ratio (LIME, attention, OV) or its
    square root (corpus, SAE steps, splice), never below a floor that keeps the stage
    meaningful."""
    scale = {
        "n_sentences": (1 / math.sqrt(cost.forward_ratio), 50),
        "lime_max_sentences": (1 / cost.forward_ratio, 4),
        # the attention sample is also run through the model, but its projections dominate
        "attention_n_sentences": (1 / cost.heads_ratio, 12),
        "sae_n_steps": (1 / math.sqrt(cost.width_ratio), 200),
        "splice_sequences": (1 / math.sqrt(cost.splice_ratio), 8),
        # floor 16: the fewest sentences on which the ablation drops were measured (docs/factors.md)
        "ov_sentences": (1 / cost.ablation_ratio, 16),
    }
    out = {}
    for key, value in sizes.items():
        factor, floor = scale[key]
        out[key] = value if value == 0 or factor == 1 else max(min(floor, value), round(value * factor))
    return out


def fit_to_budget(config: BuildConfig, model: ModelSourceLike, configs: StageConfigs, reporter: Reporter) -> tuple[BuildConfig, StageConfigs]:
    """The text presets are sized for MiniLM: shrink the samples and SAE steps a bigger model
    would spend too long on (``scaled_sizes``); options set in the config file or on the command
    line stay as given. Returns the build config (its ``n_sentences``) and the stage configs."""
    cost = ModelCost.from_config(model.hf_config())
    left = {}
    if "n_sentences" not in config.user_set:
        left["n_sentences"] = config.n_sentences
    if "max_sentences" not in config.lime:
        left["lime_max_sentences"] = configs.lime.max_sentences
    if "n_sentences" not in config.attention:
        left["attention_n_sentences"] = configs.attention.n_sentences
    if "sae_n_steps" not in config.factors and configs.factors.method == "topk-sae":
        left["sae_n_steps"] = configs.factors.sae_n_steps
    for key in ("splice_sequences", "ov_sentences"):
        if key not in config.circuits:
            left[key] = getattr(configs.circuits, key)
    sizes = scaled_sizes(cost, left)
    if sizes == left:
        return config, configs
    reporter.log(
        f"budget: {model.name} costs {cost.forward_ratio:.1f}x MiniLM per token, is {cost.width_ratio:.1f}x as wide and has {cost.heads} heads: "
        + ", ".join(f"{k.replace('_', ' ')} {left[k]:,} -> {v:,}" for k, v in sizes.items() if v != left[k])
        + " (set them in the config or on the command line to keep them)"
    )
    return dataclasses.replace(config, n_sentences=sizes.get("n_sentences", config.n_sentences)), dataclasses.replace(
        configs,
        factors=configs.factors.replace(sae_n_steps=sizes.get("sae_n_steps", configs.factors.sae_n_steps)),
        lime=configs.lime.replace(max_sentences=sizes.get("lime_max_sentences", configs.lime.max_sentences)),
        attention=configs.attention.replace(n_sentences=sizes.get("attention_n_sentences", configs.attention.n_sentences)),
        circuits=configs.circuits.replace(**{k: sizes[k] for k in ("splice_sequences", "ov_sentences") if k in sizes}),
    )
