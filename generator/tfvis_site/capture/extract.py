"""Batched forward passes -> an on-disk activation store, written and read in shards.

Units are tokens of texts, or patches of images (plus CLS / register tokens): an image plays
the part of a sentence, its patches that of tokens (see capture/patches.py for the extra columns).

Store layout (one folder). Token rows are global: the tokens of sentence s are rows
``token_offset[s] : token_offset[s] + n_tokens[s]``; shard i holds the sentences
``shards[i] = [s_lo, s_hi)`` of meta.json, i.e. token rows ``[token_offset[s_lo], token_offset[s_hi])``.
  meta.json            ModelInfo, counts, options, "shards" (sentence ranges), "format": 2
                       (+ "image": geometry, for image stores; + "capture": how q, k were
                       captured and whether they reproduce the attention weights, see
                       capture.AttentionCapture.summary: written by the final step)
  tokens.parquet       one row per unit: sentence_id, position, token_id, piece, text,
                       space_before, is_special (+ patch columns for images)
  sentences.parquet    sentence_id, text (an image's name), n_tokens, token_offset
  images.npy           (n_images, H, W, 3) uint8 the images as the model saw them [images only]
  attention_offsets.npy (n_sentences + 1,) int64 offsets of each sentence's (L, L) block along
                       the last axis of the attention arrays, global over the store [attention only]
  shards/NNNNN/        one folder per shard, renamed into place when its arrays are complete:
    done.json          token and sentence range, seconds, q/k capture path and error, scaling
    hidden.npy         (n_layers + 1, n_shard_tokens, d_model) options.dtype (float32 | float16);
                       index 0 = embedding output
    queries.npy        (n_layers, n_shard_tokens, n_heads, d_head) float32   [attention capture]
    keys.npy           (n_layers, n_shard_tokens, n_kv_heads, d_head) float32 [attention capture]
                       q and k as the attention product takes them (capture.py says how)
    value_norms.npy    (n_layers, n_shard_tokens, n_kv_heads) float32: L2 norm of each token's
                       value vector as it enters the attention product (after the v projection,
                       before GQA repetition): AttentionViz's "weight by value norm"
    attention.npy      (n_layers, n_heads, sum_s L_s^2 over the shard's sentences): the model's
                       own attention weights; per sentence s its (L_s, L_s) block, row = query
                       position, column = key position
  complete             written last (``finish_store``): every shard is done, meta is final

Reading: store.py (``ActivationStore``, imported here too for the modules that read what they
extracted). Writing: ``prepare_store`` (tokenised tables + meta, before any forward pass), then
``extract_shard`` per shard (any order, any process: a Ray actor that loaded the model once
calls it too), then ``finish_store``. ``extract`` does the three in this process. A shard is
written under a temporary name and renamed, so a killed build leaves either a finished shard or
nothing; a rerun skips finished shards (resume at shard granularity).

Determinism: forward-pass batches are formed within a shard (longest sentences first), and
the shard plan depends only on the sentence lengths and ``options.shard_tokens`` (part of the
cache key), never on the machine, the memory budget or the executor: the same inputs give the
same bytes. A corpus of up to ``shard_tokens`` tokens is one shard (the layout of earlier
versions, batch for batch).

Memory: one batch of activations; rows are written with explicit file writes and read with
explicit reads (``ActivationStore.read`` / ``take`` / ``iter_rows``), never through a memory map
kept open: mapped pages count in the resident set once touched, page-cache pages of plain reads
and writes do not (bench/store_reads.py, one 1.31 GiB shard of the whole-corpus store read layer
by layer: peak RSS 1.43 GB through a memory map, 0.17 GB with plain reads).

Device: extraction runs on the model's device; on CUDA under bf16 autocast (fp16 where the GPU
has no bf16), fp32 on CPU: one code path. Attention-capture stores (a small sample whose q and k
must reproduce the attention weights) run in fp32 everywhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .qkv import AttentionCapture, capture_summary
from ..model.load import LoadedModel, ModelInfo
from ..progress import Reporter
from .store import STORE_FORMAT, ActivationStore, shard_dir


#: Tokens per shard of the store (a shard ends before the sentence that would overflow it).
#: 2^17 = 131,072 tokens: the default build's ~110k tokens stay one shard; the whole default
#: corpus (1.08 M tokens at --max-tokens 64) makes 9.
SHARD_TOKENS = 1 << 17
DTYPES = ("float32", "float16")


@dataclass(frozen=True)
class ExtractOptions:
    """``dtype``: on-disk dtype of the hidden states (readers always get float32; the attention
    arrays of a capture store stay float32). ``shard_tokens``: see SHARD_TOKENS."""

    max_tokens: int = 64
    batch_size: int = 32
    capture_attention: bool = False
    dtype: str = "float32"
    shard_tokens: int = SHARD_TOKENS

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"store dtype must be one of {', '.join(DTYPES)}, not {self.dtype!r}")
        if self.shard_tokens < 1 or self.batch_size < 1:
            raise ValueError("shard_tokens and batch_size must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "batch_size": self.batch_size, "capture_attention": self.capture_attention,
                "dtype": self.dtype, "shard_tokens": self.shard_tokens}


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


class Units(Protocol):
    """The units of a store's sequences as extraction reads them (TextUnits: tokens of texts;
    patches.ImageUnits: prefix tokens + patches of images)."""

    #: (n_sequences,) int64: units per sequence
    lengths: np.ndarray

    def model_inputs(self, batch: np.ndarray) -> dict[str, Any]:
        """Keyword inputs of the model for the sequences ``batch`` ((B,) int), padded."""
        ...

    def tables(self) -> tuple[pa.Table, dict[str, Any]]:
        """(the units table, extra columns of the sequences table)."""
        ...

    def write_extra(self, out_dir: Path) -> dict[str, Any]:
        """Write extra store files; returns extra meta.json entries."""
        ...


class UnitKind(Protocol):
    """What extraction asks of the model's modality (a ``modality.Modality`` is one, passed down
    by the build): the units of its inputs and their name in the log."""

    #: what the inputs are, for log lines ("texts", "images")
    item_noun: str

    def make_units(self, loaded: LoadedModel, inputs: list[Any], options: ExtractOptions, names: list[str] | None = None) -> Units:
        """The units of ``inputs`` for extraction."""
        ...


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


def make_units(modality: UnitKind, loaded: LoadedModel, inputs: list[Any], options: ExtractOptions, names: list[str] | None = None) -> Units:
    """The unit source of ``inputs`` (the model's ``modality`` says which: TextUnits for texts,
    patches.ImageUnits for PIL images with their ``names``). Build it once per process;
    ``extract_shard`` indexes it by sentence."""
    return modality.make_units(loaded, inputs, options, names)


def plan_shards(tokens_per_sentence: np.ndarray, tokens_per_shard: int) -> list[tuple[int, int]]:
    """Sentence ranges [lo, hi) covering every sentence in order, each holding at most
    ``tokens_per_shard`` tokens (a longer single sentence is a shard of its own).

    ``tokens_per_sentence``: (S,) int. Deterministic: depends on nothing else."""
    lengths = np.asarray(tokens_per_sentence, dtype=np.int64)
    shards: list[tuple[int, int]] = []
    lo, filled = 0, 0
    for s, n in enumerate(lengths.tolist()):
        if s > lo and filled + n > tokens_per_shard:
            shards.append((lo, s))
            lo, filled = s, 0
        filled += n
    if len(lengths) > lo:
        shards.append((lo, len(lengths)))
    return shards


def prepare_store(loaded: LoadedModel, units: Units, store_dir: Path, options: ExtractOptions) -> list[tuple[int, int]]:
    """Write the token and sentence tables, attention offsets, images and meta.json (with the
    shard plan) before any forward pass; returns the plan, (n_shards,) sentence ranges.
    A store prepared earlier (a resumed build) is kept as it is and its plan returned."""
    store_dir = Path(store_dir)
    if (store_dir / "meta.json").exists():
        meta = json.loads((store_dir / "meta.json").read_text())
        if meta.get("format") == STORE_FORMAT and meta["options"] == options.to_dict():
            for partial in (store_dir / "shards").glob(".*"):  # shards a killed run was writing
                shutil.rmtree(partial, ignore_errors=True)
            return [tuple(r) for r in meta["shards"]]
    lengths = units.lengths
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    shards = plan_shards(lengths, options.shard_tokens)
    (store_dir / "shards").mkdir(parents=True, exist_ok=True)
    if options.capture_attention:
        np.save(store_dir / "attention_offsets.npy", np.concatenate([[0], np.cumsum(lengths**2)]).astype(np.int64))
    tokens, sentence_columns = units.tables()
    pq.write_table(tokens, store_dir / "tokens.parquet")
    del tokens
    pq.write_table(
        pa.table(
            {
                "sentence_id": pa.array(np.arange(len(lengths), dtype=np.int32)),
                **sentence_columns,
                "n_tokens": pa.array(lengths.astype(np.int32)),
                "token_offset": pa.array(offsets[:-1]),
            }
        ),
        store_dir / "sentences.parquet",
    )
    meta = {
        "format": STORE_FORMAT,
        "model": loaded.info.to_dict(),
        "n_sentences": len(lengths),
        "n_tokens": int(offsets[-1]),
        "options": options.to_dict(),
        "shards": [list(r) for r in shards],
        **units.write_extra(store_dir),
    }
    _write_atomic(store_dir / "meta.json", json.dumps(meta, indent=1))  # last: its presence means "prepared"
    return shards


def shard_done(store_dir: Path, shard_index: int) -> bool:
    """Whether shard ``shard_index`` is complete (its folder holds done.json)."""
    return (shard_dir(store_dir, shard_index) / "done.json").exists()


def pending_shards(store_dir: Path, shards: list[tuple[int, int]], task: Any) -> list[tuple[int, tuple[int, int]]]:
    """(index, sentence range) of the shards still to compute; ``task`` (a progress bar counted
    in sentences) is advanced past the finished ones (a resumed build)."""
    todo = []
    for index, (lo, hi) in enumerate(shards):
        if shard_done(store_dir, index):
            task.advance(hi - lo)
        else:
            todo.append((index, (lo, hi)))
    return todo


def extract_shard(loaded: LoadedModel, units: Units, shard_index: int, sentence_range: tuple[int, int], store_dir: Path,
                  options: ExtractOptions, progress: Any = None) -> bool:
    """Forward passes of sentences ``[lo, hi)`` = ``sentence_range`` -> ``shards/<index>/`` of
    a prepared store (``prepare_store``), written under a temporary name and renamed when
    complete. Skips a finished shard (returns False; True when it computed it).

    ``units``: from ``make_units`` over all the store's inputs (indexed by sentence id);
    ``progress``: an optional Task, advanced by sentences. Callable from any process."""
    import torch

    store_dir = Path(store_dir)
    if shard_done(store_dir, shard_index):
        return False
    t0 = time.perf_counter()
    info = loaded.info
    lo, hi = int(sentence_range[0]), int(sentence_range[1])
    lengths = units.lengths
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    row0, n_rows = int(offsets[lo]), int(offsets[hi] - offsets[lo])
    final = shard_dir(store_dir, shard_index)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        arrays = {"hidden": _NpyRows(tmp / "hidden.npy", (info.n_layers + 1, n_rows, info.d_model), options.dtype)}
        if options.capture_attention:
            attn_offsets = np.concatenate([[0], np.cumsum(lengths[lo:hi] ** 2)]).astype(np.int64)  # local to the shard
            arrays["queries"] = _NpyRows(tmp / "queries.npy", (info.n_layers, n_rows, info.n_heads, info.d_head))
            arrays["keys"] = _NpyRows(tmp / "keys.npy", (info.n_layers, n_rows, info.n_kv_heads, info.d_head))
            arrays["value_norms"] = _NpyRows(tmp / "value_norms.npy", (info.n_layers, n_rows, info.n_kv_heads))
            arrays["attention"] = _NpyRows(tmp / "attention.npy", (info.n_layers, info.n_heads, int(attn_offsets[-1])), row_axis=2)
            capture = AttentionCapture(loaded)
        scaling: list[float] = []
        # Longest first: similar lengths share a batch (less padding), and an out-of-memory error
        # shows up on the first batch rather than the last.
        order = lo + np.argsort(-lengths[lo:hi], kind="stable")
        # q, k must reproduce the attention weights (to 1e-4): an attention store (a small
        # sample) runs in fp32 on any device
        precision = contextlib.nullcontext() if options.capture_attention else autocast(loaded.device)
        with torch.inference_mode(), precision:
            for start in range(0, len(order), options.batch_size):
                batch = order[start : start + options.batch_size]
                kwargs = {k: v.to(loaded.device) for k, v in units.model_inputs(batch).items()}
                if options.capture_attention:
                    out, records = capture.forward(kwargs, lengths[batch])
                else:
                    out = loaded.model(**kwargs, output_hidden_states=True)
                states = torch.stack(out.hidden_states).float().cpu().numpy()  # (n_layers+1, batch, width, d)
                for row, sid in enumerate(batch):
                    n = int(lengths[sid])
                    r = int(offsets[sid]) - row0
                    arrays["hidden"].write_rows(r, states[:, row, :n])
                    if options.capture_attention:
                        a = int(attn_offsets[sid - lo])
                        for layer, rec in enumerate(records):
                            arrays["queries"].write_rows(r, rec.query[row, :, :n].transpose(0, 1).float().cpu().numpy(), layer)
                            arrays["keys"].write_rows(r, rec.key[row, :, :n].transpose(0, 1).float().cpu().numpy(), layer)
                            arrays["value_norms"].write_rows(r, rec.value_norms[row, :, :n].transpose(0, 1).float().cpu().numpy(), layer)
                            weights = rec.weights[row, :, :n, :n].reshape(info.n_heads, -1).float().cpu().numpy()
                            for head in range(info.n_heads):
                                arrays["attention"].write_rows(a, weights[head], layer, head)
                if options.capture_attention:
                    scaling = [float(rec.scaling) for rec in records]
                if progress is not None:
                    progress.advance(len(batch))
        for array in arrays.values():
            array.close()
        done = {"shard": shard_index, "sentences": [lo, hi], "rows": [row0, row0 + n_rows], "seconds": time.perf_counter() - t0}
        if options.capture_attention:
            done.update(capture_path=capture.path, capture_max_error=capture.max_error, scaling=scaling)
        (tmp / "done.json").write_text(json.dumps(done, indent=1))
        try:
            os.rename(tmp, final)
        except OSError:  # another process finished this shard first: keep its folder
            if not shard_done(store_dir, shard_index):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True


def finish_store(store_dir: Path, loaded_info: ModelInfo | None = None) -> "ActivationStore":
    """Check that every shard is done, write the final meta.json (q/k capture summary of all
    shards) and the ``complete`` marker; returns the store."""
    store_dir = Path(store_dir)
    meta = json.loads((store_dir / "meta.json").read_text())
    missing = [i for i in range(len(meta["shards"])) if not shard_done(store_dir, i)]
    if missing:
        raise RuntimeError(f"{store_dir}: shards {missing[:5]} of {len(meta['shards'])} are not done")
    if meta["options"]["capture_attention"]:
        shard_info = [json.loads((shard_dir(store_dir, i) / "done.json").read_text()) for i in range(len(meta["shards"]))]
        info = loaded_info or ModelInfo(**meta["model"])
        meta["capture"] = capture_summary(shard_info[0]["capture_path"], max(s["capture_max_error"] for s in shard_info), info.model_type)
        np.save(store_dir / "scaling.npy", np.asarray(shard_info[0]["scaling"], dtype=np.float32))
        _write_atomic(store_dir / "meta.json", json.dumps(meta, indent=1))
    (store_dir / "complete").write_text("")
    return ActivationStore(store_dir)


def extract(loaded: LoadedModel, inputs: list[Any], out_dir: Path, options: ExtractOptions, progress: Reporter,
            names: list[str] | None = None, *, modality: UnitKind) -> "ActivationStore":
    """Run the model over ``inputs`` (texts for a text model; PIL images for an image model, with
    their ``names``; ``modality``: the model's) and write the store into ``out_dir`` (which must
    exist), shard after shard in this process; finished shards of an interrupted earlier run are
    kept. (On other processes: sharded.extract_on_workers.)"""
    out_dir = Path(out_dir)
    units = make_units(modality, loaded, inputs, options, names)
    shards = prepare_store(loaded, units, out_dir, options)
    with progress.task(f"extract: forward passes ({modality.item_noun})", total=len(inputs)) as task:
        todo = pending_shards(out_dir, shards, task)
        for index, shard in todo:
            extract_shard(loaded, units, index, shard, out_dir, options, task)
    if len(todo) < len(shards):
        progress.log(f"extract: {len(shards) - len(todo)} of {len(shards)} shards kept from an interrupted build")
    return finish_store(out_dir, loaded.info)


def autocast(device: str, cpu_precision: str = "fp32") -> Any:
    """bf16 autocast on CUDA (fp16 where the GPU has no bf16); on CPU, bf16 autocast when
    ``cpu_precision`` is "bf16" (LimeConfig.precision), else nothing (fp32)."""
    import torch

    if not str(device).startswith("cuda"):
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16) if cpu_precision == "bf16" else contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


#: what a stage's ``precision`` setting may say (LimeConfig, CircuitsConfig)
PRECISIONS = ("auto", "fp32", "bf16")


def resolved_precision(value: str, setting: str) -> str:
    """A ``precision`` setting as the stage runs it: "auto" is "bf16" where this CPU multiplies
    bf16 natively (cpu_has_bf16), else "fp32". Resolved when a config is made, so that its cache
    key and the manifest say which ran. ``setting`` names it in the error."""
    if value not in PRECISIONS:
        raise ValueError(f"{setting} must be one of {', '.join(PRECISIONS)}, not {value!r}")
    if value == "auto":
        return "bf16" if cpu_has_bf16() else "fp32"
    return value


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX on x86, read from
    /proc/cpuinfo): bf16 elsewhere is emulated and slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class _NpyRows:
    """A .npy file of a fixed shape written piece by piece with positioned writes (no memory
    map: written pages stay in the page cache, not in this process's resident set)."""

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: str = "float32", row_axis: int = 1):
        self.shape, self.dtype, self.row_axis = shape, np.dtype(dtype), row_axis
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": shape}
        self.file = open(path, "wb+")
        np.lib.format.write_array_header_1_0(self.file, header) if _header_fits_v1(header) else np.lib.format.write_array_header_2_0(self.file, header)
        self.offset = self.file.tell()
        self.file.truncate(self.offset + int(np.prod(shape)) * self.dtype.itemsize)

    def write_rows(self, row: int, values: np.ndarray, *leading: int) -> None:
        """Write ``values`` at ``[*leading, ..., row : row + n, ...]``: ``leading`` indexes the
        first axes; ``values`` spans the other axes before ``row_axis`` (e.g. every layer), then
        n rows, then the row shape."""
        values = np.ascontiguousarray(values, dtype=self.dtype)
        spanned = values.shape[: self.row_axis - len(leading)]
        inner = int(np.prod(self.shape[self.row_axis + 1 :])) * self.dtype.itemsize
        for sub in np.ndindex(*spanned):
            flat = 0
            for i, size in zip((*leading, *sub), self.shape):
                flat = flat * size + i
            start = (flat * self.shape[self.row_axis] + row) * inner
            os.pwrite(self.file.fileno(), values[sub].tobytes(), self.offset + start)

    def close(self) -> None:
        self.file.close()


def _header_fits_v1(header: dict[str, Any]) -> bool:
    return len(repr(header)) < 65000
