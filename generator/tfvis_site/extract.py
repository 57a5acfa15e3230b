"""Batched forward passes -> an on-disk activation store.

Units are tokens of texts, or patches of images (plus CLS / register tokens): an image plays
the part of a sentence, its patches that of tokens (see patches.py for the extra columns).

Store layout (one folder, arrays are float32 .npy files opened as memory maps):
  meta.json            ModelInfo, counts, options (+ "image": geometry, for image stores;
                       + "capture": how q, k were captured and whether they reproduce the
                       attention weights, see capture.AttentionCapture.summary)
  tokens.parquet       one row per unit: sentence_id, position, token_id, piece, text,
                       space_before, is_special (+ patch columns for images)
  sentences.parquet    sentence_id, text (an image's name), n_tokens, token_offset
  images.npy           (n_images, H, W, 3) uint8 the images as the model saw them [images only]
  hidden.npy           (n_layers + 1, n_tokens, d_model); index 0 = embedding output
  queries.npy          (n_layers, n_tokens, n_heads, d_head)       [only with attention capture]
  keys.npy             (n_layers, n_tokens, n_kv_heads, d_head)    [only with attention capture]
                       q and k as the attention product takes them (capture.py says how)
  value_norms.npy      (n_layers, n_tokens, n_kv_heads) L2 norm of each token's value vector as
                       it enters the attention product (after the v projection, before GQA
                       repetition): AttentionViz's "weight by value norm" [only with attention capture]
  attention.npy        (n_layers, n_heads, sum_s L_s^2): the model's own attention weights; per
                       sentence s its (L_s, L_s) block, row = query position, column = key
                       position  [only with attention capture]
  attention_offsets.npy (n_sentences + 1,) int64 offsets into the last axis of attention.npy
  scaling.npy          (n_layers,) the factor each layer applies to q·k

Tokens of sentence s are rows ``token_offset[s] : token_offset[s] + n_tokens[s]``.
Memory stays at one batch plus the memory maps: batches write straight into the maps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .capture import AttentionCapture
from .models import LoadedModel, ModelInfo
from .progress import Reporter


@dataclass(frozen=True)
class ExtractOptions:
    max_tokens: int = 64
    batch_size: int = 32
    capture_attention: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "batch_size": self.batch_size, "capture_attention": self.capture_attention}


def tokenize(tokenizer: Any, sentences: list[str], max_tokens: int) -> list[dict[str, Any]]:
    """Per sentence: input_ids, offsets and special mask, truncated to max_tokens (specials included)."""
    enc = tokenizer(
        sentences,
        truncation=True,
        max_length=max_tokens,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
        add_special_tokens=True,
    )
    return [
        {"ids": enc["input_ids"][i], "offsets": enc["offset_mapping"][i], "special": enc["special_tokens_mask"][i]}
        for i in range(len(sentences))
    ]


def token_table(tokenizer: Any, sentences: list[str], encoded: list[dict[str, Any]]) -> pa.Table:
    """Token metadata. ``text`` is the covered slice of the sentence (the piece string for specials)."""
    cols: dict[str, list] = {k: [] for k in ("sentence_id", "position", "token_id", "piece", "text", "space_before", "is_special")}
    for sid, (sentence, enc) in enumerate(zip(sentences, encoded)):
        pieces = tokenizer.convert_ids_to_tokens(enc["ids"])
        prev_end = 0
        for pos, (tid, (start, end), special, piece) in enumerate(zip(enc["ids"], enc["offsets"], enc["special"], pieces)):
            is_special = bool(special) or start == end
            cols["sentence_id"].append(sid)
            cols["position"].append(pos)
            cols["token_id"].append(int(tid))
            cols["piece"].append(str(piece))
            cols["text"].append(str(piece) if is_special else sentence[start:end])
            cols["space_before"].append(bool(not is_special and pos > 0 and start > prev_end))
            cols["is_special"].append(is_special)
            if not is_special:
                prev_end = end
    return pa.table(
        {
            "sentence_id": pa.array(cols["sentence_id"], pa.int32()),
            "position": pa.array(cols["position"], pa.int32()),
            "token_id": pa.array(cols["token_id"], pa.int32()),
            "piece": pa.array(cols["piece"], pa.string()),
            "text": pa.array(cols["text"], pa.string()),
            "space_before": pa.array(cols["space_before"], pa.bool_()),
            "is_special": pa.array(cols["is_special"], pa.bool_()),
        }
    )


class TextUnits:
    """Tokens of texts as units: tokenised up front, batches padded with the pad token."""

    def __init__(self, loaded: LoadedModel, texts: list[str], max_tokens: int):
        self.texts = texts
        self.tokenizer = loaded.tokenizer
        self.encoded = tokenize(loaded.tokenizer, texts, max_tokens)
        self.lengths = np.array([len(e["ids"]) for e in self.encoded], dtype=np.int64)

    def model_inputs(self, batch: np.ndarray) -> dict[str, Any]:
        import torch

        width = int(self.lengths[batch].max())
        ids = torch.full((len(batch), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, sid in enumerate(batch):
            ids[row, : self.lengths[sid]] = torch.tensor(self.encoded[sid]["ids"])
            mask[row, : self.lengths[sid]] = 1
        return {"input_ids": ids, "attention_mask": mask}

    def tables(self) -> tuple[pa.Table, dict[str, Any]]:
        """(tokens table, extra sentence columns)."""
        return token_table(self.tokenizer, self.texts, self.encoded), {"text": pa.array(self.texts, pa.string())}

    def write_extra(self, out_dir: Path) -> dict[str, Any]:
        return {}


def extract(loaded: LoadedModel, inputs: list[Any], out_dir: Path, options: ExtractOptions, progress: Reporter, names: list[str] | None = None) -> "ActivationStore":
    """Run the model over ``inputs`` (texts for a text model; PIL images for an image model, with
    their ``names``) and write the store into ``out_dir`` (which must exist)."""
    import torch

    out_dir = Path(out_dir)
    info = loaded.info
    if loaded.is_image:
        from .patches import ImageUnits

        units: Any = ImageUnits(loaded, inputs, names or [f"image {i}" for i in range(len(inputs))], out_dir, options.batch_size)
    else:
        units = TextUnits(loaded, inputs, options.max_tokens)
    lengths = units.lengths
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n_tokens = int(offsets[-1])

    hidden = _open_npy(out_dir / "hidden.npy", (info.n_layers + 1, n_tokens, info.d_model))
    if options.capture_attention:
        attn_offsets = np.concatenate([[0], np.cumsum(lengths**2)]).astype(np.int64)
        np.save(out_dir / "attention_offsets.npy", attn_offsets)
        queries = _open_npy(out_dir / "queries.npy", (info.n_layers, n_tokens, info.n_heads, info.d_head))
        keys = _open_npy(out_dir / "keys.npy", (info.n_layers, n_tokens, info.n_kv_heads, info.d_head))
        value_norms = _open_npy(out_dir / "value_norms.npy", (info.n_layers, n_tokens, info.n_kv_heads))
        attention = _open_npy(out_dir / "attention.npy", (info.n_layers, info.n_heads, int(attn_offsets[-1])))
        scaling = np.zeros(info.n_layers, dtype=np.float32)
        capture = AttentionCapture(loaded)

    # Longest first: similar lengths share a batch (less padding), and an out-of-memory error
    # shows up on the first batch rather than the last. The order never changes the results.
    order = np.argsort(-lengths, kind="stable")
    unit_name = "images" if loaded.is_image else "texts"
    with progress.task(f"extract: forward passes ({unit_name})", total=len(inputs)) as task, torch.inference_mode():
        for start in range(0, len(order), options.batch_size):
            batch = order[start : start + options.batch_size]
            kwargs = {k: v.to(loaded.device) for k, v in units.model_inputs(batch).items()}
            if options.capture_attention:
                out, records = capture.forward(kwargs, lengths[batch])
            else:
                out = loaded.model(**kwargs, output_hidden_states=True)
            states = torch.stack(out.hidden_states).float().cpu().numpy()  # (n_layers+1, batch, width, d)
            for row, sid in enumerate(batch):
                n = lengths[sid]
                lo, hi = offsets[sid], offsets[sid + 1]
                hidden[:, lo:hi] = states[:, row, :n]
                if options.capture_attention:
                    a_lo, a_hi = attn_offsets[sid], attn_offsets[sid + 1]
                    for layer, rec in enumerate(records):
                        queries[layer, lo:hi] = rec.query[row, :, :n].transpose(0, 1).float().cpu().numpy()
                        keys[layer, lo:hi] = rec.key[row, :, :n].transpose(0, 1).float().cpu().numpy()
                        value_norms[layer, lo:hi] = rec.value_norms[row, :, :n].transpose(0, 1).float().cpu().numpy()
                        attention[layer, :, a_lo:a_hi] = rec.weights[row, :, :n, :n].reshape(info.n_heads, -1).float().cpu().numpy()
            if options.capture_attention:
                scaling[:] = [rec.scaling for rec in records]
            task.advance(len(batch))

    hidden.flush()
    if options.capture_attention:
        for arr in (queries, keys, value_norms, attention):
            arr.flush()
        np.save(out_dir / "scaling.npy", scaling)
    tokens, sentence_columns = units.tables()
    pq.write_table(tokens, out_dir / "tokens.parquet")
    pq.write_table(
        pa.table(
            {
                "sentence_id": pa.array(np.arange(len(inputs), dtype=np.int32)),
                **sentence_columns,
                "n_tokens": pa.array(lengths.astype(np.int32)),
                "token_offset": pa.array(offsets[:-1]),
            }
        ),
        out_dir / "sentences.parquet",
    )
    meta = {
        "model": info.to_dict(),
        "n_sentences": len(inputs),
        "n_tokens": n_tokens,
        "options": options.to_dict(),
        **({"capture": capture.summary()} if options.capture_attention else {}),
        **units.write_extra(out_dir),
    }
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=1))
    return ActivationStore(out_dir)


def _open_npy(path: Path, shape: tuple[int, ...]) -> np.memmap:
    return np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)


class ActivationStore:
    """Read access to an extraction folder (see the module docstring for the layout)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.meta = json.loads((self.path / "meta.json").read_text())
        self.info = ModelInfo(**self.meta["model"])
        self.n_tokens: int = self.meta["n_tokens"]
        self.n_sentences: int = self.meta["n_sentences"]
        self.has_attention: bool = self.meta["options"]["capture_attention"]
        #: image stores: {"size": [H, W], "patch_size", "grid": [rows, cols], "n_prefix_tokens"}
        self.image: dict[str, Any] | None = self.meta.get("image")
        #: attention stores: {"path", "qk_reproduce_attention", "max_abs_error", "note"}: whether
        #: softmax(scaling q·k + causal mask) gives attention() or q·k is only the content term
        self.capture: dict[str, Any] = self.meta.get("capture", {})

    @property
    def is_image(self) -> bool:
        return self.image is not None

    def images(self) -> np.ndarray:
        """(n_images, H, W, 3) uint8: each image as the model saw it (after its processor)."""
        return self._map("images.npy")

    @cached_property
    def tokens(self) -> pa.Table:
        return pq.read_table(self.path / "tokens.parquet")

    @cached_property
    def sentences(self) -> pa.Table:
        return pq.read_table(self.path / "sentences.parquet")

    @cached_property
    def sentence_offsets(self) -> np.ndarray:
        """(n_sentences + 1,) int64: tokens of sentence s are [off[s], off[s+1])."""
        starts = self.sentences.column("token_offset").to_numpy()
        return np.append(starts, self.n_tokens).astype(np.int64)

    def _map(self, name: str) -> np.ndarray:
        return np.load(self.path / name, mmap_mode="r")

    def hidden(self, layer: int) -> np.ndarray:
        """(n_tokens, d_model) float32; layer 0 = embeddings, 1..n_layers = block outputs."""
        return self._map("hidden.npy")[layer]

    def _require_attention(self) -> None:
        if not self.has_attention:
            raise ValueError(f"{self.path}: extracted without attention capture")

    def queries(self, layer: int) -> np.ndarray:
        """(n_tokens, n_heads, d_head) float32 for block ``layer`` (0-based)."""
        self._require_attention()
        return self._map("queries.npy")[layer]

    def keys(self, layer: int) -> np.ndarray:
        """(n_tokens, n_kv_heads, d_head) float32; use ``info.kv_head_of(h)`` for query head h."""
        self._require_attention()
        return self._map("keys.npy")[layer]

    def value_norms(self, layer: int) -> np.ndarray:
        """(n_tokens, n_kv_heads) float32 for block ``layer``: the L2 norm of each token's value
        vector per key/value head, as it enters the attention product (use ``info.kv_head_of(h)``
        for query head h). Attention x value norm, renormalised per query, is AttentionViz's
        "weight by value norm"."""
        self._require_attention()
        return self._map("value_norms.npy")[layer]

    def scaling(self, layer: int) -> float:
        self._require_attention()
        return float(np.load(self.path / "scaling.npy")[layer])

    def attention(self, layer: int, sentence: int) -> np.ndarray:
        """(n_heads, L, L) float32 attention weights of one sentence (rows: queries)."""
        self._require_attention()
        offs = np.load(self.path / "attention_offsets.npy", mmap_mode="r")
        n = int(self.sentence_offsets[sentence + 1] - self.sentence_offsets[sentence])
        flat = self._map("attention.npy")[layer, :, int(offs[sentence]) : int(offs[sentence + 1])]
        return np.asarray(flat).reshape(self.info.n_heads, n, n)
