"""QK in factors (circuits/qk.py): the weight score s_ij equals q·k/√d_head of the states
mean_l + scale_l ⊙ φ (+ the SAE's b_dec) as the model's own modules project them (the norm's
per-token division set to 1), for a post-norm BERT, pre-LayerNorm GPT-2 and DINOv2, and Llama /
Mistral with GQA and RoPE (at relative distance 0); the data share and its top list equal a
brute-force computation over the store's attention weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_circuits_common import FAMILIES, LLAMA_LIKE, every_pair, fitted_to, synthetic_factors, tiny, unnormalised

from tfvis_site.analysis.circuits.common import factor_offset, sample_codes
from tfvis_site.analysis.circuits.qk import DataShares, qk_data_shares, qk_in_factors, qk_weight_scores, spearman, top_qk_weight_pairs, union_agreement
from tfvis_site.analysis.circuits.weights import model_weights


def direct_scores(kind: str, model, result, layer: int, head: int) -> np.ndarray:
    """(m, m) q(x_i)·k(x_j)/√d_head from the model's modules, x_i = offset_l + scale_l ⊙ φ_i;
    RoPE models: q and k rotated by the model's own rotary embedding at one same position."""
    offset = factor_offset(result, layer)  # mean_l + scale_l ⊙ b_dec: the dictionary's own origin
    x = torch.from_numpy((offset + result.scale[layer] * result.components).astype(np.float32))
    q, k, _ = unnormalised(kind, model, layer, x)
    n_heads, n_kv, d_head = q.shape[1], k.shape[1], q.shape[2]
    q, k = q[:, head], k[:, head // (n_heads // n_kv)]
    if kind in LLAMA_LIKE:
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

        position = torch.full((1, len(x)), 7)
        cos, sin = model.rotary_emb(q[None], position)
        q_rot, k_rot = apply_rotary_pos_emb(q[None, None], k[None, None], cos, sin)
        assert not torch.allclose(q_rot[0, 0], q)  # the rotation does something ...
        q, k = q_rot[0, 0], k_rot[0, 0]  # ... and cancels at relative distance 0
    return (q.double() @ k.double().T).detach().numpy() / np.sqrt(d_head)


@pytest.mark.parametrize("kind", FAMILIES)
def test_weight_scores_equal_the_models_own_projections(kind):
    model = tiny(kind)
    w = model_weights(model)
    result = synthetic_factors(32, w.n_layers + 1)
    m = result.n_components
    for layer in range(w.n_layers):
        for head in range(w.layers[layer].n_heads):
            expected = direct_scores(kind, model, result, layer, head)
            got = qk_weight_scores(w.layers[layer], result, head, every_pair(m)).reshape(m, m)
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
            # the top list, found block by block, is the top of the full matrix
            pairs, scores = top_qk_weight_pairs(w.layers[layer], result, head, top=20, block=5)
            order = np.argsort(-expected, axis=None, kind="stable")[:20]
            np.testing.assert_allclose(scores, expected.ravel()[order], rtol=1e-4, atol=1e-4)
            np.testing.assert_array_equal(pairs, np.stack(np.unravel_index(order, (m, m)), 1))


@pytest.mark.parametrize("seed", range(4))
def test_top_pairs_equal_a_float64_sort_even_where_float32_cannot_tell_entries_apart(seed):
    """top_pairs selects in float32 and scores in float64: on a product whose best entries differ
    by about or less than float32 resolves (rows copied with 1e-12 to 3e-7 nudges, exact ties), pairs and
    scores equal a full float64 sort with ties by the lower (row, col)."""
    from tfvis_site.analysis.circuits.common import top_pairs

    rng = np.random.default_rng(seed)
    left, right = rng.normal(size=(300, 16)), rng.normal(size=(16, 250))
    for lo, nudge in [(100, 1e-12), (140, 1e-8), (180, 1e-7), (220, 3e-7)]:  # near-copies of a strong row
        left[lo : lo + 40] = left[7] + nudge * rng.normal(size=(40, 16))
    left[260:265] = left[7]  # exact ties
    rows, cols = np.arange(300) * 3, np.arange(250) + 1000
    scale = 0.25
    full = scale * (left @ right)
    for top, block in [(20, 64), (20, 512), (57, 33)]:
        pairs, scores = top_pairs(left, right, rows, cols, top, block, scale)
        r, c = np.divmod(np.arange(full.size), full.shape[1])
        order = np.lexsort((c, r, -full.ravel()))[:top]
        np.testing.assert_array_equal(pairs, np.stack([rows[r[order]], cols[c[order]]], 1))
        np.testing.assert_allclose(scores, full.ravel()[order], rtol=0, atol=1e-12)


def test_top_pairs_keep_to_the_candidate_factors():
    model = tiny("gpt2")
    lw = model_weights(model).layers[1]
    result = synthetic_factors(32, 3)
    result.active[::2, 1] = 0  # even factors never coded at layer 1
    pairs, _ = top_qk_weight_pairs(lw, result, 0, top=20)
    assert (pairs % 2 == 1).all()
    pairs, _ = top_qk_weight_pairs(lw, result, 0, top=20, factors=np.arange(24))
    assert (pairs % 2 == 0).any()


def brute_force_shares(store, result, layer: int, head: int) -> np.ndarray:
    """(m, m) D by dense sums over every sentence of the store."""
    m = result.n_components
    num, den = np.zeros((m, m)), 0.0
    off = store.sentence_offsets
    for s in range(store.n_sentences):
        a = result.encode(store.hidden(layer)[off[s] : off[s + 1]], layer).astype(np.float64)
        A = store.attention(layer, s)[head].astype(np.float64)
        for t in range(len(a)):
            for u in range(len(a)):
                num += A[t, u] * np.outer(a[t], a[u])
                den += A[t, u] * a[t].sum() * a[u].sum()
    return num / den


@pytest.mark.parametrize("kind", ["bert", "llama"])
def test_data_shares_equal_a_brute_force_sum(kind, stores):
    store = stores[kind]
    result = fitted_to(synthetic_factors(32, store.info.n_layers + 1, seed=2), store)
    layer, head = 1, 2
    codes = sample_codes(store, result, layer)
    shares = qk_data_shares(store, codes, heads=[head])[head]
    expected = brute_force_shares(store, result, layer, head)
    np.testing.assert_allclose(shares.numerator.toarray() / shares.denominator, expected, atol=1e-9)
    assert abs(expected.sum() - 1) < 1e-9  # a share of the head's attention
    with_another = qk_data_shares(store, codes, heads=[0, head])[head]  # heads asked for in a group
    np.testing.assert_allclose(with_another.numerator.toarray() / with_another.denominator, expected, atol=1e-9)
    pairs, values = shares.top(20)
    order = np.argsort(-expected, axis=None, kind="stable")[:20]
    assert len(pairs) == 20 and expected.ravel()[order[-1]] > 0
    np.testing.assert_allclose(values, expected.ravel()[order], atol=1e-9)
    np.testing.assert_allclose(shares.share(pairs), values)


def test_qk_in_factors_reports_both_lists_and_their_spearman(stores, tiny_checkpoints):
    from tfvis_site.modality import TEXT
    from tfvis_site.model.load import load_model

    store = stores["llama"]
    model = load_model(tiny_checkpoints["llama"], modality=TEXT).model
    lw = model_weights(model).layers[0]
    result = fitted_to(synthetic_factors(32, store.info.n_layers + 1, seed=3), store)
    heads = qk_in_factors(lw, store, result, top=20)
    assert [h.head for h in heads] == list(range(store.info.n_heads))
    from scipy.stats import spearmanr

    for h in heads:
        assert h.weight_pairs.shape == (20, 2) and len(h.data_pairs) == 20
        assert (np.diff(h.weight_scores) <= 0).all() and (np.diff(h.data_shares) <= 0).all()
        np.testing.assert_allclose(h.weight_scores_of_data_pairs, qk_weight_scores(lw, result, h.head, h.data_pairs))
        union = {tuple(p) for p in h.weight_pairs} | {tuple(p) for p in h.data_pairs}
        s = {tuple(p): v for p, v in zip(h.weight_pairs, h.weight_scores)} | {tuple(p): v for p, v in zip(h.data_pairs, h.weight_scores_of_data_pairs)}
        d = {tuple(p): v for p, v in zip(h.weight_pairs, h.data_shares_of_weight_pairs)} | {tuple(p): v for p, v in zip(h.data_pairs, h.data_shares)}
        keys = sorted(union)
        expected = spearmanr([s[p] for p in keys], [d[p] for p in keys]).statistic
        assert h.agreement == pytest.approx(expected)
    assert np.isnan(spearman([1, 2, 3], [5, 5, 5]))
    rng = np.random.default_rng(0)
    for _ in range(20):  # ties share their average rank, as in scipy
        a, b = rng.integers(0, 5, 30), rng.integers(0, 4, 30)
        assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)


