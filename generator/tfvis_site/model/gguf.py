"""A GGUF file (llama.cpp's format) as a Hugging Face checkpoint folder, converted once and cached.

GGUF conversion: transformers' ``from_pretrained(dir, gguf_file=...)`` needs ``accelerate``, which we
do not depend on. We do what it does in two public steps instead: the config and the fast
tokenizer come from ``AutoConfig`` / ``AutoTokenizer.from_pretrained(dir, gguf_file=name)``, the
model is built with ``from_config`` and its weights come from transformers' own GGUF reader
(``load_gguf_checkpoint``: dequantise, undo llama.cpp's q/k permutation, map tensor names), loaded
with ``load_state_dict``. The result is saved as a normal fp32 checkpoint folder (safetensors +
tokenizer.json) under ``cache_root/models/<slug>-<key>``, written to a temporary folder and renamed
into place, so an interrupted conversion leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import UserError, first_line

# Bump when the GGUF conversion's output changes: cached folders of older converters are not reused.
GGUF_CONVERTER_VERSION = 1
#: Written into every converted folder: where it came from (read back on a cache hit).
SOURCE_FILE = "tfvis_source.json"
#: GGUF architecture names that transformers' GGUF reader maps onto one of its own names.
GGUF_ARCH_ALIASES = {"qwen2moe": "qwen2_moe", "qwen3moe": "qwen3_moe", "gpt-oss": "gpt_oss", "minimax-m2": "minimax_m2", "t5encoder": "t5"}

Log = Callable[[str], None]


def gguf_metadata(path: Path) -> dict[str, Any]:
    """A few metadata fields of a GGUF file (read with the ``gguf`` package): architecture, name,
    file_type (e.g. "Q4_1"). UserError if the file is not GGUF or gguf is not installed."""
    try:
        from gguf import GGUFReader, LlamaFileType
    except ImportError:
        raise UserError(f"{path}: reading a GGUF file needs the package 'gguf': pip install gguf") from None
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise UserError(f"{path}: not a GGUF file (it does not start with the GGUF magic bytes)")
    try:
        fields = GGUFReader(path).fields
    except Exception as e:  # noqa: BLE001  (transformers and gguf raise many types; the user needs one line)
        raise UserError(f"{path}: unreadable GGUF file ({first_line(e)})") from None

    def field(key: str) -> Any:
        value = fields.get(key)
        return None if value is None else value.contents()

    file_type = field("general.file_type")
    try:
        file_type = LlamaFileType(file_type).name.removeprefix("MOSTLY_") if file_type is not None else None
    except ValueError:
        file_type = str(file_type)
    return {"architecture": field("general.architecture"), "name": field("general.name"), "file_type": file_type}


def gguf_supported_architectures() -> list[str]:
    """GGUF architectures whose weights transformers' GGUF reader can dequantise and load."""
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    return sorted(set(GGUF_SUPPORTED_ARCHITECTURES) - {"general", "tokenizer"})


def _gguf_key(path: Path) -> str:
    stat = path.stat()
    text = f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}:{GGUF_CONVERTER_VERSION}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def gguf_checkpoint(path: Path, cache_root: Path, slug: str, log: Log | None = None) -> Path:
    """The fp32 checkpoint folder converted from a GGUF file, under ``cache_root/models/`` as
    ``<slug>-<key>`` (key: file name, size, mtime and GGUF_CONVERTER_VERSION); converts on the
    first call only (``log`` gets one line first), into a temporary folder renamed into place."""
    from ..cache import converted_checkpoint

    path = Path(path)
    final = Path(cache_root) / "models" / f"{slug}-{_gguf_key(path)}"
    if log is not None and not (final / "config.json").is_file():
        log(f"model {path.name}: dequantising the GGUF file to an fp32 checkpoint (once, a few minutes; then cached in {final})")
    return converted_checkpoint(final, lambda tmp: convert_gguf(path, tmp))


def convert_gguf(path: Path, out_dir: Path) -> Path:
    """Dequantise a GGUF file into an fp32 Hugging Face checkpoint folder (config.json,
    model.safetensors, tokenizer.json, SOURCE_FILE) in ``out_dir``; returns it."""
    path = Path(path).resolve()
    with _parse_gguf_once():
        return _convert_gguf(path, Path(out_dir))


