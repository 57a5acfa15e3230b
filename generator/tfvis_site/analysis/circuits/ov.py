"""OV in factors: what head h of block l writes into the next hidden state when it reads a factor.

**Virtual weight** from read factor j (on the key token, hidden state l) to written factor i
(hidden state l + 1, in its standardised units z = (x - offset_{l+1}) / scale_{l+1})::

    w_ji = φ_i · write(n(scale_l ⊙ φ_j) @ W_V[kv(h)] @ W_O[h]) / scale_{l+1}

n is what the block reads (qk.py: the pre-norm's gain and centring, nothing for post-norm);
``write`` the linear parts of the norms between the attention output and hidden state l + 1
(BERT: the attention-output and output LayerNorms; a decoder's last block: its final norm;
otherwise none); the norms' per-token divisions are positive factors, left out. The shared
offset's value and b_V give every token the same value vector, so (attention weights summing to
1) they add the same output whatever the head attends to: not part of w. The MLP and later
terms are not either: w is the direct path. Top pairs are the largest w (a positive write).

**Causal check.** For a pair (j, i), on the sample's sentences where j is active at some token,
zero-ablate head h (its columns of the output projection's input set to 0) and measure the mean
over those sentences' tokens of factor i's activation at hidden state l + 1, clean minus
ablated (FactorResult.encode of both). The same for ``n_random`` random pairs (seeded; read
factors drawn among those active in the sample). The ablation removes the whole head, not only
its reads of j: the drop is the head's total effect on i in sentences where j occurs, and the
random pairs are the baseline that separates the pair from the head. Massive states of l + 1
have no codes on either side (a drop of 0, counted in the mean). Clean and ablated runs see the same batches,
so a head that writes nothing has a drop of exactly 0; the clean runs (and their codes) are
made once per block and shared by its heads, and each block's clean run starts from the one
before it, so the clean side costs one pass of the model in all (``CleanRuns``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .common import (
    SampleCodes,
    active_factors,
    batch_lengths,
    block_after_attention,
    capture_attention,
    capture_state,
    hidden_state,
    sample_codes,
    start_at,
    to_device,
    top_pairs,
    without_head,
)
from .qk import ReadFactors
from .weights import Family, LayerWeights


def ov_factors(lw: LayerWeights, result: Any, head: int, read: ReadFactors | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(V (m, d_head), P (d_head, m)) float64 with w = V @ P, the virtual weights of every
    (read j, written i) pair: V[j] the value of one unit of read factor j for head ``head``, P[:, i]
    what one unit of each value dimension writes onto φ_i at hidden state l + 1, in its standardised
    units (through W_O, ``write`` and the scale). ``write`` is linear row by row, so it applies to
    W_O's rows; the product of the two thin factors is the m × m matrix at d_head / d of the cost.
    ``read``: ReadFactors.of(lw, result) if already made."""
    read = ReadFactors.of(lw, result) if read is None else read
    W_V, _ = lw.v(head)
    written = lw.write(lw.W_O[head]) / np.asarray(result.scale[lw.layer + 1], np.float64)  # (d_head, d)
    return read.read @ W_V, written @ np.asarray(result.components, np.float64).T


