"""write_factor_bundle: the factor data files of the site (layout in docs/factors.md)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa

from .samples import N_BANDS, PER_BIN, band_sample_rows
from .statistics import FORMULAS, OBJECTIVES
from .token_factors import pack_token_factors

if TYPE_CHECKING:
    from ...site.bundles import BundleWriter
    from ...capture.extract import ActivationStore
    from .stage import FactorResult

TOP_TOKENS = 5
#: Image stores: thumbnails of the top contexts (distinct images, at the peak layer) per factor
#: in the index, for the factor table.
THUMBS = 4


def _top_tokens(texts: np.ndarray, rows: np.ndarray, lower: bool = True) -> str:
    rows = rows[rows >= 0]
    if rows.size == 0:
        return ""
    c = Counter(str(t).strip().lower() if lower else str(t) for t in texts[rows])
    return ", ".join(f"{tok} ({n})" for tok, n in c.most_common(TOP_TOKENS))


def _thumbs(res, sent_of: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(m, THUMBS) image ids and unit positions of each factor's best context in its first
    THUMBS distinct top images at the peak layer (-1 = none)."""
    m = res.n_components
    img = np.full((m, THUMBS), -1, np.int32)
    pos = np.full((m, THUMBS), -1, np.int16)
    for c, layer in enumerate(res.peak_layer):
        toks = res.topk_token[layer, c]
        toks = toks[toks >= 0].astype(np.int64)
        if toks.size == 0:
            continue
        imgs = sent_of[toks]
        _, first = np.unique(imgs, return_index=True)
        first = np.sort(first)[:THUMBS]
        img[c, : first.size] = imgs[first]
        pos[c, : first.size] = toks[first] - offsets[imgs[first]]
    return img, pos


class FactorContexts(Protocol):
    """How the factor bundle names and shows a factor's contexts: what differs by modality
    (the modality's ``factor_contexts()``, modality/)."""

    #: whether the top tokens are counted lowercased (words) or as named (images, [CLS])
    lower: bool

    def names(self, store: ActivationStore, texts: np.ndarray, sent_of: np.ndarray) -> np.ndarray:
        """(n_tokens,) object: the name each context is counted under in ``top_tokens``."""
        ...

    def index_columns(self, res: FactorResult, sent_of: np.ndarray, offsets: np.ndarray) -> dict[str, pa.Array]:
        """Extra columns of factors/index.parquet, one row per factor."""
        ...

    def section(self, res: FactorResult, store: ActivationStore, bundle: BundleWriter,
                heatmaps: dict[str, np.ndarray] | None) -> dict[str, Any]:
        """Extra files (written through ``bundle``) and entries of manifest["factors"]."""
        ...


class TokenContexts:
    """Text: a context is a token, named by its text (lowercased)."""

    lower = True

    def names(self, store: ActivationStore, texts: np.ndarray, sent_of: np.ndarray) -> np.ndarray:
        return texts

    def index_columns(self, res: FactorResult, sent_of: np.ndarray, offsets: np.ndarray) -> dict[str, pa.Array]:
        return {}

    def section(self, res: FactorResult, store: ActivationStore, bundle: BundleWriter,
                heatmaps: dict[str, np.ndarray] | None) -> dict[str, Any]:
        return {}


class PatchContexts:
    """Images: a context is a patch; "patch 3,4" says nothing, so a factor's contexts are named
    by their images, shown as thumbnails, and mapped over their images (factors/heatmaps.py)."""

    lower = False

    def names(self, store: ActivationStore, texts: np.ndarray, sent_of: np.ndarray) -> np.ndarray:
        # prefix tokens keep their own name: a [CLS] factor is about [CLS], not its images
        names = np.asarray(store.sentences.column("text").to_pylist(), dtype=object)
        special = store.tokens.column("is_special").to_numpy(zero_copy_only=False)
        return np.where(special, texts, names[sent_of])

    def index_columns(self, res: FactorResult, sent_of: np.ndarray, offsets: np.ndarray) -> dict[str, pa.Array]:
        t_img, t_pos = _thumbs(res, sent_of, offsets)
        cols = {}
        for j in range(THUMBS):
            cols[f"thumb_image_{j}"] = pa.array(t_img[:, j])
            cols[f"thumb_pos_{j}"] = pa.array(t_pos[:, j])
        return cols

    def section(self, res: FactorResult, store: ActivationStore, bundle: BundleWriter,
                heatmaps: dict[str, np.ndarray] | None) -> dict[str, Any]:
        """The activation maps (``heatmaps`` as the build's factor-maps stage computed them, else
        computed here) and what the image columns mean."""
        from .heatmaps import compute_heatmaps, write_heatmaps

        maps_section = write_heatmaps(res, heatmaps if heatmaps is not None else compute_heatmaps(res, store), bundle)
        return {
            "modality": "image",
            "top_tokens": "names of the images of the top-k contexts at the peak layer, with counts ([CLS] / registers by their own name)",
            "thumbs": {"n": THUMBS, "columns": "thumb_image_j (sentence_id, -1 = none), thumb_pos_j (unit position)",
                       "meaning": "best context in each of the first distinct images of the top-k at the peak layer"},
            "heatmaps": maps_section,
        }


