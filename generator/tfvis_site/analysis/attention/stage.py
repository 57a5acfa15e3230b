"""The attention stage: normalise every head's queries and keys, project them, measure, label,
and collect the attention data for the views. Results go into one folder (the stage cache entry)
and are read back with ``AttentionResult.load`` (result.py).

Stage folder layout (``G = n_layers * n_heads`` heads, head ``g = layer * n_heads + h``;
``N = n_tokens`` of the sample, ``P = 2N`` points per head: queries 0..N-1, keys N..2N-1):
  result.json            config, model info, modality ("text" / "image"), labels (label ->
                         text for this modality), statistics (what each correlation is), summary
                         ({mean, min, max} per statistic; label counts), per-head metrics and
                         labels (see below), timings
  tokens.parquet         one row per sample token / image unit (see ``token_table``)
  sentences.parquet      one row per sample sentence
  coords_<proj><d>.npy   (G, P, d) float32, each head scaled into [-1, 1]
  norms.npy              (G, P) float32 ‖q‖, ‖k‖ before normalisation
  shift.npy, c.npy       (G, d_head) key translation, (G,) scale factor
  aggregate.npy          (G, M, M) float32 mean attention query position -> key position
  aggregate_count.npy    (M, M) float32 number of sentences holding both positions
  weights.npy            (G, sum L_s^2) uint16 full attention blocks, round(sqrt(w) * 65535)
                         (stats.quantise_sqrt_u16: fine steps near 0, so rows renormalise)
  topk_key.npy           (G, N, K) uint8 key position in the sentence (255 = none); uint16
                         (65535 = none) when a sentence / image has more than 255 units
  topk_weight.npy        (G, N, K) float32

Per head (result.json "heads"): index, layer, head, kv_head, label, label_text, label_stat
({name, value, threshold[, feature: "hue" | "brightness" for "colour"]}), spearman_before /
spearman_after (pooled pairs, Euclidean distance: ``normalise.spearman_dot_distance``),
spearman_paper_before / spearman_paper_after (the AttentionViz per-query statistic, cosine
distance: ``normalise.spearman_paper``), c, shift_norm, q/k norm means, norm_gap, entropy,
entropy_norm, mass (text: prev, next, self, sink, local; images: self, local2d, sink), images
only: similarity ({hue, brightness, position}: mean per-query Spearman of attention with
similarity to the query patch), then the projection metrics.
"""

from __future__ import annotations

import json
import time
import unicodedata
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ...executor import LocalExecutor
from ...progress import Reporter
from .config import RESULT_VERSION, AttentionConfig, sample_sentences
from .normalise import STATISTIC_TEXT, PairSample, normalise_head, sentence_pairs, spearman_dot_distance, spearman_paper
from .project import HeadProjection, _worker_init, _worker_run
from .result import AttentionResult, finite
from .stats import HeadStatistics, LayerAccumulator, topk_key_dtype

if TYPE_CHECKING:
    from ...executor import Executor
    from ...capture.extract import ActivationStore
    from ...model.load import ModelInfo


def _is_punct(text: str) -> bool:
    text = text.strip()
    return bool(text) and all(unicodedata.category(ch).startswith("P") or unicodedata.category(ch).startswith("S") for ch in text)


#: Columns every store's tokens table has; an image store's other columns (capture/patches.py: row, col,
#: pixel box, colour statistics, mean colour) are carried into the sample's tokens table.
BASE_TOKEN_COLUMNS = ("sentence_id", "position", "token_id", "piece", "text", "space_before", "is_special")


