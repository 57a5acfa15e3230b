"""What the explanations stage does (its entry is in run/stages.py): a short rule per factor and
layer, scored by detection on held-out contexts (docs/factors.md, "Explanations").

For every factor at its peak layer and at every layer where its importance score is at least
``layer_fraction`` of the peak's: activating contexts from the factor inference pass (uniform
draws from equal-count activation bands, samples.band_samples, and a random draw from the
top-k), as many non-activating ones drawn from a seeded pool of token rows coded again at that
layer, the rule chosen on one half (rules.select) and scored on the other (scoring.py). What a
rule may test comes from the model's modality (``Modality.rule_features``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ...progress import Reporter
from ..factors.samples import band_samples
from .config import ExplanationConfig
from .features import RuleFeatures
from .scoring import Explanation, explain_contexts

if TYPE_CHECKING:
    from ...capture.extract import ActivationStore
    from ..factors.stage import FactorResult

KIND = "rule"
TYPES = {"factor": pa.int32(), "layer": pa.int8(), "peak": pa.bool_(), "kind": pa.string(), "text": pa.string(), "explained": pa.bool_(),
         "score": pa.float64(), "one_token_score": pa.float64(), "fit": pa.float64(), "rule": pa.string(),
         "one_token_text": pa.string(), "one_token_rule": pa.string(), "n_active": pa.int16(), "n_scored": pa.int16()}


class FactorActivity(Protocol):
    """Where a factor is active: what the rule search reads of the factor stage's result
    (ResultActivity), or of a planted factor in the tests."""

    def importance(self) -> np.ndarray:
        """(m, L+1) importance scores (FactorResult.is_)."""
        ...

    def peak_layers(self) -> np.ndarray:
        """(m,) each factor's peak layer."""
        ...

    def codes(self, rows: np.ndarray, layer: int) -> np.ndarray:
        """(len(rows), m) float32: every factor's activation on those token rows at ``layer``."""
        ...

    def activating(self, factor: int, layer: int, cfg: ExplanationConfig, rng: np.random.Generator, pool_rows: np.ndarray,
                   pool_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(token rows (n,), their activation bands (n,)) of activating contexts, distinct; the
        pool's rows where the factor is active (``pool_rows``, activations ``pool_values``) may
        fill up bands."""
        ...


class ResultActivity:
    """The factor stage's result on its store: activating contexts from its activation samples
    and top-k, activity of other rows from coding them again (FactorResult.encode)."""

    def __init__(self, result: FactorResult, store: ActivationStore):
        self.result, self.store = result, store

    def importance(self) -> np.ndarray:
        return self.result.is_

    def peak_layers(self) -> np.ndarray:
        return self.result.peak_layer

    def activating(self, factor: int, layer: int, cfg: ExplanationConfig, rng: np.random.Generator, pool_rows: np.ndarray,
                   pool_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per activation band: the inference pass's uniform draw (samples.band_samples, at most
        3 per histogram bin), filled up to ``per_band`` with the pool's active rows of that band
        in random order (a uniform draw of the band too); then ``top`` of the top-k contexts at
        random, as one more band."""
        res = self.result
        rows, bands = [], []
        if res.samples is not None:
            for s in band_samples(res.hist, res.hist_edges, res.samples, factor, layer, cfg.bands, cfg.per_band):
                rows.append(s["row"])
                bands.append(s["band"])
        order = rng.permutation(len(pool_rows))
        extra, extra_band = pool_rows[order], self._bands(factor, layer, pool_values[order], cfg.bands)
        keep = (extra_band >= 0) & ~np.isin(extra, np.asarray(rows, np.int64))
        extra, extra_band = extra[keep], extra_band[keep]
        by_band = np.argsort(extra_band, kind="stable")  # each band's rows in the random order
        extra, extra_band = extra[by_band], extra_band[by_band]
        rank = np.arange(len(extra)) - np.searchsorted(extra_band, extra_band)
        room = cfg.per_band - np.bincount(np.asarray(bands, np.int64), minlength=cfg.bands)[:cfg.bands]
        fill = rank < room[extra_band]
        rows.extend(extra[fill].tolist())
        bands.extend(extra_band[fill].tolist())
        top = res.topk_token[layer, factor]
        top = top[(top >= 0) & (res.topk_values[layer, factor] > 0)].astype(np.int64)
        if cfg.top and len(top):
            pick = np.sort(rng.choice(len(top), min(cfg.top, len(top)), replace=False))
            rows.extend(top[pick].tolist())
            bands.extend([cfg.bands] * len(pick))  # one more band: the strongest contexts
        first = np.sort(np.unique(np.asarray(rows, np.int64), return_index=True)[1])
        return np.asarray(rows, np.int64)[first], np.asarray(bands, np.int64)[first]

    def codes(self, rows: np.ndarray, layer: int) -> np.ndarray:
        return self.result.encode(self.store.hidden(layer)[rows], layer)

    def _bands(self, factor: int, layer: int, values: np.ndarray, n_bands: int) -> np.ndarray:
        """The activation band of each of ``values`` (> 0): its histogram bin as the inference
        pass bins it (inference.py), and the bin's band as samples.band_samples cuts them (a
        bin goes to the band its middle count falls in)."""
        cfg, counts = self.result.config, self.result.hist[factor, layer].astype(np.float64)
        total = counts.sum()
        if total <= 0 or not len(values):
            return np.full(len(values), -1, np.int64)
        log_lo, log_span = np.log(cfg.hist_min), np.log(cfg.hist_max) - np.log(cfg.hist_min)
        bins = np.clip(np.floor((np.log(values) - log_lo) / log_span * cfg.hist_bins), 0, cfg.hist_bins - 1).astype(np.int64)
        middle = np.cumsum(counts) - counts / 2
        band_of_bin = np.minimum((middle / total * n_bands).astype(np.int64), n_bands - 1)
        return band_of_bin[bins]


def explained_layers(importance: np.ndarray, peaks: np.ndarray, fraction: float) -> list[np.ndarray]:
    """Per factor: its peak layer and every layer where its importance score is at least
    ``fraction`` of the peak's (the peak alone for a factor never active)."""
    out = []
    for c, peak in enumerate(peaks):
        top = importance[c, peak]
        out.append(np.flatnonzero(importance[c] >= fraction * top) if top > 0 else np.asarray([peak]))
    return out


def _unexplained(why: str, n_active: int = 0) -> dict[str, Any]:
    return {"text": why, "explained": False, "score": None, "one_token_score": None, "fit": None, "rule": None,
            "one_token_text": None, "one_token_rule": None, "n_active": n_active, "n_scored": 0}


def _row(e: Explanation, features: RuleFeatures, cfg: ExplanationConfig) -> dict[str, Any]:
    explained = e.score >= cfg.threshold
    if e.rule is None:
        text = f"no short rule explains it (none holds on {cfg.min_support} of its activating contexts)"
    else:
        text = e.rule.words(features) if explained else f"no short rule explains it (best: {e.rule.words(features)})"
    return {"text": text, "explained": bool(explained),
            "score": e.score, "one_token_score": e.own_score, "fit": e.fit,
            "rule": e.rule.to_json(features) if e.rule is not None else None,
            "one_token_text": e.own_rule.words(features) if e.own_rule is not None else None,
            "one_token_rule": e.own_rule.to_json(features) if e.own_rule is not None else None,
            "n_active": e.n_active, "n_scored": e.n_active + e.n_inactive}


@dataclass
class Contexts:
    """One factor's contexts at one layer, drawn as the rule search and the LLM explainer read
    them: ``active`` (n,) token rows of activating contexts with their activation ``bands`` (n,)
    (``cfg.bands``: the top-k band), ``inactive`` (k,) rows where it is not active, k <= n; or
    ``why`` it has none to explain (then the arrays are empty). ``rng``: the (seed, factor,
    layer) generator the draws came from, for what the caller draws next."""

    factor: int
    layer: int
    rng: np.random.Generator
    active: np.ndarray
    bands: np.ndarray
    inactive: np.ndarray
    why: str | None = None


def factor_contexts(activity: FactorActivity, n_rows: int, cfg: ExplanationConfig, by_layer: dict[int, list[int]]) -> Iterator[Contexts]:
    """Contexts of every (factor, layer) of ``by_layer`` ({layer: factors}), layer by layer.
    Non-activating contexts come from one seeded pool of ``cfg.pool`` of the ``n_rows`` token
    rows, coded once per layer; each factor's draw from it is seeded by (seed, factor, layer)."""
    never = activity.importance().max(1) <= 0
    pool = np.sort(np.random.default_rng(cfg.seed).choice(n_rows, min(cfg.pool, n_rows), replace=False))
    empty = np.zeros(0, np.int64)
    for layer in sorted(by_layer):
        codes = activity.codes(pool, layer)
        for c in by_layer[layer]:
            rng = np.random.default_rng([cfg.seed, c, layer])
            if never[c]:
                yield Contexts(c, layer, rng, empty, empty, empty, "never active")
                continue
            on = codes[:, c] > 0
            act_rows, bands = activity.activating(c, layer, cfg, rng, pool[on], codes[on, c])
            inactive = pool[~on]
            why = None
            if len(act_rows) < cfg.min_active:
                why = f"too few active contexts to explain ({len(act_rows)})"
            elif len(inactive) < cfg.min_active:
                why = "active almost everywhere: no inactive contexts to tell it from"
            if why is not None:
                yield Contexts(c, layer, rng, act_rows, bands, empty, why)
                continue
            inactive = np.sort(rng.choice(inactive, min(len(act_rows), len(inactive)), replace=False))
            yield Contexts(c, layer, rng, act_rows, bands, inactive)


def explain_factors(activity: FactorActivity, features: RuleFeatures, n_rows: int, cfg: ExplanationConfig,
                    reporter: Reporter) -> pa.Table:
    """explanations.parquet: one row per (factor, explained layer), sorted by factor and layer
    (the contexts: factor_contexts)."""
    peaks = np.asarray(activity.peak_layers())
    per_factor = explained_layers(activity.importance(), peaks, cfg.layer_fraction)
    by_layer: dict[int, list[int]] = {}
    for c, layers in enumerate(per_factor):
        for layer in layers:
            by_layer.setdefault(int(layer), []).append(c)
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    n_pairs = sum(map(len, per_factor))
    with reporter.task(f"explanations: rules for {len(peaks):,} factors at {n_pairs:,} factor-layers", total=n_pairs) as task:
        for ctx in factor_contexts(activity, n_rows, cfg, by_layer):
            if ctx.why is not None:
                rows[ctx.factor, ctx.layer] = _unexplained(ctx.why, len(ctx.active))
            else:
                e = explain_contexts(ctx.active, ctx.bands, ctx.inactive, features, cfg.max_set, cfg.penalty, cfg.min_support, ctx.rng)
                rows[ctx.factor, ctx.layer] = _row(e, features, cfg)
            task.advance()
    columns: dict[str, list[Any]] = {name: [] for name in TYPES}
    for (c, layer) in sorted(rows):
        item = {"factor": c, "layer": layer, "peak": layer == int(peaks[c]), "kind": KIND, **rows[c, layer]}
        for name in TYPES:
            columns[name].append(item[name])
    return pa.table({name: pa.array(values, TYPES[name]) for name, values in columns.items()})


@dataclass
class ExplanationResult:
    """The stage's output: ``table`` (explanations.parquet, columns TYPES) and ``features`` (how
    each rule feature's label is computed from tokens.parquet)."""

    table: pa.Table
    features: dict[str, Any]
    config: dict[str, Any]

    def save(self, folder: Path) -> None:
        pq.write_table(self.table, folder / "explanations.parquet")
        (folder / "meta.json").write_text(json.dumps({"features": self.features, "config": self.config}, sort_keys=True))

    @classmethod
    def load(cls, folder: Path) -> ExplanationResult:
        meta = json.loads((folder / "meta.json").read_text())
        return cls(pq.read_table(folder / "explanations.parquet"), meta["features"], meta["config"])


def explain(factors: FactorResult, store: ActivationStore, features: RuleFeatures, cfg: ExplanationConfig, folder: Path,
            reporter: Reporter) -> None:
    """The stage's result (ExplanationResult) -> ``folder``: every factor of ``factors`` explained
    on the corpus sample ``store`` by rules over ``features`` (its modality's ``rule_features``)."""
    table = explain_factors(ResultActivity(factors, store), features, store.n_tokens, cfg, reporter)
    ExplanationResult(table, features.specs(), cfg.to_dict()).save(folder)


def explanations_log(result: ExplanationResult, good: float, cached: bool) -> str:
    peak = result.table.filter(result.table.column("peak"))
    scores = peak.column("score").to_numpy(zero_copy_only=False)
    scores = scores[np.isfinite(scores)]
    summary = f"median held-out score {np.median(scores):.2f}, {np.mean(scores >= good):.0%} >= {good:g}" if len(scores) else "no factor scored"
    return f"explanations: {peak.num_rows:,} factors ({result.table.num_rows:,} factor-layers); {summary}" + (" (cached)" if cached else "")