def _index_table(res: FactorResult, store: ActivationStore, bundle: BundleWriter, contexts: FactorContexts, sent_of: np.ndarray,
                 offsets: np.ndarray) -> None:
    """factors/index.parquet: one row per factor (level, peak layer, density, top tokens, IS per
    layer, and the modality's own columns)."""
    m, L1 = res.n_components, res.is_.shape[1]
    texts = contexts.names(store, np.asarray(store.tokens.column("text").to_pylist(), dtype=object), sent_of)
    peak = res.peak_layer
    density_all = res.density_all.astype(np.float32)
    top_tokens = [_top_tokens(texts, res.topk_token[peak[c], c], contexts.lower) for c in range(m)]
    cols: dict[str, Any] = {
        "factor": pa.array(np.arange(m, dtype=np.int32)),
        "level": pa.array([str(x) for x in res.level], pa.string()),
        "peak_layer": pa.array(peak.astype(np.int32)),
        "density": pa.array(density_all),
        "max_activation": pa.array(res.max_act.max(1).astype(np.float32)),
        "spread": pa.array(res.spread[np.arange(m), peak].astype(np.float32)),
        "top_tokens": pa.array(top_tokens, pa.string()),
    }
    for layer in range(L1):
        cols[f"is_{layer}"] = pa.array(res.is_[:, layer].astype(np.float32))
    cols.update(contexts.index_columns(res, sent_of, offsets))
    bundle.add_table("factors/index.parquet", pa.table(cols))


def _chunk_files(res: FactorResult, bundle: BundleWriter, cs: int, sent_of: np.ndarray, offsets: np.ndarray) -> int:
    """factors/topk-NNN.parquet (every layer's top-k contexts) and factors/hist-NNN.f32 per chunk of
    ``cs`` factors; returns the number of chunks."""
    m = res.n_components
    n_chunks = (m + cs - 1) // cs
    for ch in range(n_chunks):
        lo, hi = ch * cs, min(m, (ch + 1) * cs)
        tok = res.topk_token[:, lo:hi, :]  # (L1, c, k)
        val = res.topk_values[:, lo:hi, :]
        layer_i, fac_i, rank_i = np.nonzero(tok >= 0)
        rows = tok[layer_i, fac_i, rank_i].astype(np.int64)
        order = np.lexsort((rank_i, layer_i, fac_i))
        layer_i, fac_i, rank_i, rows = layer_i[order], fac_i[order], rank_i[order], rows[order]
        sid = sent_of[rows]
        bundle.add_table(f"factors/topk-{ch:03d}.parquet", pa.table({
            "factor": pa.array((fac_i + lo).astype(np.int32)),
            "layer": pa.array(layer_i.astype(np.int8)),
            "rank": pa.array(rank_i.astype(np.int16)),
            "sentence_id": pa.array(sid.astype(np.int32)),
            "position": pa.array((rows - offsets[sid]).astype(np.int16)),
            "value": pa.array(val[layer_i, fac_i, rank_i].astype(np.float32)),
        }))
        bundle.add_float32(f"factors/hist-{ch:03d}.f32", res.hist[lo:hi].astype(np.float32))
        if res.samples is not None:
            bundle.add_table(f"factors/quantiles-{ch:03d}.parquet", _quantile_table(res, range(lo, hi), sent_of, offsets))
    return n_chunks


QUANTILE_TYPES = {"factor": pa.int32(), "layer": pa.int8(), "band": pa.int8(), "band_lo": pa.float32(), "band_hi": pa.float32(),
                  "rank": pa.int8(), "sentence_id": pa.int32(), "position": pa.int16(), "value": pa.float32()}


