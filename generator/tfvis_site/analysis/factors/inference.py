"""The factor stage's streamed inference: every token state of every layer coded, in shards of
whole sentences (in this process or on an executor's actors), and the per-shard statistics merged
(``merge_partials`` is associative and commutative to the bit, so the result never depends on
where or in what order the shards ran)."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...progress import Reporter
from .config import FactorConfig
from .samples import TOKEN_TOP, add_samples, empty_samples, merge_samples, priorities, token_top
from .statistics import Encoder, state_norms


def _sentence_batches(offsets: np.ndarray, target: int) -> list[tuple[int, int]]:
    """Token ranges [lo, hi) made of whole sentences, about ``target`` tokens each."""
    out = []
    lo = 0
    n = int(offsets[-1])
    while lo < n:
        hi_idx = int(np.searchsorted(offsets, lo + target, side="right")) - 1
        hi = int(offsets[hi_idx])
        if hi <= lo:  # one sentence longer than target
            hi = int(offsets[np.searchsorted(offsets, lo, side="right")])
        out.append((lo, hi))
        lo = hi
    return out


def inference_shards(offsets: np.ndarray, cfg: FactorConfig, tokens_per_shard: int) -> list[tuple[int, int]]:
    """Token ranges [lo, hi) of the inference shards: runs of whole inference batches (the
    batches of ``_sentence_batches(offsets, cfg.inference_batch)``, the same however the
    shards group them), about ``tokens_per_shard`` tokens each. ``offsets``: (S + 1,) sentence
    offsets of the store."""
    batches = _sentence_batches(offsets, cfg.inference_batch)
    shards: list[tuple[int, int]] = []
    for lo, hi in batches:
        if shards and hi - shards[-1][0] <= tokens_per_shard:
            shards[-1] = (shards[-1][0], hi)
        else:
            shards.append((lo, hi))
    return shards


def _count_pairs(act_nonlast: torch.Tensor, pairs: torch.Tensor, r: torch.Tensor, c: torch.Tensor, has_next: torch.Tensor, m: int) -> None:
    """Add one batch's neighbour co-activity to one layer's counts (m,): ``act_nonlast``, active
    at a token with a next token in its sentence (``has_next`` per non-zero); ``pairs``, active
    at that next token too. ``r``, ``c``: rows and factors of the non-zeros, row-major sorted."""
    act_nonlast += torch.bincount(c[has_next], minlength=m)
    keys = r * m + c
    pos = torch.searchsorted(keys, keys + m).clamp_(max=keys.numel() - 1)
    found = (keys[pos] == keys + m) & has_next
    pairs += torch.bincount(c[found], minlength=m)


def _merge_topk(topv: torch.Tensor, topi: torch.Tensor, c: torch.Tensor, v: torch.Tensor, rows: torch.Tensor) -> None:
    """Merge one batch's non-zeros (factors ``c``, values ``v``, token ``rows``, rows ascending)
    into one layer's top-k (m, k) values ``topv`` and rows ``topi``, ordered by (value desc, row
    asc). Only activations above the factor's current k-th value compete (an equal one loses:
    its row is larger than every kept row of this layer)."""
    m, k = topv.shape
    sel = v > topv[c, k - 1]
    if not bool(sel.any()):
        return
    cc, cv, cr = c[sel], v[sel], rows[sel]
    order = torch.argsort(cc, stable=True)  # per factor, rows stay ascending
    cc, cv, cr = cc[order], cv[order], cr[order]
    counts = torch.bincount(cc, minlength=m)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.arange(cc.numel()) - starts[cc]
    u = torch.nonzero(counts).squeeze(1)
    kk = int(counts.max())
    pv = torch.full((m, kk), -1.0)
    pi = torch.full((m, kk), -1, dtype=topi.dtype)
    pv[cc, slot] = cv
    pi[cc, slot] = cr.to(topi.dtype)
    mv = torch.cat([topv[u], pv[u]], 1)
    mi = torch.cat([topi[u], pi[u]], 1)
    # stable: equal values keep kept rows (smaller) before new ones: (value desc, row asc)
    sv, si = torch.sort(mv, dim=1, descending=True, stable=True)
    topv[u] = sv[:, :k]
    topi[u] = torch.gather(mi, 1, si[:, :k])


def _partial_arrays(L1: int, m: int, k: int, bins: int, nb: int, d: int, n_tokens: int) -> dict[str, Any]:
    """The zeroed sums and counts of one shard's partial (``infer_shard`` says what each holds),
    torch tensors where they are updated with torch, numpy arrays where with numpy."""
    return {
        "token_top_ids": np.full((L1, n_tokens, TOKEN_TOP), -1, np.int32),
        "token_top_values": np.zeros((L1, n_tokens, TOKEN_TOP), np.float32),
        **empty_samples((L1, m * bins)),
        "err_scaled": np.zeros((nb, L1)),
        "err_orig": np.zeros((nb, L1)),
        "norm_scaled": np.zeros((nb, L1)),
        "sum_scaled": np.zeros((nb, L1, d)),
        "topk_values": torch.full((L1, m, k), -1.0),
        "topk_token": torch.full((L1, m, k), -1, dtype=torch.int32),  # token rows < 2**31
        "active": torch.zeros((m, L1), dtype=torch.int64),
        "act_nonlast": torch.zeros((m, L1), dtype=torch.int64),
        "pairs": torch.zeros((m, L1), dtype=torch.int64),
        "hist": torch.zeros((L1, m, bins), dtype=torch.int64),
        "l0_hist": np.zeros((L1, m + 1), dtype=np.int64),
    }


def infer_shard(store, cfg: FactorConfig, enc: Encoder, mean: np.ndarray, scale: np.ndarray,
                token_range: tuple[int, int], progress: Any = None, massive_norm: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The partial result of inference over the token rows ``token_range`` (an element of
    ``inference_shards``) at every layer: what ``merge_partials`` combines and
    ``finish_inference`` turns into ``run_inference``'s statistics. Callable from any process
    (a Ray actor) with the store's path, the encoder and the transform. States whose norm
    exceeds ``massive_norm`` (L+1,) of their layer (layer_stats; None = none) get no codes and
    stay out of every sum: massive activations.

    Returns, with L1 = n_layers + 1, m factors, k = cfg.top_k, nb inference batches of the shard:
      batch_start (nb,) int64: first token row of each batch (the order sums are taken in)
      err_scaled, err_orig, norm_scaled (nb, L1) float64: per batch ||z - z_hat||^2,
          ||x - x_hat||^2, ||z||^2;  sum_scaled (nb, L1, d) float64: per batch sum of z
      topk_values (L1, m, k) float32, topk_token (L1, m, k) int32: the k strongest activations of
          each factor and layer and their token rows, ordered by (value desc, row asc); -1 / -1
          where fewer
      active, act_nonlast, pairs (m, L1) int64: tokens where the factor is active; active with a
          next token in the same sentence; active there too
      hist (L1, m, bins) int64 counts on the fixed log edges of cfg; l0_hist (L1, m + 1) int64
      token_first, token_length (1,) int64: the shard's token rows; token_top_ids (L1, n, TOKEN_TOP)
          int32, token_top_values float32: each token's strongest factors (samples.py)
      sample_priority, sample_row (L1, m * bins, PER_BIN) int64, sample_value float32: the
          activation samples per (layer, factor, bin) (samples.py)
      seconds () float64
    """
    L1 = store.info.n_layers + 1
    m = enc.D.shape[0]
    k = cfg.top_k
    dev = enc.device
    offsets = store.sentence_offsets
    lo_shard, hi_shard = int(token_range[0]), int(token_range[1])
    batches = [b for b in _sentence_batches(offsets, cfg.inference_batch) if lo_shard <= b[0] and b[1] <= hi_shard]
    if sum(hi - lo for lo, hi in batches) != hi_shard - lo_shard:
        raise ValueError(f"token range {token_range} is not made of whole inference batches (use inference_shards)")
    sent_of = np.repeat(np.arange(store.n_sentences), np.diff(offsets))
    log_lo, log_span = math.log(cfg.hist_min), math.log(cfg.hist_max) - math.log(cfg.hist_min)
    nb, d = len(batches), store.info.d_model

    out = _partial_arrays(L1, m, k, cfg.hist_bins, nb, d, hi_shard - lo_shard)
    topv, topi, active, act_nonlast, pairs, hist = (out[n] for n in ("topk_values", "topk_token", "active", "act_nonlast", "pairs", "hist"))
    l0_hist, err_scaled, norm_scaled, sum_scaled, err_orig = (out[n] for n in ("l0_hist", "err_scaled", "norm_scaled", "sum_scaled", "err_orig"))
    t0 = time.perf_counter()
    for layer in range(L1):
        h = store.hidden(layer)
        mu = torch.as_tensor(mean[layer], device=dev)
        sc = torch.as_tensor(scale[layer], device=dev)
        for j, (lo, hi) in enumerate(batches):
            n_b = hi - lo
            x = np.array(h[lo:hi], dtype=np.float32)
            kept = None  # rows that are not massive activations; None = every row
            if massive_norm is not None and np.isfinite(massive_norm[layer]):
                kept = np.flatnonzero(state_norms(x) <= massive_norm[layer])
                x = x[kept]
            z = (torch.from_numpy(x).to(dev) - mu) / sc
            r, c, v = enc.sparse_codes(z)  # row-major sorted non-zeros
            diff = z - enc.reconstruct_sparse(r, c, v, z.shape[0])
            err_scaled[j, layer] = float((diff.double() ** 2).sum())
            err_orig[j, layer] = float(((diff * sc).double() ** 2).sum())
            norm_scaled[j, layer] = float((z.double() ** 2).sum())
            sum_scaled[j, layer] = z.double().sum(0).cpu().numpy()
            r, c, v = r.cpu(), c.cpu(), v.cpu()
            active[:, layer] += torch.bincount(c, minlength=m)
            l0_hist[layer] += np.bincount(torch.bincount(r, minlength=z.shape[0]).numpy(), minlength=m + 1)
            if kept is not None:  # back to rows of the batch
                r = torch.from_numpy(kept)[r]
            if progress is not None:
                progress.advance(n_b)
            if r.numel() == 0:
                continue
            # neighbour co-activity: is (t+1, c) also active, within the same sentence?
            same = torch.zeros(n_b, dtype=torch.bool)
            same[:-1] = torch.from_numpy(sent_of[lo : hi - 1] == sent_of[lo + 1 : hi])
            _count_pairs(act_nonlast[:, layer], pairs[:, layer], r, c, same[r], m)
            b = ((torch.log(v) - log_lo) / log_span * cfg.hist_bins).floor().clamp_(0, cfg.hist_bins - 1).long()
            hist[layer].view(-1).index_add_(0, c * cfg.hist_bins + b, torch.ones_like(b))
            _merge_topk(topv[layer], topi[layer], c, v, r + lo)
            _add_by_products(out, layer, lo - lo_shard, n_b, r.numpy(), c.numpy(), v.numpy(), (c * cfg.hist_bins + b).numpy(), lo, m, L1)
    return {
        "batch_start": np.asarray([lo for lo, _ in batches], dtype=np.int64),
        "token_first": np.asarray([lo_shard], dtype=np.int64),
        "token_length": np.asarray([hi_shard - lo_shard], dtype=np.int64),
        **{name: a.numpy() if isinstance(a, torch.Tensor) else a for name, a in out.items()},
        "seconds": np.float64(time.perf_counter() - t0),
    }


