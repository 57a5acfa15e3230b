"""The dictionary spliced in (circuits/splice.py): a perfect reconstruction (the identity, or a
dictionary of ±e_i whose reconstruction is the identity) recovers all of a decoder's loss and
gives an encoder / ViT cosine 1; a zero reconstruction matches a hand computation with the
model's own modules (Llama: inputs_embeds of zeros and of the mean embedding; BERT / DINOv2: the
next block run on zeros); massive states are left as they are."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_circuits_common import VOCAB, perturbed, synthetic_factors, tiny

from tfvis_site.analysis.circuits.splice import splice_quality
from tfvis_site.analysis.circuits.weights import family_of, model_weights
from tfvis_site.analysis.factors.config import FactorConfig


class Sequences:
    """Seeded random token sequences (``padded``: different lengths, with an attention mask) or
    images, as a store's units."""

    def __init__(self, kind: str, n: int = 5, length: int = 9, padded: bool = False):
        g = torch.Generator().manual_seed(1)
        self.kind = kind
        if kind == "dinov2":
            self.pixels = torch.randn(n, 3, 32, 32, generator=g)
            self.lengths = np.full(n, 17)
        else:
            self.ids = torch.randint(1, VOCAB, (n, length), generator=g)
            self.lengths = np.array([length - (i % 3 if padded else 0) for i in range(n)])
        self.padded = padded

    def model_inputs(self, batch):
        batch = np.asarray(batch)
        if self.kind == "dinov2":
            return {"pixel_values": self.pixels[batch]}
        ids = self.ids[batch].clone()
        if not self.padded:
            return {"input_ids": ids}
        mask = (torch.arange(ids.shape[1])[None] < torch.from_numpy(self.lengths[batch])[:, None]).long()
        return {"input_ids": ids.masked_fill(mask == 0, 0), "attention_mask": mask}


def causal_lm(tmp_path):
    """(base model, its weights with the untied lm_head read from the checkpoint, the lm_head)."""
    from tiny import make_model
    from transformers import AutoModel, LlamaForCausalLM

    torch.manual_seed(0)
    lm = perturbed(LlamaForCausalLM(make_model("llama", VOCAB).config))
    lm.save_pretrained(tmp_path)
    base = AutoModel.from_pretrained(tmp_path, attn_implementation="eager").eval()
    return base, model_weights(base, tmp_path), lm.lm_head.weight.detach()


def identity_dictionary(d: int, n_states: int):
    """A TopK SAE with components ±e_i, W_enc = [I | -I], k = 2d: codes relu(z), relu(-z), so
    the reconstruction is z itself."""
    r = synthetic_factors(d, n_states, m=2 * d, k=2 * d)
    eye = np.eye(d, dtype=np.float32)
    r.components = np.concatenate([eye, -eye])
    r.sae = {"W_enc": np.concatenate([eye, -eye], 1), "b_enc": np.zeros(2 * d, np.float32), "b_dec": np.zeros(d, np.float32)}
    r.config = FactorConfig(method="topk-sae", n_components=2 * d, sae_k=2 * d)
    return r


# every image of a batch has the same number of patches: images are never padded
@pytest.mark.parametrize(("kind", "padded"), [(k, p) for k in ("gpt2", "llama", "bert", "dinov2") for p in (False, True) if not (k == "dinov2" and p)])
def test_a_perfect_reconstruction_recovers_everything(kind, padded, tmp_path):
    if kind == "llama":
        model, w, _ = causal_lm(tmp_path)
    else:
        model = tiny(kind)
        w = model_weights(model)
    causal = kind in ("gpt2", "llama")
    units = Sequences(kind, padded=padded)
    out = splice_quality(model, family_of(model), w, units, np.arange(5), causal, reconstruct=lambda x, layer: x, batch_size=2)
    assert [s.layer for s in out] == [0, 1, 2]
    for s in out:
        if causal:
            assert s.mode == "loss" and s.recovered == 1.0 and s.ablated_loss != s.clean_loss
        else:
            assert s.mode == "cosine" and s.final_cosine == pytest.approx(1, abs=1e-9)
    dictionary = identity_dictionary(32, 3)
    for s in splice_quality(model, family_of(model), w, units, np.arange(5), causal, result=dictionary, batch_size=2):
        assert (s.recovered if causal else s.final_cosine) == pytest.approx(1, abs=1e-3)
        assert s.n_unspliced == 0 and s.n_states == units.lengths.sum()


def test_zero_reconstruction_of_a_decoder_matches_a_hand_computation(tmp_path):
    model, w, lm_head = causal_lm(tmp_path)
    units = Sequences("llama")
    ids = units.ids
    (s,) = splice_quality(model, family_of(model), w, units, np.arange(5), True, reconstruct=lambda x, layer: np.zeros_like(x), layers=[0], batch_size=2)

    def loss(**inputs):
        with torch.no_grad():
            logits = model(**inputs).last_hidden_state @ lm_head.T
        return float(torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, VOCAB).double(), ids[:, 1:].reshape(-1)))

    embeds = model.embed_tokens(ids).detach()
    clean = loss(input_ids=ids)
    zero = loss(inputs_embeds=torch.zeros_like(embeds))
    mean = loss(inputs_embeds=embeds.reshape(-1, embeds.shape[-1]).double().mean(0).float().expand_as(embeds).contiguous())
    assert s.clean_loss == pytest.approx(clean, rel=1e-5)
    assert s.spliced_loss == pytest.approx(zero, rel=1e-5)
    assert s.ablated_loss == pytest.approx(mean, rel=1e-5)
    assert s.recovered == pytest.approx((mean - zero) / (mean - clean), rel=1e-4)


