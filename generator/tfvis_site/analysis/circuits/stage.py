"""What the circuit stages of a build do (their entries are in run/stages.py): heads x factors x outputs.

induction      (decoders) every head's induction score            -> induction.npy (L, H)
circuits       per head: top QK pairs by weights and by data, their agreement and its null;
               top OV pairs by virtual weight with their ablation drops, and random pairs
                                                                   -> heads / qk / ov .parquet
output-tokens  per factor at its peak layer: promoted / suppressed tokens through the
               unembedding, or the nearest input embeddings        -> output_tokens.parquet
splice         per hidden state: next-token loss recovered (decoder) or the final cosine
               (encoder, ViT) with that layer's states reconstructed -> splice.json

All of them run in this process on the attention sample (its hidden states, attention weights
and the model inputs of its sentences), whatever the executor: they are small next to
extraction and LIME.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .common import sample_codes
from .induction import loaded_induction_scores
from .output import output_kind, output_tokens
from .ov import CleanRuns, ov_in_factors
from .qk import qk_in_factors
from .splice import splice_quality
from .weights import ModelWeights, family_of, model_weights

if TYPE_CHECKING:
    from ...capture.extract import ActivationStore, Units
    from ...model.load import LoadedModel
    from ...progress import Reporter
    from ..factors.stage import FactorResult
    from .config import CircuitsConfig


def _weights(loaded: LoadedModel) -> ModelWeights:
    """The model's ModelWeights: read once per stage."""
    return model_weights(loaded.model, loaded.info.path)


# ----------------------------------------------------------------------------- induction


def induction(loaded: LoadedModel, cfg: CircuitsConfig, folder: Path) -> None:
    """Every head's induction score -> ``folder``/induction.npy (L, H)."""
    scores = loaded_induction_scores(loaded, cfg.induction_seq_len, cfg.induction_batch, cfg.seed)
    np.save(folder / "induction.npy", np.asarray(scores, np.float32))


def load_induction(folder: Path) -> np.ndarray:
    return np.load(folder / "induction.npy")


def induction_log(scores: np.ndarray, threshold: float, cached: bool) -> str:
    return f"induction: {int((scores >= threshold).sum())} heads score >= {threshold}" + (" (cached)" if cached else "")


# ----------------------------------------------------------------------------- heads in factors


@dataclass
class HeadCircuits:
    """What every head reads and writes in factors.

    heads: one row per head (layer, head, qk_agreement, qk_agreement_null_median / _low / _high
        (the 5th and 95th percentiles of the shuffled null), ov_top_pairs_drop,
        ov_random_pairs_drop);
    qk: layer, head, ranked_by ("weights" | "data"), rank, query_factor, key_factor,
        weight_score, data_share;
    ov: layer, head, kind ("top" | "random"), rank, read_factor, write_factor, weight,
        ablation_drop (NaN: the read factor is active in no ablated sentence), n_sentences.
    Factors of QK and OV reads are at hidden state ``layer``, OV writes at ``layer + 1``."""

    heads: pa.Table
    qk: pa.Table
    ov: pa.Table
    family: str
    rope: bool

    FILES = ("heads", "qk", "ov")

    def save(self, folder: Path) -> None:
        for name in self.FILES:
            pq.write_table(getattr(self, name), folder / f"{name}.parquet")
        (folder / "meta.json").write_text(json.dumps({"family": self.family, "rope": self.rope}))

    @classmethod
    def load(cls, folder: Path) -> HeadCircuits:
        meta = json.loads((folder / "meta.json").read_text())
        return cls(*(pq.read_table(folder / f"{name}.parquet") for name in cls.FILES), meta["family"], meta["rope"])


def _rows(columns: dict[str, list[Any]], **row: Any) -> None:
    for name, value in row.items():
        columns.setdefault(name, []).append(value)


def _pair_rows(columns: dict[str, list[Any]], layer: int, head: int, label_key: str, label: str, pairs: np.ndarray,
               names: tuple[str, str], values: dict[str, np.ndarray]) -> None:
    for rank, (a, b) in enumerate(np.asarray(pairs, np.int64).reshape(-1, 2)):
        _rows(columns, layer=layer, head=head, **{label_key: label}, rank=rank, **{names[0]: int(a), names[1]: int(b)},
              **{k: float(v[rank]) for k, v in values.items()})