def test_the_null_shuffles_the_data_labels(stores):
    """The shuffled agreement, computed from D's own top list, equals the agreement of D with its
    rows and columns explicitly permuted; on a random model (weights and data unrelated) the
    observed agreement lies within its null, which is negative (the selection effect)."""
    store = stores["gpt2"]
    result = fitted_to(synthetic_factors(32, store.info.n_layers + 1, seed=7), store)
    model = tiny("gpt2")
    lw = model_weights(model).layers[1]
    codes = sample_codes(store, result, 1)
    data = qk_data_shares(store, codes, heads=[3])[3]
    pairs, _ = top_qk_weight_pairs(lw, result, 3)

    def score_of(p):
        return qk_weight_scores(lw, result, 3, p)

    perm = np.random.default_rng(0).permutation(result.n_components)
    explicit = DataShares.from_numerator(data.numerator[perm][:, perm], data.denominator)
    assert union_agreement(score_of, data, pairs, relabel=perm) == pytest.approx(union_agreement(score_of, explicit, pairs))
    heads = qk_in_factors(lw, store, result, n_null=30)
    for h in heads:
        assert len(h.agreement_null) == 30 and np.median(h.agreement_null) < 0
        assert h.agreement_null.min() - 0.2 <= h.agreement <= h.agreement_null.max() + 0.2


