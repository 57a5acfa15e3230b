"""Two by-products of the factor inference pass (inference.py), merged across shards exactly as
its statistics are (any grouping, any order, the same bits):

* **token factors**: the ``TOKEN_TOP`` strongest factors of every token at every layer, for the
  token browser (every text of the corpus, not only the attention sample).
* **activation samples**: for each (layer, factor, histogram bin) the ``PER_BIN`` activations
  with the lowest priority, a hash of (token row, factor, layer). The lowest-priority k of a set
  are a uniform random sample of it, and the lowest k of a union of bins are among the lowest k
  of each bin, so any band made of whole bins gets an exact uniform sample of its activations:
  ``band_samples`` cuts each factor's histogram into equal-count bands (activation quantiles,
  as SAE dashboards show them) and draws ``PER_BIN`` contexts from each.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TOKEN_TOP = 3
PER_BIN = 3
N_BANDS = 5
NO_SAMPLE = np.iinfo(np.int64).max  # priority of an empty slot


def token_top(rows: np.ndarray, factors: np.ndarray, values: np.ndarray, n_rows: int, top: int = TOKEN_TOP) -> tuple[np.ndarray, np.ndarray]:
    """(ids (n_rows, top) int32, -1 where fewer are active; values (n_rows, top) float32) the
    strongest factors of each row from a batch's non-zeros (rows, factors, values)."""
    ids = np.full((n_rows, top), -1, np.int32)
    vals = np.zeros((n_rows, top), np.float32)
    order = np.lexsort((factors, -values, rows))  # per row: value desc, then factor asc
    rows, factors, values = rows[order], factors[order], values[order]
    first = np.searchsorted(rows, rows, side="left")
    rank = np.arange(len(rows)) - first
    keep = rank < top
    ids[rows[keep], rank[keep]] = factors[keep]
    vals[rows[keep], rank[keep]] = values[keep]
    return ids, vals


def priorities(rows: np.ndarray, factors: np.ndarray, layer: int, n_factors: int, n_layers: int) -> np.ndarray:
    """(n,) int64 >= 0: splitmix64 of (row, factor, layer), a fixed pseudo-random order that does
    not depend on how the tokens were split into shards."""
    x = (rows.astype(np.uint64) * np.uint64(n_factors) + factors.astype(np.uint64)) * np.uint64(n_layers) + np.uint64(layer)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return ((x ^ (x >> np.uint64(31))) >> np.uint64(1)).astype(np.int64)


def empty_samples(shape: tuple[int, ...], k: int = PER_BIN) -> dict[str, np.ndarray]:
    """Sample slots of ``shape`` (e.g. (L+1, m * bins)), ``k`` each, all empty."""
    return {"sample_priority": np.full((*shape, k), NO_SAMPLE, np.int64), "sample_row": np.full((*shape, k), -1, np.int64),
            "sample_value": np.zeros((*shape, k), np.float32)}


