"""QK in factors: which factor on a query token makes a head attend to which factor on a key token.

**Weights.** Hidden state l (the input of block l) is coded as x = x0_l + Σ_i a_i scale_l ⊙ φ_i,
with x0_l = mean_l (+ scale_l ⊙ b_dec for a TopK SAE) shared by every token. Factor i's
direction in that residual stream is scale_l ⊙ φ_i. For head h of block l::

    q_i = n(scale_l ⊙ φ_i) @ W_Q[h] + b'_Q[h],   b'_Q[h] = (n(x0_l) + β) @ W_Q[h] + b_Q[h]
    k_j = n(scale_l ⊙ φ_j) @ W_K[kv(h)] + b'_K[h]  (the same folding)
    s_ij = scaling · q_i · k_j                      (scaling = 1/√d_head)

n is the linear part of what the block applies before its projections (LayerWeights.read):
a pre-norm model's RMSNorm gain (Llama, Mistral), or LayerNorm gain and centring (GPT-2,
DINOv2), β the LayerNorm bias; nothing for a post-norm encoder (BERT). The norm also divides
each token by its RMS / standard deviation: a positive factor per token, left out, so s_ij is
the score of the states x0_l + scale_l ⊙ φ_i and x0_l + scale_l ⊙ φ_j with that division set to 1.
So s_ij = scaling · q(x_i) · k(x_j) where q(x) = σ(x)(q_model(x) - c) + c, c the query of a
token whose normalised part is zero: exactly what the tests compute from the model's modules.
RoPE models (Llama, Mistral): q and k are rotated by position after the projections; s_ij is
the content term, the score at relative distance 0 (both rotations cancel). Grouped-query heads
use their key/value head's W_K.

**Data.** Over the attention sample, the share of head h's attention that flows from tokens
where i is active (query) to tokens where j is active (key):
D_ij = Σ_{t,s} A_h[t,s] a_i(t) a_j(s) / Σ_{t,s} A_h[t,s] ‖a(t)‖₁ ‖a(s)‖₁, sums over the tokens
of each sentence, a the dictionary's codes of hidden state l (non-negative; Σ_ij D_ij = 1).
A massive activation gets no codes (‖a‖₁ = 0), so attention to or from it (a decoder's
attention sink on its first token) is in neither sum: D shares out the attention between coded
tokens only.

Note for reading s: softmax over keys ignores whatever depends on the query alone, so of
s_ij = q_i · k_j only the key-dependent part (q_i · (k_j - b'_K)) changes where a query with
factor i attends; the query-only part q_i · b'_K shifts a whole row of s. s is kept as the issue
defines it (both biases), which ranks pairs across different query factors by that full score.

**Agreement.** Spearman's rank correlation of s and D over the union of both top lists. When s
and D are unrelated this is negative, not 0: a pair in the union is there because one measure
ranks it high, which says nothing of the other, so the two groups sit in opposite corners (a
selection effect). ``agreement_null`` gives the value to read it against: the same statistic
with D's factor labels shuffled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .common import SampleCodes, active_factors, factor_directions, factor_offset, sample_codes, top_pairs
from .weights import LayerWeights


@dataclass
class ReadFactors:
    """Hidden state l's factors as block l's projections read them, shared by its heads:
    ``read`` (m, d) float64 n(scale_l ⊙ φ_i), ``offset`` (d,) float64 what they read from the
    shared offset (folded into the biases; module docstring)."""

    read: np.ndarray
    offset: np.ndarray

    @classmethod
    def of(cls, lw: LayerWeights, result: Any) -> ReadFactors:
        return cls(lw.read(factor_directions(result, lw.layer)), lw.read_offset(factor_offset(result, lw.layer)))


def qk_vectors(lw: LayerWeights, result: Any, head: int, factors: np.ndarray | None = None,
               read: ReadFactors | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(Q (m', d_head), K (m', d_head)) float64: the query and key of one unit of each factor in
    ``factors`` (None: all) for head ``head`` of block ``lw.layer``, the shared offset folded into
    the biases (module docstring). s = lw.scaling · Q @ K.T. ``read``: ReadFactors.of(lw, result)
    if already made (it is the same for every head of the block)."""
    read = ReadFactors.of(lw, result) if read is None else read
    dirs = read.read if factors is None else read.read[np.asarray(factors)]
    W_K, b_K = lw.k(head)
    Q = dirs @ lw.W_Q[head] + (read.offset @ lw.W_Q[head] + lw.b_Q[head])
    K = dirs @ W_K + (read.offset @ W_K + b_K)
    return Q, K


