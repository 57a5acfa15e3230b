"""Activation maps of factors over whole images (image stores only): the factor pages' "heat map
on demand". For every factor, the first ``n_contexts`` distinct images among its top-k contexts
at its PEAK layer (in rank order) get the factor's activation on every unit of the image at that
layer: the prefix tokens (CLS, registers) then the rows x cols patch grid, row-major (the unit
order of tokens.parquet).

Files, per chunk of ``chunk_size`` factors (the chunks of the factor bundle, so a factor page
loads one more small pair of files), each with its .js twin:

  factors/heatmap-NNN.u8   uint8 (c, n_contexts, n_units): value = byte / 255 * max of that map
  factors/heatmap-NNN.f32  float32 (c, n_contexts, 2): [image id (sentence_id; -1 = no map), max]

Size: n_factors x n_contexts x n_units bytes (+ 8 bytes per map). DINOv2-S default build
(3,072 factors, 257 units, 12 maps): 9.5 MB + 0.3 MB, 13 MB more as .js twins (every layer
instead of the peak alone would be 13x that, so only the peak layer is shipped).

Cost: each needed image's units are coded once per layer (``store.hidden(layer)[rows]`` ->
``res.encode``), in batches of images; the needed factor columns are picked from the codes.
The build runs this as its own cached stage (``factor-maps``, keyed by the factor stage's key),
so warm rebuilds do not code anything again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

N_CONTEXTS = 12
MAPS_FILE = "factors/heatmap-{chunk:03d}.u8"
META_FILE = "factors/heatmap-{chunk:03d}.f32"


def map_images(res, store, n_contexts: int = N_CONTEXTS) -> np.ndarray:
    """(m, n_contexts) int32: the first distinct images of each factor's top-k contexts at its
    peak layer, in rank order; -1 where a factor has fewer."""
    offsets = store.sentence_offsets
    sent_of = np.repeat(np.arange(store.n_sentences, dtype=np.int32), np.diff(offsets))
    peak = res.peak_layer
    m = res.n_components
    out = np.full((m, n_contexts), -1, np.int32)
    for c in range(m):
        toks = res.topk_token[peak[c], c]
        toks = toks[toks >= 0]
        if toks.size == 0:
            continue
        imgs = sent_of[toks]
        _, first = np.unique(imgs, return_index=True)
        chosen = imgs[np.sort(first)][:n_contexts]
        out[c, : chosen.size] = chosen
    return out


def compute_heatmaps(res, store, n_contexts: int = N_CONTEXTS, batch_images: int = 32) -> dict[str, np.ndarray]:
    """{"images": (m, N) int32, "max": (m, N) float32, "maps": (m, N, n_units) uint8}: every
    factor's activation on every unit of its map images at its peak layer, quantised per map."""
    images = map_images(res, store, n_contexts)
    m, N = images.shape
    offsets = store.sentence_offsets
    n_units = int(offsets[1] - offsets[0]) if store.n_sentences else 0
    maps = np.zeros((m, N, n_units), np.uint8)
    maxes = np.zeros((m, N), np.float32)
    peak = res.peak_layer
    for layer in np.unique(peak):
        fac = np.nonzero(peak == layer)[0]
        f_idx, slot = np.nonzero(images[fac] >= 0)
        if f_idx.size == 0:
            continue
        f_idx = fac[f_idx]
        img = images[f_idx, slot]
        needed = np.unique(img)
        hidden = store.hidden(int(layer))
        for lo in range(0, needed.size, batch_images):
            batch = needed[lo : lo + batch_images]
            rows = (offsets[batch][:, None] + np.arange(n_units)[None, :]).reshape(-1)
            codes = res.encode(np.asarray(hidden[rows], np.float32), int(layer)).reshape(batch.size, n_units, -1)
            sel = np.nonzero(np.isin(img, batch))[0]
            local = np.searchsorted(batch, img[sel])
            vals = np.maximum(codes[local, :, f_idx[sel]], 0.0)  # (n_sel, n_units)
            mx = vals.max(1)
            q = np.zeros_like(vals)
            ok = mx > 0
            q[ok] = vals[ok] / mx[ok, None] * 255.0
            maps[f_idx[sel], slot[sel]] = np.clip(np.rint(q), 0, 255).astype(np.uint8)
            maxes[f_idx[sel], slot[sel]] = mx.astype(np.float32)
    return {"images": images, "max": maxes, "maps": maps}


MAPS_NPZ = "maps.npz"


def save_heatmaps(res, store, out_dir: Path, n_contexts: int = N_CONTEXTS) -> None:
    """The build's ``factor-maps`` stage: compute_heatmaps into ``out_dir/maps.npz`` (a stage
    cache entry of its own, keyed by the factor stage's key)."""
    np.savez(Path(out_dir) / MAPS_NPZ, **compute_heatmaps(res, store, n_contexts))


def load_heatmaps(stage_dir: Path) -> dict[str, np.ndarray]:
    with np.load(Path(stage_dir) / MAPS_NPZ) as z:
        return {k: z[k] for k in ("images", "max", "maps")}


def write_heatmaps(res, hm: dict[str, np.ndarray], bundle) -> dict[str, Any]:
    """Writes the maps ``hm`` (compute_heatmaps / load_heatmaps) as factors/heatmap-NNN.{u8,f32}
    through ``bundle`` (a BundleWriter); returns manifest["factors"]["heatmaps"] (layout, sizes)."""
    n_contexts = hm["maps"].shape[1]
    cs = res.config.chunk_size
    m = res.n_components
    n_units = hm["maps"].shape[2]
    total = 0
    for ch in range((m + cs - 1) // cs):
        lo, hi = ch * cs, min(m, (ch + 1) * cs)
        maps = np.ascontiguousarray(hm["maps"][lo:hi])
        meta = np.ascontiguousarray(np.stack([hm["images"][lo:hi].astype(np.float32), hm["max"][lo:hi]], axis=-1), dtype="<f4")
        name = MAPS_FILE.format(chunk=ch)
        bundle.add_bytes(name, maps.tobytes(), "uint8", shape=list(maps.shape),
                         quantised=f"value = byte / 255 * max, max = {META_FILE.format(chunk=ch)}[factor, context, 1]")
        bundle.add_bytes(META_FILE.format(chunk=ch), meta.tobytes(), "float32", shape=list(meta.shape))
        total += maps.nbytes + meta.nbytes
    return {
        "layer": "peak",
        "contexts": n_contexts,
        "n_units": int(n_units),
        "files": {"maps": MAPS_FILE, "meta": META_FILE},
        "bytes": int(total),
        "layout": (
            f"per chunk of chunk_size factors: maps uint8 (factor in chunk, {n_contexts}, n_units), units in "
            "tokens.parquet order (prefix tokens, then the patch grid row-major), value = byte / 255 * max; "
            f"meta float32 (factor in chunk, {n_contexts}, 2) = [image id (sentence_id, -1 = none), max]. Map j of a "
            "factor is the j-th distinct image among its top-k contexts at its peak layer, in rank order."
        ),
    }