def token_table(store: ActivationStore, sentence_ids: np.ndarray) -> tuple[pa.Table, pa.Table, np.ndarray]:
    """Token and sentence tables of the sample, and the store token index of every sample token.

    tokens: token, sentence, source_sentence, position, length, position_norm (position / (length
    - 1)), token_id, piece, text, space_before, is_special, is_punct, frequency (count of the
    token id in the sample).
    Image stores: a unit is a prefix token ([CLS], [DIST], [REGk]) or a
    patch; is_punct is False, and after the columns above come the store's unit columns in its
    order (capture/patches.py): row, col (-1 for prefix tokens), x0, y0, x1, y1, hue, saturation,
    brightness, [contrast,] colour_r, colour_g, colour_b; ``frequency`` is then the patch's
    spatial frequency (cycles per patch, float32, capture/patches.py) instead of a count (every patch
    place occurs once per image, so the count would say nothing).
    sentences: sentence, source_sentence, text, n_tokens, token_offset, pair_offset (offset of the
    sentence's L×L block in the per-head weight arrays).
    """
    offs = store.sentence_offsets
    lengths = (offs[sentence_ids + 1] - offs[sentence_ids]).astype(np.int64)
    index = np.concatenate([np.arange(offs[s], offs[s + 1]) for s in sentence_ids]) if len(sentence_ids) else np.zeros(0, np.int64)
    src = store.tokens.take(pa.array(index, pa.int64()))
    token_ids = src.column("token_id").to_numpy()
    _, inverse, counts = np.unique(token_ids, return_inverse=True, return_counts=True)
    sent_local = np.repeat(np.arange(len(sentence_ids)), lengths)
    length_per_token = np.repeat(lengths, lengths)
    position = src.column("position").to_numpy().astype(np.int64)
    texts = src.column("text").to_pylist()
    # an image's unit names ("patch 3,4", "[CLS]") are never punctuation
    is_punct = np.array([_is_punct(t) for t in texts], bool)
    columns = {
        "token": pa.array(np.arange(len(index), dtype=np.int32)),
        "sentence": pa.array(sent_local.astype(np.int32)),
        "source_sentence": pa.array(np.repeat(sentence_ids, lengths).astype(np.int32)),
        "position": pa.array(position.astype(np.int32)),
        "length": pa.array(length_per_token.astype(np.int32)),
        "position_norm": pa.array((position / np.maximum(length_per_token - 1, 1)).astype(np.float32)),
        "token_id": pa.array(token_ids.astype(np.int32)),
        "piece": src.column("piece"),
        "text": src.column("text"),
        "space_before": src.column("space_before"),
        "is_special": src.column("is_special"),
        "is_punct": pa.array(is_punct, pa.bool_()),
        "frequency": pa.array(counts[inverse].astype(np.int32)),
    }
    for name in src.column_names:  # a store's own unit columns (an image store's patch columns)
        if name not in BASE_TOKEN_COLUMNS:
            columns[name] = src.column(name).combine_chunks()
    tokens = pa.table(columns)
    sent_src = store.sentences.take(pa.array(sentence_ids, pa.int64()))
    token_offset = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int32) if len(lengths) else np.zeros(0, np.int32)
    pair_offset = np.concatenate([[0], np.cumsum(lengths**2)[:-1]]).astype(np.int64) if len(lengths) else np.zeros(0, np.int64)
    sentences = pa.table(
        {
            "sentence": pa.array(np.arange(len(sentence_ids), dtype=np.int32)),
            "source_sentence": pa.array(sentence_ids.astype(np.int32)),
            "text": sent_src.column("text"),
            "n_tokens": pa.array(lengths.astype(np.int32)),
            "token_offset": pa.array(token_offset),
            "pair_offset": pa.array(pair_offset.astype(np.int32)),
        }
    )
    return tokens, sentences, index


def _summary(values: list[float]) -> dict[str, float]:
    v = np.array([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if len(v) == 0:
        return {"mean": float("nan"), "min": float("nan"), "max": float("nan")}
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max())}


@dataclass
class _Sample:
    """The attention sample: its sentences (``sent_ids`` (S,) store sentence ids), the store rows
    of its N tokens (``index`` (N,)), each sentence's token and pair offsets ((S + 1,)), the
    token ids and special flags (N,), and what the head statistics need of each sentence."""

    sent_ids: np.ndarray
    index: np.ndarray
    local_offs: np.ndarray
    pair_offs: np.ndarray
    max_len: int
    token_ids: np.ndarray
    special: np.ndarray
    units: list[Any]

    @property
    def n_tokens(self) -> int:
        return len(self.index)


