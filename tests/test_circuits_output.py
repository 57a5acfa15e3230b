"""The output side of a factor (circuits/output.py): a decoder's promoted / suppressed tokens are
the top / bottom of the factor's direction through the final norm's linear part and the model's
own unembedding (tied wte for GPT-2, lm_head for an untied Llama; no norm again at a decoder's
last hidden state, which transformers returns normed); an encoder's nearest input embeddings by
cosine; a ViT gets none, with the reason."""

from __future__ import annotations

import numpy as np
import torch
from test_circuits_common import VOCAB, perturbed, sigma, synthetic_factors, tiny

from tfvis_site.analysis.circuits.output import output_tokens
from tfvis_site.analysis.circuits.weights import model_weights


def expected_top(values: np.ndarray, k: int = 10) -> list[int]:
    return list(np.argsort(-values, kind="stable")[:k])


def test_gpt2_tokens_through_ln_f_and_the_tied_unembedding():
    model = tiny("gpt2")
    w = model_weights(model)
    result = synthetic_factors(32, 3)
    result.is_[:, :] = 0
    result.is_[np.arange(24), np.arange(24) % 3] = 1  # peak layer of factor f: f % 3
    items = output_tokens(w, result, factors=[0, 1, 4])
    assert [(it.factor, it.layer, it.kind) for it in items] == [(0, 0, "unembedding"), (1, 1, "unembedding"), (4, 1, "unembedding")]
    for it in items:
        v = torch.from_numpy((result.scale[it.layer] * result.components[it.factor]).astype(np.float32))[None]
        linear = sigma(model.ln_f, v) * (model.ln_f(v) - model.ln_f(torch.zeros_like(v)))  # gain ⊙ centred v
        logits = (linear @ model.wte.weight.T)[0].double().detach().numpy()
        assert [t for t, _ in it.promoted] == expected_top(logits)
        assert [t for t, _ in it.suppressed] == expected_top(-logits)
        np.testing.assert_allclose([x for _, x in it.promoted], np.sort(logits)[::-1][:10], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose([x for _, x in it.suppressed], np.sort(logits)[:10], rtol=1e-4, atol=1e-5)


def test_untied_llama_reads_lm_head_and_no_second_norm_at_the_last_state(tmp_path):
    from transformers import AutoModel, LlamaForCausalLM
    from tiny import make_model

    torch.manual_seed(0)
    lm = perturbed(LlamaForCausalLM(make_model("llama", VOCAB).config))
    lm.save_pretrained(tmp_path)
    w = model_weights(AutoModel.from_pretrained(tmp_path, attn_implementation="eager"), tmp_path)
    result = synthetic_factors(32, 3)
    head = lm.lm_head.weight.detach().double().numpy()
    gain = lm.model.norm.weight.detach().double().numpy()
    for layer, through_norm in ((1, True), (2, False)):
        (it,) = output_tokens(w, result, factors=[5], layer=layer)
        direction = result.scale[layer].astype(np.float64) * result.components[5]
        logits = ((gain * direction) if through_norm else direction) @ head.T
        assert [t for t, _ in it.promoted] == expected_top(logits)
        np.testing.assert_allclose([x for _, x in it.promoted], np.sort(logits)[::-1][:10], rtol=1e-5)


def test_encoder_nearest_embeddings_and_vit_reason():
    class Tokenizer:
        def convert_ids_to_tokens(self, ids):
            return [f"t{i}" for i in ids]

    model = tiny("bert")
    result = synthetic_factors(32, 3)
    (it,) = output_tokens(model_weights(model), result, factors=[2], layer=1, tokenizer=Tokenizer())
    v = torch.from_numpy(result.scale[1] * result.components[2])[None].double()
    cos = torch.nn.functional.cosine_similarity(v, model.embeddings.word_embeddings.weight.double(), dim=1).detach().numpy()
    assert it.kind == "embedding" and it.suppressed == []
    assert [t for t, _ in it.promoted] == expected_top(cos)
    np.testing.assert_allclose([x for _, x in it.promoted], np.sort(cos)[::-1][:10], rtol=1e-6)
    assert it.tokens[it.promoted[0][0]] == f"t{it.promoted[0][0]}"

    (it,) = output_tokens(model_weights(tiny("dinov2")), result, factors=[2], layer=1)
    assert it.kind is None and it.promoted == [] and "pixels" in it.reason


def test_factors_keep_their_order_across_layers_and_blocks():
    w = model_weights(tiny("gpt2"))
    result = synthetic_factors(32, 3)
    result.is_[:, :] = 0
    result.is_[np.arange(24), np.arange(24) % 3] = 1
    factors = [5, 0, 3, 1, 23]
    together = output_tokens(w, result, factors=factors, block=2)
    assert [it.factor for it in together] == factors and [it.layer for it in together] == [2, 0, 0, 1, 2]
    for it in together:
        (alone,) = output_tokens(w, result, factors=[it.factor])
        assert it == alone


def test_ranked_tokens_break_ties_by_the_lower_token_id():
    """_ranked (torch.topk for the cut, then an exact ranking) equals a full stable sort by
    (value, token id), where many tokens share a value (identical unembedding columns) and at
    the cut."""
    from tfvis_site.analysis.circuits.output import _ranked

    rng = np.random.default_rng(0)
    values = rng.integers(-6, 7, size=(40, 300)).astype(np.float32)  # ties everywhere
    values[3] = 1.0  # one row all ties
    for k in (1, 10, 300):
        for largest in (True, False):
            got = _ranked(values, k, largest)
            for row, ranked in zip(values, got):
                key = -row if largest else row
                expected = np.lexsort((np.arange(len(row)), key))[:k]
                assert [t for t, _ in ranked] == expected.tolist()
                assert [v for _, v in ranked] == row[expected].tolist()
