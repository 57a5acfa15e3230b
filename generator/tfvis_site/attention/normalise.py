"""Per-head query/key normalisation (AttentionViz §4.1) and the dot-product/distance correlation.

Softmax over keys is invariant to adding a constant to every score of one query row, so

* **key translation** ``k' = k + (mean(q) - mean(k))`` changes ``q·k'`` by ``q·δ``, a constant per
  query row: no attention weight changes, and queries and keys now share a centroid;
* **norm scaling** ``q' = c·q``, ``k' = k/c`` leaves every dot product unchanged.

``c`` is the free parameter: we pick it to make distance the best proxy for attention, i.e. to
maximise the (negative) weighted Pearson correlation between ``q·k`` and ``‖q' - k'‖`` over the
query-key pairs the model actually scores (same sentence, causal mask respected), weighting
near pairs more (weight ``exp(-d / median d)``), as the paper does. The search is a coarse grid
over ``log c`` refined by a bounded scalar minimisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairSample:
    """Query-key pairs inside one sentence (and allowed by the causal mask), as token indices."""

    query: np.ndarray  # (n_pairs,) int64 token index of the query
    key: np.ndarray  # (n_pairs,) int64 token index of the key


def sentence_pairs(offsets: np.ndarray, causal: bool, max_pairs: int, seed: int) -> PairSample:
    """All scored (query, key) pairs of the sentences ``[offsets[s], offsets[s+1])``, subsampled
    uniformly (seeded) to at most ``max_pairs``."""
    qs, ks = [], []
    for lo, hi in zip(offsets[:-1], offsets[1:]):
        n = int(hi - lo)
        if n == 0:
            continue
        i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        keep = (j <= i) if causal else np.ones_like(i, dtype=bool)
        qs.append(lo + i[keep])
        ks.append(lo + j[keep])
    q = np.concatenate(qs).astype(np.int64) if qs else np.zeros(0, np.int64)
    k = np.concatenate(ks).astype(np.int64) if ks else np.zeros(0, np.int64)
    if len(q) > max_pairs:
        pick = np.sort(np.random.default_rng(seed).choice(len(q), max_pairs, replace=False))
        q, k = q[pick], k[pick]
    return PairSample(q, k)


def key_translation(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """(d,) the shift δ with ``mean(k + δ) = mean(q)``; q: (n, d), k: (n, d)."""
    return (q.astype(np.float64).mean(0) - k.astype(np.float64).mean(0)).astype(np.float32)


def _weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    w = w / w.sum()
    mx, my = (w * x).sum(), (w * y).sum()
    cov = (w * (x - mx) * (y - my)).sum()
    vx, vy = (w * (x - mx) ** 2).sum(), (w * (y - my) ** 2).sum()
    if vx <= 0 or vy <= 0:
        return 0.0
    return float(cov / np.sqrt(vx * vy))


def scale_objective(log_c: float, dots: np.ndarray, qn2: np.ndarray, kn2: np.ndarray) -> float:
    """Weighted corr(q·k, ‖c q - k/c‖) for pairs with squared norms qn2, kn2 (lower = better)."""
    c2 = np.exp(2.0 * log_c)
    d = np.sqrt(np.maximum(c2 * qn2 + kn2 / c2 - 2.0 * dots, 0.0))
    med = np.median(d)
    w = np.exp(-d / med) if med > 0 else np.ones_like(d)
    return _weighted_corr(dots, d, w)


def choose_scale(q: np.ndarray, k: np.ndarray, pairs: PairSample, max_pairs: int = 20_000) -> float:
    """The factor ``c`` (queries × c, keys ÷ c) minimising the weighted dot/distance correlation.

    q, k: (n_tokens, d) already key-translated; pairs index into them.
    """
    from scipy.optimize import minimize_scalar

    step = max(1, len(pairs.query) // max_pairs)
    qi, ki = pairs.query[::step], pairs.key[::step]
    if len(qi) < 3:
        return 1.0
    qv, kv = q[qi].astype(np.float64), k[ki].astype(np.float64)
    dots = (qv * kv).sum(1)
    qn2, kn2 = (qv * qv).sum(1), (kv * kv).sum(1)
    grid = np.linspace(-4.0, 4.0, 17)
    vals = [scale_objective(g, dots, qn2, kn2) for g in grid]
    best = int(np.argmin(vals))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    res = minimize_scalar(scale_objective, bounds=(lo, hi), args=(dots, qn2, kn2), method="bounded", options={"xatol": 1e-3})
    log_c = float(res.x) if res.fun <= vals[best] else float(grid[best])
    return float(np.exp(log_c))


@dataclass(frozen=True)
class Normalisation:
    """What was applied to one head: ``q' = c q``, ``k' = (k + shift) / c``."""

    c: float
    shift: np.ndarray  # (d,) float32

    def apply(self, q: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """q: (n, d), k: (n, d) -> normalised float32 copies."""
        return (q * self.c).astype(np.float32), ((k + self.shift) / self.c).astype(np.float32)


def normalise_head(q: np.ndarray, k: np.ndarray, pairs: PairSample, translate: bool = True, scale: bool = True) -> Normalisation:
    """Key translation then norm scaling for one head (q, k: (n_tokens, d))."""
    shift = key_translation(q, k) if translate else np.zeros(q.shape[1], np.float32)
    if not scale:
        return Normalisation(c=1.0, shift=shift)
    c = choose_scale(q, k + shift, pairs)
    return Normalisation(c=c, shift=shift)


def spearman_dot_distance(q: np.ndarray, k: np.ndarray, pairs: PairSample) -> float:
    """Spearman correlation between ``q·k`` and ``‖q - k‖`` over the pairs (−1 = distance is a
    perfect proxy for attention score)."""
    if len(pairs.query) < 3:
        return float("nan")
    qv, kv = q[pairs.query].astype(np.float64), k[pairs.key].astype(np.float64)
    dots = (qv * kv).sum(1)
    dist = np.linalg.norm(qv - kv, axis=1)
    return spearman(dots, dist)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties), as scipy.stats.spearmanr, without
    its per-call overhead."""
    from scipy.stats import rankdata

    rx, ry = rankdata(x), rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / den) if den > 0 else float("nan")


def spearman_dot_projected(dots: np.ndarray, coords: np.ndarray, n_tokens: int, pairs: PairSample) -> float:
    """Spearman between the pairs' dot products and their distance in a projection.

    coords: (2 * n_tokens, dim), queries first then keys (point ``n_tokens + t`` is key t).
    """
    if len(pairs.query) < 3:
        return float("nan")
    d = np.linalg.norm(coords[pairs.query] - coords[n_tokens + pairs.key], axis=1)
    return spearman(dots, d)