def _sample(store: ActivationStore, cfg: AttentionConfig, statistics: HeadStatistics, out_dir: Path) -> _Sample:
    """Draw the sample and write its tokens.parquet and sentences.parquet into ``out_dir``."""
    sent_ids = sample_sentences(store.n_sentences, cfg.n_sentences, cfg.seed)
    tokens, sentences, index = token_table(store, sent_ids)
    pq.write_table(tokens, out_dir / "tokens.parquet")
    pq.write_table(sentences, out_dir / "sentences.parquet")
    lengths = sentences.column("n_tokens").to_numpy().astype(np.int64)
    local_offs = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return _Sample(
        sent_ids=sent_ids, index=index, local_offs=local_offs, pair_offs=np.concatenate([[0], np.cumsum(lengths**2)]).astype(np.int64),
        max_len=int(lengths.max()) if len(lengths) else 0, token_ids=tokens.column("token_id").to_numpy(),
        special=tokens.column("is_special").to_numpy(zero_copy_only=False), units=statistics.sequence_units(tokens, local_offs),
    )


def _projection_task(cfg: AttentionConfig, pairs: PairSample, n_tokens: int) -> dict[str, Any]:
    """What every head's projection task needs (sent to the workers once): the settings, the
    seeded trustworthiness sample of the 2N points and the query-key pairs of the projected
    Spearman correlation."""
    rng = np.random.default_rng(cfg.seed)
    n_proj_pairs = min(len(pairs.query), 50_000)
    proj_pairs = np.sort(rng.choice(len(pairs.query), n_proj_pairs, replace=False)) if n_proj_pairs else np.zeros(0, np.int64)
    trust_sample = np.sort(rng.choice(2 * n_tokens, min(cfg.trust_sample, 2 * n_tokens), replace=False))
    return {
        "projections": list(cfg.projections),
        "dims": list(cfg.dims),
        "seed": cfg.seed,
        "umap": {"n_neighbors": cfg.umap_n_neighbors, "min_dist": cfg.umap_min_dist, "n_epochs": cfg.umap_n_epochs, "metric": cfg.umap_metric, "init3d": cfg.umap_init3d},
        "tsne": {"perplexity": cfg.tsne_perplexity, "max_iter": cfg.tsne_max_iter, "metric": cfg.tsne_metric},
        "trust_k": cfg.trust_k,
        "trust_sample": trust_sample,
        "trust_metric": cfg.trust_metric,
        "proj_pairs": (pairs.query[proj_pairs].astype(np.int32), pairs.key[proj_pairs].astype(np.int32)),
        "device": cfg.device,
    }


class _HeadArrays:
    """The stage's per-head arrays over the G = n_layers x n_heads heads (module docstring) and
    each head's record, filled layer by layer and by the projections as they come back."""

    def __init__(self, G: int, d: int, sample: _Sample, top_k: int, names: list[str]):
        N, max_len = sample.n_tokens, sample.max_len
        self.names = names
        self.coords = {name: np.zeros((G, 2 * N, int(name[-1])), np.float32) for name in names}
        self.norms = np.zeros((G, 2 * N), np.float32)
        self.shifts = np.zeros((G, d), np.float32)
        self.cs = np.zeros(G, np.float32)
        self.aggregate = np.zeros((G, max_len, max_len), np.float32)
        self.agg_count = np.zeros((max_len, max_len), np.float32)
        self.weights = np.zeros((G, int(sample.pair_offs[-1])), np.uint16)
        key_dtype = topk_key_dtype(max_len)
        self.topk_key = np.full((G, N, top_k), np.iinfo(key_dtype).max, key_dtype)
        self.topk_weight = np.zeros((G, N, top_k), np.float32)
        self.heads: list[dict[str, Any]] = [{} for _ in range(G)]
        self.proj_seconds: dict[str, float] = {}

    def add_layer(self, g0: int, acc: LayerAccumulator) -> None:
        """The accumulated statistics of the heads g0.. of one layer."""
        H = acc.n_heads
        self.aggregate[g0 : g0 + H] = acc.aggregate()
        self.agg_count[:] = acc.agg_count
        self.weights[g0 : g0 + H] = acc.weights_sqrt16
        self.topk_key[g0 : g0 + H] = acc.topk_key
        self.topk_weight[g0 : g0 + H] = acc.topk_weight

    def collect(self, g: int, hp: HeadProjection) -> None:
        """Head g's projections, as a worker returns them."""
        for name, arr in hp.coords.items():
            self.coords[name][g] = arr
        self.heads[g]["trustworthiness"] = {name: hp.trust[name] for name in self.names}
        self.heads[g]["spearman_projected"] = {name: hp.spearman[name] for name in self.names}
        self.heads[g]["seconds"] = {k: round(v, 4) for k, v in hp.seconds.items()}
        for k, v in hp.seconds.items():
            self.proj_seconds[k] = self.proj_seconds.get(k, 0.0) + v

    def save(self, out_dir: Path) -> None:
        for name, arr in self.coords.items():
            np.save(out_dir / f"coords_{name}.npy", arr)
        for fname, arr in (("norms", self.norms), ("shift", self.shifts), ("c", self.cs), ("aggregate", self.aggregate),
                           ("aggregate_count", self.agg_count), ("weights", self.weights), ("topk_key", self.topk_key),
                           ("topk_weight", self.topk_weight)):
            np.save(out_dir / f"{fname}.npy", arr)


