"""The circuit stages' part of a model's data (docs/data-contract.md, "Circuits"):

* ``circuits/heads.parquet``, ``circuits/qk.parquet``, ``circuits/ov.parquet``: stage.HeadCircuits'
  tables as they are, and ``manifest["circuits"]`` (their layout, the config and a summary);
* ``circuits/output_tokens.parquet`` and ``manifest["factors"]["output_tokens"]``;
* ``manifest["factors"]["quality"]["spliced"]``: one entry per hidden state;
* a decoder's induction scores in ``manifest["attention"]["heads"]`` (``induction_score``) and
  the label ``induction`` for the heads at or above the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..quartiles import quartiles

from .config import RESULT_VERSION, CircuitsConfig
from .stage import FactorOutputs, HeadCircuits

if TYPE_CHECKING:
    from ...site.bundles import BundleWriter

PREFIX = "circuits/"
INDUCTION_LABEL = "induction (the token after an earlier copy of this one)"
INDUCTION_STAT = "mean attention from a repeated token to the token after its first copy (random tokens repeated twice)"

LAYOUT = {
    "heads": "circuits/heads.parquet: one row per head (layer, head, qk_agreement: Spearman of weight scores and data shares "
    "over the union of both top lists; qk_agreement_null_median / _low / _high: the same with the data's factor labels "
    "shuffled, median and 5th / 95th percentiles; ov_top_pairs_drop, ov_random_pairs_drop: mean ablation drop of the top and "
    "of random (read, written) pairs)",
    "qk": "circuits/qk.parquet: per head the top pairs ranked_by 'weights' (s_ij) and by 'data' (D_ij): layer, head, ranked_by, "
    "rank, query_factor, key_factor (factors of hidden state `layer`), weight_score, data_share",
    "ov": "circuits/ov.parquet: per head the top pairs by virtual weight (kind 'top') and random pairs (kind 'random'): "
    "layer, head, kind, rank, read_factor (hidden state `layer`), write_factor (hidden state `layer` + 1), weight, "
    "ablation_drop (null: the read factor is active in no ablated sentence), n_sentences",
    "output_tokens": "circuits/output_tokens.parquet: per factor at its peak layer, side 'promoted' / 'suppressed', rank, "
    "token_id, token, value (logit per unit of activation; kind 'embedding': cosine with the input embedding)",
}

FORMULAS = {
    "weight_score": "s_ij = (W_Q^h n(φ_i) + b_Q^h) · (W_K^h n(φ_j) + b_K^h) / √d_head, φ scaled to the residual stream, "
    "n what the layer applies before attention (a pre-norm's gain and centring; nothing for a post-norm encoder)",
    "data_share": "D_ij = Σ A_h[t,s] a_i(t) a_j(s) / Σ A_h[t,s] ‖a(t)‖₁ ‖a(s)‖₁ over the attention sample",
    "ov_weight": "w_ji = φ_i · W_O^h W_V^h n(φ_j), in the written layer's standardised units (the direct path)",
    "ablation_drop": "mean over the tokens of the sentences where the read factor is active of the written factor's "
    "activation at the next hidden state, clean minus with the head zero-ablated",
}


@dataclass
class CircuitResults:
    """What the circuit stages made for one model (None: left out)."""

    config: CircuitsConfig
    heads: HeadCircuits | None = None
    outputs: FactorOutputs | None = None
    splice: list[dict[str, Any]] | None = None
    induction: np.ndarray | None = None  # (n_layers, n_heads), decoders only
    unavailable: str | None = None  # why the model's circuits were left out (an architecture they cannot read)


def _column(table: Any, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)


def head_summary(heads: HeadCircuits) -> dict[str, Any]:
    """Distributions over heads: the QK agreement and its shuffled null, the OV drops of top and
    random pairs and their ratio (top / random, heads whose random drop is positive)."""
    t = heads.heads
    top, rand = _column(t, "ov_top_pairs_drop"), _column(t, "ov_random_pairs_drop")
    ratio = np.where(rand > 0, top / np.where(rand > 0, rand, 1), np.nan)
    return {
        "heads": t.num_rows,
        "qk_agreement": quartiles(_column(t, "qk_agreement")),
        "qk_agreement_null": quartiles(_column(t, "qk_agreement_null_median")),
        "qk_above_null": int((_column(t, "qk_agreement") > _column(t, "qk_agreement_null_high")).sum()),
        "ov_top_pairs_drop": quartiles(top),
        "ov_random_pairs_drop": quartiles(rand),
        "ov_drop_ratio": quartiles(ratio),
        "ov_top_at_least_twice_random": int((top >= 2 * rand).sum()),
    }


def write_circuits_bundle(results: CircuitResults, manifest: dict[str, Any], bundle: BundleWriter) -> None:
    """Add the circuit files to ``bundle`` and their sections to ``manifest`` (in place)."""
    if results.unavailable:
        manifest["circuits_unavailable"] = results.unavailable
        manifest["factors"]["output_tokens"] = {"kind": None, "reason": results.unavailable, "k": results.config.output_k}
        return
    if results.heads is not None:
        for name in HeadCircuits.FILES:
            bundle.add_table(f"{PREFIX}{name}.parquet", getattr(results.heads, name))
        config = {k: v for k, v in results.config.to_dict().items() if k not in results.config.RUNTIME_ONLY}
        manifest["circuits"] = {
            "version": RESULT_VERSION, "config": config, "family": results.heads.family,
            # RoPE rotates q and k by position after the projections: s_ij is the content term (relative distance 0)
            "rope": results.heads.rope,
            "files": {name: f"{PREFIX}{name}.parquet" for name in HeadCircuits.FILES},
            "summary": head_summary(results.heads), "layout": LAYOUT, "formulas": FORMULAS,
        }
    if results.outputs is not None:
        out = results.outputs
        section = {"kind": out.kind, "reason": out.reason, "k": results.config.output_k}
        if out.kind is not None:
            bundle.add_table(f"{PREFIX}output_tokens.parquet", out.table)
            section["file"] = f"{PREFIX}output_tokens.parquet"
        manifest["factors"]["output_tokens"] = section
    if results.splice is not None:
        key = {"loss": "recovered", "cosine": "final_cosine"}
        manifest["factors"]["quality"]["spliced"] = [{"layer": s["layer"], key[s["mode"]]: s[key[s["mode"]]],
                                                       "n_states": s["n_states"], "n_unspliced": s["n_unspliced"]} for s in results.splice]
    if results.induction is not None:
        label_induction_heads(manifest["attention"], results.induction, results.config.induction_threshold)


def label_induction_heads(attention: dict[str, Any], scores: np.ndarray, threshold: float) -> None:
    """Every head of a decoder gains ``induction_score``; those at or above ``threshold`` are
    labelled ``induction`` (their pattern label stays in ``pattern_label``)."""
    n_heads = attention["model"]["n_heads"]
    attention["labels"] = {**attention["labels"], "induction": INDUCTION_LABEL}
    attention["induction"] = {"threshold": threshold, "statistic": INDUCTION_STAT}
    for head in attention["heads"]:
        score = float(scores[head["layer"], head["index"] % n_heads])
        head["induction_score"] = score
        if score >= threshold:
            head["pattern_label"] = head["label"]
            head["label"], head["label_text"] = "induction", INDUCTION_LABEL
            head["label_stat"] = {"name": INDUCTION_STAT, "value": score, "threshold": threshold}
    labels = [h["label"] for h in attention["heads"]]
    counts = attention["summary"].get("label_counts")
    if counts is not None:
        attention["summary"]["label_counts"] = {lab: labels.count(lab) for lab in attention["labels"] if lab in labels}
