"""The explanations' part of a model's data (docs/data-contract.md, "Explanations"):
``factors/explanations.parquet`` and ``manifest["factors"]["explanations"]``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..quartiles import quartiles
from .config import RESULT_VERSION
from .stage import KIND, ExplanationResult

if TYPE_CHECKING:
    from ...site.bundles import BundleWriter

FILE = "factors/explanations.parquet"

METHOD = (
    "For each factor at its peak layer and at each layer where its importance score is at least layer_fraction of the peak's: "
    "activating contexts drawn uniformly from each of `bands` equal-count activation bands (quantiles) of the factor inference "
    "pass, up to per_band each, plus `top` drawn at random from its top-k contexts; as many non-activating contexts drawn "
    "(seeded) from a random pool of token rows coded again at that layer where the factor is not active (EleutherAI delphi's "
    "detection sampling). The contexts are split, seeded and within each band, into a selection half and a scoring half. On "
    "the selection half every rule of one or two conditions on the unit's features (and token sets up to max_set) is counted "
    "and the one with the best balanced accuracy less `penalty` per extra condition or set member is chosen; its score is "
    "its balanced accuracy on the scoring half, which it was not chosen on."
)

LAYOUT = (
    "factors/explanations.parquet: one row per (factor, explained layer), sorted by factor and layer: factor, layer (hidden-state "
    "index), peak (the factor's peak layer), kind ('rule'), text (the rule in words; 'no short rule explains it (best: ...)' "
    "below the threshold; 'never active' / 'too few active contexts ...' when not scored), explained (score >= threshold), "
    "score (balanced accuracy on the held-out half; null when not scored), one_token_score (the same for the best rule that "
    "reads the unit alone: its token, or a small set of tokens), fit (the chosen rule's balanced accuracy on the selection half "
    "it was chosen on), rule (JSON {\"all\": [{\"feature\", \"values\"}]}: a unit matches when each condition's feature label, "
    "computed as `features` says, is one of its values; null when not scored), one_token_text, one_token_rule, n_active "
    "(activating contexts scored), n_scored (contexts scored: activating + non-activating)"
)


def summary(result: ExplanationResult, threshold: float, good: float) -> dict[str, Any]:
    """Over the factors at their peak layers: score and one-token score quartiles, the shares at
    or above ``good`` (share_good) and ``threshold`` (share_explained), and how many were not
    scored; score_all_layers over every explained layer."""
    peak = result.table.filter(result.table.column("peak"))
    score = peak.column("score").to_numpy(zero_copy_only=False).astype(np.float64)
    own = peak.column("one_token_score").to_numpy(zero_copy_only=False).astype(np.float64)
    scored = np.isfinite(score)
    n = int(scored.sum())
    all_scores = result.table.column("score").to_numpy(zero_copy_only=False).astype(np.float64)
    return {
        "factors": peak.num_rows,
        "scored": n,
        "not_scored": peak.num_rows - n,
        "score": quartiles(score),
        "one_token_score": quartiles(own),
        "share_good": float(np.mean(score[scored] >= good)) if n else None,
        "share_explained": float(np.mean(score[scored] >= threshold)) if n else None,
        "context_adds": quartiles(score - own),
        "factor_layers": result.table.num_rows,
        "score_all_layers": quartiles(all_scores),
    }


def write_explanations_bundle(result: ExplanationResult, bundle: BundleWriter) -> dict[str, Any]:
    """Adds factors/explanations.parquet to ``bundle``; returns manifest["factors"]["explanations"]."""
    bundle.add_table(FILE, result.table)
    cfg = result.config
    return {
        "version": RESULT_VERSION,
        "file": FILE,
        "kinds": [KIND],
        "config": cfg,
        "method": METHOD,
        "score": "balanced accuracy of 'the rule holds' as a prediction of 'the factor is active' on held-out contexts: "
        "(share of activating contexts where it holds + share of non-activating ones where it does not) / 2; 0.5 is chance, "
        "1 a perfect rule",
        "thresholds": {"explained": cfg["threshold"], "good": cfg["good"]},
        "features": result.features,
        "layout": LAYOUT,
        "summary": summary(result, cfg["threshold"], cfg["good"]),
    }
