"""Circuits (issue 22): the per-family weight accessor, and helpers the other test_circuits_*
modules share (tiny models of every family with every parameter perturbed, so that a norm gain,
a bias or a LayerScale left out changes the numbers; a synthetic dictionary).

Expected values here are computed from the models' own modules, never from circuits/."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny import make_image_model, make_model

from tfvis_site.analysis.circuits.common import hidden_state, state_module
from tfvis_site.analysis.circuits.weights import family_of, model_weights
from tfvis_site.analysis.factors.config import FactorConfig
from tfvis_site.analysis.factors.stage import FactorResult

#: post-norm encoders and Llama-likes (RoPE, GQA; Qwen2 adds q/k/v biases) the accessor reads
POST_NORM = ("bert", "roberta")
LLAMA_LIKE = ("llama", "mistral", "qwen2")
TEXT_FAMILIES = POST_NORM + ("gpt2",) + LLAMA_LIKE
FAMILIES = TEXT_FAMILIES + ("dinov2",)
VOCAB = 60


def perturbed(model, seed: int = 1, noise: float = 0.1):
    """Every parameter moved by seeded Gaussian noise: gains away from 1, biases away from 0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * noise)
    return model.eval()


def tiny(kind: str, seed: int = 0):
    """A 2-layer tiny model of ``kind`` (tests/tiny.py), all parameters perturbed."""
    model = make_image_model(kind, seed=seed) if kind == "dinov2" else make_model(kind, VOCAB, seed=seed)
    return perturbed(model, seed + 1)


def model_inputs(kind: str, batch: int = 2, length: int = 7, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    if kind == "dinov2":
        return {"pixel_values": torch.randn(batch, 3, 32, 32, generator=g)}
    return {"input_ids": torch.randint(1, VOCAB, (batch, length), generator=g)}


def every_pair(m: int) -> np.ndarray:
    """(m * m, 2) every (i, j) factor pair, row-major: scores over them reshape to (m, m)."""
    return np.stack(np.meshgrid(np.arange(m), np.arange(m), indexing="ij"), -1).reshape(-1, 2)


def synthetic_factors(d: int, n_states: int, m: int = 24, k: int = 4, seed: int = 0, massive_norm: float = np.inf) -> FactorResult:
    """A TopK-SAE dictionary of m unit rows for ``n_states`` hidden states (layers + 1) of width
    d, with a per-dimension scale (so scale_l ⊙ φ differs from φ in direction) and a b_dec."""
    rng = np.random.default_rng(seed)
    comp = rng.normal(size=(m, d)).astype(np.float32)
    comp /= np.linalg.norm(comp, axis=1, keepdims=True)
    mean = rng.normal(0, 0.5, (n_states, d)).astype(np.float32)
    scale = rng.uniform(0.5, 2.0, (n_states, d)).astype(np.float32)
    sae = {"W_enc": (comp.T * 3 + rng.normal(0, 0.3, (d, m))).astype(np.float32),
           "b_enc": rng.normal(0, 0.1, m).astype(np.float32), "b_dec": rng.normal(0, 0.05, d).astype(np.float32)}
    z = np.zeros((m, n_states), np.float32)
    return FactorResult(
        config=FactorConfig(method="topk-sae", n_components=m, sae_k=k), components=comp, mean=mean, scale=scale,
        massive_norm=np.full(n_states, massive_norm, np.float32), sae=sae, is_=z, level=np.array(["mid"] * m), density=z,
        active=np.ones((m, n_states), np.int64), spread=z, hist=np.zeros((m, n_states, 2)), hist_edges=np.zeros(3),
        l0_hist=np.zeros((n_states, m + 1)), max_act=z, topk_values=np.zeros((n_states, m, 1)), topk_token=np.zeros((n_states, m, 1), np.int64),
        neighbors=np.zeros((m, 10), np.int64), neighbor_cos=np.zeros((m, 10)), metrics={"n_tokens": 1, "quality": {"overall": {}}},
    )


def fitted_to(result: FactorResult, store) -> FactorResult:
    """``result`` with each layer's mean and per-dimension scale taken from the store's states, so
    that its codes vary from token to token as a real dictionary's do."""
    for layer in range(store.info.n_layers + 1):
        x = np.asarray(store.hidden(layer), np.float64)
        result.mean[layer] = x.mean(0)
        result.scale[layer] = np.maximum(x.std(0), 1e-3)
    return result


# ----------------------------------------------------------------------------- reference maths


def norm_module(kind: str, model, layer: int):
    """The module the model applies before the q/k/v projections of block ``layer`` (None: BERT)."""
    if kind in POST_NORM:
        return None
    if kind == "gpt2":
        return model.h[layer].ln_1
    if kind == "dinov2":
        return model.encoder.layer[layer].norm1
    return model.layers[layer].input_layernorm


def sigma(norm, x: torch.Tensor) -> torch.Tensor:
    """The per-token divisor of ``norm`` (a LayerNorm's std, an RMSNorm's RMS), eps included."""
    if norm is None:
        return torch.ones(x.shape[:-1] + (1,), dtype=x.dtype)
    if isinstance(norm, torch.nn.LayerNorm):
        return torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + norm.eps)
    return torch.sqrt(x.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon)