def _lowest(priority: np.ndarray, row: np.ndarray, value: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k lowest (priority, row) of each slot along the last axis."""
    order = np.lexsort((row, priority), axis=-1)[..., :k]
    return (np.take_along_axis(priority, order, -1), np.take_along_axis(row, order, -1), np.take_along_axis(value, order, -1))


def add_samples(priority: np.ndarray, row: np.ndarray, value: np.ndarray, keys: np.ndarray, cand_priority: np.ndarray,
                cand_row: np.ndarray, cand_value: np.ndarray) -> None:
    """Merge candidates (slot ``keys``) into one layer's slots (n_slots, k), in place."""
    k = priority.shape[1]
    order = np.lexsort((cand_row, cand_priority, keys))
    keys, cand_priority, cand_row, cand_value = keys[order], cand_priority[order], cand_row[order], cand_value[order]
    rank = np.arange(len(keys)) - np.searchsorted(keys, keys, side="left")
    keep = rank < k
    slots = np.unique(keys[keep])
    new = empty_samples((len(slots),), k)
    at = np.searchsorted(slots, keys[keep])
    new["sample_priority"][at, rank[keep]] = cand_priority[keep]
    new["sample_row"][at, rank[keep]] = cand_row[keep]
    new["sample_value"][at, rank[keep]] = cand_value[keep]
    merged = _lowest(np.concatenate([priority[slots], new["sample_priority"]], 1), np.concatenate([row[slots], new["sample_row"]], 1),
                     np.concatenate([value[slots], new["sample_value"]], 1), k)
    priority[slots], row[slots], value[slots] = merged


def merge_samples(a: dict[str, np.ndarray], b: dict[str, np.ndarray], in_place: bool = False) -> dict[str, np.ndarray]:
    """Slot-wise lowest k of two partials' samples (associative, commutative); ``in_place``: into
    ``a``'s arrays. Layer by layer: joining every layer's candidates at once was the largest
    transient of SmolLM2's factor stage (31 layers; docs/configuration.md, "Sharded factor
    inference")."""
    k = a["sample_priority"].shape[-1]
    names = ("sample_priority", "sample_row", "sample_value")
    out = {n: a[n] if in_place else np.empty_like(a[n]) for n in names}
    for layer in range(len(a["sample_priority"])):
        merged = _lowest(*(np.concatenate([a[n][layer], b[n][layer]], -1) for n in names), k)
        for n, values in zip(names, merged):
            out[n][layer] = values
    return out


def band_samples(hist: np.ndarray, edges: np.ndarray, samples: dict[str, np.ndarray], factor: int, layer: int,
                 n_bands: int = N_BANDS, per_band: int = PER_BIN) -> list[dict[str, Any]]:
    """Contexts of one factor at one layer from each of ``n_bands`` activation bands of equal
    count (quantiles of its activations, cut at the histogram's bin edges: a bin goes to the band
    its middle count falls in). ``hist`` (m, L+1, bins) counts on ``edges`` (bins + 1,);
    ``samples`` (L+1, m * bins, k) as inference merged them. Rows: band (0 = weakest), band_lo,
    band_hi (activation range of the band's bins), rank, row (token row), value."""
    cols = band_sample_rows(hist, edges, samples, np.array([factor]), np.array([layer]), n_bands, per_band)
    return [{"band": int(b), "band_lo": float(lo), "band_hi": float(hi), "rank": int(k), "row": int(r), "value": float(v)}
            for b, lo, hi, k, r, v in zip(*(cols[n] for n in ("band", "band_lo", "band_hi", "rank", "row", "value")))]


def band_sample_rows(hist: np.ndarray, edges: np.ndarray, samples: dict[str, np.ndarray], factors: np.ndarray, layers: np.ndarray,
                     n_bands: int = N_BANDS, per_band: int = PER_BIN) -> dict[str, np.ndarray]:
    """``band_samples`` of P (factor, layer) pairs at once (``factors``, ``layers`` (P,)), as
    columns ordered by pair, band, rank: pair (P index), band, band_lo, band_hi (float64), rank,
    row (int64), value (float32). In each band the ``per_band`` lowest (priority, row) of its
    bins' samples are drawn, then ranked by (value desc, row)."""
    factors, layers = np.asarray(factors, np.int64), np.asarray(layers, np.int64)
    counts = hist[factors, layers].astype(np.float64)  # (P, bins)
    n_pairs, bins = counts.shape
    total = counts.sum(1, keepdims=True)
    middle = np.cumsum(counts, 1) - counts / 2
    fraction = np.divide(middle, total, out=np.zeros_like(middle), where=total > 0)
    band_key = np.arange(n_pairs)[:, None] * n_bands + np.minimum((fraction * n_bands).astype(np.int64), n_bands - 1)
    filled = counts > 0  # a band's bins are its filled ones
    filled_bin = np.nonzero(filled)[1]
    first, last = np.full(n_pairs * n_bands, bins), np.full(n_pairs * n_bands, -1)
    np.minimum.at(first, band_key[filled], filled_bin)
    np.maximum.at(last, band_key[filled], filled_bin)

    slots = factors[:, None] * bins + np.arange(bins)  # (P, bins)
    priority, row, value = (samples[name][layers[:, None], slots] for name in ("sample_priority", "sample_row", "sample_value"))
    drawn = filled[:, :, None] & (priority != NO_SAMPLE)  # (P, bins, k)
    key = np.broadcast_to(band_key[:, :, None], drawn.shape)[drawn]
    priority, row, value = priority[drawn], row[drawn].astype(np.int64), value[drawn]
    order = np.lexsort((row, priority, key))
    key, row, value = key[order], row[order], value[order]
    kept = np.arange(len(key)) - np.searchsorted(key, key, side="left") < per_band
    key, row, value = key[kept], row[kept], value[kept]
    order = np.lexsort((row, -value, key))
    key, row, value = key[order], row[order], value[order]
    return {"pair": key // n_bands, "band": key % n_bands, "band_lo": edges[first[key]], "band_hi": edges[last[key] + 1],
            "rank": np.arange(len(key)) - np.searchsorted(key, key, side="left"), "row": row, "value": value}