def _table(columns: dict[str, list[Any]], types: dict[str, pa.DataType]) -> pa.Table:
    """NaN (undefined: an agreement without variance, a drop without sentences) is written as null."""
    return pa.table({name: pa.array(columns.get(name, []), t, from_pandas=True) for name, t in types.items()})


HEAD_TYPES = {"layer": pa.int16(), "head": pa.int16(), "qk_agreement": pa.float32(), "qk_agreement_null_median": pa.float32(),
              "qk_agreement_null_low": pa.float32(), "qk_agreement_null_high": pa.float32(),
              "ov_top_pairs_drop": pa.float32(), "ov_random_pairs_drop": pa.float32()}
QK_TYPES = {"layer": pa.int16(), "head": pa.int16(), "ranked_by": pa.string(), "rank": pa.int16(), "query_factor": pa.int32(),
            "key_factor": pa.int32(), "weight_score": pa.float32(), "data_share": pa.float32()}
OV_TYPES = {"layer": pa.int16(), "head": pa.int16(), "kind": pa.string(), "rank": pa.int16(), "read_factor": pa.int32(),
            "write_factor": pa.int32(), "weight": pa.float32(), "ablation_drop": pa.float32(), "n_sentences": pa.int32()}


def _null_summary(null: np.ndarray) -> tuple[float, float, float]:
    null = np.asarray(null, np.float64)
    null = null[np.isfinite(null)]
    if not len(null):
        return float("nan"), float("nan"), float("nan")
    low, median, high = np.percentile(null, [5, 50, 95])
    return float(median), float(low), float(high)


def head_circuits(loaded: LoadedModel, units: Units, store: ActivationStore, result: FactorResult, cfg: CircuitsConfig, folder: Path,
                  reporter: Reporter) -> None:
    """What every head reads and writes in factors (HeadCircuits) -> ``folder``, on the attention
    sample ``store`` whose model inputs are ``units``."""
    weights = _weights(loaded)
    family = family_of(loaded.model)
    ov_sentences = np.arange(min(cfg.ov_sentences, store.n_sentences))
    clean = CleanRuns(loaded.model, family, units, ov_sentences, cfg.batch_size, loaded.device)
    heads: dict[str, list[Any]] = {}
    qk: dict[str, list[Any]] = {}
    ov: dict[str, list[Any]] = {}
    with reporter.task(f"circuits: QK and OV of {len(weights.layers) * weights.layers[0].n_heads} heads in factors",
                           total=len(weights.layers)) as task:
        for lw in weights.layers:
            layer = lw.layer
            codes = sample_codes(store, result, layer)
            ov_codes = sample_codes(store, result, layer, ov_sentences)
            qks = qk_in_factors(lw, store, result, cfg.top, codes=codes, n_null=cfg.n_null, seed=cfg.seed)
            ovs = ov_in_factors(loaded.model, family, lw, units, store, result, cfg.top, cfg.ov_random, cfg.seed,
                                sentences=ov_sentences, codes=ov_codes, max_sentences=None, batch_size=cfg.batch_size,
                                device=loaded.device, clean=clean)
            for q, o in zip(qks, ovs):
                h = q.head
                median, low, high = _null_summary(q.agreement_null)
                _rows(heads, layer=layer, head=h, qk_agreement=q.agreement, qk_agreement_null_median=median, qk_agreement_null_low=low,
                      qk_agreement_null_high=high, ov_top_pairs_drop=o.top_pairs_drop, ov_random_pairs_drop=o.random_pairs_drop)
                names = ("query_factor", "key_factor")
                _pair_rows(qk, layer, h, "ranked_by", "weights", q.weight_pairs, names,
                           {"weight_score": q.weight_scores, "data_share": q.data_shares_of_weight_pairs})
                _pair_rows(qk, layer, h, "ranked_by", "data", q.data_pairs, names,
                           {"weight_score": q.weight_scores_of_data_pairs, "data_share": q.data_shares})
                names = ("read_factor", "write_factor")
                _pair_rows(ov, layer, h, "kind", "top", o.pairs, names,
                           {"weight": o.weights, "ablation_drop": o.drops, "n_sentences": o.n_sentences})
                _pair_rows(ov, layer, h, "kind", "random", o.random_pairs, names,
                           {"weight": o.random_weights, "ablation_drop": o.random_drops,
                            "n_sentences": o.random_n_sentences})
            task.advance()
    ov["n_sentences"] = [int(n) for n in ov.get("n_sentences", [])]
    HeadCircuits(_table(heads, HEAD_TYPES), _table(qk, QK_TYPES), _table(ov, OV_TYPES), weights.family, weights.rope).save(folder)