def _quantile_table(res: FactorResult, factors: range, sent_of: np.ndarray, offsets: np.ndarray) -> pa.Table:
    """Contexts of each factor and layer per activation band (samples.band_sample_rows)."""
    n_layers = res.is_.shape[1]
    pair_factor = np.repeat(np.arange(factors.start, factors.stop), n_layers)
    pair_layer = np.tile(np.arange(n_layers), len(factors))
    cols = band_sample_rows(res.hist, res.hist_edges, res.samples, pair_factor, pair_layer)
    sid = sent_of[cols["row"]]
    values = {"factor": pair_factor[cols["pair"]], "layer": pair_layer[cols["pair"]], "band": cols["band"], "band_lo": cols["band_lo"],
              "band_hi": cols["band_hi"], "rank": cols["rank"], "sentence_id": sid, "position": cols["row"] - offsets[sid], "value": cols["value"]}
    return pa.table({name: pa.array(values[name].astype(t.to_pandas_dtype())) for name, t in QUANTILE_TYPES.items()})


def write_factor_bundle(res: FactorResult, store: ActivationStore, bundle: BundleWriter,
                        heatmaps: dict[str, np.ndarray] | None = None, *, contexts: FactorContexts) -> dict[str, Any]:
    """Writes data/factors/* through ``bundle`` (a BundleWriter) and returns manifest["factors"].

    Files (see docs/factors.md): factors/index.parquet, factors/neighbors.parquet,
    factors/topk-NNN.parquet and factors/hist-NNN.f32 per chunk of ``chunk_size`` factors.
    Contexts refer to tokens.parquet / sentences.parquet by (sentence_id, position). What
    differs by modality (names of the contexts, an image store's thumbnails and activation
    maps ``heatmaps``) comes from ``contexts``, the model's modality's ``factor_contexts()``.
    """
    cfg = res.config
    m = res.n_components
    L1 = res.is_.shape[1]
    k = res.topk_values.shape[2]
    offsets = store.sentence_offsets
    sent_of = np.repeat(np.arange(store.n_sentences, dtype=np.int32), np.diff(offsets))
    _index_table(res, store, bundle, contexts, sent_of, offsets)

    nn = res.neighbors.shape[1]
    bundle.add_table("factors/neighbors.parquet", pa.table({
        "factor": pa.array(np.repeat(np.arange(m, dtype=np.int32), nn)),
        "rank": pa.array(np.tile(np.arange(nn, dtype=np.int16), m)),
        "neighbor": pa.array(res.neighbors.reshape(-1).astype(np.int32)),
        "cosine": pa.array(res.neighbor_cos.reshape(-1).astype(np.float32)),
    }))

    cs = cfg.chunk_size
    n_chunks = _chunk_files(res, bundle, cs, sent_of, offsets)

    extra = contexts.section(res, store, bundle, heatmaps)
    if res.samples is not None:
        extra["quantiles"] = {
            "file": "factors/quantiles-{chunk:03d}.parquet", "bands": N_BANDS, "per_band": PER_BIN,
            "layout": "per factor and layer, contexts drawn uniformly at random from each of `bands` activation bands of equal "
            "count (band 0 the weakest): factor, layer, band, band_lo / band_hi (the band's activation range, cut at the "
            "histogram's bin edges hist_edges, the outer bins open-ended), rank (by value), sentence_id, position, value",
        }
    if res.token_top_ids is not None:
        extra["token_factors"] = pack_token_factors(res.token_top_ids, res.token_top_values, bundle, "factors/token_factors.u16",
                                                    "row of tokens.parquet (every text of the site)")
    q = res.metrics["quality"]
    section = {
        "method": cfg.method,
        "config": cfg.to_dict(),
        "n_factors": m,
        "n_layers": L1,
        "top_k": k,
        "chunk_size": cs,
        "n_chunks": n_chunks,
        "files": {
            "index": "factors/index.parquet",
            "neighbors": "factors/neighbors.parquet",
            "topk": "factors/topk-{chunk:03d}.parquet",
            "hist": "factors/hist-{chunk:03d}.f32",
            "chunk_of_factor": "chunk = factor // chunk_size",
        },
        "hist_edges": [float(x) for x in res.hist_edges],
        "hist_shape": ["factor in chunk", L1, int(res.hist.shape[2])],
        "level_counts": {lv: int((res.level == lv).sum()) for lv in ("low", "mid", "high", "dead")},
        "level_low_max_layer": res.metrics.get("level_low_max_layer"),
        "quality": q,
        "timings": res.metrics.get("timings", {}),
        "units": res.metrics.get("units"),
        "formulas": {"objective": OBJECTIVES[cfg.method], **FORMULAS, "dense": f"dense fraction = share of factors active on more than {cfg.dense_threshold:.0%} of tokens"},
    }
    return {**section, **extra}
