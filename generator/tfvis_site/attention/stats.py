"""Attention statistics per head, the automatic head label, and the attention data for the views.

All functions take one layer's attention of one sentence, ``A`` of shape (n_heads, L, L) (rows =
queries), and accumulate into a ``LayerAccumulator``.

Statistics are averaged over *eligible* queries: non-special tokens that can see at least two
keys (so the first token of a causal model, which must attend to itself, does not count).
"Sink" keys are the special tokens ([CLS], [SEP], <s>, …) and position 0 (GPT-2's first token
plays that role without being special). prev/next/self/local masses count only non-sink keys,
so the classes do not overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LABELS = ("prev", "next", "self", "sink", "positional", "broad", "other")
LABEL_TEXT = {
    "prev": "previous token",
    "next": "next token",
    "self": "self / same token",
    "sink": "first token / [CLS] / [SEP] sink",
    "positional": "positional (local window)",
    "broad": "broad",
    "other": "other",
}
STAT_TEXT = {
    "prev": "mean attention to the previous token",
    "next": "mean attention to the next token",
    "self": "mean attention to itself or the same token",
    "sink": "mean attention to special tokens / the first token",
    "positional": "mean attention within ±{w} positions (no sinks)",
    "broad": "mean normalised attention entropy",
    "other": "largest of the masses above",
}


@dataclass(frozen=True)
class LabelRule:
    """Thresholds of the head label (set from the statistics of all-MiniLM-L6-v2's 72 heads, see
    docs/attention.md). Each candidate statistic is divided by its threshold; the label is the
    candidate with the largest ratio if that ratio is at least 1, else "other"."""

    token: float = 0.3  # prev / next / self mass (chance level is ~1/L ≈ 0.04)
    sink: float = 0.5  # mass on special tokens / the first token
    local: float = 0.45  # positional: mass within ±window positions (non-sink keys)
    window: int = 2
    broad: float = 0.65  # mean normalised entropy


def topk_key_dtype(max_len: int) -> np.dtype:
    """Key positions fit uint8 for sentences (<= 255 tokens, 255 = none); an image of a ViT has
    more units (DINOv2-S/14 at 224 px: 257), so those use uint16 (65535 = none)."""
    return np.dtype(np.uint8 if max_len <= 255 else "<u2")


class LayerAccumulator:
    """Accumulates statistics, aggregate position×position attention, top-k keys and quantised
    full matrices for the heads of one layer, one sentence at a time."""

    def __init__(self, n_heads: int, n_tokens: int, total_pairs: int, max_len: int, top_k: int, min_weight: float):
        self.n_heads = n_heads
        self.top_k = top_k
        self.min_weight = min_weight
        self.n_eligible = 0
        self.n_entropy = 0
        self.mass = {name: np.zeros(n_heads) for name in ("prev", "next", "self", "sink", "local")}
        self.entropy = np.zeros(n_heads)  # nats
        self.entropy_norm = np.zeros(n_heads)
        self.agg_sum = np.zeros((n_heads, max_len, max_len))
        self.agg_count = np.zeros((max_len, max_len))
        key_dtype = topk_key_dtype(max_len)
        self.topk_key = np.full((n_heads, n_tokens, top_k), np.iinfo(key_dtype).max, key_dtype)  # key position in sentence
        self.topk_weight = np.zeros((n_heads, n_tokens, top_k), np.float32)
        self.weights_u16 = np.zeros((n_heads, total_pairs), np.uint16)

    def add(self, A: np.ndarray, token_lo: int, pair_lo: int, token_ids: np.ndarray, special: np.ndarray, causal: bool, window: int) -> None:
        """A: (n_heads, L, L) float; token_lo: first token index of the sentence in the sample;
        pair_lo: offset of this sentence's L×L block; token_ids, special: (L,)."""
        H, L, _ = A.shape
        A64 = A.astype(np.float64)
        i = np.arange(L)
        visible = (i[None, :] <= i[:, None]) if causal else np.ones((L, L), bool)
        n_visible = visible.sum(1)
        sink = special.copy()
        sink[0] = True
        eligible = (~special) & (n_visible >= 2)
        ne = int(eligible.sum())
        if ne:
            rows = A64[:, eligible]  # (H, ne, L)
            qi = i[eligible]
            off = i[None, :] - qi[:, None]  # key - query
            nonsink = ~sink[None, :]
            same = (token_ids[None, :] == token_ids[qi][:, None]) & nonsink
            self.mass["prev"] += (rows * ((off == -1) & nonsink)).sum((1, 2))
            self.mass["next"] += (rows * ((off == 1) & nonsink)).sum((1, 2))
            self.mass["self"] += (rows * same).sum((1, 2))
            self.mass["sink"] += (rows * sink[None, :]).sum((1, 2))
            self.mass["local"] += (rows * ((np.abs(off) <= window) & nonsink)).sum((1, 2))
            with np.errstate(divide="ignore", invalid="ignore"):
                ent = -np.where(rows > 0, rows * np.log(rows), 0.0).sum(2)  # (H, ne)
            self.entropy += ent.sum(1)
            self.entropy_norm += (ent / np.log(n_visible[eligible])[None, :]).sum(1)
            self.n_eligible += ne
        self.agg_sum[:, :L, :L] += A64
        self.agg_count[:L, :L] += 1
        self.weights_u16[:, pair_lo : pair_lo + L * L] = quantise_u16(A.reshape(H, L * L))
        k = min(self.top_k, L)
        top = np.argsort(-A, axis=2, kind="stable")[:, :, :k]  # (H, L, k)
        w = np.take_along_axis(A, top, 2)
        keep = w >= self.min_weight
        missing = np.iinfo(self.topk_key.dtype).max
        self.topk_key[:, token_lo : token_lo + L, :k] = np.where(keep, top, missing).astype(self.topk_key.dtype)
        self.topk_weight[:, token_lo : token_lo + L, :k] = np.where(keep, w, 0.0)

    def head_stats(self, rule: LabelRule) -> list[dict]:
        """Per head: masses, entropies and the label with the statistic that decided it."""
        n = max(self.n_eligible, 1)
        out = []
        for h in range(self.n_heads):
            m = {name: float(v[h] / n) for name, v in self.mass.items()}
            ent, ent_norm = float(self.entropy[h] / n), float(self.entropy_norm[h] / n)
            label, stat = decide_label(m, ent_norm, rule)
            out.append({"mass": m, "entropy": ent, "entropy_norm": ent_norm, "label": label, "label_stat": stat})
        return out

    def aggregate(self) -> np.ndarray:
        """(n_heads, P, P) mean attention from query position i to key position j over the
        sentences long enough to hold both (0 where no sentence does)."""
        return (self.agg_sum / np.maximum(self.agg_count, 1)[None]).astype(np.float32)