def _add_by_products(out: dict[str, Any], layer: int, at: int, n_rows: int, r: np.ndarray, c: np.ndarray, v: np.ndarray,
                     slots: np.ndarray, lo: int, m: int, L1: int) -> None:
    """One batch's token factors (rows ``at`` .. ``at + n_rows`` of the shard) and activation
    samples (slots = factor * bins + bin) into the shard's partial."""
    ids, values = token_top(r, c, v, n_rows)
    out["token_top_ids"][layer, at : at + n_rows] = ids
    out["token_top_values"][layer, at : at + n_rows] = values
    rows = r.astype(np.int64) + lo
    add_samples(out["sample_priority"][layer], out["sample_row"][layer], out["sample_value"][layer], slots,
                priorities(rows, c, layer, m, L1), rows, v.astype(np.float32))


#: Partial fields that add up (integer counts), and those kept per batch (float sums, summed in
#: batch order only at the end, so any grouping of partials gives the same bits).
_COUNTS = ("active", "act_nonlast", "pairs", "hist", "l0_hist")
_PER_BATCH = ("err_scaled", "err_orig", "norm_scaled", "sum_scaled")


def merge_partials(a: dict[str, np.ndarray], b: dict[str, np.ndarray], in_place: bool = False) -> dict[str, np.ndarray]:
    """Associative, commutative merge of two ``infer_shard`` partials (of disjoint token
    ranges): counts add, per-batch sums concatenate (ordered by batch start), top-k lists merge
    by (value desc, token row asc). Merging any grouping of a store's shard partials, then
    ``finish_inference``, gives exactly the single-pass result. ``in_place``: the result reuses
    ``a``'s large arrays (run_inference's running merge, which owns ``a``), so a merge holds two
    partials instead of three."""
    out = a if in_place else {}
    for name in _COUNTS:
        out[name] = np.add(a[name], b[name], out=a[name] if in_place else None)
    starts = np.concatenate([a["batch_start"], b["batch_start"]])
    order = np.argsort(starts, kind="stable")
    out["batch_start"] = starts[order]
    for name in _PER_BATCH:
        out[name] = np.concatenate([a[name], b[name]])[order]
    out["topk_values"], out["topk_token"] = _merge_top(a, b, in_place)
    out.update(merge_samples(a, b, in_place))
    out.update(_merge_token_runs(a, b))
    out["seconds"] = np.float64(a["seconds"] + b["seconds"])
    return out


