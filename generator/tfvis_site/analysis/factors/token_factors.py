"""The strongest factors of each attention-sample token, per hidden-state layer (issue 12).

The attention pages, the factor pages and the token browser link tokens to factors through one
small file, ``attention/token_factors.u16`` (layout in docs/data-contract.md): the attention sample
is ~200 texts, so coding it again costs seconds, while coding every corpus token would repeat the
whole factor inference and ship ~9 MB on a default site.
"""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

import numpy as np

from .samples import token_top

if TYPE_CHECKING:
    from ...site.bundles import BundleWriter
    from ...capture.extract import ActivationStore
    from .stage import FactorResult

#: Factors kept per (layer, token): enough for a details panel, 4 * TOP_FACTORS bytes a token-layer.
TOP_FACTORS = 3
NONE = 65535  # factor id of an empty slot (fewer than TOP_FACTORS active factors)


def top_factors(res: FactorResult, store: ActivationStore, rows: np.ndarray, n_top: int = TOP_FACTORS) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the store's tokens ``rows`` (N,) at every hidden-state layer, via ``res.encode_sparse``.

    Returns ids (L+1, N, n_top) int64, strongest first, ties by factor id (-1 where fewer
    factors are active), and their activations (L+1, N, n_top) float32 (0 there).
    """
    n_layers = res.mean.shape[0]
    ids = np.full((n_layers, len(rows), n_top), -1, np.int64)
    values = np.zeros((n_layers, len(rows), n_top), np.float32)
    for layer in range(n_layers):
        # only those rows are read; only the ~k active codes of a token are ranked, not all m
        codes = res.encode_sparse(store.hidden(layer)[rows], layer).tocoo()
        ids[layer], values[layer] = token_top(codes.row, codes.col, codes.data, len(rows), n_top)
    return ids, values


def write_token_factors(res: FactorResult, store: ActivationStore, rows: np.ndarray, bundle: BundleWriter, name: str) -> dict[str, Any]:
    """Write ``name`` (pack_token_factors) for the store's tokens ``rows`` (the attention
    sample's token order), coded again here. Returns the manifest entry."""
    ids, values = top_factors(res, store, rows)
    return pack_token_factors(ids, values, bundle, name, "row of attention/tokens.parquet")


def pack_token_factors(ids: np.ndarray, values: np.ndarray, bundle: BundleWriter, name: str, token: str) -> dict[str, Any]:
    """Write ``name``: uint16 (L+1, N, n_top, 2) = (factor id or 65535, round(activation /
    scale)) from ``ids`` (L+1, N, n_top) (-1: none) and ``values``; ``token`` says what indexes N.
    Returns the manifest entry."""
    if ids.size and ids.max() >= NONE:
        raise ValueError(f"factor id {int(ids.max())} does not fit uint16 factor ids")
    scale = float(values.max()) / 65534 if values.size and values.max() > 0 else 1.0
    packed = np.stack([np.where(ids < 0, NONE, ids), np.round(values / scale)], axis=-1).astype("<u2")
    bundle.add_bytes(name, packed.tobytes(), "uint16", shape=list(packed.shape), scale=scale, missing=NONE)
    return {
        "file": name,
        "top": int(ids.shape[2]),
        "scale": scale,
        "missing": NONE,
        "layers": "hidden-state layers 0..n_layers (0 = embeddings); attention layer l reads hidden state l, its block's input",
        "layout": "uint16 (n_layers + 1, n_tokens, top, 2): [layer, token, rank] = (factor id, 65535 = none; "
        f"activation = value * scale), strongest first; token = {token}",
    }
