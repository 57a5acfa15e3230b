"""The factor stage: preprocessing, learning, streamed inference, statistics, saved result.

``learn_factors(store, cfg, out_dir, reporter)`` writes into ``out_dir``:
  config.json          FactorConfig.to_dict() + method details
  model.safetensors    components (m, d) unit rows; mean (L+1, d); scale (L+1, d);
                       [topk-sae: W_enc (d, m), b_enc (m,), b_dec (d,)]
  metrics.json         quality per layer and overall (see ``quality``), timings, counts
  stats.npz            is (m, L+1); density (m, L+1); active (m, L+1) int64; spread (m, L+1);
                       hist (m, L+1, bins) int64; hist_edges (bins+1,); l0_hist (L+1, m+1);
                       topk_values (L+1, m, k) float32; topk_token (L+1, m, k) int32 (global
                       token row, -1 = empty); neighbors (m, 10) int32; neighbor_cos (m, 10)
``FactorResult.load(out_dir)`` reads it back.

Units. Layer l's states x are mapped to z = (x - mean_l) / scale_l (elementwise; scale_l is a
(d,) vector) before coding; every activation reported (codes, top-k values, IS, histograms) is a
coefficient in that space: x_hat = mean_l + scale_l * (a @ components [+ b_dec]). With
"center-scale", one unit is one RMS norm of the layer's centred states along a unit atom.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..progress import Reporter
from .coding import fista_nn_ws, spectral_norm_sq
from .config import FactorConfig
from .learn import DictionaryLearner, TopKSAE

N_NEIGHBORS = 10


# ----------------------------------------------------------------------------- preprocessing

def state_norms(x: np.ndarray) -> np.ndarray:
    """(n,) float64 norms of the states ``x`` (n, d). Every stage that tells massive activations
    apart (norm > the layer's ``massive_norm``) computes them with this one function, so the
    build's statistics, its inference and later coding agree on every state."""
    x = np.asarray(x, dtype=np.float64)
    return np.sqrt((x * x).sum(1))


def layer_stats(store, reporter: Reporter, massive_ratio: float = 0.0, chunk: int = 32768) -> dict[str, np.ndarray]:
    """Per layer (float64), over the states that are not massive activations (norm above
    ``massive_ratio`` x the layer's median norm; 0 keeps all): mean (L+1, d), var (L+1, d), sum
    of squares about the layer mean (L+1,), plus the pooled mean (d,) and pooled sum of squares
    about it (for overall FVU); n_kept (L+1,) states counted; massive_norm (L+1,) the norm
    threshold (inf when nothing is left out); massive (L+1, n_tokens) bool, the states left out."""
    n_layers = store.info.n_layers + 1
    n, d = store.n_tokens, store.info.d_model
    means = np.zeros((n_layers, d))
    sq = np.zeros((n_layers, d))
    n_kept = np.full(n_layers, n, dtype=np.int64)
    massive_norm = np.full(n_layers, np.inf)
    massive = np.zeros((n_layers, n), dtype=bool)
    with reporter.task("factors: layer statistics", total=n_layers) as task:
        for layer in range(n_layers):
            h = store.hidden(layer)  # a store's slices are explicit reads: one chunk in memory
            s = np.zeros(d)
            s2 = np.zeros(d)
            norms = np.empty(n)
            for lo in range(0, n, chunk):
                x = np.asarray(h[lo : lo + chunk], dtype=np.float64)
                s += x.sum(0)
                s2 += (x * x).sum(0)
                norms[lo : lo + len(x)] = state_norms(x)
            if massive_ratio > 0 and n:
                threshold = massive_ratio * float(np.median(norms))
                rows = np.flatnonzero(norms > threshold)
                if rows.size:  # take the few massive states back out of the sums
                    x = np.asarray(h[rows], dtype=np.float64)
                    s -= x.sum(0)
                    s2 -= (x * x).sum(0)
                    massive_norm[layer], n_kept[layer] = threshold, n - rows.size
                    massive[layer, rows] = True
            means[layer] = s / max(n_kept[layer], 1)
            sq[layer] = s2
            task.advance(1)
    kept = np.maximum(n_kept, 1)[:, None]
    var = np.maximum(sq / kept - means**2, 0.0)
    ss_layer = np.maximum(sq.sum(1) - n_kept * (means**2).sum(1), 0.0)
    pooled_mean = (means * n_kept[:, None]).sum(0) / max(int(n_kept.sum()), 1)
    ss_pooled = max(float(sq.sum() - n_kept.sum() * (pooled_mean**2).sum()), 0.0)
    return {"mean": means, "var": var, "ss_layer": ss_layer, "pooled_mean": pooled_mean, "ss_pooled": np.array(ss_pooled),
            "n_kept": n_kept, "massive_norm": massive_norm, "massive": massive}


def make_transform(stats: dict[str, np.ndarray], kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(mean (L+1, d), scale (L+1, d)) float32 so that z = (x - mean) / scale has E||z||^2 = 1."""
    mean, var = stats["mean"], stats["var"]
    n_layers, d = mean.shape
    if kind == "center-scale":
        rms = np.sqrt(var.sum(1))  # sqrt(E||x - mean||^2)
        scale = np.repeat(np.maximum(rms, 1e-12)[:, None], d, axis=1)
        return mean.astype(np.float32), scale.astype(np.float32)
    if kind == "standardize":
        scale = np.sqrt(np.maximum(var, 1e-12)) * math.sqrt(d)
        return mean.astype(np.float32), scale.astype(np.float32)
    if kind == "none":
        ms = float((var.sum(1) + (mean**2).sum(1)).mean())  # pooled E||x||^2
        return np.zeros_like(mean, dtype=np.float32), np.full(mean.shape, math.sqrt(max(ms, 1e-24)), dtype=np.float32)
    raise ValueError(kind)


# ----------------------------------------------------------------------------- training

def training_sample(store, cfg: FactorConfig, mean: np.ndarray, scale: np.ndarray, massive: np.ndarray | None = None) -> np.ndarray:
    """(n_train, d) float32 preprocessed vectors pooled from all layers (seeded), drawn from the
    states that are not ``massive`` ((L+1, n_tokens) bool, from layer_stats; None = all)."""
    n_layers = store.info.n_layers + 1
    total = store.n_tokens * n_layers
    # flat index = layer * n_tokens + row; an int population draws the same rows as its arange
    population = np.flatnonzero(~massive.ravel()) if massive is not None and massive.any() else total
    n = min(cfg.n_train, population if isinstance(population, int) else population.size)
    rng = np.random.default_rng(cfg.seed)
    if cfg.token_weight_power > 0:
        ids = store.tokens.column("token_id").to_numpy()
        _, inv, counts = np.unique(ids, return_inverse=True, return_counts=True)
        w = np.tile(counts[inv].astype(np.float64) ** (-cfg.token_weight_power), n_layers)
        w = w if isinstance(population, int) else w[population]
        flat = rng.choice(population, size=n, replace=False, p=w / w.sum())
    else:
        flat = rng.choice(population, size=n, replace=False)
    flat.sort()
    layers, rows = np.divmod(flat, store.n_tokens)
    out = np.empty((n, store.info.d_model), dtype=np.float32)
    for layer in np.unique(layers):
        sel = layers == layer
        x = np.asarray(store.hidden(int(layer))[rows[sel]], dtype=np.float32)
        out[sel] = (x - mean[layer]) / scale[layer]
    return out[rng.permutation(n)]


def fit_learner(X: np.ndarray, cfg: FactorConfig, reporter: Reporter, d: int):
    m = cfg.n_components
    steps = cfg.sae_n_steps if cfg.method == "topk-sae" else cfg.n_steps
    with reporter.task(f"factors: learn dictionary ({cfg.method}, m={m})", total=max(steps, 1)) as task:
        cb = lambda step, learner: task.advance(1)  # noqa: E731
        if cfg.method == "topk-sae":
            learner = TopKSAE(m, k=cfg.sae_k, n_steps=steps, batch_size=cfg.batch_size, lr=cfg.sae_lr,
                              random_state=cfg.seed, device=cfg.device, callback=cb)
        else:
            learner = DictionaryLearner(m, alpha=cfg.alpha, n_steps=cfg.n_steps, batch_size=cfg.batch_size,
                                        update=cfg.update, lr=cfg.lr, fit_tol=cfg.fit_tol, tol=cfg.tol,
                                        working_set=cfg.working_set, random_state=cfg.seed, device=cfg.device,
                                        callback=cb)
        learner.fit(X)
    return learner


# ----------------------------------------------------------------------------- coding

class Encoder:
    """Codes preprocessed vectors z (n, d) -> (n, m) with the fitted method (torch, no grad)."""

    def __init__(self, cfg: FactorConfig, components: np.ndarray, sae: dict[str, np.ndarray] | None = None):
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.D = torch.as_tensor(components, dtype=torch.float32, device=self.device).contiguous()
        self.sae = None if sae is None else {k: torch.as_tensor(v, device=self.device) for k, v in sae.items()}
        if self.sae is None:
            self.G = (self.D @ self.D.T).contiguous()
            self.L = spectral_norm_sq(self.D) * 1.02

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        if self.sae is not None:
            pre = (z - self.sae["b_dec"]) @ self.sae["W_enc"] + self.sae["b_enc"]
            k = min(self.cfg.sae_k, pre.shape[1])
            vals, idx = torch.topk(pre, k, dim=1)
            A = torch.zeros_like(pre)
            A.scatter_(1, idx, torch.relu(vals))
            return A
        A, _ = fista_nn_ws(z, self.D, self.cfg.alpha, tol=self.cfg.tol, gram=self.G, L=self.L,
                           working_set=self.cfg.working_set)
        return A

    def sparse_codes(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Non-zero codes of z (n, d) as (rows, cols, values), sorted by (row, col)."""
        if self.sae is not None:
            pre = (z - self.sae["b_dec"]) @ self.sae["W_enc"] + self.sae["b_enc"]
            k = min(self.cfg.sae_k, pre.shape[1])
            vals, idx = torch.topk(pre, k, dim=1)
            idx, order = torch.sort(idx, dim=1)
            vals = torch.gather(vals, 1, order)
            rows = torch.arange(z.shape[0], device=z.device).repeat_interleave(k)
            cols, vals = idx.reshape(-1), vals.reshape(-1)
            keep = vals > 0
            return rows[keep], cols[keep], vals[keep]
        A = self.codes(z)
        r, c = A.nonzero(as_tuple=True)
        return r, c, A[r, c]

    def reconstruct_sparse(self, r, c, v, n: int) -> torch.Tensor:
        """z_hat (n, d) from sparse codes."""
        with warnings.catch_warnings():  # "sparse invariant checks are implicitly disabled"
            warnings.simplefilter("ignore", UserWarning)
            A = torch.sparse_coo_tensor(torch.stack([r, c]), v, (n, self.D.shape[0]), is_coalesced=True)
        zh = torch.sparse.mm(A, self.D)
        if self.sae is not None:
            zh = zh + self.sae["b_dec"]
        return zh

    def reconstruct(self, A: torch.Tensor) -> torch.Tensor:
        zh = A @ self.D
        if self.sae is not None:
            zh = zh + self.sae["b_dec"]
        return zh


# ----------------------------------------------------------------------------- inference

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
      topk_values (L1, m, k) float32, topk_token (L1, m, k) int64: the k strongest activations of
          each factor and layer and their token rows, ordered by (value desc, row asc); -1 / -1
          where fewer
      active, act_nonlast, pairs (m, L1) int64: tokens where the factor is active; active with a
          next token in the same sentence; active there too
      hist (L1, m, bins) int64 counts on the fixed log edges of cfg; l0_hist (L1, m + 1) int64
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

    topv = torch.full((L1, m, k), -1.0)
    topi = torch.full((L1, m, k), -1, dtype=torch.int64)
    active = torch.zeros((m, L1), dtype=torch.int64)
    act_nonlast = torch.zeros((m, L1), dtype=torch.int64)
    pairs = torch.zeros((m, L1), dtype=torch.int64)
    hist = torch.zeros((L1, m, cfg.hist_bins), dtype=torch.int64)
    l0_hist = np.zeros((L1, m + 1), dtype=np.int64)
    err_scaled = np.zeros((nb, L1))
    norm_scaled = np.zeros((nb, L1))
    sum_scaled = np.zeros((nb, L1, d))
    err_orig = np.zeros((nb, L1))
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
            has_next = same[r]
            act_nonlast[:, layer] += torch.bincount(c[has_next], minlength=m)
            keys = r * m + c
            pos = torch.searchsorted(keys, keys + m).clamp_(max=keys.numel() - 1)
            found = (keys[pos] == keys + m) & has_next
            pairs[:, layer] += torch.bincount(c[found], minlength=m)
            b = ((torch.log(v) - log_lo) / log_span * cfg.hist_bins).floor().clamp_(0, cfg.hist_bins - 1).long()
            hist[layer].view(-1).index_add_(0, c * cfg.hist_bins + b, torch.ones_like(b))
            # top-k merge: only activations above the factor's current k-th value compete (an
            # equal one loses: its row is larger than every kept row of this layer)
            sel = v > topv[layer, c, k - 1]
            if bool(sel.any()):
                cc, cv, cr = c[sel], v[sel], r[sel] + lo
                order = torch.argsort(cc, stable=True)  # per factor, rows stay ascending
                cc, cv, cr = cc[order], cv[order], cr[order]
                counts = torch.bincount(cc, minlength=m)
                starts = torch.cumsum(counts, 0) - counts
                slot = torch.arange(cc.numel()) - starts[cc]
                u = torch.nonzero(counts).squeeze(1)
                kk = int(counts.max())
                pv = torch.full((m, kk), -1.0)
                pi = torch.full((m, kk), -1, dtype=torch.int64)
                pv[cc, slot] = cv
                pi[cc, slot] = cr
                mv = torch.cat([topv[layer, u], pv[u]], 1)
                mi = torch.cat([topi[layer, u], pi[u]], 1)
                # stable: equal values keep kept rows (smaller) before new ones: (value desc, row asc)
                sv, si = torch.sort(mv, dim=1, descending=True, stable=True)
                topv[layer, u] = sv[:, :k]
                topi[layer, u] = torch.gather(mi, 1, si[:, :k])
    return {
        "batch_start": np.asarray([lo for lo, _ in batches], dtype=np.int64),
        "err_scaled": err_scaled,
        "err_orig": err_orig,
        "norm_scaled": norm_scaled,
        "sum_scaled": sum_scaled,
        "topk_values": topv.numpy().astype(np.float32),
        "topk_token": topi.numpy(),
        "active": active.numpy(),
        "act_nonlast": act_nonlast.numpy(),
        "pairs": pairs.numpy(),
        "hist": hist.numpy(),
        "l0_hist": l0_hist,
        "seconds": np.float64(time.perf_counter() - t0),
    }


#: Partial fields that add up (integer counts), and those kept per batch (float sums, summed in
#: batch order only at the end, so any grouping of partials gives the same bits).
_COUNTS = ("active", "act_nonlast", "pairs", "hist", "l0_hist")
_PER_BATCH = ("err_scaled", "err_orig", "norm_scaled", "sum_scaled")


def merge_partials(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Associative, commutative merge of two ``infer_shard`` partials (of disjoint token
    ranges): counts add, per-batch sums concatenate (ordered by batch start), top-k lists merge
    by (value desc, token row asc). Merging any grouping of a store's shard partials, then
    ``finish_inference``, gives exactly the single-pass result."""
    out = {name: a[name] + b[name] for name in _COUNTS}
    starts = np.concatenate([a["batch_start"], b["batch_start"]])
    order = np.argsort(starts, kind="stable")
    out["batch_start"] = starts[order]
    for name in _PER_BATCH:
        out[name] = np.concatenate([a[name], b[name]])[order]
    k = a["topk_values"].shape[2]
    values = np.concatenate([a["topk_values"], b["topk_values"]], axis=2)
    rows = np.concatenate([a["topk_token"], b["topk_token"]], axis=2)
    best = np.lexsort((rows, -values), axis=2)[:, :, :k]  # empty slots (-1) sort last
    out["topk_values"] = np.take_along_axis(values, best, 2)
    out["topk_token"] = np.take_along_axis(rows, best, 2)
    out["seconds"] = np.float64(a["seconds"] + b["seconds"])
    return out


def finish_inference(partial: dict[str, np.ndarray], cfg: FactorConfig) -> dict[str, Any]:
    """The statistics of ``run_inference`` from the merged partial of every shard."""
    topv = partial["topk_values"].copy()
    topi = partial["topk_token"].copy()
    topi[topv <= 0] = -1
    topv = np.maximum(topv, 0.0)

    def in_batch_order(per_batch: np.ndarray) -> np.ndarray:  # sequential sum, batch by batch
        total = np.zeros(per_batch.shape[1:])
        for row in per_batch[np.argsort(partial["batch_start"], kind="stable")]:
            total += row
        return total

    return {
        "topk_values": topv.astype(np.float32),
        "topk_token": topi.astype(np.int32),
        "active": partial["active"],
        "act_nonlast": partial["act_nonlast"],
        "pairs": partial["pairs"],
        "hist": np.ascontiguousarray(partial["hist"].transpose(1, 0, 2)),
        "hist_edges": np.geomspace(cfg.hist_min, cfg.hist_max, cfg.hist_bins + 1),
        "max_act": np.ascontiguousarray(topv[:, :, 0].T),
        "l0_hist": partial["l0_hist"],
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

            from ..extract import ActivationStore

            t = load_file(str(self.model_file))
            sae = {k: t[k] for k in ("W_enc", "b_enc", "b_dec")} if "W_enc" in t else None
            self._loaded = (ActivationStore(self.store_path), Encoder(self.cfg, t["components"], sae), t["mean"], t["scale"], t.get("massive_norm"))
        return self._loaded

    def run(self, token_range: tuple[int, int], progress: Any = None) -> dict[str, np.ndarray]:
        store, enc, mean, scale, massive_norm = self.load()
        return infer_shard(store, self.cfg, enc, mean, scale, token_range, progress, massive_norm)


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
                merged = partial if merged is None else merge_partials(merged, partial)
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
            merged = partial if merged is None else merge_partials(merged, partial)
    if merged is None:  # an empty store
        raise ValueError("factor inference over a store without tokens")
    if kept:
        reporter.log(f"factors: {kept} of {len(shards)} inference shards kept from an interrupted build")
    return finish_inference(merged, cfg)


# ----------------------------------------------------------------------------- derived statistics

def importance_scores(topk_values: np.ndarray) -> np.ndarray:
    """IS (m, L+1): mean of the top-k activations of factor c at layer l (missing = 0).
    ``topk_values``: (L+1, m, k)."""
    return topk_values.mean(2).T.astype(np.float32)


def peak_layers(IS: np.ndarray) -> np.ndarray:
    """(m,) argmax over layers of IS (first one on ties)."""
    return IS.argmax(1).astype(np.int32)


def assign_levels(IS: np.ndarray, spread: np.ndarray, low_max_layer: int, spread_threshold: float) -> np.ndarray:
    """Level per factor (m,) of "low" | "mid" | "high" | "dead".

    Rule (documented in docs/factors.md): a factor that is never active (IS all zero) is
    "dead"; if its IS peaks at layer <= ``low_max_layer`` it is "low" (word level, the paper's
    early peak); otherwise it is "high" when, at its peak layer, activity spreads along the
    sentence -- spread = P(active at token t+1 | active at t) >= ``spread_threshold`` (the
    factor describes a context wider than the token: long-range) -- and "mid" when it stays on
    the token.
    """
    peak = peak_layers(IS)
    sp = spread[np.arange(len(peak)), peak]
    level = np.where(peak <= low_max_layer, "low", np.where(sp >= spread_threshold, "high", "mid")).astype(object)
    level[IS.max(1) <= 0] = "dead"
    return level.astype(str)


def cosine_neighbors(components: np.ndarray, n: int = N_NEIGHBORS) -> tuple[np.ndarray, np.ndarray]:
    """(m, n) indices and cosines of each atom's nearest other atoms."""
    D = components / np.maximum(np.linalg.norm(components, axis=1, keepdims=True), 1e-12)
    S = D @ D.T
    np.fill_diagonal(S, -np.inf)
    n = min(n, max(D.shape[0] - 1, 0))
    idx = np.argsort(-S, axis=1)[:, :n]
    return idx.astype(np.int32), np.take_along_axis(S, idx, 1).astype(np.float32)


def quality(raw: dict[str, Any], stats: dict[str, np.ndarray], n_tokens: int, dense_threshold: float) -> dict[str, Any]:
    """Per-layer and overall metrics (see FORMULAS), over the states that were coded: every
    token's but the massive activations (``stats["n_kept"]`` per layer; counted here as
    ``massive``)."""
    L1 = len(raw["err_scaled"])
    active = raw["active"]
    n_kept = np.asarray(stats["n_kept"], dtype=np.int64)
    n = np.maximum(n_kept, 1)
    # sums of squares about the mean of the evaluation set, in preprocessed units
    zbar = raw["sum_scaled"] / n[:, None]  # (L+1, d) per-layer means of z (0 unless preprocess="none")
    ss_z = raw["norm_scaled"] - n_kept * (zbar**2).sum(1)
    zbar_pooled = raw["sum_scaled"].sum(0) / max(int(n_kept.sum()), 1)
    ss_z_pooled = raw["norm_scaled"].sum() - n_kept.sum() * (zbar_pooled**2).sum()
    per_layer = []
    for layer in range(L1):
        l0h = raw["l0_hist"][layer]
        dens = active[:, layer] / n[layer]
        per_layer.append({
            "layer": layer,
            "fvu": float(raw["err_scaled"][layer] / max(ss_z[layer], 1e-30)),
            "fvu_original": float(raw["err_orig"][layer] / max(float(stats["ss_layer"][layer]), 1e-30)),
            "l0_mean": float((np.arange(len(l0h)) * l0h).sum() / max(l0h.sum(), 1)),
            "l0_quantiles": _quantiles(l0h),
            "dead_fraction": float((dens == 0).mean()),
            "dense_fraction": float((dens > dense_threshold).mean()),
            "massive": int(n_tokens - n_kept[layer]),
        })
    l0_all = raw["l0_hist"].sum(0)
    dens_all = active.sum(1) / max(int(n_kept.sum()), 1)
    overall = {
        "fvu": float(raw["err_scaled"].sum() / max(ss_z_pooled, 1e-30)),
        "fvu_original": float(raw["err_orig"].sum() / max(float(stats["ss_pooled"]), 1e-30)),
        "l0_mean": float((np.arange(len(l0_all)) * l0_all).sum() / max(l0_all.sum(), 1)),
        "l0_quantiles": _quantiles(l0_all),
        "dead_fraction": float((dens_all == 0).mean()),
        "dense_fraction": float((dens_all > dense_threshold).mean()),
        "massive": int(L1 * n_tokens - n_kept.sum()),
    }
    return {"per_layer": per_layer, "overall": overall, "l0_histogram": _trim(l0_all)}


def _quantiles(h: np.ndarray) -> dict[str, int]:
    c = np.cumsum(h)
    tot = c[-1] if len(c) else 0
    if tot == 0:
        return {q: 0 for q in ("p10", "p50", "p90", "max")}
    out = {f"p{int(q * 100)}": int(np.searchsorted(c, q * tot)) for q in (0.1, 0.5, 0.9)}
    out["max"] = int(np.nonzero(h)[0].max())
    return out


def _trim(h: np.ndarray) -> list[int]:
    nz = np.nonzero(h)[0]
    return h[: nz.max() + 1].tolist() if len(nz) else []


#: What each method minimises (the manifest's formulas.objective is the one of the method used).
OBJECTIVES = {
    "fista-dl": "min over D, a >= 0 of sum 1/2 ||z - a D||^2 + alpha * sum(a), rows of D unit-norm (D = Phi^T), z = (x - mean_l) / scale_l",
    "topk-sae": "min over W_enc, b_enc, D, b_dec of mean ||z - z_hat||^2, z_hat = a D + b_dec, a = TopK_k(ReLU((z - b_dec) W_enc + b_enc)), rows of D unit-norm, z = (x - mean_l) / scale_l",
}

FORMULAS = {
    "fvu": "FVU = sum ||z - z_hat||^2 / sum ||z - mean(z)||^2 over all tokens of the set, mean taken over that set (a layer; overall: all layers pooled)",
    "fvu_original": "FVU (original units) = sum ||x - x_hat||^2 / sum ||x - mean(x)||^2, x_hat = mean_l + scale_l * z_hat; overall: mean over all layers' states pooled",
    "l0": "L0 = number of factors with a > 0 for one token at one layer",
    "dead": "dead fraction = share of factors never active (a > 0) on any token (per layer: at that layer; overall: at any layer)",
    "dense": "dense fraction = share of factors active on more than 10% of tokens",
    "massive": "massive activations = states whose norm exceeds massive_ratio x the median norm of their layer's states; they get no factor activations and are left out of every metric above",
    "importance": "IS(c, l) = mean of the top-k activations of factor c at layer l (k = top_k; missing entries count as 0)",
    "level": "low: IS peaks at a layer <= low_max_layer; otherwise high if P(active at t+1 | active at t) at the peak layer >= spread threshold, else mid",
}
