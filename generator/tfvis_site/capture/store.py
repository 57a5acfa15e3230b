"""Read access to an activation store folder (capture/extract.py writes it and documents its layout):
``ActivationStore`` and its per-layer ``LayerView``. Reads copy the requested rows out of the
shard files with explicit reads and keep nothing mapped (memory: see capture/extract.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..model.load import ModelInfo

#: Version of the store layout (meta.json "format"); a store of another format is extracted again.
STORE_FORMAT = 2


def shard_dir(store_dir: Path, shard_index: int) -> Path:
    return Path(store_dir) / "shards" / f"{shard_index:05d}"


class LayerView:
    """One layer of one store array, read on demand: ``view[lo:hi]`` (explicit reads),
    ``view[rows]`` (an int or boolean array: only those rows), ``np.asarray(view)`` (the whole
    layer). Always float32. ``shape``: (n_tokens, *row_shape)."""

    def __init__(self, store: "ActivationStore", name: str, layer: int):
        self.store, self.name, self.layer = store, name, layer
        self.shape = (store.n_tokens, *store.row_shape(name))
        self.dtype = np.dtype(np.float32)
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Any) -> np.ndarray:
        rest = ()
        if isinstance(index, tuple):
            index, rest = index[0], index[1:]
        if isinstance(index, slice):
            lo, hi, step = index.indices(self.shape[0])
            out = self.store.read(self.name, self.layer, lo, max(hi, lo))
            out = out if step == 1 else out[::step]
        elif np.isscalar(index):
            i = int(index) + (self.shape[0] if int(index) < 0 else 0)
            return self.store.read(self.name, self.layer, i, i + 1)[0][rest]
        else:
            rows = np.asarray(index)
            if rows.dtype == bool:
                rows = np.flatnonzero(rows)
            out = self.store.take(self.name, self.layer, rows)
        # the rows are chosen: the rest of the index applies to the axes after the first
        return out[(slice(None), *rest)] if rest else out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.store.read(self.name, self.layer, 0, self.shape[0])
        return out if dtype is None else out.astype(dtype, copy=False)


class UnitTables:
    """The units table (tokens.parquet) and the sequences table (sentences.parquet) of a folder
    ``path`` (an activation store, an attention stage), each read on first use."""

    path: Path

    @cached_property
    def tokens(self) -> pa.Table:
        return pq.read_table(self.path / "tokens.parquet")

    @cached_property
    def sentences(self) -> pa.Table:
        return pq.read_table(self.path / "sentences.parquet")


class ActivationStore(UnitTables):
    """Read access to a store folder (see the module docstring for the layout). Reads copy the
    requested rows out of the shard files and keep nothing mapped, so reading a whole layer in
    chunks (``iter_rows``) holds one chunk at a time."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.meta = json.loads((self.path / "meta.json").read_text())
        if self.meta.get("format") != STORE_FORMAT:
            raise ValueError(f"{self.path}: an activation store of an older format: extract again")
        self.info = ModelInfo(**self.meta["model"])
        self.n_tokens: int = self.meta["n_tokens"]
        self.n_sentences: int = self.meta["n_sentences"]
        self.has_attention: bool = self.meta["options"]["capture_attention"]
        self.dtype = np.dtype(self.meta["options"]["dtype"])
        #: (n_shards, 2) sentence ranges and (n_shards + 1,) first token row of each shard (+ n_tokens)
        self.shards = np.asarray(self.meta["shards"], dtype=np.int64).reshape(-1, 2)
        #: image stores: {"size": [H, W], "patch_size", "grid": [rows, cols], "n_prefix_tokens"}
        self.image: dict[str, Any] | None = self.meta.get("image")
        #: attention stores: {"path", "qk_reproduce_attention", "max_abs_error", "note"}: whether
        #: softmax(scaling q·k + causal mask) gives attention() or q·k is only the content term
        self.capture: dict[str, Any] = self.meta.get("capture", {})
        self._headers: dict[Path, tuple[int, tuple[int, ...], np.dtype]] = {}
        #: bytes one read of scattered rows (``take``) maps at most; the build sets it from the
        #: memory budget (memory.py)
        self.max_read_bytes = 64 << 20

    @property
    def complete(self) -> bool:
        return (self.path / "complete").exists()

    def images(self) -> np.ndarray:
        """(n_images, H, W, 3) uint8: each image as the model saw it (after its processor)."""
        return np.load(self.path / "images.npy", mmap_mode="r")

    @cached_property
    def sentence_offsets(self) -> np.ndarray:
        """(n_sentences + 1,) int64: tokens of sentence s are [off[s], off[s+1])."""
        starts = self.sentences.column("token_offset").to_numpy()
        return np.append(starts, self.n_tokens).astype(np.int64)

    @cached_property
    def shard_rows(self) -> np.ndarray:
        """(n_shards + 1,) int64: shard i holds token rows [shard_rows[i], shard_rows[i+1])."""
        return self.sentence_offsets[np.append(self.shards[:, 0], self.n_sentences)] if len(self.shards) else np.zeros(1, np.int64)

    # ------------------------------------------------------------------ raw reads

    def row_shape(self, name: str) -> tuple[int, ...]:
        """Shape of one token row of array ``name`` (hidden, queries, keys, value_norms)."""
        i = self.info
        return {"hidden": (i.d_model,), "queries": (i.n_heads, i.d_head), "keys": (i.n_kv_heads, i.d_head), "value_norms": (i.n_kv_heads,)}[name]

    def _header(self, path: Path) -> tuple[int, tuple[int, ...], np.dtype]:
        if path not in self._headers:
            with open(path, "rb") as f:
                version = np.lib.format.read_magic(f)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read_header(f)
                self._headers[path] = (f.tell(), shape, dtype)
        return self._headers[path]

    def _block(self, name: str, shard: int, layer: int, lo: int, hi: int) -> np.ndarray:
        """Rows [lo, hi) (shard-local) of ``layer`` of one shard file, read into a new array."""
        path = shard_dir(self.path, shard) / f"{name}.npy"
        offset, shape, dtype = self._header(path)
        row_items = int(np.prod(shape[2:]))
        out = np.empty((hi - lo, *shape[2:]), dtype=dtype)
        with open(path, "rb") as f:
            f.seek(offset + (layer * shape[1] + lo) * row_items * dtype.itemsize)
            f.readinto(memoryview(out.reshape(-1).view(np.uint8)))
        return out

    def read(self, name: str, layer: int, lo: int, hi: int) -> np.ndarray:
        """(hi - lo, *row_shape) float32: token rows [lo, hi) of ``layer`` of array ``name``."""
        out = np.empty((hi - lo, *self.row_shape(name)), dtype=np.float32)
        first = max(int(np.searchsorted(self.shard_rows, lo, side="right")) - 1, 0)
        for shard in range(first, len(self.shards)):
            s_lo, s_hi = int(self.shard_rows[shard]), int(self.shard_rows[shard + 1])
            if s_lo >= hi:
                break
            a, b = max(lo, s_lo), min(hi, s_hi)
            if b > a:
                out[a - lo : b - lo] = self._block(name, shard, layer, a - s_lo, b - s_lo)
        return out

    def take(self, name: str, layer: int, rows: np.ndarray) -> np.ndarray:
        """(len(rows), *row_shape) float32: the token rows ``rows`` (any order, repeats allowed) of
        ``layer``. Reads windows of consecutive rows (``max_read_bytes`` each) through a
        short-lived memory map of just that window: its pages leave the resident set when it is
        unmapped, and only the pages of the rows asked for are read from disk."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.empty((len(rows), *self.row_shape(name)), dtype=np.float32)
        window = max(1, self.max_read_bytes // (int(np.prod(self.row_shape(name))) * self.dtype.itemsize))
        if len(rows) == 0:
            return out
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        shard_of = np.searchsorted(self.shard_rows, sorted_rows, side="right") - 1
        start = 0
        while start < len(sorted_rows):
            shard = int(shard_of[start])
            s_lo = int(self.shard_rows[shard])
            first = int(sorted_rows[start])
            stop = int(np.searchsorted(sorted_rows, min(first + window, int(self.shard_rows[shard + 1])), side="left"))
            path = shard_dir(self.path, shard) / f"{name}.npy"
            offset, shape, dtype = self._header(path)
            span = int(sorted_rows[stop - 1]) - first + 1
            row_items = int(np.prod(shape[2:]))
            mapped = np.memmap(path, dtype=dtype, mode="r", shape=(span, *shape[2:]),
                               offset=offset + (layer * shape[1] + first - s_lo) * row_items * dtype.itemsize)
            out[order[start:stop]] = mapped[sorted_rows[start:stop] - first]
            del mapped
            start = stop
        return out

    def iter_rows(self, name: str, layer: int, chunk_rows: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yields (lo, hi, rows [lo, hi) float32) over the whole layer, ``chunk_rows`` at a time:
        at most one chunk is held."""
        for lo in range(0, self.n_tokens, chunk_rows):
            hi = min(lo + chunk_rows, self.n_tokens)
            yield lo, hi, self.read(name, layer, lo, hi)

    # ------------------------------------------------------------------ arrays by layer

    def hidden(self, layer: int) -> LayerView:
        """(n_tokens, d_model) float32 view; layer 0 = embeddings, 1..n_layers = block outputs."""
        return LayerView(self, "hidden", layer)

    def _require_attention(self) -> None:
        if not self.has_attention:
            raise ValueError(f"{self.path}: extracted without attention capture")

    def queries(self, layer: int) -> LayerView:
        """(n_tokens, n_heads, d_head) float32 view for block ``layer`` (0-based)."""
        self._require_attention()
        return LayerView(self, "queries", layer)

    def keys(self, layer: int) -> LayerView:
        """(n_tokens, n_kv_heads, d_head) float32 view; use ``info.kv_head_of(h)`` for query head h."""
        self._require_attention()
        return LayerView(self, "keys", layer)

    def value_norms(self, layer: int) -> LayerView:
        """(n_tokens, n_kv_heads) float32 view for block ``layer``: the L2 norm of each token's value
        vector per key/value head, as it enters the attention product (use ``info.kv_head_of(h)``
        for query head h). Attention x value norm, renormalised per query, is AttentionViz's
        "weight by value norm"."""
        self._require_attention()
        return LayerView(self, "value_norms", layer)

    def scaling(self, layer: int) -> float:
        self._require_attention()
        return float(np.load(self.path / "scaling.npy")[layer])

    def attention(self, layer: int, sentence: int) -> np.ndarray:
        """(n_heads, L, L) float32 attention weights of one sentence (rows: queries)."""
        self._require_attention()
        offs = np.load(self.path / "attention_offsets.npy", mmap_mode="r")
        shard = int(np.searchsorted(self.shards[:, 0], sentence, side="right")) - 1
        base = int(offs[int(self.shards[shard, 0])])
        lo, hi = int(offs[sentence]) - base, int(offs[sentence + 1]) - base
        n = int(self.sentence_offsets[sentence + 1] - self.sentence_offsets[sentence])
        path = shard_dir(self.path, shard) / "attention.npy"
        offset, shape, dtype = self._header(path)
        out = np.empty((self.info.n_heads, hi - lo), dtype=np.float32)
        with open(path, "rb") as f:
            for head in range(self.info.n_heads):
                f.seek(offset + ((layer * shape[1] + head) * shape[2] + lo) * dtype.itemsize)
                f.readinto(memoryview(out[head].view(np.uint8)))
        return out.reshape(self.info.n_heads, n, n)
