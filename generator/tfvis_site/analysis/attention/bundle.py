"""Data files of the attention pages (issue 6) and the manifest section describing them.

Everything lives under ``data/attention/``; the layout is documented in docs/attention.md and in
the returned section's ``layout`` entries, so the JS never guesses.
"""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

import numpy as np
import pyarrow as pa

from .result import AttentionResult, finite
from .stats import LABEL_TEXT

if TYPE_CHECKING:
    from ...site.bundles import BundleWriter
    from ...capture.extract import ActivationStore

PREFIX = "attention/"
#: Coordinates in [-1, 1] are stored as uint16: half the bytes of float32 and a step of 3.1e-5,
#: a hundredth of a pixel on a 800 px plot (a pixel only at 100x zoom).
COORD_SCALE = 2.0 / 65535


def quantize_coords(coords: np.ndarray) -> np.ndarray:
    """(..., dim) float coordinates in [-1, 1] -> little-endian uint16, value * COORD_SCALE - 1."""
    return np.round((np.clip(coords, -1.0, 1.0) + 1.0) / COORD_SCALE).astype("<u2")


def sqrt16_to_sqrt8(weights_sqrt16: np.ndarray) -> np.ndarray:
    """uint16 round(sqrt(w) * 65535) -> uint8 round(sqrt(w) * 255); w = (value / 255)^2."""
    return np.round(weights_sqrt16.astype(np.float32) * (255.0 / 65535.0)).astype(np.uint8)


def sample_rows(store: ActivationStore, tokens: pa.Table) -> np.ndarray:
    """(N,) int64: the store's token row of every attention-sample token (rows of ``tokens``)."""
    source = tokens.column("source_sentence").to_numpy().astype(np.int64)
    return store.sentence_offsets[source] + tokens.column("position").to_numpy().astype(np.int64)


def sample_value_norms(store: ActivationStore, tokens: pa.Table) -> np.ndarray | None:
    """(n_layers, N, n_kv_heads) float32: ‖v‖ of every attention-sample token (rows of
    ``tokens``, the sample's tokens table) per layer and key/value head, read from the store's
    ``value_norms(layer)`` (n_store_tokens, n_kv_heads). None when the store has none (extracted
    before value norms were captured): the pages then offer no value-norm weighting."""
    reader = getattr(store, "value_norms", None)
    if reader is None or not hasattr(store, "sentence_offsets"):
        return None
    index = sample_rows(store, tokens)
    try:
        return np.stack([np.asarray(reader(layer)[index], np.float32) for layer in range(store.info.n_layers)])
    except FileNotFoundError:
        return None


def _sample_tables(res: AttentionResult, store: ActivationStore, bundle: BundleWriter, corpus_ids: np.ndarray | None, files: dict[str, Any]) -> None:
    """The sample's tokens.parquet and sentences.parquet (with the site's ``sentence_id`` when
    ``corpus_ids`` is given), named in ``files``."""
    bundle.add_table(PREFIX + "tokens.parquet", res.tokens)
    sentences = res.sentences
    if corpus_ids is not None:
        corpus_ids = np.asarray(corpus_ids, dtype=np.int64)
        n_store = getattr(store, "n_sentences", len(corpus_ids))
        if corpus_ids.shape != (n_store,):
            raise ValueError(f"corpus_ids has shape {corpus_ids.shape}, the attention store has {n_store} sentences")
        source = sentences.column("source_sentence").to_numpy()
        sentences = sentences.append_column("sentence_id", pa.array(corpus_ids[source].astype(np.int32)))
    bundle.add_table(PREFIX + "sentences.parquet", sentences)
    files["tokens"] = PREFIX + "tokens.parquet"
    files["sentences"] = PREFIX + "sentences.parquet"


def _projection_files(res: AttentionResult, bundle: BundleWriter, G: int, P: int) -> list[dict[str, Any]]:
    """Every projection's points_<method><dim>d.u16 (G heads x P points x dim); their manifest entries."""
    projections = []
    for name in res.projections:
        method, dim = name[:-1], int(name[-1])
        fname = f"{PREFIX}points_{method}{dim}d.u16"
        bundle.add_bytes(fname, quantize_coords(np.asarray(res.coords(name))).tobytes(), "uint16",
                         shape=[G, P, dim], scale=COORD_SCALE, offset=-1.0)
        projections.append(
            {
                "name": name,
                "method": method,
                "dim": dim,
                "file": fname,
                "dtype": "uint16",
                "scale": COORD_SCALE,
                "offset": -1.0,
                "shape": [G, P, dim],
                "head_stride": P * dim,
            }
        )
    return projections


