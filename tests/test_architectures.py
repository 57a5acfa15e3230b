"""Every architecture we support, as a tiny random model: a quick site builds, attention is
captured, and the captured q, k give the model's own attention weights.

Where the model adds a relative-position term to q·k (MPNet, DeBERTa-v2, T5), the captured q, k
are the content term: adding the model's own relative term to them gives its weights.
One build per architecture (``--preset quick --lime none`` plus a tiny dictionary, 8 texts or 8
synthetic images); the captured store is read back from that build's cache.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from tiny import IMAGE_ARCHITECTURES, TEXT_ARCHITECTURES, TRAIN_TEXT, attention_from_qk, save_tiny_checkpoint, save_tiny_image_checkpoint

from tfvis_site.capture.qkv import HOOKS, INTERFACE
from tfvis_site.cli import main
from tfvis_site.capture.extract import ActivationStore
from tfvis_site.modality import IMAGE, TEXT
from tfvis_site.model.load import ENCODER_OF_ENCODER_DECODER, load_model

VISION = tuple(kind for kind in IMAGE_ARCHITECTURES if kind != "dinov2_registers")  # registers: conftest's image site
#: attention modules that compute attention themselves (no transformers attention interface)
HOOKED = {"mpnet", "deberta-v2"}
#: q·k plus a relative-position term of the model's own
RELATIVE = {"mpnet", "deberta-v2", "t5"}
#: small enough that a build takes seconds: the dictionary is not what is tested here
TINY_FACTORS = """[factors]
n_components = 16
sae_k = 3
sae_n_steps = 30
n_train = 1000
n_steps = 10
top_k = 4
"""


@pytest.fixture(scope="module")
def matrix_inputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("architectures")
    (root / "corpus.txt").write_text("\n".join(TRAIN_TEXT) + "\n")
    (root / "tiny.toml").write_text(TINY_FACTORS)
    return {"root": root, "corpus": root / "corpus.txt", "config": root / "tiny.toml"}


def build_quick_site(kind: str, inputs: dict[str, Path]) -> tuple[Path, Path]:
    """Build a quick site of a tiny ``kind`` model; returns (checkpoint folder, that build's cache)."""
    root = inputs["root"] / kind
    if kind in VISION:
        model = save_tiny_image_checkpoint(kind, root / "model")
        corpus = ["--corpus", "synthetic", "--n-images", "8"]
    else:
        model = save_tiny_checkpoint(kind, root / "model")
        corpus = ["--corpus", str(inputs["corpus"])]
    cache = root / "cache"
    args = ["build", "--quiet", "--preset", "quick", "--lime", "none", "--config", str(inputs["config"]), "--model", str(model), *corpus, "--out", str(root / "site"), "--cache-dir", str(cache)]
    assert main(args) == 0
    return model, cache


def relative_scores(model, kind: str, layer: int, q, k):
    """The model's own relative-position term of the score for one sentence: (n_heads, L, L).
    q, k: (n_heads, L, d_head) torch tensors as captured."""
    import torch

    n = q.shape[1]
    if kind == "mpnet":  # one bias per head and token distance, shared by every layer
        return model.encoder.compute_position_bias(torch.zeros(1, n, 1))[0]
    if kind == "t5":  # computed by the first layer, reused by all
        return model.block[0].layer[0].SelfAttention.compute_bias(n, n)[0]
    if kind == "deberta-v2":  # content-to-position + position-to-content, from q and k themselves
        attention = model.encoder.layer[layer].attention.self
        relative_pos = model.encoder.get_rel_pos(torch.zeros(1, n, 1))
        return attention.disentangled_attention_bias(q, k, relative_pos, model.encoder.get_rel_embedding(), scale_factor=3)
    raise ValueError(kind)


def model_attentions(loaded, store, sentence: int) -> list:
    """The model's own attention weights of one store sentence: a forward pass with
    output_attentions on the token ids the store holds, independent of capture. One
    (n_heads, L, L) float64 array per layer."""
    import torch

    lo, hi = store.sentence_offsets[sentence], store.sentence_offsets[sentence + 1]
    ids = torch.from_numpy(store.tokens.column("token_id").to_numpy()[lo:hi].astype(np.int64))[None]
    with torch.no_grad():
        out = loaded.model(input_ids=ids, output_attentions=True)
    return [a[0].double().numpy() for a in out.attentions]


@pytest.mark.parametrize("kind", TEXT_ARCHITECTURES + VISION)
def test_architecture_builds_a_site_and_its_captured_qk_give_its_attention(kind, matrix_inputs):
    """The captured attention weights equal the model's own (a separate forward pass with
    output_attentions; text models), and softmax of the captured q·k (plus the model's own
    relative-position term, causal mask and sliding window) gives them back."""
    import torch

    model_dir, cache = build_quick_site(kind, matrix_inputs)
    (store_dir,) = (cache / "extract-attention").iterdir()
    store = ActivationStore(store_dir)
    assert store.capture["path"] == (HOOKS if kind in HOOKED else INTERFACE)
    # Mistral's sliding window (4, shorter than the sentences) is a mask q and k do not hold
    assert store.capture["qk_reproduce_attention"] == (kind not in RELATIVE and kind != "mistral")
    loaded = load_model(model_dir, modality=IMAGE if kind in VISION else TEXT)
    model = loaded.model if kind in RELATIVE else None
    window = getattr(loaded.model.config, "sliding_window", None) if kind == "mistral" else None
    windowed = 0
    for sentence in range(store.n_sentences):
        own = model_attentions(loaded, store, sentence) if kind not in VISION else None
        for layer in range(store.info.n_layers):
            extra = None
            if model is not None:
                lo, hi = store.sentence_offsets[sentence], store.sentence_offsets[sentence + 1]
                q = torch.from_numpy(np.array(store.queries(layer)[lo:hi])).transpose(0, 1)
                k = torch.from_numpy(np.array(store.keys(layer)[lo:hi])).transpose(0, 1)
                with torch.no_grad():
                    extra = relative_scores(model, kind, layer, q, k).double().numpy()
            captured = store.attention(layer, sentence)
            if own is not None:
                np.testing.assert_allclose(captured, own[layer], atol=1e-5, err_msg=f"{kind} layer {layer} sentence {sentence}")
            if window is not None:  # keys more than `window` - 1 positions back are out of the query's sight
                n = captured.shape[-1]
                far = np.tril(np.ones((n, n), bool), -window)
                windowed += int(far.sum())
                assert (captured[:, far] == 0).all()
                extra = np.where(far, -np.inf, 0.0)[None]
            np.testing.assert_allclose(attention_from_qk(store, layer, sentence, extra), captured, atol=1e-5)
    assert windowed > 0 or kind != "mistral"  # the sliding window was exercised

    (manifest_file,) = (matrix_inputs["root"] / kind / "site").rglob("manifest.json")
    manifest = json.loads(manifest_file.read_text())
    assert manifest["model"]["component"] == (ENCODER_OF_ENCODER_DECODER if kind == "t5" else "")
    overview = (manifest_file.parent.parent / "index.html").read_text()
    assert (ENCODER_OF_ENCODER_DECODER in overview) == (kind == "t5")


def test_a_t5_encoder_checkpoint_loads_as_its_own_class_and_quietly(tmp_path):
    """A checkpoint whose config names ``T5EncoderModel`` (the usual form of T5 text encoders)
    is that class, not the encoder-decoder ``T5Model`` with a random decoder; transformers' load
    report never reaches the user."""
    import subprocess
    import sys

    import torch
    from tiny import _text_config, make_tokenizer
    from transformers import T5EncoderModel

    torch.manual_seed(0)
    tok = make_tokenizer("t5")
    model = T5EncoderModel(_text_config("t5", len(tok)))
    model.save_pretrained(tmp_path / "model")
    tok.save_pretrained(tmp_path / "model")
    assert json.loads((tmp_path / "model" / "config.json").read_text())["architectures"] == ["T5EncoderModel"]
    (tmp_path / "corpus.txt").write_text("\n".join(TRAIN_TEXT) + "\n")
    loaded = load_model(tmp_path / "model", modality=TEXT)
    assert type(loaded.model).__name__ == "T5EncoderModel"
    for name, weight in model.state_dict().items():  # every weight is the checkpoint's, none re-initialised
        assert torch.equal(loaded.model.state_dict()[name], weight), name
    proc = subprocess.run([sys.executable, "-m", "tfvis_site", "build", "--quiet", "--preset", "quick", "--model", str(tmp_path / "model"),
                           "--corpus", str(tmp_path / "corpus.txt"), "--out", str(tmp_path / "site"), "--cache-dir", str(tmp_path / "cache")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "MISSING" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    manifest = json.loads((tmp_path / "site" / "models" / "model" / "data" / "manifest.json").read_text())
    assert manifest["model"]["architecture"] == "T5EncoderModel"