def analyse_attention(store: ActivationStore, cfg: AttentionConfig, out_dir: Path, reporter: Reporter, executor: Executor | None = None, *,
                      statistics: HeadStatistics) -> AttentionResult:
    """Run the attention stage on an activation store extracted with attention capture.

    store: ``tfvis_site.capture.extract.ActivationStore`` (if it holds more than ``cfg.n_sentences``
    sentences, a deterministic sample of them is used). Writes the stage folder layout described
    in this module's docstring into ``out_dir`` (created if needed) and returns the loaded result.
    ``executor`` (executor.py; None = this machine) runs the heads' projections as tasks.
    ``statistics``: the head statistics of the model's units (its modality's ``head_statistics()``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not store.has_attention:
        raise ValueError("attention stage needs a store extracted with capture_attention=True")
    t_start = time.perf_counter()
    info = store.info
    labels_text = statistics.label_texts(info.is_causal)
    sample = _sample(store, cfg, statistics, out_dir)
    pairs = sentence_pairs(sample.local_offs, info.is_causal, cfg.max_pairs, cfg.seed)
    task = _projection_task(cfg, pairs, sample.n_tokens)
    names = [f"{p}{dim}" for p in cfg.projections for dim in cfg.dims]
    arrays = _HeadArrays(info.n_layers * info.n_heads, info.d_head, sample, cfg.top_k_keys, names)
    seconds: dict[str, float] = {"statistics": 0.0}

    # PCA alone costs milliseconds per head: worker start-up would dominate.
    executor = executor or LocalExecutor()
    heavy = any(p != "pca" for p in cfg.projections)
    workers = executor.task_workers(cfg.workers()) if heavy else 1
    from threadpoolctl import threadpool_limits

    # All matrices here are small (d_head columns): multi-threaded BLAS only adds hand-off cost,
    # and on a busy 2-core machine it made PCA and the correlations 10x slower.
    pool_of = executor.tasks if heavy else LocalExecutor().tasks  # PCA only: in this process
    G = info.n_layers * info.n_heads
    with pool_of(workers, initializer=_worker_init) as pool:
        layer_run = _LayerRun(store, cfg, statistics, sample, pairs, labels_text, arrays, seconds, pool, executor.share(task) if heavy else task)
        with threadpool_limits(1), reporter.task("attention: statistics + normalisation", total=G) as t_stats, reporter.task(
            f"attention: projections ({', '.join(cfg.projections)}; {workers} worker{'s' if workers > 1 else ''})", total=G
        ) as t_proj:
            for layer in range(info.n_layers):
                layer_run.run(layer, t_stats, t_proj)
            for f in as_completed(layer_run.futures):
                arrays.collect(*f.result())
                t_proj.advance()

    arrays.save(out_dir)
    seconds["total"] = time.perf_counter() - t_start
    result = _result_json(cfg, info, sample, pairs, labels_text, arrays, workers, seconds)
    (out_dir / "result.json").write_text(json.dumps(finite(result), indent=1))
    reporter.log(
        f"attention: {G} heads, {2 * sample.n_tokens} points each, {', '.join(names)} in {seconds['total']:.1f}s; "
        f"Spearman before {result['summary']['spearman_before']['mean']:.3f} -> after {result['summary']['spearman_after']['mean']:.3f} "
        f"(pooled, Euclidean); per query, cosine (AttentionViz) {result['summary']['spearman_paper_before']['mean']:.3f} -> "
        f"{result['summary']['spearman_paper_after']['mean']:.3f}"
    )
    return AttentionResult.load(out_dir)


@dataclass
class _LayerRun:
    """The per-layer work of the stage: statistics and labels, each head's normalisation (its
    projection handed to the pool) and the AttentionViz Spearman statistic."""

    store: ActivationStore
    cfg: AttentionConfig
    statistics: HeadStatistics
    sample: _Sample
    pairs: PairSample
    labels_text: dict[str, str]
    arrays: _HeadArrays
    seconds: dict[str, float]
    pool: Any
    task: Any
    futures: list[Any] = field(default_factory=list)

    def run(self, layer: int, t_stats: Any, t_proj: Any) -> None:
        store, sample, info = self.store, self.sample, self.store.info
        t0 = time.perf_counter()
        Q = np.asarray(store.queries(layer)[sample.index], np.float32)  # (N, H, d)
        Kk = np.asarray(store.keys(layer)[sample.index], np.float32)  # (N, n_kv, d)
        stats = self._statistics(layer)
        g0 = layer * info.n_heads
        self.seconds["statistics"] += time.perf_counter() - t0
        for h in range(info.n_heads):
            t0 = time.perf_counter()
            X = self._normalise(layer, h, Q[:, h], Kk[:, info.kv_head_of(h)], stats[h])
            self.seconds["normalisation"] = self.seconds.get("normalisation", 0.0) + time.perf_counter() - t0
            t_stats.advance()
            self.futures.append(self.pool.submit(_worker_run, g0 + h, X, self.task))
            for f in [f for f in self.futures if f.done()]:
                self.arrays.collect(*f.result())
                self.futures.remove(f)
                t_proj.advance()
        self._spearman_paper(g0, Q, Kk)

    def _statistics(self, layer: int) -> list[dict]:
        """The heads' statistics and labels over the sample's sentences (stats.py)."""
        store, sample, cfg, info = self.store, self.sample, self.cfg, self.store.info
        acc = LayerAccumulator(info.n_heads, sample.n_tokens, int(sample.pair_offs[-1]), sample.max_len, cfg.top_k_keys, cfg.min_weight,
                               self.statistics)
        for i, s in enumerate(sample.sent_ids):
            A = store.attention(layer, int(s))
            lo, hi = sample.local_offs[i], sample.local_offs[i + 1]
            acc.add(A, int(lo), int(sample.pair_offs[i]), sample.token_ids[lo:hi], sample.special[lo:hi], info.is_causal, cfg.label_rule.window,
                    sample.units[i])
        self.arrays.add_layer(layer * info.n_heads, acc)
        return acc.head_stats(cfg.label_rule)

    def _normalise(self, layer: int, h: int, q: np.ndarray, k: np.ndarray, stat: dict) -> np.ndarray:
        """Head h's norms, normalisation and record; returns its 2N normalised points."""
        arrays, info, N, pairs = self.arrays, self.store.info, self.sample.n_tokens, self.pairs
        g = layer * info.n_heads + h
        qn_raw, kn_raw = np.linalg.norm(q, axis=1), np.linalg.norm(k, axis=1)
        arrays.norms[g, :N], arrays.norms[g, N:] = qn_raw, kn_raw
        norm = normalise_head(q, k, pairs, self.cfg.translate_keys, self.cfg.scale_norms)
        qn, kn = norm.apply(q, k)
        arrays.shifts[g], arrays.cs[g] = norm.shift, norm.c
        arrays.heads[g].update(
            {
                "index": g,
                "layer": layer,
                "head": h,
                "kv_head": info.kv_head_of(h),
                "label": stat["label"],
                "label_text": self.labels_text[stat["label"]],
                "label_stat": stat["label_stat"],
                "spearman_before": spearman_dot_distance(q, k, pairs),
                "spearman_after": spearman_dot_distance(qn, kn, pairs),
                "c": float(norm.c),
                "shift_norm": float(np.linalg.norm(norm.shift)),
                "q_norm_mean": float(qn_raw.mean()) if N else 0.0,
                "k_norm_mean": float(kn_raw.mean()) if N else 0.0,
                "norm_gap": float(qn_raw.mean() - kn_raw.mean()) if N else 0.0,
                "entropy": stat["entropy"],
                "entropy_norm": stat["entropy_norm"],
                "mass": stat["mass"],
                **({"similarity": stat["similarity"]} if "similarity" in stat else {}),
            }
        )
        return np.vstack([qn, kn]).astype(np.float32)

    def _spearman_paper(self, g0: int, Q: np.ndarray, Kk: np.ndarray) -> None:
        """The AttentionViz statistic, all heads of the layer at once (before and after)."""
        t0 = time.perf_counter()
        info, arrays = self.store.info, self.arrays
        H = info.n_heads
        kv = [info.kv_head_of(h) for h in range(H)]
        Kh = Kk[:, kv]
        c_l, shift_l = arrays.cs[g0 : g0 + H].astype(np.float64), arrays.shifts[g0 : g0 + H].astype(np.float64)
        before, after = spearman_paper(Q, Kh, self.sample.local_offs, info.is_causal,
                                       normalised=(Q * c_l[None, :, None], (Kh + shift_l[None]) / c_l[None, :, None]))
        for h in range(H):
            arrays.heads[g0 + h]["spearman_paper_before"] = float(before[h])
            arrays.heads[g0 + h]["spearman_paper_after"] = float(after[h])
        self.seconds["spearman_paper"] = self.seconds.get("spearman_paper", 0.0) + time.perf_counter() - t0


