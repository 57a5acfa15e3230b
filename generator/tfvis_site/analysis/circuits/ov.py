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
made once per block and shared by its heads (``CleanRuns``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .common import (
    SampleCodes,
    ablate_head,
    active_factors,
    batch_lengths,
    capture_state,
    hidden_state,
    sample_codes,
    start_at,
    to_device,
    top_pairs,
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


def ov_weights(lw: LayerWeights, result: Any, head: int, pairs: np.ndarray, read: ReadFactors | None = None) -> np.ndarray:
    """(n,) virtual weights of (read factor, written factor) ``pairs`` (n, 2)."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    V, P = ov_factors(lw, result, head, read)
    return np.einsum("nd,dn->n", V[pairs[:, 0]], P[:, pairs[:, 1]])


def top_ov_pairs(lw: LayerWeights, result: Any, head: int, top: int = 20, read_factors: np.ndarray | None = None,
                 write_factors: np.ndarray | None = None, block: int = 512, read: ReadFactors | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``top`` (read factor, written factor) pairs of head ``head`` by virtual weight:
    (pairs (top, 2), weights (top,)), largest first. Candidates: None = the factors the
    dictionary codes at hidden state l (read) and l + 1 (written). One (block, m') slice at a time."""
    rows = active_factors(result, lw.layer) if read_factors is None else np.asarray(read_factors, np.int64)
    cols = active_factors(result, lw.layer + 1) if write_factors is None else np.asarray(write_factors, np.int64)
    V, P = ov_factors(lw, result, head, read)
    V, P = V[rows], P[:, cols]
    return top_pairs(lambda b: V[b] @ P, rows, cols, top, block)


class CleanRuns:
    """The clean side of the ablations of one block, shared by its heads: the sample's sentences
    in fixed batches (positions into ``codes.sentences``, ``batch_size`` at a time), and per batch
    run its unpadded lengths, hidden state l (B, T, d), the block's input, and the sparse codes
    (CSR (tokens, m)) of hidden state l + 1. An ablated run uses the same batch and starts from
    that hidden state l (common.start_at): it computes block l alone, and differs from the clean
    run only by the ablation."""

    def __init__(self, codes: SampleCodes, batch_size: int = 16):
        self.codes = codes
        n = len(codes.sentences)
        self.batches = [np.arange(lo, min(lo + batch_size, n)) for lo in range(0, n, batch_size)]
        self.runs: dict[int, tuple[np.ndarray, Any, Any]] = {}

    def batch_of(self, position: int) -> int:
        return int(position) // len(self.batches[0])


def _codes_of(x: Any, lengths: np.ndarray, result: Any, layer: int) -> Any:
    """CSR (tokens, m): codes of the unpadded tokens of a batch's hidden state ``layer`` ``x``."""
    from scipy import sparse

    flat = np.concatenate([x[r, : lengths[r]].float().cpu().numpy() for r in range(len(lengths))])
    return sparse.csr_matrix(result.encode(flat, layer))


def ablation_drops(model: Any, family: Family, units: Any, codes: SampleCodes, result: Any, head: int, d_head: int,
                   pairs: np.ndarray, max_sentences: int | None = 64, batch_size: int = 16, device: str = "cpu",
                   clean: CleanRuns | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(drops (n,), n_sentences (n,)): for each (read j, written i) pair, the mean over the tokens
    of the sentences where j is active (the first ``max_sentences`` of them) of factor i's
    activation at hidden state ``codes.layer + 1``, clean minus with head ``head`` of block
    ``codes.layer`` zero-ablated; nan where j is active nowhere. ``units.model_inputs(batch)``
    gives the model inputs of the store's sentences ``batch`` (common.StoreTokens for a text
    store). ``clean``: the block's clean runs, shared by its heads (None: made here). The batches
    holding a needed sentence are run whole, clean and ablated alike."""
    import torch

    layer = codes.layer
    clean = CleanRuns(codes, batch_size) if clean is None else clean
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    where = [codes.active_in(int(j))[:max_sentences] for j in pairs[:, 0]]
    needed = sorted({clean.batch_of(s) for w in where for s in w})
    written = np.unique(pairs[:, 1])
    col = {int(f): c for c, f in enumerate(written)}
    drops, rows = [], {}
    n_rows = 0
    for b in needed:
        batch = clean.batches[b]
        sentences = codes.sentences[batch]
        inputs = to_device(units.model_inputs(sentences), device)
        with torch.inference_mode():
            if b not in clean.runs:
                lengths = batch_lengths(inputs, units, sentences)
                with capture_state(family, model, layer) as before:
                    after = hidden_state(family, model, inputs, layer + 1)
                clean.runs[b] = (lengths, before[0], _codes_of(after, lengths, result, layer + 1))
            lengths, state, clean_codes = clean.runs[b]
            with start_at(family, model, layer, state), ablate_head(family, model, layer, head, d_head):
                ablated_codes = _codes_of(hidden_state(family, model, inputs, layer + 1), lengths, result, layer + 1)
        drops.append((clean_codes[:, written] - ablated_codes[:, written]).toarray())
        for r, position in enumerate(batch):
            rows[int(position)] = np.arange(n_rows, n_rows + lengths[r])
            n_rows += int(lengths[r])
    drop = np.concatenate(drops) if drops else np.zeros((0, len(written)))
    out = np.full(len(pairs), np.nan)
    for p, ((_, i), sents) in enumerate(zip(pairs, where)):
        if len(sents):
            out[p] = float(drop[np.concatenate([rows[int(s)] for s in sents]), col[int(i)]].mean())
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
                  batch_size: int = 16, device: str = "cpu") -> list[HeadOV]:
    """OV of the ``heads`` (None: all) of block ``lw.layer``: top ``top`` pairs by virtual weight
    with their ablation drops, and ``n_random`` random pairs (seeded by (seed, layer, head)).
    ``store``/``sentences``: the sample whose hidden state l codes say where a read factor is
    active (``codes`` if already computed); ``units``: its sentences' model inputs."""
    codes = sample_codes(store, result, lw.layer, sentences) if codes is None else codes
    write = active_factors(result, lw.layer + 1) if write_factors is None else np.asarray(write_factors, np.int64)
    clean, read = CleanRuns(codes, batch_size), ReadFactors.of(lw, result)
    out = []
    for h in range(lw.n_heads) if heads is None else heads:
        pairs, weights = top_ov_pairs(lw, result, h, top, read_factors, write, read=read)
        rand = random_pairs(codes, write, n_random, np.random.default_rng([seed, lw.layer, h]))
        drops, counts = ablation_drops(model, family, units, codes, result, h, lw.d_head, np.concatenate([pairs, rand]),
                                       max_sentences, batch_size, device, clean)
        k = len(pairs)
        out.append(HeadOV(lw.layer, h, pairs, weights, drops[:k], counts[:k], rand, drops[k:], _mean(drops[:k]), _mean(drops[k:]), counts[k:],
                          ov_weights(lw, result, h, rand, read)))
    return out
