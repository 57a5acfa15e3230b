import numpy as np
from scipy.special import softmax
import pytest

from tfvis_site.extract import ActivationStore, ExtractOptions, extract
from tfvis_site.models import load_model
from tfvis_site.progress import Reporter

SENTENCES = [
    "The cat sat on the mat.",
    "Paris is the capital of France, and Berlin is the capital of Germany.",
    "A dog ran.",
    "She turned left at the river and walked to the old mill in the park.",
    "Water boils.",
]


@pytest.mark.parametrize("kind", ["bert", "gpt2", "llama"])
def test_captured_qk_reproduce_attention(tiny_checkpoints, tmp_path, kind):
    loaded = load_model(tiny_checkpoints[kind])
    store = extract(loaded, SENTENCES, tmp_path, ExtractOptions(max_tokens=16, batch_size=2, capture_attention=True), Reporter.silent())
    info = store.info
    assert info.is_causal == (kind != "bert")
    assert (info.n_kv_heads < info.n_heads) == (kind == "llama")
    for layer in range(info.n_layers):
        q, k = store.queries(layer), store.keys(layer)
        for s in range(store.n_sentences):
            lo, hi = store.sentence_offsets[s], store.sentence_offsets[s + 1]
            n = hi - lo
            for h in range(info.n_heads):
                scores = q[lo:hi, h] @ k[lo:hi, info.kv_head_of(h)].T * store.scaling(layer)
                if info.is_causal:
                    scores = scores + np.triu(np.full((n, n), -np.inf), 1)
                np.testing.assert_allclose(softmax(scores.astype(np.float64), axis=-1), store.attention(layer, s)[h], atol=1e-5)


def test_batching_does_not_change_activations(tiny_checkpoints, tmp_path):
    loaded = load_model(tiny_checkpoints["gpt2"])
    one = extract(loaded, SENTENCES, tmp_path / "a", _mk(tmp_path / "a", 1), Reporter.silent())
    many = extract(loaded, SENTENCES, tmp_path / "b", _mk(tmp_path / "b", 4), Reporter.silent())
    for layer in range(one.info.n_layers + 1):
        np.testing.assert_allclose(one.hidden(layer), many.hidden(layer), atol=1e-5)
    reopened = ActivationStore(tmp_path / "b")
    assert reopened.n_tokens == one.n_tokens == one.tokens.num_rows


def _mk(path, batch_size):
    path.mkdir()
    return ExtractOptions(max_tokens=16, batch_size=batch_size)


def test_token_table_text_and_truncation(tiny_checkpoints, tmp_path):
    loaded = load_model(tiny_checkpoints["bert"])
    store = extract(loaded, SENTENCES, tmp_path, ExtractOptions(max_tokens=8), Reporter.silent())
    tokens = store.tokens.to_pydict()
    lengths = store.sentences.column("n_tokens").to_pylist()
    assert max(lengths) == 8  # truncated, specials included
    first = [t for t, sid in zip(tokens["text"], tokens["sentence_id"]) if sid == 0]
    assert first[0] == "[CLS]" and first[-1] == "[SEP]"
    assert "".join(first[1:-1]).lower().startswith("thecat")


@pytest.mark.parametrize("kind", ["bert", "llama"])
def test_value_norms_match_the_v_projection(tiny_checkpoints, tmp_path, kind):
    """value_norms.npy = ||v|| per token and key/value head, recomputed here from the stored
    hidden states through each layer's own v projection (Llama: after input_layernorm; GQA: 2
    kv heads for 4 query heads)."""
    import torch

    loaded = load_model(tiny_checkpoints[kind])
    store = extract(loaded, SENTENCES, tmp_path, ExtractOptions(max_tokens=16, batch_size=2, capture_attention=True), Reporter.silent())
    info = store.info
    assert store.value_norms(0).shape == (store.n_tokens, info.n_kv_heads)
    for layer in range(info.n_layers):
        x = torch.from_numpy(np.array(store.hidden(layer)))
        with torch.no_grad():
            if kind == "bert":
                v = loaded.model.encoder.layer[layer].attention.self.value(x)
            else:
                block = loaded.model.layers[layer]
                v = block.self_attn.v_proj(block.input_layernorm(x))
        expected = v.reshape(store.n_tokens, info.n_kv_heads, info.d_head).norm(dim=-1).numpy()
        np.testing.assert_allclose(store.value_norms(layer), expected, rtol=1e-4, atol=1e-5)
