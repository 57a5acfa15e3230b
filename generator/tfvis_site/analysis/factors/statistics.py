"""The factor stage: preprocessing, learning, coding, statistics, saved result (the streamed
inference over the store's shards: inference.py).

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
import warnings
from typing import Any

import numpy as np
import torch

from ...progress import Reporter
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
    # shuffled as out[i] = sorted[order[i]]: each sorted row goes straight to its place, so the
    # sample is never held twice (200,000 x 576 floats are 0.46 GB)
    order = rng.permutation(n)
    place = np.empty(n, np.int64)
    place[order] = np.arange(n)
    out = np.empty((n, store.info.d_model), dtype=np.float32)
    for layer in np.unique(layers):
        sel = np.flatnonzero(layers == layer)
        x = np.asarray(store.hidden(int(layer))[rows[sel]], dtype=np.float32)
        x -= mean[layer]
        x /= scale[layer]
        out[place[sel]] = x
    return out


def fit_learner(X: np.ndarray, cfg: FactorConfig, reporter: Reporter, d: int):
    m = cfg.n_components
    steps = cfg.sae_n_steps if cfg.method == "topk-sae" else cfg.n_steps
    with reporter.task(f"factors: learn dictionary ({cfg.method}, m={m})", total=max(steps, 1)) as task:
        cb = lambda step, learner: task.advance(1)  # noqa: E731
        if cfg.method == "topk-sae":
            learner = TopKSAE(m, k=cfg.sae_k, n_steps=steps, batch_size=cfg.batch_size, lr=cfg.sae_lr,
                              random_state=cfg.seed, device=cfg.device, precision=cfg.sae_precision, callback=cb)
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