def qk_weight_scores(lw: LayerWeights, result: Any, head: int, pairs: np.ndarray) -> np.ndarray:
    """(n,) s_ij of the (query factor, key factor) ``pairs`` (n, 2)."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    Q, K = qk_vectors(lw, result, head)
    return lw.scaling * np.einsum("nd,nd->n", Q[pairs[:, 0]], K[pairs[:, 1]])


def top_qk_weight_pairs(lw: LayerWeights, result: Any, head: int, top: int = 20, factors: np.ndarray | None = None,
                        block: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """The ``top`` (query factor, key factor) pairs of head ``head`` by s_ij: (pairs (top, 2),
    scores (top,)), best first. Candidates: ``factors`` for both roles (None: the factors the
    dictionary codes at this layer, common.active_factors). Holds one (block, m') slice of the
    m' × m' score matrix at a time."""
    factors = active_factors(result, lw.layer) if factors is None else np.asarray(factors, np.int64)
    Q, K = qk_vectors(lw, result, head, factors)
    return top_pairs(Q, K.T, factors, factors, top, block, lw.scaling)


class DataShares:
    """D of one head, kept as its two sparse factors: D_ij = C[:, i] · Y[:, j] / denominator, with
    ``codes`` C (T, m) the sample's codes, ``attended`` Y = A_h C (T, m) what each token attends
    to, and ``denominator`` the scalar Σ A ‖a(t)‖₁ ‖a(s)‖₁. ``share(pairs)`` reads entries and
    ``top(k)`` finds the largest without the m × m numerator Cᵀ Y (millions of entries, most of the
    QK stage's time); ``numerator`` makes it all the same. ``from_numerator`` wraps a given one."""

    def __init__(self, codes: Any, attended: Any, denominator: float):
        from scipy import sparse

        self.codes = sparse.csc_matrix(codes, dtype=np.float64)
        self.attended = sparse.csc_matrix(attended, dtype=np.float64)
        self.denominator = float(denominator)
        self._top: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def from_numerator(cls, numerator: Any, denominator: float) -> DataShares:
        """D = ``numerator`` / ``denominator`` (an (m, m) array or sparse matrix)."""
        from scipy import sparse

        return cls(sparse.identity(np.shape(numerator)[0], format="csc"), numerator, denominator)

    @property
    def numerator(self) -> Any:
        """scipy CSR (m, m) Cᵀ Y."""
        return (self.codes.T @ self.attended).tocsr()

    def _block(self, rows: np.ndarray, cols: np.ndarray) -> Any:
        """COO (len(rows), len(cols)): the numerator's entries in those rows and columns."""
        return (self.codes[:, rows].T @ self.attended[:, cols]).tocoo()

    def share(self, pairs: np.ndarray) -> np.ndarray:
        pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
        if self.denominator <= 0 or not len(pairs):
            return np.zeros(len(pairs))
        products = self.codes[:, pairs[:, 0]].multiply(self.attended[:, pairs[:, 1]])
        return np.asarray(products.sum(0), np.float64).ravel() / self.denominator

    def top(self, k: int = 20, probe: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """(pairs (≤k, 2), shares (≤k,)), best first (only pairs that carry attention); ties by
        the lower (query, key). Remembered per k (the null asks for it once per shuffle).

        Row i of the numerator sums to R_i = C[:, i] · Y 1 and column j to K_j = (C 1) · Y[:, j],
        so no entry of row i exceeds R_i. The k-th largest entry of a first block (the ``probe``
        rows and columns of largest R and K) is a floor f for the k-th largest of all: only rows
        with R_i ≥ f and columns with K_j ≥ f can hold the top k, and only that block is formed."""
        if k not in self._top:
            R = self.codes.T @ (self.attended @ np.ones(self.attended.shape[1]))
            K = self.attended.T @ (self.codes @ np.ones(self.codes.shape[1]))
            first = self._block(np.argsort(-R, kind="stable")[:probe], np.argsort(-K, kind="stable")[:probe]).data
            first = first[first > 0]
            # a hair below: the same sums formed in another block may round a last bit apart
            floor = np.partition(first, len(first) - k)[len(first) - k] * (1 - 1e-9) if len(first) >= k else 0.0
            rows, cols = np.flatnonzero((R >= floor) & (R > 0)), np.flatnonzero((K >= floor) & (K > 0))
            block = self._block(rows, cols)
            keep = (block.data >= floor) & (block.data > 0)
            r, c, values = rows[block.row[keep]], cols[block.col[keep]], block.data[keep]
            order = np.lexsort((c, r, -values))[:k]
            pairs = np.stack([r[order], c[order]], 1).astype(np.int64)
            self._top[k] = (pairs, values[order] / self.denominator if self.denominator > 0 else np.zeros(len(order)))
        pairs, shares = self._top[k]
        return pairs.copy(), shares.copy()


class SampleAttention:
    """Block ``codes.layer``'s attention over the coded sentences, one head at a time: per head a
    block-diagonal sparse (T, T) matrix (T: the sample's tokens, rows queries), one block per
    sentence, from which ``shares(head)`` makes D's factors C and A_h C and its denominator
    ‖a‖₁^T A_h ‖a‖₁ (C the (T, m) codes). Sparse because a token has k of m factors active: the
    products touch only the pairs that co-occur in a sentence."""

    def __init__(self, store: Any, codes: SampleCodes):
        from scipy import sparse

        self.codes = sparse.csr_matrix(codes.codes, dtype=np.float64)
        self.l1 = np.asarray(self.codes.sum(1), np.float64).ravel()  # codes are non-negative
        lengths = np.diff(codes.offsets)
        starts = np.repeat(codes.offsets[:-1], lengths * lengths)
        within = np.concatenate([np.arange(n * n) for n in lengths]) if len(lengths) else np.zeros(0, np.int64)
        width = np.repeat(lengths, lengths * lengths)
        self.rows = (starts + within // np.maximum(width, 1)).astype(np.int64)
        self.cols = (starts + within % np.maximum(width, 1)).astype(np.int64)
        self.weights = (np.concatenate([store.attention(codes.layer, int(s)).reshape(store.info.n_heads, -1) for s in codes.sentences], 1)
                        if len(lengths) else np.zeros((store.info.n_heads, 0), np.float32))
        self.n_tokens = int(codes.offsets[-1])
        self.codes_by_factor = self.codes.tocsc()  # DataShares slices columns: one CSC copy serves every head

    def shares(self, head: int) -> DataShares:
        from scipy import sparse

        weights = self.weights[head]
        kept = weights != 0  # a causal head's masked half: zeros that would only cost time
        A = sparse.csr_matrix((weights[kept].astype(np.float64), (self.rows[kept], self.cols[kept])), shape=(self.n_tokens,) * 2)
        return DataShares(self.codes_by_factor, A @ self.codes, float(self.l1 @ (A @ self.l1)))


def qk_data_shares(store: Any, codes: SampleCodes, heads: list[int] | None = None) -> dict[int, DataShares]:
    """D for each head in ``heads`` (None: all) of block ``codes.layer``, from the store's
    attention weights of the sampled sentences and their ``codes`` (common.sample_codes).
    Each head's numerator is sparse: up to m² entries, so ask for a few heads at a time when m is
    large (qk_in_factors holds one)."""
    attention = SampleAttention(store, codes)
    return {h: attention.shares(h) for h in (range(store.info.n_heads) if heads is None else heads)}


def average_ranks(x: np.ndarray) -> np.ndarray:
    """(n,) 1-based ranks of ``x``, tied values sharing the mean of their ranks (scipy's rankdata
    "average", without its per-call overhead, which the null's thousands of calls feel)."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2.0)[inverse.ravel()]


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho: Pearson's r of the average ranks (ties share theirs); nan when either side
    is constant or n < 2."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(average_ranks(x), average_ranks(y))[0, 1])


def union_agreement(score_of: Any, data: DataShares, weight_pairs: np.ndarray, top: int = 20,
                    relabel: np.ndarray | None = None) -> float:
    """Spearman of s (``score_of(pairs)``) and D over the union of ``weight_pairs`` and D's top
    ``top`` pairs. ``relabel`` (m,) a permutation π of the factors: the agreement with D'_ij =
    D_π(i)π(j) instead (D's factor labels shuffled), computed from D's own top list: D' has the
    same values, at the pairs π⁻¹(top pairs of D)."""
    data_pairs, _ = data.top(top)
    if relabel is not None:
        data_pairs = np.argsort(relabel)[data_pairs]
    union = np.unique(np.concatenate([np.asarray(weight_pairs, np.int64).reshape(-1, 2), data_pairs]), axis=0)
    shares = data.share(union if relabel is None else relabel[union])
    return spearman(score_of(union), shares)


def agreement_null(score_of: Any, data: DataShares, weight_pairs: np.ndarray, factors: np.ndarray, m: int, top: int = 20,
                   n: int = 20, seed: Any = 0) -> np.ndarray:
    """(n,) the agreement when D's factor labels are shuffled among ``factors`` (seeded): what
    the agreement is when weights and data are unrelated. Spearman over the union of two top
    lists is negative then, not 0 (a pair picked by one measure is, by that choice, low on the
    other), so an observed agreement reads against this null, not against 0.

    Shuffle π gives D'_ij = D_π(i)π(j), whose top pairs are π⁻¹(D's top pairs) with D's top
    shares, and whose shares at the weight pairs are D at π(weight pairs): union_agreement with
    ``relabel`` = π, for all n shuffles at once (one share() and two score_of() calls)."""
    rng = np.random.default_rng(seed)
    factors = np.asarray(factors, np.int64)
    relabels = np.tile(np.arange(m), (n, 1))
    for t in range(n):
        relabels[t, factors] = rng.permutation(factors)
    weight_pairs = np.asarray(weight_pairs, np.int64).reshape(-1, 2)
    data_pairs, data_shares = data.top(top)
    shuffles = np.arange(n)[:, None, None]
    moved = np.argsort(relabels, axis=1)[shuffles, data_pairs[None]]  # (n, k, 2) π⁻¹(D's top pairs)
    at_weights = data.share(relabels[shuffles, weight_pairs[None]].reshape(-1, 2)).reshape(n, len(weight_pairs))
    weight_scores = score_of(weight_pairs)
    moved_scores = score_of(moved.reshape(-1, 2)).reshape(n, len(data_pairs))
    weight_keys = weight_pairs[:, 0] * m + weight_pairs[:, 1]
    out = np.empty(n)
    for t in range(n):
        new = ~np.isin(moved[t, :, 0] * m + moved[t, :, 1], weight_keys)  # the union counts a pair once
        out[t] = spearman(np.concatenate([weight_scores, moved_scores[t, new]]), np.concatenate([at_weights[t], data_shares[new]]))
    return out


@dataclass
class HeadQK:
    """QK of one head in factors.

    weight_pairs (k, 2) [query factor, key factor] with weight_scores (k,) s_ij and their
    data_shares_of_weight_pairs (k,) D_ij; data_pairs (k', 2) with data_shares (k',) D_ij and
    weight_scores_of_data_pairs (k',); agreement: Spearman of s and D over the union of both
    lists (nan when undefined); agreement_null (n_null,): the same with D's factor labels
    shuffled (agreement_null above)."""

    layer: int
    head: int
    weight_pairs: np.ndarray
    weight_scores: np.ndarray
    data_shares_of_weight_pairs: np.ndarray
    data_pairs: np.ndarray
    data_shares: np.ndarray
    weight_scores_of_data_pairs: np.ndarray
    agreement: float
    agreement_null: np.ndarray = field(default_factory=lambda: np.zeros(0))


def qk_in_factors(lw: LayerWeights, store: Any, result: Any, top: int = 20, factors: np.ndarray | None = None,
                  sentences: np.ndarray | None = None, codes: SampleCodes | None = None, n_null: int = 20,
                  seed: int = 0) -> list[HeadQK]:
    """QK of every head of block ``lw.layer``: the top ``top`` pairs by weights and by data,
    their agreement and its null (``n_null`` shuffles, seeded by (seed, layer, head)).
    ``store``: the attention sample (an ActivationStore with attention); ``sentences``: which of
    its sentences (None: all); ``codes``: their codes at this layer if already computed;
    ``factors``: candidates of the weight ranking and of the shuffles (None: the factors the
    dictionary codes at this layer)."""
    codes = sample_codes(store, result, lw.layer, sentences) if codes is None else codes
    factors = active_factors(result, lw.layer) if factors is None else np.asarray(factors, np.int64)
    attention, read = SampleAttention(store, codes), ReadFactors.of(lw, result)
    return [_head_qk(lw, result, read, h, attention.shares(h), factors, top, n_null, seed) for h in range(lw.n_heads)]


def _head_qk(lw: LayerWeights, result: Any, read: ReadFactors, h: int, data: DataShares, factors: np.ndarray, top: int, n_null: int,
             seed: int) -> HeadQK:
    Q, K = qk_vectors(lw, result, h, read=read)  # every factor, once per head

    def score_of(pairs: np.ndarray) -> np.ndarray:
        pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
        return lw.scaling * np.einsum("nd,nd->n", Q[pairs[:, 0]], K[pairs[:, 1]])

    Qf, Kf = Q[factors], K[factors]
    wp, ws = top_pairs(Qf, Kf.T, factors, factors, top, scale=lw.scaling)
    dp, ds = data.top(top)
    null = agreement_null(score_of, data, wp, factors, result.n_components, top, n_null, seed=[seed, lw.layer, h])
    return HeadQK(lw.layer, h, wp, ws, data.share(wp), dp, ds, score_of(dp), union_agreement(score_of, data, wp, top), null)