def _weight_files(res: AttentionResult, bundle: BundleWriter, n_layers: int, H: int, sqrt_weights: bool, files: dict[str, Any]) -> np.ndarray:
    """Per layer, the full matrices (sqrt(w) in uint16, or uint8 with ``sqrt_weights``) and the
    top-k keys and weights of every query, named in ``files``; returns the top-k key array
    (G, n_tokens, top_k)."""
    weights = res.weights_sqrt16()
    # Full matrices are stored as sqrt(w): text as uint16 (half the float bytes), an image's L x L
    # block (~66k weights, a sentence's ~900) as uint8 (steps of 1.5e-5 near 0, 0.008 near 1), a
    # quarter of the float bytes and enough for heat maps; statistics were computed in float before.
    topk_key, topk_weight = res.topk()
    files["weights"], files["topk_keys"], files["topk_weights"] = [], [], []
    for layer in range(n_layers):
        sl = slice(layer * H, (layer + 1) * H)
        if sqrt_weights:
            w = sqrt16_to_sqrt8(np.asarray(weights[sl]))
            name = f"{PREFIX}weights_L{layer}.sqrt.u8"
            bundle.add_bytes(name, w.tobytes(), "uint8", shape=list(w.shape), encoding="sqrt", scale=1 / 255)
        else:
            w = np.ascontiguousarray(weights[sl], dtype="<u2")
            name = f"{PREFIX}weights_L{layer}.sqrt.u16"
            bundle.add_bytes(name, w.tobytes(), "uint16", shape=list(w.shape), encoding="sqrt", scale=1 / 65535)
        files["weights"].append(name)
        tk = np.ascontiguousarray(topk_key[sl], dtype=topk_key.dtype.newbyteorder("<"))
        bits = 8 * tk.dtype.itemsize
        name = f"{PREFIX}topk_L{layer}.keys.u{bits}"
        bundle.add_bytes(name, tk.tobytes(), f"uint{bits}", shape=list(tk.shape), missing=int(np.iinfo(tk.dtype).max))
        files["topk_keys"].append(name)
        tw = np.ascontiguousarray(np.round(np.asarray(topk_weight[sl]) * 65535), dtype="<u2")
        name = f"{PREFIX}topk_L{layer}.weights.u16"
        bundle.add_bytes(name, tw.tobytes(), "uint16", shape=list(tw.shape), scale=1 / 65535)
        files["topk_weights"].append(name)
    return topk_key


def write_attention_bundle(res: AttentionResult, store: ActivationStore, bundle: BundleWriter, corpus_ids: np.ndarray | None = None, *,
                           compact_attention: bool) -> dict[str, Any]:
    """Write the attention data files into ``bundle`` (a ``tfvis_site.site.bundles.BundleWriter``) and
    return the JSON-able dict for ``manifest["attention"]``.

    ``store`` is the activation store the result was computed from; it is only used to check
    that the two belong together (same model shape). ``corpus_ids`` (n_store_sentences,) gives,
    for each sentence of that store, its ``sentence_id`` in the site's own sentences.parquet (the
    token browser); with it, sentences.parquet gets a ``sentence_id`` column so the pages link
    a sample sentence to the token browser exactly. ``compact_attention``: the full matrices as
    sqrt(w) in uint8 rather than uint16 (the model's modality says, ``Modality.compact_attention``).
    """
    meta = res.meta
    model = meta["model"]
    info = getattr(store, "info", None)
    if info is not None and (info.n_layers, info.n_heads) != (model["n_layers"], model["n_heads"]):
        raise ValueError("attention result and activation store describe different models")
    n_layers, H = model["n_layers"], model["n_heads"]
    N, P = meta["n_tokens"], meta["n_points"]

    files: dict[str, Any] = {}
    _sample_tables(res, store, bundle, corpus_ids, files)

    projections = _projection_files(res, bundle, n_layers * H, P)

    bundle.add_float32(PREFIX + "norms.f32", np.asarray(res.norms()))
    files["norms"] = PREFIX + "norms.f32"
    value_norms = sample_value_norms(store, res.tokens) if info is not None else None
    if value_norms is not None:
        # AttentionViz's "weight by value norm" (Kobayashi et al. 2020): the pages scale a row of
        # weights by ||v_j|| and renormalise it; query head h reads kv head heads[g].kv_head.
        bundle.add_float32(PREFIX + "value_norms.f32", value_norms)
        files["value_norms"] = PREFIX + "value_norms.f32"
    agg, agg_count = res.aggregate()
    bundle.add_float32(PREFIX + "aggregate.f32", np.asarray(agg))
    bundle.add_float32(PREFIX + "aggregate_count.f32", np.asarray(agg_count))
    files["aggregate"] = PREFIX + "aggregate.f32"
    files["aggregate_count"] = PREFIX + "aggregate_count.f32"

    topk_key = _weight_files(res, bundle, n_layers, H, compact_attention, files)
    K = topk_key.shape[-1]

    heads = []
    for h in res.heads:
        heads.append({k: v for k, v in h.items() if k != "seconds"})
    section = {
        "version": meta["version"],
        "model": {k: model[k] for k in ("name", "n_layers", "n_heads", "n_kv_heads", "d_head", "is_causal")},
        "n_sentences": meta["n_sentences"],
        "n_tokens": N,
        "n_points": P,
        "max_len": meta["max_len"],
        "total_pairs": meta["total_pairs"],
        "top_k": K,
        "weights_encoding": "sqrt-u8" if compact_attention else "sqrt-u16",
        # Key positions are uint8 (255 = none) unless a sequence has more than 255 units.
        "topk_key_missing": int(np.iinfo(topk_key.dtype).max),
        "config": meta["config"],
        "modality": meta.get("modality", "text"),
        "labels": meta.get("labels", dict(LABEL_TEXT)),  # this modality's labels only
        "statistics": meta.get("statistics"),
        "projections": projections,
        "files": files,
        "layout": LAYOUT,
        "summary": meta["summary"],
        "seconds": meta["seconds"],
        "heads": heads,
    }
    return finite(section)


