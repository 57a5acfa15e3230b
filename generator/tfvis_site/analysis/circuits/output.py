"""The output side of a factor: which tokens it promotes and suppresses.

* **decoder with an unembedding** (kind "unembedding"): factor i's direction at hidden state l,
  scale_l ⊙ φ_i, through the final norm's linear part (gain, and centring for a LayerNorm; its
  per-token division is a positive factor, so the ranking is that of the real logits' change)
  and W_U: u_i = n_final(scale_l ⊙ φ_i) @ W_U, (d_vocab,). The top ``k`` and bottom ``k``
  tokens with their values (logit change per unit of activation, up to that positive factor).
  The direct path only: the layers after l are not run. A decoder's last hidden state is already
  through the final norm: there u_i = (scale_L ⊙ φ_i) @ W_U.
* **encoder without a language-model head** (kind "embedding"): the ``k`` input embeddings
  (rows of W_E) nearest to scale_l ⊙ φ_i by cosine; ``suppressed`` is empty.
* **images** (kind None): a vision transformer reads pixels through a patch convolution and has
  no vocabulary; ``reason`` says so.

``layer`` defaults to each factor's peak layer (FactorResult.peak_layer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .common import factor_directions
from .weights import ModelWeights

NO_VOCABULARY = "a vision transformer reads pixels through a patch convolution and writes no tokens: there is no vocabulary to read a factor against"
NO_HEAD_NO_EMBEDDING = "the model has neither an unembedding nor a token embedding to read a factor against"


@dataclass
class OutputTokens:
    """factor, layer; kind "unembedding" | "embedding" | None; promoted / suppressed: lists of
    (token id, value) best first (value: logit per unit of activation, or cosine); tokens: their
    strings when a tokenizer was given ({id: string}); reason: why kind is None."""

    factor: int
    layer: int
    kind: str | None
    promoted: list[tuple[int, float]] = field(default_factory=list)
    suppressed: list[tuple[int, float]] = field(default_factory=list)
    tokens: dict[int, str] = field(default_factory=dict)
    reason: str | None = None


def output_kind(weights: ModelWeights) -> tuple[str | None, str | None]:
    """(kind, reason): what the output side of this model's factors is read through."""
    if weights.W_U is not None:
        return "unembedding", None
    if weights.W_E is not None:
        return "embedding", None
    return None, NO_VOCABULARY if weights.family == "dinov2" else NO_HEAD_NO_EMBEDDING


def factor_logits(weights: ModelWeights, result: Any, factors: np.ndarray, layer: int) -> np.ndarray:
    """(len(factors), d_vocab) float32: u_i of each factor at hidden state ``layer``."""
    dirs = factor_directions(result, layer)[np.asarray(factors)]
    return weights.unembed_read(dirs, layer).astype(np.float32) @ np.asarray(weights.W_U, np.float32)


def embedding_cosines(weights: ModelWeights, result: Any, factors: np.ndarray, layer: int,
                      unit_embeddings: np.ndarray | None = None) -> np.ndarray:
    """(len(factors), d_vocab) float32: cosine of scale_l ⊙ φ_i with each input embedding
    (``unit_embeddings``: W_E with unit rows, if already computed)."""
    dirs = factor_directions(result, layer)[np.asarray(factors)]
    dirs = dirs / np.maximum(np.linalg.norm(dirs, axis=1, keepdims=True), 1e-30)
    E = _unit_rows(weights.W_E) if unit_embeddings is None else unit_embeddings
    return dirs.astype(np.float32) @ E.T


def _unit_rows(E: np.ndarray) -> np.ndarray:
    E = np.asarray(E, np.float64)
    return (E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-30)).astype(np.float32)


def _ranked(values: np.ndarray, k: int, largest: bool) -> list[list[tuple[int, float]]]:
    """Per row of ``values`` (n, V): its k largest (or smallest) entries as (column, value),
    best first, ties by the lower column. torch.topk finds each row's k-th value on all cores;
    every entry at least as good is then ranked exactly (so ties at the cut are decided by
    column, not by topk's order)."""
    import torch

    v = np.ascontiguousarray(values if largest else -values, np.float32)
    k = min(k, v.shape[1])
    cut = torch.topk(torch.from_numpy(v), k, dim=1).values[:, -1:].numpy()
    rows, cols = np.nonzero(v >= cut)
    order = np.lexsort((cols, -v[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(len(v)))
    return [[(int(c), float(values[r, c])) for c in cols[starts[r] : starts[r] + k]] for r in range(len(v))]


def output_tokens(weights: ModelWeights, result: Any, factors: np.ndarray | None = None, layer: int | np.ndarray | None = None,
                  k: int = 10, tokenizer: Any = None, block: int = 256) -> list[OutputTokens]:
    """The output side of each factor in ``factors`` (None: all), in that order. ``layer``: one
    hidden state for all, one per factor, or None (each factor's peak layer). Factors are read
    ``block`` at a time (a (block, d_vocab) matrix)."""
    factors = np.arange(result.n_components) if factors is None else np.asarray(factors, np.int64)
    layers = np.asarray(result.peak_layer)[factors] if layer is None else np.broadcast_to(np.asarray(layer), factors.shape)
    kind, reason = output_kind(weights)
    if kind is None:
        return [OutputTokens(int(f), int(lay), None, reason=reason) for f, lay in zip(factors, layers)]
    E = _unit_rows(weights.W_E) if kind == "embedding" else None
    found: dict[int, OutputTokens] = {}
    for lay in np.unique(layers):
        at = np.flatnonzero(layers == lay)
        for lo in range(0, len(at), block):
            chunk = factors[at[lo : lo + block]]
            if kind == "unembedding":
                values = factor_logits(weights, result, chunk, int(lay))
            else:
                values = embedding_cosines(weights, result, chunk, int(lay), E)
            promoted = _ranked(values, k, True)
            suppressed = _ranked(values, k, False) if kind == "unembedding" else [[] for _ in chunk]
            for n, f in enumerate(chunk):
                found[int(at[lo + n])] = OutputTokens(int(f), int(lay), kind, promoted[n], suppressed[n])
    out = [found[i] for i in range(len(factors))]
    if tokenizer is not None:
        for item in out:
            ids = [t for t, _ in item.promoted + item.suppressed]
            item.tokens = dict(zip(ids, tokenizer.convert_ids_to_tokens(ids)))
    return out
