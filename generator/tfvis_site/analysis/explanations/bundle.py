"""The explanations' part of a model's data (docs/data-contract.md, "Explanations"):
``factors/explanations.parquet`` and ``manifest["factors"]["explanations"]``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..quartiles import quartiles
import pyarrow as pa

from .config import RESULT_VERSION
from .llm import KIND as LLM_KIND
from .llm import LLM_TYPES, LLMExplanations
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
    "(activating contexts scored), n_scored (contexts scored: activating + non-activating); fuzzing_score, n_fuzzed (null on rule "
    "rows). With an LLM explainer, one more row per explained factor at its peak layer: kind 'llm', text (the LLM's "
    "explanation), score (its detection score), fuzzing_score (its fuzzing score), explained (score >= threshold), n_active / "
    "n_scored (held-out contexts of the detection), n_fuzzed (held-out contexts of the fuzzing); one_token_score, fit, rule and "
    "the one-token columns null"
)

LLM_METHOD = (
    "An OpenAI-compatible chat model explains each chosen factor at its peak layer from marked excerpts of half of the rule "
    "explanations' activating contexts (strongest band first; the factor's active tokens between << and >>) and scores the "
    "explanation on the other, held-out half (EleutherAI delphi's detection and fuzzing): detection shows held-out activating "
    "excerpts drawn round-robin over the activation bands plus as many excerpts without an active token, unmarked, and asks "
    "which the explanation applies to; fuzzing shows the held-out activating excerpts, half with the active tokens marked and "
    "half with as many tokens marked at random, and asks which are marked as the explanation says. Each score is the balanced "
    "accuracy of the model's yes as a prediction of the truth; an unreadable answer counts as no for its batch."
)

PRIMARY = ("the peak layer's explanation a factor is shown and probed by: the LLM's when its detection score is higher than the "
           "rule's (or the rule was not scored), else the rule's; one_token_score is always the rule's")


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


def llm_summary(llm: LLMExplanations) -> dict[str, Any]:
    """manifest["factors"]["explanations"]["llm"]: the model, how it was asked, what it cost and
    the quartiles of its scores."""
    score = llm.table.column("score").to_numpy(zero_copy_only=False).astype(np.float64)
    fuzz = llm.table.column("fuzzing_score").to_numpy(zero_copy_only=False).astype(np.float64)
    return {"model": llm.meta["model"], "prompt_version": llm.meta["prompt_version"], "config": llm.meta["config"],
            "method": LLM_METHOD, "usage": llm.meta["usage"], "factors": llm.table.num_rows,
            "score": quartiles(score), "fuzzing_score": quartiles(fuzz)}


def merged_table(rules: pa.Table, llm: LLMExplanations | None) -> pa.Table:
    """The rule rows with the LLM-only columns (null), then the LLM rows, sorted by factor, layer
    and kind (rule first)."""
    rules = rules.append_column("fuzzing_score", pa.nulls(rules.num_rows, LLM_TYPES["fuzzing_score"]))
    rules = rules.append_column("n_fuzzed", pa.nulls(rules.num_rows, LLM_TYPES["n_fuzzed"]))
    if llm is None or not llm.table.num_rows:
        return rules
    both = pa.concat_tables([rules, llm.table.select(rules.column_names)])
    return both.sort_by([("factor", "ascending"), ("layer", "ascending"), ("kind", "descending")])


def write_explanations_bundle(result: ExplanationResult, bundle: BundleWriter, llm: LLMExplanations | None = None) -> dict[str, Any]:
    """Adds factors/explanations.parquet (the rules and the LLM's explanations, if any) to
    ``bundle``; returns manifest["factors"]["explanations"]."""
    bundle.add_table(FILE, merged_table(result.table, llm))
    cfg = result.config
    extra = {"llm": llm_summary(llm)} if llm is not None else {}
    return {
        **extra,
        "version": RESULT_VERSION,
        "file": FILE,
        "kinds": [KIND, LLM_KIND] if llm is not None else [KIND],
        "primary": PRIMARY,
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