@pytest.mark.parametrize("kind", ["bert", "dinov2"])
def test_zero_reconstruction_of_an_encoder_matches_a_hand_computation(kind):
    model = tiny(kind)
    units = Sequences(kind)
    inputs = units.model_inputs(np.arange(5))
    out = splice_quality(model, family_of(model), model_weights(model), units, np.arange(5), False,
                         reconstruct=lambda x, layer: np.zeros_like(x), layers=[1, 2], batch_size=2)
    with torch.no_grad():
        last = model(**inputs, output_hidden_states=True).hidden_states[-1]
        after = model.encoder.layer[1](torch.zeros_like(last))
        after = after[0] if isinstance(after, tuple) else after
    expected = torch.nn.functional.cosine_similarity(after.double(), last.double(), dim=-1).mean()
    assert out[0].final_cosine == pytest.approx(float(expected), abs=1e-5)
    assert out[1].final_cosine == 0  # the last state itself replaced by zeros


def test_massive_states_are_left_unspliced():
    model = tiny("bert")
    units = Sequences("bert")
    with torch.no_grad():
        hidden = model(**units.model_inputs(np.arange(5)), output_hidden_states=True).hidden_states
    norms = [h.reshape(-1, 32).double().norm(dim=1).numpy() for h in hidden]
    threshold = np.array([np.sort(n)[len(n) // 2 : len(n) // 2 + 2].mean() for n in norms])  # between two states
    out = splice_quality(model, family_of(model), model_weights(model), units, np.arange(5), False,
                         reconstruct=lambda x, layer: np.zeros_like(x), massive_norm=threshold, batch_size=5)
    assert [s.n_unspliced for s in out] == [int((n > t).sum()) for n, t in zip(norms, threshold)]
    assert all(0 < s.final_cosine < 1 for s in out[:2])
    everything = splice_quality(model, family_of(model), model_weights(model), units, np.arange(5), False,
                                reconstruct=lambda x, layer: np.zeros_like(x), massive_norm=np.zeros(3), batch_size=5)
    assert all(s.final_cosine == pytest.approx(1, abs=1e-9) and s.n_unspliced == s.n_states for s in everything)


def test_zero_reconstruction_after_the_embeddings_of_a_decoder(tmp_path):
    """GPT-2: zeros as hidden state 1 make every position's block-1 input identical, so block 1
    (mask or not) then ln_f and the tied wte give the logits by hand; zeros as the last (normed)
    state give all-zero logits, a loss of log(vocabulary)."""
    import math

    model = tiny("gpt2")
    units = Sequences("gpt2")
    ids = units.ids
    out = splice_quality(model, family_of(model), model_weights(model), units, np.arange(5), True,
                         reconstruct=lambda x, layer: np.zeros_like(x), layers=[1, 2], batch_size=2)
    with torch.no_grad():
        after = model.h[1](torch.zeros(len(ids), ids.shape[1], 32))
        after = after[0] if isinstance(after, tuple) else after
        logits = model.ln_f(after) @ model.wte.weight.T
    expected = float(torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, VOCAB).double(), ids[:, 1:].reshape(-1)))
    assert out[0].spliced_loss == pytest.approx(expected, rel=1e-5)
    assert out[1].spliced_loss == pytest.approx(math.log(VOCAB), rel=1e-6)  # float32 logits


@pytest.mark.parametrize("kind", ["llama", "bert"])
def test_splice_in_bf16_runs_in_bf16_and_stays_near_fp32(kind, tmp_path):
    """precision="bf16" autocasts the splice's passes: its losses (or cosines) are not fp32's
    bit for bit, and stay within 2 % of them. (A random tiny model's loss gap is too small for
    its recovered fraction to compare.)"""
    if kind == "llama":
        model, w, _ = causal_lm(tmp_path)
    else:
        model = tiny(kind)
        w = model_weights(model)
    causal = kind == "llama"
    units = Sequences(kind, padded=True)
    dictionary = synthetic_factors(32, 3, m=48, k=8, seed=2)
    runs = {p: splice_quality(model, family_of(model), w, units, np.arange(5), causal, result=dictionary, batch_size=2, precision=p)
            for p in ("fp32", "bf16")}
    key = "spliced_loss" if causal else "final_cosine"
    raw = [(getattr(a, key), getattr(b, key)) for a, b in zip(runs["fp32"], runs["bf16"])]
    assert all(a != b for a, b in raw)
    for a, b in raw:
        assert b == pytest.approx(a, rel=0.02)
