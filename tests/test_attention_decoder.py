"""Decoders in the attention stage (issue 11): causal masks respected by every statistic, label and
data file; grouped-query attention (tiny Llama: 4 query heads on 2 kv heads) gives every query
head its own joint embedding with the keys of its kv head; the first token is the sink.
Fixtures ``stores`` / ``pca_results`` (tiny BERT, GPT-2, Llama): conftest.py."""

import numpy as np
import pytest

from tfvis_site.analysis.attention import LabelRule, write_attention_bundle
from tfvis_site.analysis.attention.normalise import spearman_paper_rows
from tfvis_site.analysis.attention.project import pca, scale_unit
from tfvis_site.analysis.attention.stats import LayerAccumulator, TextHeadStatistics, decode_sqrt_u16
from tfvis_site.site.bundles import BundleWriter, read_data_array

DECODERS = ["gpt2", "llama"]


def blocks(res, g):
    """Per sample sentence, head g's (L, L) attention block from the stage's uint16 weights."""
    w = decode_sqrt_u16(res.weights_sqrt16()[g])
    sents = res.sentences
    return [w[o : o + n * n].reshape(n, n) for o, n in zip(sents.column("pair_offset").to_numpy(), sents.column("n_tokens").to_numpy())]


@pytest.mark.parametrize("kind", DECODERS)
def test_no_statistic_or_file_sees_a_later_key(stores, pca_results, kind, tmp_path):
    """Weights, top keys and the aggregate hold nothing above the diagonal; no head is "next";
    the labels speak of the first token."""
    store, res = stores[kind], pca_results[kind]
    assert store.info.is_causal
    G = store.info.n_layers * store.info.n_heads
    for g in range(G):
        for block in blocks(res, g):
            assert np.all(np.triu(block, 1) == 0)
            np.testing.assert_allclose(block.sum(1), 1.0, atol=len(block) * 3e-5)  # rows are whole over the visible keys
    keys, _ = res.topk()
    position = res.tokens.column("position").to_numpy()
    missing = np.iinfo(keys.dtype).max
    k = np.asarray(keys).astype(np.int64)
    assert np.all((k == missing) | (k <= position[None, :, None]))
    agg, count = res.aggregate()
    assert np.all(np.triu(np.asarray(agg), 1) == 0) and np.asarray(count).max() > 0
    labels = res.meta["labels"]
    assert labels == TextHeadStatistics().label_texts(True) and "next" not in labels and "first token" in labels["sink"]
    for h in res.heads:
        assert h["label"] != "next" and "next" not in h["mass"]
        assert h["label_text"] == labels[h["label"]]
    # the page data say so too: the manifest section carries is_causal and the same labels
    section = write_attention_bundle(res, store, BundleWriter(tmp_path / "data"), compact_attention=False)
    assert section["model"]["is_causal"] is True and section["labels"] == labels


def test_causal_accumulator_ignores_weights_above_the_diagonal_and_finds_the_first_token_sink():
    """Statistics of a decoder count visible keys only, even when a matrix carries weight above
    the diagonal (a model with a leaky mask): the first-token head is a sink, never 'next'."""
    L, H = 10, 3
    A = np.zeros((H, L, L), np.float32)
    A[0, :, 0] = 1.0  # every query on the first token (no BOS here: the first word)
    A[1, np.arange(L - 1), np.arange(1, L)] = 1.0  # all weight on the NEXT token: masked away in a decoder
    A[1, L - 1, L - 1] = 1.0
    A[2] = np.tril(np.ones((L, L))) / np.arange(1, L + 1)[:, None]  # uniform over the visible keys
    special = np.zeros(L, bool)
    acc = LayerAccumulator(H, L, L * L, L, 8, 0.005)
    acc.add(A, 0, 0, np.arange(L), special, causal=True, window=2)
    stats = acc.head_stats(LabelRule())
    assert stats[0]["label"] == "sink" and stats[0]["mass"]["sink"] == pytest.approx(1.0)
    assert "first token" in stats[0]["label_stat"]["name"]
    assert stats[1]["label"] != "next" and "next" not in stats[1]["mass"]
    m = stats[1]["mass"]  # only the last query's self weight was visible (of 9 eligible queries)
    assert (m["self"], m["local"], m["prev"], m["sink"]) == pytest.approx((1 / 9, 1 / 9, 0.0, 0.0))
    assert stats[2]["label"] == "broad" and stats[2]["entropy_norm"] == pytest.approx(1.0)  # log(#visible keys)
    assert np.all(np.triu(acc.aggregate(), 1) == 0)
    assert np.all(np.triu(acc.weights_sqrt16.reshape(H, L, L), 1) == 0)
    assert np.all((acc.topk_key == 255) | (acc.topk_key <= np.arange(L)[None, :, None]))
    # the same matrices read as an encoder: head 1 is a next-token head
    enc = LayerAccumulator(H, L, L * L, L, 8, 0.005)
    enc.add(A, 0, 0, np.arange(L), special, causal=False, window=2)
    assert enc.head_stats(LabelRule())[1]["label"] == "next"


