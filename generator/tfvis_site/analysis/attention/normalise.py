"""Per-head query/key normalisation (AttentionViz §4.1) and the dot-product/distance correlations.

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
from typing import Any

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
    """Pooled statistic (ours): ONE Spearman correlation between ``q·k`` and the *Euclidean*
    distance ``‖q - k‖`` over the sampled (query, key) pairs of all sentences pooled together
    (``sentence_pairs``: same sentence, causal mask respected, at most ``max_pairs``).

    −1 means that, across the whole sample, a nearer key always has a larger score. It measures
    how well the joint picture (distances) shows attention, and it changes with both
    normalisation steps. It is NOT the AttentionViz paper's statistic (per query, cosine
    distance, then averaged: ``spearman_paper``); the two numbers are not comparable."""
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


#: What the two dot/distance correlations of a head are (result.json "statistics"; for the pages).
STATISTIC_TEXT = {
    "spearman_before": "pooled Spearman(q·k, Euclidean ‖q − k‖) over sampled same-sentence query-key pairs of the "
    "whole sample, raw q and k (ours; −1 = a nearer key always scores higher)",
    "spearman_after": "the same pooled statistic after key translation and norm scaling",
    "spearman_paper_before": "AttentionViz statistic: per query, Spearman(q·k_j, cosine distance of q and k_j) over the "
    "keys j it can see in its own sentence / image (causal: j ≤ i; queries with < 3 keys skipped), "
    "then the mean over queries; raw q and k",
    "spearman_paper_after": "the AttentionViz statistic after key translation and norm scaling (scaling cannot change "
    "it; translation moves the cosine distances only)",
}


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, 0-based, ties sharing their average rank (``rankdata - 1``),
    for any leading shape; float64. One argsort per row, everything else vectorised.
    ``+inf`` sorts last (use it to push masked entries out of the way of the others' ranks)."""
    x = np.asarray(x)
    shape = x.shape
    n = shape[-1]
    flat = x.reshape(-1, n)
    order = np.argsort(flat, axis=1)  # tie order is irrelevant: ties get their average
    xs = np.take_along_axis(flat, order, 1)
    idx = np.broadcast_to(np.arange(n, dtype=np.float64), xs.shape)
    if n > 1:
        new = np.ones(xs.shape, bool)
        np.not_equal(xs[:, 1:], xs[:, :-1], out=new[:, 1:])
    else:
        new = np.ones(xs.shape, bool)
    if new.all():  # no ties (the usual case for float scores): rank = sorted position
        avg = idx
    else:
        start = np.maximum.accumulate(np.where(new, idx, 0.0), axis=1)
        last = np.ones(xs.shape, bool)
        last[:, :-1] = new[:, 1:]
        end = np.minimum.accumulate(np.where(last, idx, float(n))[:, ::-1], axis=1)[:, ::-1]
        avg = (start + end) / 2.0
    ranks = np.empty(flat.shape, np.float64)
    np.put_along_axis(ranks, order, avg, 1)
    return ranks.reshape(shape)