def _convert_gguf(path: Path, out_dir: Path) -> Path:
    meta = gguf_metadata(path)
    arch = meta["architecture"]
    supported = gguf_supported_architectures()
    if arch not in supported and GGUF_ARCH_ALIASES.get(arch) not in supported:
        import transformers

        raise UserError(f"{path}: GGUF architecture {arch!r} cannot be loaded by transformers {transformers.__version__} (it loads GGUF files of: {', '.join(supported)})")
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Converting and de-quantizing GGUF tensors", "Writing model shards"
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        config = AutoConfig.from_pretrained(path.parent, gguf_file=path.name)
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        with _no_init_weights():  # every weight is overwritten: skip the random init (~20 s for 135M)
            try:
                model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
            except ValueError:  # no causal-LM head for this architecture: the bare model
                model = AutoModel.from_config(config, dtype=torch.float32)
        with _quiet_gguf_bar():
            tensors = load_gguf_checkpoint(str(path), return_tensors=True, model_to_load=model, torch_dtype=torch.float32)["tensors"]
    except Exception as e:  # noqa: BLE001  (transformers and gguf raise many types; the user needs one line)
        raise UserError(f"{path}: transformers cannot convert this GGUF file ({first_line(e)})") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    if not getattr(tokenizer, "is_fast", False):
        raise UserError(f"{path}: the GGUF tokenizer did not convert to a fast tokenizer (token offsets need one)")
    result = model.load_state_dict(tensors, strict=False)
    tied = {"lm_head.weight"} if getattr(config, "tie_word_embeddings", False) else set()
    missing = [k for k in result.missing_keys if k not in tied]
    if missing:
        raise UserError(f"{path}: the GGUF file lacks {len(missing)} of the model's tensors (e.g. {missing[0]})")
    if tied and hasattr(model, "tie_weights"):
        model.tie_weights()
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    stat = path.stat()
    record = {"gguf": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "converter_version": GGUF_CONVERTER_VERSION, **meta}
    (out_dir / SOURCE_FILE).write_text(json.dumps(record, indent=1) + "\n")
    return out_dir


@contextmanager
def _quiet_gguf_bar():
    """transformers' GGUF loader draws its own tqdm bar, deaf to disable_progress_bar(): the
    build's progress (or --quiet) covers the conversion."""
    import functools

    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    bar = gguf_utils.tqdm
    gguf_utils.tqdm = functools.partial(bar, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = bar


@contextmanager
def _parse_gguf_once():
    """The conversion reads one GGUF file four times (our metadata, AutoConfig, AutoTokenizer,
    the tensors), transformers turns all its metadata into Python values twice (for the config,
    and for the tokenizer's config), and builds gguf's tensor-name map once per submodule (~400
    for SmolLM2). All are pure functions of their arguments, and the 49k-entry vocabulary is
    most of each, so inside this block each is computed once."""
    import copy
    import functools

    import gguf
    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    reader, name_map, load = gguf.GGUFReader, gguf.get_tensor_name_map, gguf_utils.load_gguf_checkpoint
    read_resolved = functools.lru_cache(maxsize=2)(reader)  # read-only memory maps: safe to share
    metadata = functools.lru_cache(maxsize=2)(lambda path: load(path, return_tensors=False))

    def load_once(path, return_tensors=False, **kwargs):
        if return_tensors or kwargs:
            return load(path, return_tensors=return_tensors, **kwargs)
        return copy.deepcopy(metadata(str(Path(path).resolve())))  # callers pop keys from it

    gguf.GGUFReader = lambda path, mode="r": read_resolved(str(Path(path).resolve()), mode)
    gguf.get_tensor_name_map = functools.lru_cache(maxsize=8)(name_map)
    gguf_utils.load_gguf_checkpoint = load_once
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map, gguf_utils.load_gguf_checkpoint = reader, name_map, load


def _no_init_weights() -> Any:
    """transformers' context manager that skips weight initialisation (moved in transformers 5)."""
    try:
        from transformers.initialization import no_init_weights
    except ImportError:
        from transformers.modeling_utils import no_init_weights
    return no_init_weights()