#: What every file of the attention bundle holds (manifest["attention"]["layout"]).
LAYOUT = {
    "head_index": "g = layer * n_heads + head (layers and heads 0-based)",
    "points": "points_<method><dim>d.u16: uint16 (G, n_points, dim) row-major, coordinate = value * scale + "
    "offset (scale 2/65535, offset -1: steps of 3.1e-5 in [-1, 1]); head g's slice starts at "
    "g * head_stride values; point p < n_tokens is the query of token p, point p >= n_tokens the key of "
    "token p - n_tokens; each head scaled uniformly into [-1, 1] (aspect kept)",
    "norms": "norms.f32: float32 (G, n_points), vector norms before normalisation, same point order",
    "value_norms": "value_norms.f32 (when the store captured them): float32 (n_layers, n_tokens, n_kv_heads), "
    "the norm of each sample token's value vector; query head h of layer l reads kv head heads[g].kv_head, "
    "i.e. value (l * n_tokens + token) * n_kv_heads + kv_head; 'weight by value norm' = weight * ||v_j||, "
    "renormalised over the query's visible keys",
    "tokens": "tokens.parquet: one row per sample token, row = token index (columns token, sentence, "
    "source_sentence, position, length, position_norm, token_id, piece, text, space_before, is_special, "
    "is_punct, frequency; image models: frequency is the patch's spatial frequency, and the patch columns "
    "row, col, x0, y0, x1, y1, hue, saturation, brightness, contrast, colour_r/g/b follow)",
    "sentences": "sentences.parquet: sentence, source_sentence, text, n_tokens, token_offset, pair_offset, "
    "sentence_id (the row of data/sentences.parquet, i.e. the token browser's sentence; present when the "
    "build knows it)",
    "weights": "weights_L<l>.sqrt.u16 (weights_encoding sqrt-u16): uint16 (n_heads, total_pairs); sentence s "
    "of head h is the row-major (L, L) block at [h, pair_offset[s] : pair_offset[s] + L*L], rows = queries; "
    "weight = (value / 65535)^2 (fine steps near 0: a row renormalised after hiding a sink stays exact). "
    "Image models (weights_encoding sqrt-u8): weights_L<l>.sqrt.u8, same layout, weight = (value / 255)^2. "
    "Causal models: 0 above the diagonal",
    "topk": "topk_L<l>.keys.u8 (or .keys.u16 when a sequence has more than 255 units) / .weights.u16: "
    "(n_heads, n_tokens, top_k) strongest keys of each query (>= min_weight), as key positions within the "
    "query's sentence (topk_key_missing = none) and weight * 65535, strongest first",
    "aggregate": "aggregate.f32: float32 (G, max_len, max_len) mean attention from query position i to key "
    "position j; aggregate_count.f32: (max_len, max_len) sentences holding both positions",
}