def decide_label(mass: dict[str, float], entropy_norm: float, rule: LabelRule) -> tuple[str, dict]:
    """The first automatic label of a head and the statistic that decided it."""
    candidates = {
        "prev": (mass["prev"], rule.token, STAT_TEXT["prev"]),
        "next": (mass["next"], rule.token, STAT_TEXT["next"]),
        "self": (mass["self"], rule.token, STAT_TEXT["self"]),
        "sink": (mass["sink"], rule.sink, STAT_TEXT["sink"]),
        "positional": (mass["local"], rule.local, STAT_TEXT["positional"].format(w=rule.window)),
        "broad": (entropy_norm, rule.broad, STAT_TEXT["broad"]),
    }
    best = max(candidates, key=lambda k: candidates[k][0] / candidates[k][1])
    value, threshold, name = candidates[best]
    if value >= threshold:
        return best, {"name": name, "value": value, "threshold": threshold}
    return "other", {"name": f"{name} (closest to its threshold)", "value": value, "threshold": threshold}


def quantise_u16(w: np.ndarray) -> np.ndarray:
    """Attention weights in [0, 1] -> uint16 round(w · 65535) (resolution 1.5e-5)."""
    return np.round(np.clip(w, 0.0, 1.0) * 65535.0).astype(np.uint16)