def projections(kind: str, model, layer: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(q, k, v) of states ``x`` (n, d) as block ``layer``'s own modules compute them, each
    (n, heads, d_head), norm included, before any rotary embedding."""
    cfg = model.config
    d_head = cfg.hidden_size // cfg.num_attention_heads
    norm = norm_module(kind, model, layer)
    h = x if norm is None else norm(x)
    if kind in POST_NORM:
        att = model.encoder.layer[layer].attention.self
        q, k, v = att.query(h), att.key(h), att.value(h)
    elif kind == "gpt2":
        q, k, v = model.h[layer].attn.c_attn(h).split(cfg.hidden_size, dim=-1)
    elif kind == "dinov2":
        att = model.encoder.layer[layer].attention
        q, k, v = att.q_proj(h), att.k_proj(h), att.v_proj(h)
    else:
        att = model.layers[layer].self_attn
        q, k, v = att.q_proj(h), att.k_proj(h), att.v_proj(h)
    return tuple(t.reshape(len(x), -1, d_head) for t in (q, k, v))


def unnormalised(kind: str, model, layer: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(q, k, v) of ``x`` with the norm's per-token division set to 1: σ(x)·(p(x) - p(0)) + p(0),
    p(0) being what the projections give for a state whose normalised part is zero."""
    norm = norm_module(kind, model, layer)
    s = sigma(norm, x)[:, :, None]
    zero = projections(kind, model, layer, torch.zeros(1, x.shape[1]))
    return tuple(s * (p - p0) + p0 for p, p0 in zip(projections(kind, model, layer, x), zero))


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("kind", FAMILIES)
def test_state_module_outputs_are_the_models_hidden_states(kind):
    """Hidden state l as the model returns it (output_hidden_states) is the output of the module
    circuits hooks for layer l, for every l (embeddings, blocks, a decoder's final norm)."""
    model = tiny(kind)
    family = family_of(model)
    inputs = model_inputs(kind)
    with torch.no_grad():
        states = model(**inputs, output_hidden_states=True).hidden_states
    for layer in range(len(states)):
        torch.testing.assert_close(hidden_state(family, model, inputs, layer), states[layer], rtol=0, atol=0)
    assert state_module(family, model, 0) is not None


@pytest.mark.parametrize("kind", FAMILIES)
def test_head_weights_reproduce_the_modules_projections(kind):
    """x @ W_Q[h] + b_Q[h] (and K, V through the key/value head of h) equals the module's own
    projection of the normed state, per head; W_O[h] applied to a head output equals the output
    projection (LayerScale included) fed that head alone."""
    model = tiny(kind)
    w = model_weights(model)
    x = torch.randn(5, 32, generator=torch.Generator().manual_seed(3))
    for layer, lw in enumerate(w.layers):
        norm = norm_module(kind, model, layer)
        xr = (x if norm is None else norm(x)).detach().numpy().astype(np.float64)
        q, k, v = (t.detach().numpy() for t in projections(kind, model, layer, x))
        n_heads, n_kv = q.shape[1], k.shape[1]
        for h in range(n_heads):
            kv = h // (n_heads // n_kv)
            np.testing.assert_allclose(xr @ lw.W_Q[h] + lw.b_Q[h], q[:, h], atol=1e-5)
            W_K, b_K = lw.k(h)
            W_V, b_V = lw.v(h)
            np.testing.assert_allclose(xr @ W_K + b_K, k[:, kv], atol=1e-5)
            np.testing.assert_allclose(xr @ W_V + b_V, v[:, kv], atol=1e-5)
            z = torch.zeros(5, n_heads * lw.d_head)
            z[:, h * lw.d_head : (h + 1) * lw.d_head] = torch.from_numpy(v[:, kv])
            out_proj = family_of(model).output_projection(model, layer)
            got = out_proj(z) - out_proj(torch.zeros_like(z))
            if kind == "dinov2":
                got = model.encoder.layer[layer].layer_scale1(got)
            np.testing.assert_allclose(v[:, kv] @ lw.W_O[h], got.detach().numpy(), atol=1e-5)
        assert lw.norm is None if kind in POST_NORM else lw.norm is not None
        assert lw.rotary == (kind in LLAMA_LIKE)
        assert abs(lw.scaling - lw.d_head**-0.5) < 1e-9


def test_embeddings_and_unembeddings(tmp_path):
    """GPT-2 ties W_U to wte; an untied Llama's lm_head is read from its checkpoint's
    safetensors; BERT and DINOv2 have none."""
    from transformers import AutoModel, LlamaForCausalLM

    gpt2 = tiny("gpt2")
    w = model_weights(gpt2)
    np.testing.assert_array_equal(w.W_U, gpt2.wte.weight.detach().numpy().T)
    np.testing.assert_array_equal(w.W_E, gpt2.wte.weight.detach().numpy())

    torch.manual_seed(0)
    lm = perturbed(LlamaForCausalLM(make_model("llama", VOCAB).config))
    assert not lm.config.tie_word_embeddings
    lm.save_pretrained(tmp_path / "llama")
    base = AutoModel.from_pretrained(tmp_path / "llama", attn_implementation="eager")
    w = model_weights(base, tmp_path / "llama")
    np.testing.assert_array_equal(w.W_U, lm.lm_head.weight.detach().numpy().T)
    assert model_weights(base).W_U is None  # no checkpoint folder: no lm_head to read

    bert = model_weights(tiny("bert"))
    assert bert.W_U is None and bert.W_E.shape == (VOCAB, 32) and bert.final_norm is None
    dino = model_weights(tiny("dinov2"))
    assert dino.W_U is None and dino.W_E is None and dino.final_norm is not None


def test_unknown_family_is_named():
    with pytest.raises(ValueError, match="t5"):
        family_of(make_model("t5", VOCAB))


@pytest.mark.parametrize("massive_norm", [np.inf, 2.5])
def test_encode_sparse_equals_the_dense_encoding(massive_norm):
    """FactorResult.encode_sparse (the circuit stages' coding) holds exactly the non-zero entries
    of encode, massive states included (no codes), across its batches."""
    result = synthetic_factors(16, 2, seed=3, massive_norm=massive_norm)
    states = np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32) * 0.7
    dense = result.encode(states, 1)
    got = result.encode_sparse(states, 1, batch_size=64)
    assert got.shape == dense.shape and got.nnz == np.count_nonzero(dense) > 0
    np.testing.assert_array_equal(got.toarray(), dense)
    if np.isfinite(massive_norm):
        assert (np.linalg.norm(states, axis=1) > massive_norm).any()
