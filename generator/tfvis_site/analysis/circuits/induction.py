"""Induction scores, as TransformerLens computes them, for causal (decoder) models only.

``batch`` sequences of ``seq_len`` random tokens (seeded), each repeated twice, after one BOS
token when the model has one: [bos] r_0 … r_{L-1} r_0 … r_{L-1}. A head's score is the mean
attention from each token of the second copy to the token after its earlier occurrence: query
position p + L + k (p = 1 with a BOS, else 0) to key position p + k + 1, k = 0 … L - 1, averaged
over the batch. (TransformerLens' notebooks take the diagonal at offset 1 - L, which adds the
first copy's last query and the query of the second copy's first token; the mean here is over
the second copy only, as the definition says.) A perfect induction head scores 1.

Tokens are drawn uniformly from the vocabulary minus the tokenizer's special tokens. The model
must return its attention weights (``output_attentions=True``; load_model's eager attention
does). An encoder gets None: with bidirectional attention the second copy sees the answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def repeated_tokens(vocab_size: int, seq_len: int, batch: int, seed: int = 0, bos: int | None = None,
                    exclude: list[int] | tuple[int, ...] = ()) -> np.ndarray:
    """(batch, [1 +] 2 · seq_len) int64: random tokens repeated twice, after ``bos`` if given."""
    allowed = np.setdiff1d(np.arange(vocab_size), np.asarray(list(exclude), np.int64))
    rng = np.random.default_rng(seed)
    half = rng.choice(allowed, size=(batch, seq_len))
    out = np.concatenate([half, half], 1)
    if bos is not None:
        out = np.concatenate([np.full((batch, 1), bos), out], 1)
    return out.astype(np.int64)


def induction_stripe(attentions: Any, seq_len: int, prefix: int) -> np.ndarray:
    """(n_layers, n_heads) mean over the batch and the second copy of the attention from query
    prefix + seq_len + k to key prefix + k + 1. ``attentions``: one (batch, n_heads, T, T) array
    per layer."""
    k = np.arange(seq_len)
    q, key = prefix + seq_len + k, prefix + k + 1
    return np.stack([np.asarray(a, np.float64)[:, :, q, key].mean((0, 2)) for a in attentions])


def induction_scores(model: Any, is_causal: bool, vocab_size: int, seq_len: int = 50, batch: int = 10, seed: int = 0,
                     bos: int | None = None, exclude: list[int] | tuple[int, ...] = (), device: str = "cpu",
                     max_positions: int | None = None) -> np.ndarray | None:
    """(n_layers, n_heads) induction score of every head, or None for a non-causal model.
    ``seq_len`` is shortened so that the sequence fits ``max_positions``."""
    import torch

    if not is_causal:
        return None
    prefix = 0 if bos is None else 1
    if max_positions:
        seq_len = max(1, min(seq_len, (int(max_positions) - prefix) // 2))
    tokens = repeated_tokens(vocab_size, seq_len, batch, seed, bos, exclude)
    with torch.inference_mode():
        out = model(input_ids=torch.from_numpy(tokens).to(device), output_attentions=True)
    if out.attentions is None or any(a is None for a in out.attentions):
        raise ValueError("induction_scores: the model returned no attention weights (load it with attn_implementation='eager')")
    return induction_stripe([a.float().cpu().numpy() for a in out.attentions], seq_len, prefix)


def loaded_induction_scores(loaded: Any, seq_len: int = 50, batch: int = 10, seed: int = 0) -> np.ndarray | None:
    """induction_scores of a LoadedModel: its causality, vocabulary, BOS token (the tokenizer's,
    if any) and special tokens excluded from the random draw."""
    info, tok = loaded.info, loaded.tokenizer
    bos = getattr(tok, "bos_token_id", None) if tok is not None else None
    exclude = list(getattr(tok, "all_special_ids", []) or []) if tok is not None else []
    return induction_scores(loaded.model, info.is_causal, info.vocab_size, seq_len, batch, seed, bos, exclude,
                            loaded.device, info.max_positions)