def _merge_top(a: dict[str, np.ndarray], b: dict[str, np.ndarray], in_place: bool) -> tuple[np.ndarray, np.ndarray]:
    """The top-k lists of two partials merged by (value desc, token row asc), layer by layer (so
    the joined lists of one layer at a time are held, not of every layer); ``in_place``: into
    ``a``'s arrays (a layer is joined, a copy, before it is overwritten)."""
    k = a["topk_values"].shape[2]
    if in_place:
        top_values, top_rows = a["topk_values"], a["topk_token"]
    else:
        top_values, top_rows = np.empty_like(a["topk_values"]), np.empty_like(a["topk_token"])
    for layer in range(len(top_values)):
        values = np.concatenate([a["topk_values"][layer], b["topk_values"][layer]], axis=1)
        rows = np.concatenate([a["topk_token"][layer], b["topk_token"][layer]], axis=1)
        best = np.lexsort((rows, -values), axis=1)[:, :k]  # empty slots (-1) sort last
        top_values[layer] = np.take_along_axis(values, best, 1)
        top_rows[layer] = np.take_along_axis(rows, best, 1)
    return top_values, top_rows


def _merge_token_runs(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The token factors of two partials, in token order: each holds runs of tokens
    (``token_first``, ``token_length``), disjoint between partials."""
    first = np.concatenate([a["token_first"], b["token_first"]])
    length = np.concatenate([a["token_length"], b["token_length"]])
    at = np.concatenate([[0], np.cumsum(length)[:-1]])  # where each run sits in the joined arrays
    order = np.argsort(first, kind="stable")
    index = np.concatenate([np.arange(at[i], at[i] + length[i]) for i in order])
    out = {name: np.concatenate([a[name], b[name]], axis=1)[:, index] for name in ("token_top_ids", "token_top_values")}
    return {**out, "token_first": first[order], "token_length": length[order]}


def finish_inference(partial: dict[str, np.ndarray], cfg: FactorConfig) -> dict[str, Any]:
    """The statistics of ``run_inference`` from the merged partial of every shard."""
    topv = partial["topk_values"]
    topi = partial["topk_token"].astype(np.int32)
    topi[topv <= 0] = -1
    topv = np.maximum(topv, np.float32(0.0))

    def in_batch_order(per_batch: np.ndarray) -> np.ndarray:  # sequential sum, batch by batch
        total = np.zeros(per_batch.shape[1:])
        for row in per_batch[np.argsort(partial["batch_start"], kind="stable")]:
            total += row
        return total

    return {
        "topk_values": topv,
        "topk_token": topi,
        "active": partial["active"],
        "act_nonlast": partial["act_nonlast"],
        "pairs": partial["pairs"],
        "hist": np.ascontiguousarray(partial["hist"].transpose(1, 0, 2)),
        "hist_edges": np.geomspace(cfg.hist_min, cfg.hist_max, cfg.hist_bins + 1),
        "max_act": np.ascontiguousarray(topv[:, :, 0].T),
        "l0_hist": partial["l0_hist"],
        **{name: partial[name] for name in ("token_top_ids", "token_top_values", "sample_priority", "sample_row", "sample_value")},
        **{name: in_batch_order(partial[name]) for name in _PER_BATCH},
        "seconds": float(partial["seconds"]),
    }


def save_partial(path: Path, partial: dict[str, np.ndarray]) -> None:
    """Write a partial atomically (temporary name, then rename): it exists whole or not at all."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **partial)
    os.replace(tmp, path)


def load_partial(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as f:
        return {name: f[name] for name in f.files}


class InferenceJob:
    """What an inference shard needs, picklable (two paths and the config), so that another
    process (a Ray actor) runs ``job.run(token_range)`` = ``infer_shard`` on its own copy of the
    store reader and encoder, loaded once per process.

    ``store_path``: the activation store; ``model_file``: the factor stage's model.safetensors
    (components (m, d), mean (L+1, d), scale (L+1, d), massive_norm (L+1,) [+ W_enc (d, m), b_enc (m,), b_dec (d,)])."""

    def __init__(self, store_path: Path, model_file: Path, cfg: FactorConfig):
        self.store_path, self.model_file, self.cfg = Path(store_path), Path(model_file), cfg
        self._loaded: tuple[Any, Encoder, np.ndarray, np.ndarray, np.ndarray | None] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_loaded": None}

    def load(self) -> tuple[Any, Encoder, np.ndarray, np.ndarray, np.ndarray | None]:
        """(store, encoder, mean, scale, massive_norm), loaded on first use."""
        if self._loaded is None:
            from safetensors.numpy import load_file

            from ...capture.extract import ActivationStore

            t = load_file(str(self.model_file))
            sae = {k: t[k] for k in ("W_enc", "b_enc", "b_dec")} if "W_enc" in t else None
            self._loaded = (ActivationStore(self.store_path), Encoder(self.cfg, t["components"], sae), t["mean"], t["scale"], t.get("massive_norm"))
        return self._loaded

    def run(self, token_range: tuple[int, int], progress: Any = None) -> dict[str, np.ndarray]:
        store, enc, mean, scale, massive_norm = self.load()
        return infer_shard(store, self.cfg, enc, mean, scale, token_range, progress, massive_norm)


def _merge_running(merged: dict[str, np.ndarray] | None, partial: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """run_inference's running merge, into ``merged``'s own arrays. The first partial becomes it,
    copied where read-only (a partial returned through Ray's object store is)."""
    if merged is None:
        return {name: np.array(value) if isinstance(value, np.ndarray) and not value.flags.writeable else value
                for name, value in partial.items()}
    return merge_partials(merged, partial, in_place=True)


#: ``run_shards(todo, job)``: runs ``job.run(token_range)`` for each (index, token_range) of
#: ``todo`` anywhere and yields (index, partial) in any order. The default runs them here.
ShardRunner = Any


def run_inference(store, cfg: FactorConfig, enc: Encoder, mean: np.ndarray, scale: np.ndarray,
                  reporter: Reporter, partial_dir: Path | None = None, tokens_per_shard: int = 1 << 17,
                  job: InferenceJob | None = None, run_shards: ShardRunner = None, massive_norm: np.ndarray | None = None) -> dict[str, Any]:
    """One streamed pass over every layer and token, shard by shard; returns the raw statistics.
    ``partial_dir``: keep each shard's partial there (``NNNNN.npz``) and reuse the ones a killed
    earlier run finished. ``run_shards`` (with ``job``): run the shards elsewhere (the Ray
    executor); partials merge in whatever order they arrive, with the same result.
    ``massive_norm``: see infer_shard (a job reads it from its model file)."""
    shards = inference_shards(store.sentence_offsets, cfg, tokens_per_shard)
    L1 = store.info.n_layers + 1
    merged, todo = None, []
    with reporter.task("factors: inference over all layers", total=L1 * store.n_tokens) as task:
        for index, token_range in enumerate(shards):
            path = None if partial_dir is None else Path(partial_dir) / f"{index:05d}.npz"
            if path is not None and path.exists():
                partial = load_partial(path)
                merged = _merge_running(merged, partial)
                task.advance(L1 * (token_range[1] - token_range[0]))
            else:
                todo.append((index, token_range))
        kept = len(shards) - len(todo)
        if run_shards is None:
            results = ((i, infer_shard(store, cfg, enc, mean, scale, r, task, massive_norm)) for i, r in todo)
        else:
            results = run_shards(todo, job)
        for index, partial in results:
            if partial_dir is not None:
                save_partial(Path(partial_dir) / f"{index:05d}.npz", partial)
            if run_shards is not None:
                task.advance(L1 * (shards[index][1] - shards[index][0]))
            merged = _merge_running(merged, partial)
            del partial  # or the loop holds it while the next shard fills its own: three partials at once
    if merged is None:  # an empty store
        raise ValueError("factor inference over a store without tokens")
    if kept:
        reporter.log(f"factors: {kept} of {len(shards)} inference shards kept from an interrupted build")
    return finish_inference(merged, cfg)