def ov_weights(lw: LayerWeights, result: Any, head: int, pairs: np.ndarray, read: ReadFactors | None = None,
               VP: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(n,) virtual weights of (read factor, written factor) ``pairs`` (n, 2). ``VP``: the head's
    ov_factors if already made."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    V, P = ov_factors(lw, result, head, read) if VP is None else VP
    return np.einsum("nd,dn->n", V[pairs[:, 0]], P[:, pairs[:, 1]])


def top_ov_pairs(lw: LayerWeights, result: Any, head: int, top: int = 20, read_factors: np.ndarray | None = None,
                 write_factors: np.ndarray | None = None, block: int = 512, read: ReadFactors | None = None,
                 VP: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``top`` (read factor, written factor) pairs of head ``head`` by virtual weight:
    (pairs (top, 2), weights (top,)), largest first. Candidates: None = the factors the
    dictionary codes at hidden state l (read) and l + 1 (written). One (block, m') slice at a time.
    ``VP``: the head's ov_factors if already made."""
    rows = active_factors(result, lw.layer) if read_factors is None else np.asarray(read_factors, np.int64)
    cols = active_factors(result, lw.layer + 1) if write_factors is None else np.asarray(write_factors, np.int64)
    V, P = ov_factors(lw, result, head, read) if VP is None else VP
    V, P = V[rows], P[:, cols]
    return top_pairs(V, P, rows, cols, top, block)


def like_length_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Positions into ``lengths``, ``batch_size`` at a time in order of length: a batch pads
    little. (An ablated block computes only its MLP, token by token, so padding is pure waste.)"""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[lo : lo + batch_size] for lo in range(0, len(order), batch_size)]


class CleanRuns:
    """The clean side of the ablations, shared by the heads of a block and carried from block to
    block. The sample's sentences run in fixed batches (positions into ``sentences``, of like
    length: like_length_batches); of block ``layer`` it holds, for every real token of the sample
    (rows in batch order; ``rows[position]`` a sentence's), its input ``x`` (N, d), what the
    attention module returned ``attention`` (N, ·) and its heads ``heads`` (N, H·d_head)
    (common.capture_attention), and the sparse codes ``codes`` (CSR (N, m)) of hidden state
    l + 1 as block_after_attention makes it from those.

    ``at(l)`` after ``at(l - 1)`` runs block l alone from the hidden states l + 1 it holds
    (common.start_at), so a walk over the blocks costs one pass of the model, not one prefix per
    block; any other layer is reached by a full pass. ``ablated(head)`` gives the codes with one
    head taken out of the clean attention (common.without_head) and the rest of the block rerun
    token by token: no q, k, v or attention, no padding. Clean and ablated codes come from the
    same computation on the same tokens (several heads' copies stacked in one product, whose rows
    come out bit for bit as alone: checked on SmolLM2), so a head that writes nothing drops
    exactly 0."""

    def __init__(self, model: Any, family: Family, units: Any, sentences: np.ndarray, batch_size: int = 8, device: str = "cpu"):
        self.model, self.family, self.device = model, family, device
        self.sentences = np.asarray(sentences, np.int64)
        self.batches = like_length_batches(np.asarray(units.lengths)[self.sentences], batch_size)
        self.inputs = [to_device(units.model_inputs(self.sentences[batch]), device) for batch in self.batches]
        self.lengths = [batch_lengths(inputs, units, self.sentences[batch]) for inputs, batch in zip(self.inputs, self.batches)]
        lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, np.int64)
        order = np.concatenate(self.batches) if self.batches else np.zeros(0, np.int64)
        self.rows = {int(p): np.arange(end - n, end) for p, n, end in zip(order, lengths, np.cumsum(lengths))}
        self.layer: int | None = None
        self.after: list[Any] = []  # per batch: hidden state ``layer`` + 1 (B, T, d), where the next block starts
        self.x = self.attention = self.heads = self.codes = None
        self._ablated: dict[int, Any] = {}

    def at(self, layer: int, result: Any) -> CleanRuns:
        """Hold block ``layer``'s clean run."""
        import torch

        if self.layer == layer:
            return self
        states = []
        with torch.inference_mode():
            for b, inputs in enumerate(self.inputs):
                if self.layer == layer - 1:
                    states.append(self.after[b])
                else:
                    with capture_state(self.family, self.model, layer) as before:
                        hidden_state(self.family, self.model, inputs, layer + 1)
                    states.append(before[0])
            after = []
            with capture_attention(self.family, self.model, layer) as (attention, heads):
                for b, inputs in enumerate(self.inputs):
                    with start_at(self.family, self.model, layer, states[b]):
                        after.append(hidden_state(self.family, self.model, inputs, layer + 1))
            self.x, self.attention, self.heads = self._flat(states), self._flat(attention), self._flat(heads)
            self.layer, self.after, self._ablated = layer, after, {}
            self.codes = self._codes(self.attention, result)
        return self

    def ablated(self, head: int, d_head: int, result: Any, rows: int = 8192) -> Any:
        """CSR (N, m): the codes of hidden state ``layer`` + 1 with head ``head`` zero-ablated.
        Made for as many heads at once as fit in ``rows`` token rows (one MLP and one coding of
        them all: larger products run faster), kept until the next block."""
        import torch

        if head not in self._ablated:
            n_heads = self.heads.shape[1] // d_head
            group = np.arange(head, min(n_heads, head + max(1, rows // max(len(self.x), 1))))
            with torch.inference_mode():
                values = torch.cat([without_head(self.family, self.model, self.layer, self.attention, self.heads, int(h), d_head) for h in group])
                codes = self._codes(values, result, repeat=len(group))
            for n, h in enumerate(group):
                self._ablated[int(h)] = codes[n * len(self.x) : (n + 1) * len(self.x)]
        return self._ablated[head]

    def _codes(self, attention: Any, result: Any, repeat: int = 1) -> Any:
        """CSR: the codes of hidden state ``layer`` + 1 after ``attention`` (``repeat`` copies of
        the sample's tokens one after the other)."""
        x = self.x if repeat == 1 else self.x.repeat(repeat, 1)
        state = block_after_attention(self.family, self.model, self.layer, x, attention)
        return result.encode_sparse(state.float().cpu().numpy(), self.layer + 1)

    def _flat(self, padded: list[Any]) -> Any:
        """(N, ·) the real tokens' rows of per-batch (B, T, ·) tensors, in batch order."""
        import torch

        return torch.cat([t[r, : int(n)] for t, lengths in zip(padded, self.lengths) for r, n in enumerate(lengths)])


def ablation_drops(model: Any, family: Family, units: Any, codes: SampleCodes, result: Any, head: int, d_head: int,
                   pairs: np.ndarray, max_sentences: int | None = 64, batch_size: int = 8, device: str = "cpu",
                   clean: CleanRuns | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(drops (n,), n_sentences (n,)): for each (read j, written i) pair, the mean over the tokens
    of the sentences where j is active (the first ``max_sentences`` of them) of factor i's
    activation at hidden state ``codes.layer + 1``, clean minus with head ``head`` of block
    ``codes.layer`` zero-ablated; nan where j is active nowhere. ``units.model_inputs(batch)``
    gives the model inputs of the store's sentences ``batch`` (common.StoreTokens for a text
    store). ``clean``: the clean runs of ``codes.sentences`` (CleanRuns; None: made here)."""
    clean = CleanRuns(model, family, units, codes.sentences, batch_size, device) if clean is None else clean
    clean.at(codes.layer, result)
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    where = [codes.active_in(int(j))[:max_sentences] for j in pairs[:, 0]]
    written = np.unique(pairs[:, 1])
    col = {int(f): c for c, f in enumerate(written)}
    drop = (clean.codes[:, written] - clean.ablated(head, d_head, result)[:, written]).toarray()
    out = np.full(len(pairs), np.nan)
    for p, ((_, i), sents) in enumerate(zip(pairs, where)):
        if len(sents):
            out[p] = float(drop[np.concatenate([clean.rows[int(s)] for s in sents]), col[int(i)]].mean())
    return out, np.array([len(w) for w in where])


def random_pairs(codes: SampleCodes, write_factors: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 2) random (read, written) pairs: read factors among those active in the sample."""
    active = np.unique(codes.codes.indices)
    if len(active) == 0 or len(write_factors) == 0:
        return np.zeros((0, 2), np.int64)
    return np.stack([rng.choice(active, n), rng.choice(np.asarray(write_factors), n)], 1).astype(np.int64)


@dataclass
class HeadOV:
    """OV of one head: ``pairs`` (k, 2) [read factor, written factor] with ``weights`` (k,)
    virtual weights, ``drops`` (k,) their ablation drops (nan: read factor never active in the
    sample) over ``n_sentences`` (k,) sentences; the same for ``random_pairs`` (r, 2) (weights
    ``random_weights``, drops ``random_drops``, ``random_n_sentences``); per head
    the means ``top_pairs_drop`` and ``random_pairs_drop`` (nan-ignoring; nan if none)."""

    layer: int
    head: int
    pairs: np.ndarray
    weights: np.ndarray
    drops: np.ndarray
    n_sentences: np.ndarray
    random_pairs: np.ndarray
    random_drops: np.ndarray
    top_pairs_drop: float
    random_pairs_drop: float
    random_n_sentences: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    random_weights: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _mean(x: np.ndarray) -> float:
    x = np.asarray(x, np.float64)
    return float(np.nanmean(x)) if np.isfinite(x).any() else float("nan")


def ov_in_factors(model: Any, family: Family, lw: LayerWeights, units: Any, store: Any, result: Any, top: int = 20,
                  n_random: int = 20, seed: int = 0, read_factors: np.ndarray | None = None,
                  write_factors: np.ndarray | None = None, sentences: np.ndarray | None = None,
                  codes: SampleCodes | None = None, heads: list[int] | None = None, max_sentences: int | None = 64,
                  batch_size: int = 8, device: str = "cpu", clean: CleanRuns | None = None) -> list[HeadOV]:
    """OV of the ``heads`` (None: all) of block ``lw.layer``: top ``top`` pairs by virtual weight
    with their ablation drops, and ``n_random`` random pairs (seeded by (seed, layer, head)).
    ``store``/``sentences``: the sample whose hidden state l codes say where a read factor is
    active (``codes`` if already computed); ``units``: its sentences' model inputs; ``clean``:
    their clean runs (CleanRuns of the same sentences; pass one object to the blocks in order
    and it walks the model once)."""
    codes = sample_codes(store, result, lw.layer, sentences) if codes is None else codes
    write = active_factors(result, lw.layer + 1) if write_factors is None else np.asarray(write_factors, np.int64)
    clean = CleanRuns(model, family, units, codes.sentences, batch_size, device) if clean is None else clean
    read = ReadFactors.of(lw, result)
    out = []
    for h in range(lw.n_heads) if heads is None else heads:
        VP = ov_factors(lw, result, h, read)
        pairs, weights = top_ov_pairs(lw, result, h, top, read_factors, write, VP=VP)
        rand = random_pairs(codes, write, n_random, np.random.default_rng([seed, lw.layer, h]))
        drops, counts = ablation_drops(model, family, units, codes, result, h, lw.d_head, np.concatenate([pairs, rand]),
                                       max_sentences, batch_size, device, clean)
        k = len(pairs)
        out.append(HeadOV(lw.layer, h, pairs, weights, drops[:k], counts[:k], rand, drops[k:], _mean(drops[:k]), _mean(drops[k:]), counts[k:],
                          ov_weights(lw, result, h, rand, VP=VP)))
    return out
