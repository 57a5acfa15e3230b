import numpy as np
import pytest
from tiny import attention_from_qk

from tfvis_site.capture.extract import ActivationStore, ExtractOptions, extract
from tfvis_site.modality import TEXT
from tfvis_site.model.load import load_model
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
    loaded = load_model(tiny_checkpoints[kind], modality=TEXT)
    store = extract(loaded, SENTENCES, tmp_path, ExtractOptions(max_tokens=16, batch_size=2, capture_attention=True), Reporter.silent(), modality=TEXT)
    info = store.info
    assert info.is_causal == (kind != "bert")
    assert (info.n_kv_heads < info.n_heads) == (kind == "llama")
    assert store.capture["path"] == "attention-interface" and store.capture["qk_reproduce_attention"]
    for layer in range(info.n_layers):
        for s in range(store.n_sentences):
            np.testing.assert_allclose(attention_from_qk(store, layer, s), store.attention(layer, s), atol=1e-5)


def test_batching_does_not_change_activations(tiny_checkpoints, tmp_path):
    loaded = load_model(tiny_checkpoints["gpt2"], modality=TEXT)
    one = extract(loaded, SENTENCES, tmp_path / "a", _mk(tmp_path / "a", 1), Reporter.silent(), modality=TEXT)
    many = extract(loaded, SENTENCES, tmp_path / "b", _mk(tmp_path / "b", 4), Reporter.silent(), modality=TEXT)
    for layer in range(one.info.n_layers + 1):
        np.testing.assert_allclose(one.hidden(layer), many.hidden(layer), atol=1e-5)
    reopened = ActivationStore(tmp_path / "b")
    assert reopened.n_tokens == one.n_tokens == one.tokens.num_rows


def _mk(path, batch_size):
    path.mkdir()
    return ExtractOptions(max_tokens=16, batch_size=batch_size)


def test_token_table_text_and_truncation(tiny_checkpoints, tmp_path):
    loaded = load_model(tiny_checkpoints["bert"], modality=TEXT)
    store = extract(loaded, SENTENCES, tmp_path, ExtractOptions(max_tokens=8), Reporter.silent(), modality=TEXT)
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

    loaded = load_model(tiny_checkpoints[kind], modality=TEXT)
    store = extract(loaded, SENTENCES, tmp_path, ExtractOptions(max_tokens=16, batch_size=2, capture_attention=True), Reporter.silent(), modality=TEXT)
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


def _tiny(kind):
    from tiny import make_model, make_tokenizer

    from tfvis_site.model.load import wrap_model

    tokenizer = make_tokenizer(kind)
    return wrap_model(make_model(kind, len(tokenizer)), tokenizer, name=kind, modality=TEXT)


def _batch(loaded, texts=SENTENCES[:3]):
    enc = loaded.tokenizer(texts, padding=True, truncation=True, max_length=16, return_tensors="pt")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}, enc["attention_mask"].sum(1).numpy()


@pytest.mark.parametrize("kind", ["bert", "distilbert", "albert"])
def test_hooks_path_captures_what_the_interface_path_does(kind):
    """On models that use the attention interface, the fallback (hooks on the q/k/v projections +
    output_attentions) records the same q, k, value norms, weights and scaling. ALBERT shares one
    attention module between its layers: one record per call, not per module."""
    import torch

    from tfvis_site.capture.qkv import HOOKS, INTERFACE, AttentionCapture

    loaded = _tiny(kind)
    inputs, lengths = _batch(loaded)
    with torch.inference_mode():
        auto = AttentionCapture(loaded)
        _, via_interface = auto.forward(inputs, lengths)
        hooks = AttentionCapture(loaded, path=HOOKS)
        _, via_hooks = hooks.forward(inputs, lengths)
    assert (auto.path, hooks.path) == (INTERFACE, HOOKS)
    assert len(via_hooks) == len(via_interface) == loaded.info.n_layers
    for a, b in zip(via_interface, via_hooks):
        assert a.scaling == pytest.approx(b.scaling)
        for name in ("query", "key", "value_norms", "weights"):
            np.testing.assert_allclose(getattr(a, name).numpy(), getattr(b, name).numpy(), atol=1e-6, err_msg=name)
    assert hooks.summary()["qk_reproduce_attention"] and hooks.max_error < 1e-6


@pytest.mark.parametrize("kind, why", [
    ("llama", r"LlamaModel \(llama\): cannot capture its attention: softmax of q·k from its q/k projections differs"),
    ("gpt2", r"GPT2Model \(gpt2\): cannot capture its attention: no attention module with separate"),
])
def test_hooks_path_refuses_what_it_cannot_reproduce(kind, why):
    """Forced onto the hooks path, Llama's projections are pre-rotary (q·k no longer gives its
    weights) and GPT-2 has one fused c_attn: a one-line UserError naming the architecture."""
    import torch

    from tfvis_site.capture.qkv import HOOKS, AttentionCapture
    from tfvis_site.errors import UserError

    loaded = _tiny(kind)
    inputs, lengths = _batch(loaded)
    with pytest.raises(UserError, match=why), torch.inference_mode():
        AttentionCapture(loaded, path=HOOKS).forward(inputs, lengths)


def test_encoder_decoder_models_are_analysed_through_their_encoder():
    from tfvis_site.model.load import ENCODER_OF_ENCODER_DECODER

    loaded = _tiny("t5")
    assert type(loaded.model).__name__ == "T5Stack"
    info = loaded.info
    assert (info.architecture, info.component, info.is_causal) == ("T5Model", ENCODER_OF_ENCODER_DECODER, False)
    assert (info.n_layers, info.n_heads, info.d_head) == (2, 4, 8)