@pytest.mark.parametrize("seed", range(4))
def test_data_shares_top_equals_a_sort_of_the_whole_numerator(seed):
    """DataShares.top forms only the rows and columns that can hold the top k; its list equals a
    full sort of Cᵀ A C by (share, query, key): with tied entries (integer codes and attention)
    and with heavy-tailed ones (rows whose bound sits near the k-th entry), for a small and a
    large first probe; share() reads the same entries."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    T, m = 120, 400
    if seed % 2:
        draw = lambda n: rng.integers(1, 4, n).astype(float)  # noqa: E731
    else:
        draw = lambda n: rng.lognormal(0, 2, n)  # noqa: E731
    codes = sparse.random(T, m, density=0.03, random_state=seed, data_rvs=draw).tocsr()
    attention = sparse.random(T, T, density=0.2, random_state=seed + 10, data_rvs=draw).tocsr()
    data = DataShares(codes, attention @ codes, 7.0)
    full = (codes.T @ attention @ codes).toarray()
    r, c = np.nonzero(full > 0)
    ranked = np.lexsort((c, r, -full[r, c]))
    for k in (1, 20, 75):
        for probe in (2, 64):
            data._top.clear()
            pairs, shares = data.top(k, probe=probe)
            order = ranked[:k]
            np.testing.assert_array_equal(pairs, np.stack([r[order], c[order]], 1))
            np.testing.assert_allclose(shares, full[r[order], c[order]] / 7.0)
            np.testing.assert_allclose(data.share(pairs), shares)
    some = rng.integers(0, m, size=(50, 2))
    np.testing.assert_allclose(data.share(some), full[some[:, 0], some[:, 1]] / 7.0)