def circuits_log(result: HeadCircuits, cached: bool) -> str:
    heads = {name: result.heads.column(name).to_numpy(zero_copy_only=False) for name in HEAD_TYPES}
    ratio = heads["ov_top_pairs_drop"] / np.maximum(np.abs(heads["ov_random_pairs_drop"]), 1e-12)
    return (f"circuits: {result.heads.num_rows} heads; median QK agreement {_nanmedian(heads['qk_agreement']):.2f} "
            f"(shuffled {_nanmedian(heads['qk_agreement_null_median']):.2f}); median OV ablation drop top/random pairs "
            f"{_nanmedian(ratio):.1f}x" + (" (cached)" if cached else ""))


def _nanmedian(x: np.ndarray) -> float:
    x = np.asarray(x, np.float64)
    return float(np.median(x[np.isfinite(x)])) if np.isfinite(x).any() else float("nan")


# ----------------------------------------------------------------------------- output side of factors


@dataclass
class FactorOutputs:
    """Each factor's output side at its peak layer: ``kind`` "unembedding" | "embedding" | None
    (``reason`` says why); ``table``: factor, layer, side ("promoted" | "suppressed"), rank,
    token_id, token, value (logit per unit of activation, or cosine)."""

    kind: str | None
    reason: str | None
    table: pa.Table

    def save(self, folder: Path) -> None:
        (folder / "output.json").write_text(json.dumps({"kind": self.kind, "reason": self.reason}))
        pq.write_table(self.table, folder / "output_tokens.parquet")

    @classmethod
    def load(cls, folder: Path) -> FactorOutputs:
        meta = json.loads((folder / "output.json").read_text())
        return cls(meta["kind"], meta["reason"], pq.read_table(folder / "output_tokens.parquet"))


OUTPUT_TYPES = {"factor": pa.int32(), "layer": pa.int16(), "side": pa.string(), "rank": pa.int16(), "token_id": pa.int32(),
                "token": pa.string(), "value": pa.float32()}


def factor_outputs(loaded: LoadedModel, result: FactorResult, cfg: CircuitsConfig, folder: Path) -> None:
    """Each factor's output side (FactorOutputs) -> ``folder``."""
    weights = _weights(loaded)
    kind, reason = output_kind(weights)
    columns: dict[str, list[Any]] = {}
    if kind is not None:
        for out in output_tokens(weights, result, k=cfg.output_k, tokenizer=loaded.tokenizer):
            for side, ranked in (("promoted", out.promoted), ("suppressed", out.suppressed)):
                for rank, (token_id, value) in enumerate(ranked):
                    _rows(columns, factor=out.factor, layer=out.layer, side=side, rank=rank, token_id=token_id,
                          token=out.tokens.get(token_id, ""), value=value)
    FactorOutputs(kind, reason, _table(columns, OUTPUT_TYPES)).save(folder)


# ----------------------------------------------------------------------------- the dictionary spliced in


def splice(loaded: LoadedModel, units: Units, store: ActivationStore, result: FactorResult, cfg: CircuitsConfig, folder: Path,
           reporter: Reporter) -> None:
    """The dictionary spliced in for each hidden state (SpliceLayer's) -> ``folder``/splice.json,
    on the attention sample ``store`` whose model inputs are ``units``."""
    weights = _weights(loaded)
    sequences = np.arange(min(cfg.splice_sequences, store.n_sentences))
    with reporter.task(f"splice: the dictionary in place of each of {weights.n_layers + 1} hidden states", total=None):
        layers = splice_quality(loaded.model, family_of(loaded.model), weights, units, sequences,
                                store.info.is_causal, result, batch_size=cfg.batch_size, device=loaded.device,
                                precision=cfg.splice_precision)
    (folder / "splice.json").write_text(json.dumps([vars(s) for s in layers]))


def load_splice(folder: Path) -> list[dict[str, Any]]:
    """The splice stage's per-layer records (SpliceLayer's fields)."""
    return json.loads((folder / "splice.json").read_text())


def splice_log(layers: list[dict[str, Any]], cached: bool) -> str:
    return "splice: " + ", ".join(
        f"{s['layer']}: {s['recovered'] if s['mode'] == 'loss' else s['final_cosine']:.2f}" for s in layers) + (" (cached)" if cached else "")