def test_attentionviz_statistic_skips_queries_with_fewer_than_three_visible_keys():
    """Causal: queries 0 and 1 see one and two keys: no Spearman for them; bidirectional: all count."""
    rng = np.random.default_rng(1)
    q, k = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    causal = spearman_paper_rows(q, k, causal=True)
    assert np.isnan(causal[:2]).all() and np.isfinite(causal[2:]).all()
    assert np.isfinite(spearman_paper_rows(q, k, causal=False)).all()


def test_gqa_every_query_head_gets_its_own_joint_embedding_with_its_kv_heads_keys(stores, pca_results):
    """Tiny Llama (4 query heads, 2 kv heads): the stage's PCA picture of each head is exactly the
    joint embedding of that head's queries and its kv head's keys, under the head's own key
    translation and scale; the two query heads sharing a kv head get different pictures."""
    store, res = stores["llama"], pca_results["llama"]
    info = store.info
    assert info.n_kv_heads < info.n_heads
    shifts, cs = res.normalisation()
    coords = res.coords("pca2")
    norms = res.norms()
    N = res.n_tokens
    for layer in range(info.n_layers):
        Q, K = store.queries(layer), store.keys(layer)
        for h in range(info.n_heads):
            g = layer * info.n_heads + h
            kv = info.kv_head_of(h)
            assert res.heads[g]["kv_head"] == kv == h // (info.n_heads // info.n_kv_heads)
            q, k = Q[:, h].astype(np.float32), K[:, kv].astype(np.float32)
            np.testing.assert_allclose(norms[g, N:], np.linalg.norm(k, axis=1), rtol=1e-5)
            X = np.vstack([q * cs[g], (k + shifts[g]) / cs[g]]).astype(np.float32)
            np.testing.assert_allclose(coords[g], scale_unit(pca(X, 3)[:, :2]), atol=1e-4)
        # heads 0 and 1 read kv head 0: same keys, their own queries -> their own shift and picture
        g0 = layer * info.n_heads
        assert info.kv_head_of(0) == info.kv_head_of(1)
        assert not np.allclose(shifts[g0], shifts[g0 + 1]) and not np.allclose(coords[g0], coords[g0 + 1])


@pytest.mark.parametrize("kind", ["llama", "bert"])
def test_bundle_writes_the_sample_value_norms_per_kv_head(stores, pca_results, kind, tmp_path):
    """value_norms.f32 (n_layers, N, n_kv_heads) holds the store's ||v|| of each sample token, in
    the sample's token order; the manifest describes it for the pages."""
    store, res = stores[kind], pca_results[kind]
    info = store.info
    bundle = BundleWriter(tmp_path / "data")
    section = write_attention_bundle(res, store, bundle, compact_attention=False)
    name = section["files"]["value_norms"]
    got = read_data_array(bundle.data_dir, name, "<f4")
    assert bundle.files[name]["shape"] == [info.n_layers, res.n_tokens, info.n_kv_heads]
    got = got.reshape(info.n_layers, res.n_tokens, info.n_kv_heads)
    tokens = res.tokens
    index = store.sentence_offsets[tokens.column("source_sentence").to_numpy()] + tokens.column("position").to_numpy()
    for layer in range(info.n_layers):
        np.testing.assert_array_equal(got[layer], np.asarray(store.value_norms(layer))[index])
    assert np.all(got > 0) and "value_norms" in section["layout"]
