"""Induction scores (circuits/induction.py): a planted induction circuit (a hand-set 2-layer
attention-only transformer: a previous-token head, then a head whose query is the current token
and whose key is the previous token written by the first) scores ~1, its previous-token head ~0,
a uniform head exactly mean 1/(q+1); on real tiny decoders the score equals a brute-force loop
over the attention weights the model returns; an encoder gets None."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from test_circuits_common import tiny

from tfvis_site.analysis.circuits.induction import induction_scores, loaded_induction_scores, repeated_tokens


class PlantedInduction(torch.nn.Module):
    """Residual stream = [token one-hot (V) | position one-hot (T) | previous token (V)].

    Layer 0: head 0 attends from t to t - 1 (QK: position t against position t - 1) and its OV
    copies the token block into the previous-token block; head 1 attends uniformly (zero QK).
    Layer 1: head 0's query reads the token block, its key the previous-token block (QK =
    identity between them): it attends to the token after an earlier occurrence of the current
    token. Head 1 again uniform. Logits are scaled by ``beta``; the mask is causal."""

    def __init__(self, V: int, T: int, beta: float = 40.0):
        super().__init__()
        self.V, self.T, self.beta = V, T, beta
        d = 2 * V + T
        tok, pos, prev = slice(0, V), slice(V, V + T), slice(V + T, 2 * V + T)
        self.Q0, self.K0, self.O0 = torch.zeros(d, T), torch.zeros(d, T), torch.zeros(d, d)
        self.Q0[pos, :] = torch.eye(T).roll(-1, dims=1)  # position t asks for position t - 1
        self.K0[pos, :] = torch.eye(T)
        self.O0[tok, prev] = torch.eye(V)  # OV: copy the attended token into the previous-token block
        self.Q1, self.K1 = torch.zeros(d, V), torch.zeros(d, V)
        self.Q1[tok, :] = torch.eye(V)
        self.K1[prev, :] = torch.eye(V)

    def attend(self, q, k):
        T = q.shape[1]
        scores = self.beta * q @ k.transpose(1, 2) + torch.triu(torch.full((T, T), float("-inf")), 1)
        return scores.softmax(-1)

    def forward(self, input_ids, output_attentions=False):
        B, T = input_ids.shape
        x = torch.cat([torch.nn.functional.one_hot(input_ids, self.V).float(),
                       torch.eye(self.T)[:T].expand(B, T, self.T), torch.zeros(B, T, self.V)], -1)
        uniform = self.attend(torch.zeros(B, T, 1), torch.zeros(B, T, 1))
        A0 = self.attend(x @ self.Q0, x @ self.K0)
        x = x + A0 @ x @ self.O0
        A1 = self.attend(x @ self.Q1, x @ self.K1)
        return SimpleNamespace(attentions=(torch.stack([A0, uniform], 1), torch.stack([A1, uniform], 1)))


def test_a_planted_induction_head_scores_one():
    V, L, bos = 400, 12, 399  # a BOS first: the first random token has a previous token too
    model = PlantedInduction(V, 1 + 2 * L)
    tokens = repeated_tokens(V, L, 8, seed=0, bos=bos, exclude=[bos])
    assert all(len(set(row[1 : L + 1])) == L for row in tokens)  # no repeat within a copy at this seed
    scores = induction_scores(model, True, V, seq_len=L, batch=8, seed=0, bos=bos, exclude=[bos])
    assert scores.shape == (2, 2)
    assert scores[1, 0] > 0.999  # the induction head
    assert scores[0, 0] < 0.001  # the previous-token head attends one token too early
    uniform = np.mean([1 / (1 + L + k + 1) for k in range(L)])  # query 1 + L + k sees 1 + L + k + 1 keys
    np.testing.assert_allclose(scores[:, 1], uniform, rtol=1e-6)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_scores_equal_a_brute_force_loop_over_the_models_weights(kind):
    model = tiny(kind)
    bos, L, B = 0, 9, 3
    scores = induction_scores(model, True, 60, seq_len=L, batch=B, seed=5, bos=bos, exclude=[0])
    tokens = torch.from_numpy(repeated_tokens(60, L, B, seed=5, bos=bos, exclude=[0]))
    assert (tokens[:, 0] == bos).all() and (tokens[:, 1 : L + 1] == tokens[:, L + 1 :]).all() and (tokens[:, 1:] != 0).all()
    with torch.no_grad():
        attentions = model(input_ids=tokens, output_attentions=True).attentions
    expected = np.zeros(scores.shape)
    for layer, A in enumerate(attentions):
        for h in range(A.shape[1]):
            total = 0.0
            for b in range(B):
                for k in range(L):  # token r_k of the second copy at 1 + L + k; after its first occurrence: 1 + k + 1
                    total += float(A[b, h, 1 + L + k, 2 + k])
            expected[layer, h] = total / (B * L)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-7)
    assert not np.allclose(scores, induction_scores(model, True, 60, seq_len=L, batch=B, seed=6, bos=bos, exclude=[0]))


def test_encoders_get_none_and_loaded_models_use_their_tokenizer(tiny_checkpoints):
    from tfvis_site.modality import TEXT
    from tfvis_site.model.load import load_model

    assert induction_scores(tiny("bert"), False, 60) is None
    assert loaded_induction_scores(load_model(tiny_checkpoints["bert"], modality=TEXT)) is None
    gpt2 = load_model(tiny_checkpoints["gpt2"], modality=TEXT)
    scores = loaded_induction_scores(gpt2, seq_len=80, batch=2)  # 1 + 2·80 > 128 positions: shortened to 63
    assert scores.shape == (2, 4) and np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1).all()