def _result_json(cfg: AttentionConfig, info: ModelInfo, sample: _Sample, pairs: PairSample, labels_text: dict[str, str], arrays: _HeadArrays,
                 workers: int, seconds: dict[str, float]) -> dict[str, Any]:
    """result.json: the settings, the model, the labels and what every head's record holds, summed up."""
    heads, names, N = arrays.heads, arrays.names, sample.n_tokens
    labels = [h["label"] for h in heads]
    return {
        "version": RESULT_VERSION,
        "config": cfg.to_dict(),
        "model": info.to_dict(),
        "modality": info.modality,
        "labels": labels_text,
        "statistics": dict(STATISTIC_TEXT),
        "n_sentences": int(len(sample.sent_ids)),
        "n_tokens": int(N),
        "n_points": int(2 * N),
        "max_len": sample.max_len,
        "total_pairs": int(sample.pair_offs[-1]),
        "n_pairs": int(len(pairs.query)),
        "projections": names,
        "workers": workers,
        "seconds": {**{k: round(v, 3) for k, v in seconds.items()}, "projection_cpu": {k: round(v, 3) for k, v in arrays.proj_seconds.items()}},
        "summary": {
            "spearman_before": _summary([h["spearman_before"] for h in heads]),
            "spearman_after": _summary([h["spearman_after"] for h in heads]),
            "spearman_paper_before": _summary([h["spearman_paper_before"] for h in heads]),
            "spearman_paper_after": _summary([h["spearman_paper_after"] for h in heads]),
            "trustworthiness": {name: _summary([h["trustworthiness"][name] for h in heads]) for name in names},
            "spearman_projected": {name: _summary([h["spearman_projected"][name] for h in heads]) for name in names},
            "label_counts": {lab: labels.count(lab) for lab in labels_text if lab in labels},
        },
        "heads": heads,
    }