def masked_row_pearson(x: np.ndarray, y: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Pearson correlation of each row of x and y (same shape, last axis = samples), over the
    entries where ``mask`` (broadcastable) is True; NaN where a row has no spread."""
    if mask is None:
        cx = x - x.mean(-1, keepdims=True)
        cy = y - y.mean(-1, keepdims=True)
    else:
        m = np.broadcast_to(mask, x.shape)
        n = np.maximum(m.sum(-1, keepdims=True), 1)
        cx = np.where(m, x - np.where(m, x, 0.0).sum(-1, keepdims=True) / n, 0.0)
        cy = np.where(m, y - np.where(m, y, 0.0).sum(-1, keepdims=True) / n, 0.0)
    cov = (cx * cy).sum(-1)
    den = np.sqrt((cx * cx).sum(-1) * (cy * cy).sum(-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 1e-12, cov / np.where(den > 0, den, 1.0), np.nan)


def _minus_cos(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """−cos(q_i, k_j) (..., L, L): ranks like the cosine distance 1 − cos, without 1 − x rounding
    ties. A zero vector gets cos 0 with everything."""
    qn = np.linalg.norm(q, axis=-1, keepdims=True)
    kn = np.linalg.norm(k, axis=-1, keepdims=True)
    qh = q / np.where(qn > 0, qn, 1.0)
    kh = k / np.where(kn > 0, kn, 1.0)
    return -(qh @ np.swapaxes(kh, -1, -2))


def _push_last(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """x where keep, else distinct values larger than every kept value, so that they rank last
    without ties among themselves (ties would send average_ranks down its slow path)."""
    top = float(np.abs(np.where(keep, x, 0.0)).max()) + 1.0
    return np.where(keep, x, 2.0 * top + np.arange(x.shape[-1], dtype=np.float64) * (top * 1e-6))


def spearman_paper_rows(q: np.ndarray, k: np.ndarray, causal: bool, valid: np.ndarray | None = None, min_keys: int = 3,
                        normalised: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
    """Per query, Spearman(q_i·k_j, cosine distance(q_i, k_j)) over the keys j it can see
    (causal: j <= i), for a batch of sentences / images padded to one length.

    q, k: (..., L, d), e.g. (B, H, L, d) or (H, L, d); valid: (B, L) (or (L,)) True for real
    units, broadcast over the head axis (None = all real). Returns (..., L) float64; NaN for
    padding, queries with fewer than ``min_keys`` visible keys, and rows without spread.

    ``normalised``: the same vectors after key translation and norm scaling; then returns
    (before, after). The dot-product ranks are shared: ``c q · (k + δ) / c = q·k + q·δ`` differs
    by a constant per query row, which no rank within the row can see.
    """
    q = np.asarray(q, np.float64)
    k = np.asarray(k, np.float64)
    L = q.shape[-2]
    dots = q @ np.swapaxes(k, -1, -2)  # (..., L, L)
    dists = [_minus_cos(q, k)]
    if normalised is not None:
        dists.append(_minus_cos(*(np.asarray(a, np.float64) for a in normalised)))
    visible = np.tril(np.ones((L, L), bool)) if causal else np.ones((L, L), bool)
    vq = None
    if valid is not None:
        valid = np.asarray(valid, bool)
        four = valid.ndim == 2 and q.ndim == 4
        visible = visible & (valid[:, None, None, :] if four else valid[..., None, :])
        vq = valid[:, None, :] if four else valid
    mask = None
    if not visible.all():
        dots = _push_last(dots, visible)
        dists = [_push_last(x, visible) for x in dists]
        mask = visible
    dot_ranks = average_ranks(dots)
    ok = visible.sum(-1) >= min_keys  # (L,) or (B, 1, L): broadcasts over the heads
    if vq is not None:
        ok = ok & vq
    out = [np.where(ok, masked_row_pearson(dot_ranks, average_ranks(x), mask), np.nan) for x in dists]
    return out[0] if normalised is None else (out[0], out[1])


def spearman_paper(q: np.ndarray, k: np.ndarray, offsets: np.ndarray, causal: bool, normalised: tuple[np.ndarray, np.ndarray] | None = None,
                   min_keys: int = 3, batch_values: int = 1 << 16) -> Any:
    """The AttentionViz statistic (Yeh et al. 2023): for every query, within its own sentence
    (or image), the Spearman rank correlation between ``q·k_j`` and the cosine distance of q and
    ``k_j`` over the keys j it can see (causal models: j <= i), then the mean over all queries
    of the sample (queries with fewer than ``min_keys`` visible keys are skipped).

    −1: within every query's row, the higher-scoring key is always the nearer one in angle. The
    paper reports about −0.94 (BERT), −0.79 (GPT-2), −0.87 / −0.88 (ViT) after normalisation.
    Invariant to ``q·c, k/c`` (neither the dots nor the angles change) and to adding a constant
    to a query's scores, but not to key translation (it changes the angles).

    q, k: (N, d) for one head -> float; or (N, H, d) for H heads at once -> (H,) array (map GQA
    key heads to query heads first). offsets: (n_sentences + 1,) token offsets of the sentences.
    ``normalised``: (qn, kn) shaped like q, k -> returns (before, after). Sentences of similar
    length are padded into batches of about ``batch_values`` scores (small batches stay in the
    CPU cache: measured fastest here).
    """
    q = np.asarray(q)
    k = np.asarray(k)
    single = q.ndim == 2
    variants = [(q, k)] + ([tuple(np.asarray(a) for a in normalised)] if normalised is not None else [])
    if single:
        variants = [(a[:, None], b[:, None]) for a, b in variants]
    H = variants[0][0].shape[1]
    total = np.zeros((len(variants), H))
    count = np.zeros((len(variants), H))
    offsets = np.asarray(offsets, np.int64)
    lengths = np.diff(offsets)
    order = np.array([s for s in np.argsort(lengths, kind="stable") if lengths[s] >= min_keys], np.int64)
    i = 0
    while i < len(order):
        j = i + 1  # sentences sorted by length: grow the batch while it stays small
        while j < len(order) and (j + 1 - i) * H * int(lengths[order[j]]) ** 2 <= batch_values:
            j += 1
        chunk = order[i:j]
        Lm = int(lengths[chunk].max())
        pos = np.arange(Lm)
        valid = pos[None, :] < lengths[chunk][:, None]  # (B, Lm)
        idx = np.where(valid, offsets[chunk][:, None] + pos[None, :], 0)
        batch = [(a[idx].transpose(0, 2, 1, 3), b[idx].transpose(0, 2, 1, 3)) for a, b in variants]  # (B, H, Lm, d)
        rhos = spearman_paper_rows(*batch[0], causal, None if valid.all() else valid, min_keys, batch[1] if len(batch) > 1 else None)
        for v, rho in enumerate(rhos if len(batch) > 1 else (rhos,)):
            ok = np.isfinite(rho)
            total[v] += np.where(ok, rho, 0.0).sum((0, 2))
            count[v] += ok.sum((0, 2))
        i = j
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    out = [float(m[0]) if single else m for m in mean]
    return out[0] if normalised is None else (out[0], out[1])
