"""Attention stage (issue 5): normalisation keeps every attention weight, the stage folder and
data bundle are complete and consistent with the store, projections are deterministic."""

import json
import shutil

import numpy as np
from scipy.special import softmax
import pytest

from tfvis_site.analysis.attention import (
    AttentionConfig,
    AttentionResult,
    LabelRule,
    analyse_attention,
    normalise_head,
    sample_sentences,
    sentence_pairs,
    write_attention_bundle,
)
from tfvis_site.analysis.attention.normalise import average_ranks, spearman_paper
from tfvis_site.analysis.attention.project import TrustworthinessProbe, cache_umap_jit, exact_knn, pca, project_head, scale_unit
from tfvis_site.analysis.attention.stats import TEXT_LABELS, LayerAccumulator, TextHeadStatistics, decode_sqrt_u16
from tfvis_site.site.bundles import BundleWriter, read_data_array
from tfvis_site.errors import UserError
from tfvis_site.progress import Reporter

@pytest.mark.parametrize("kind", ["bert", "gpt2", "llama"])
def test_normalised_qk_reproduce_attention(stores, pca_results, kind):
    """Key translation + norm scaling, as recorded by the stage, leave every weight unchanged."""
    store, res = stores[kind], pca_results[kind]
    info = store.info
    shifts, cs = res.normalisation()
    assert np.all(np.asarray(cs) > 0)
    assert np.abs(np.asarray(shifts)).max() > 0  # the translation really moved the keys
    for layer in range(info.n_layers):
        q_all, k_all = store.queries(layer), store.keys(layer)
        for h in range(info.n_heads):
            g = layer * info.n_heads + h
            qn = q_all[:, h] * cs[g]
            kn = (k_all[:, info.kv_head_of(h)] + shifts[g]) / cs[g]
            for s in range(store.n_sentences):
                lo, hi = store.sentence_offsets[s], store.sentence_offsets[s + 1]
                scores = qn[lo:hi].astype(np.float64) @ kn[lo:hi].astype(np.float64).T * store.scaling(layer)
                if info.is_causal:
                    scores = scores + np.triu(np.full((hi - lo, hi - lo), -np.inf), 1)
                np.testing.assert_allclose(softmax(scores, axis=-1), store.attention(layer, s)[h], atol=1e-5)


def test_scale_factor_is_chosen_not_fixed():
    """c moves away from 1 when queries and keys have very different norms."""
    rng = np.random.default_rng(0)
    q = rng.normal(size=(300, 8)).astype(np.float32) * 10
    k = rng.normal(size=(300, 8)).astype(np.float32) * 0.1
    offsets = np.arange(0, 301, 20)
    pairs = sentence_pairs(offsets, False, 10_000, 0)
    norm = normalise_head(q, k, pairs)
    assert norm.c < 0.5  # shrink the big queries, grow the small keys
    qn, kn = norm.apply(q, k)
    np.testing.assert_allclose((qn[pairs.query] * kn[pairs.key]).sum(1), (q[pairs.query] * (k[pairs.key] + norm.shift)).sum(1), rtol=1e-4, atol=1e-4)


def test_stage_folder_and_bundle(stores, pca_results, tmp_path):
    store, res = stores["bert"], pca_results["bert"]
    info = store.info
    G, N = info.n_layers * info.n_heads, store.n_tokens
    # the cache renames the folder after the build: the result must load from anywhere
    moved = tmp_path / "moved"
    shutil.copytree(res.path, moved)
    res = AttentionResult.load(moved)
    assert res.projections == ["pca2", "pca3"]
    for name in res.projections:
        c = np.asarray(res.coords(name))
        assert c.shape == (G, 2 * N, int(name[-1])) and c.dtype == np.float32
        assert np.all(np.abs(c) <= 1.0 + 1e-6) and np.isclose(np.abs(c).max(axis=(1, 2)), 1.0).all()
    assert res.tokens.num_rows == N and res.sentences.num_rows == store.n_sentences
    # text stores: exactly the text columns (no image columns)
    assert res.tokens.column_names == ["token", "sentence", "source_sentence", "position", "length", "position_norm", "token_id",
                                       "piece", "text", "space_before", "is_special", "is_punct", "frequency"]
    assert res.meta["modality"] == "text" and res.meta["labels"] == TextHeadStatistics().label_texts(False)
    assert set(res.meta["summary"]["spearman_paper_after"]) == {"mean", "min", "max"}
    assert np.asarray(res.norms()).shape == (G, 2 * N)
    for h in res.heads:
        assert h["label"] in ("prev", "next", "self", "sink", "positional", "broad", "other") and h["label"] in TEXT_LABELS
        assert -1 <= h["spearman_before"] <= 1 and -1 <= h["spearman_after"] <= 1
        assert -1 <= h["spearman_paper_before"] <= 1 and -1 <= h["spearman_paper_after"] <= 1
        assert "similarity" not in h and set(h["mass"]) == {"prev", "next", "self", "sink", "local"}
        assert 0 <= h["trustworthiness"]["pca2"] <= 1
        assert h["c"] > 0 and np.isfinite(h["entropy"]) and np.isfinite(h["norm_gap"])
        assert h["label_stat"]["name"] and np.isfinite(h["label_stat"]["value"])

    # full weights (uint16 of sqrt(w)) and top-k rows agree with the store
    w = np.asarray(res.weights_sqrt16())
    keys, kw = res.topk()
    offs = res.sentences.column("pair_offset").to_numpy()
    for s in range(store.n_sentences):
        lo, hi = store.sentence_offsets[s], store.sentence_offsets[s + 1]
        L = hi - lo
        A = store.attention(1, s)
        for h in range(info.n_heads):
            g = info.n_heads + h
            block = decode_sqrt_u16(w[g, offs[s] : offs[s] + L * L].reshape(L, L))
            np.testing.assert_allclose(block, A[h], atol=3e-5)
            np.testing.assert_allclose(block, A[h], rtol=3e-3, atol=1e-8)  # small weights keep their digits
            top = keys[g, lo:hi, 0]
            np.testing.assert_array_equal(top, A[h].argmax(1))
            np.testing.assert_allclose(kw[g, lo:hi, 0], A[h].max(1), atol=1e-6)
            assert np.all(np.diff(kw[g, lo:hi], axis=1) <= 1e-7)  # strongest first
    agg, count = res.aggregate()
    assert agg.shape[0] == G and agg.shape[1] == agg.shape[2] == count.shape[0] == res.meta["max_len"]
    # every sentence's rows sum to 1: sum_j mean[i, j] * count[i, j] = number of sentences with row i
    np.testing.assert_allclose((np.asarray(agg) * np.asarray(count)).sum(-1), np.broadcast_to(count[:, 0], agg.shape[:2]), atol=1e-3)

    bundle = BundleWriter(tmp_path / "site")
    section = write_attention_bundle(res, store, bundle, compact_attention=False)
    json.dumps(section, allow_nan=False)
    assert len(section["heads"]) == G
    data = tmp_path / "site" / "data"
    for entry in section["projections"]:
        raw = read_data_array(data, entry["file"], dtype="<u2").reshape(entry["shape"])
        # dequantised as the pages do: within half a step of the computed coordinates
        np.testing.assert_allclose(raw * entry["scale"] + entry["offset"], np.asarray(res.coords(entry["name"])), atol=entry["scale"] / 2 + 1e-6)
        assert (data / (entry["file"] + ".js")).exists()
    for name in [section["files"]["tokens"], *section["files"]["weights"], *section["files"]["topk_keys"]]:
        assert name in bundle.files and not (data / name).exists() and (data / f"{name}.js").exists()  # shipped once
    w0 = read_data_array(data, section["files"]["weights"][0], dtype="<u2").reshape(info.n_heads, -1)
    np.testing.assert_array_equal(w0, w[: info.n_heads])


def test_umap_deterministic_and_parallel_equal(stores, tmp_path):
    """Same seed -> same coordinates, whether the heads run in this process or in 2 workers."""
    store = stores["gpt2"]
    cfg = AttentionConfig(projections=("pca", "umap"), umap_n_epochs=30, trust_sample=100, n_jobs=1)
    a = analyse_attention(store, cfg, tmp_path / "a", Reporter.silent(), statistics=TextHeadStatistics())
    b = analyse_attention(store, cfg.replace(n_jobs=2), tmp_path / "b", Reporter.silent(), statistics=TextHeadStatistics())
    for name in ("umap2", "umap3"):
        np.testing.assert_array_equal(np.asarray(a.coords(name)), np.asarray(b.coords(name)))
        assert np.isfinite(np.asarray(a.coords(name))).all()
        assert all(0 <= h["trustworthiness"][name] <= 1 for h in a.heads)
    assert a.config.cache_key() == b.config.cache_key()


def test_umap_jit_is_cached_on_disk():
    """umap compiles without numba's cache: every pool or Ray worker compiled it again (~28 s)."""
    import umap.layouts
    import umap.umap_
    from numba.core.caching import FunctionCache

    cache_umap_jit()
    for fn in (umap.umap_.smooth_knn_dist, umap.umap_.compute_membership_strengths, umap.layouts._nb_optimize_layout_euclidean_single_epoch):
        assert isinstance(fn._cache, FunctionCache), fn


def test_tsne_runs_on_one_openmp_thread_whatever_the_callers(monkeypatch):
    """Barnes-Hut t-SNE sums in parallel: its bits depend on the OpenMP threads, which differ
    between a process-pool worker (the machine's cores) and a Ray task (OMP_NUM_THREADS=1)."""
    import sklearn.manifold._t_sne as t_sne
    from threadpoolctl import threadpool_info, threadpool_limits

    seen, real = [], t_sne._openmp_effective_n_threads

    def spy():
        seen.append({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"})
        return real()

    monkeypatch.setattr(t_sne, "_openmp_effective_n_threads", spy)
    X = np.random.default_rng(0).normal(size=(120, 8)).astype(np.float32)
    task = {"projections": ["pca", "tsne"], "dims": [2, 3], "seed": 0, "tsne": {"perplexity": 5.0, "max_iter": 250, "metric": "cosine"},
            "trust_k": 5, "trust_sample": np.arange(0, 120, 2), "trust_metric": "euclidean", "proj_pairs": ([0, 1], [0, 0])}
    with threadpool_limits(2, user_api="openmp"):
        project_head(X, task)
    assert seen == [{1}, {1}]


def test_exact_knn_and_trustworthiness_match_sklearn():
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 6)).astype(np.float32)
    for metric in ("euclidean", "cosine"):
        idx, dist = exact_knn(X, 10, metric, chunk=128)
        ref_d, ref_i = NearestNeighbors(n_neighbors=10, metric=metric, algorithm="brute").fit(X).kneighbors(X)
        np.testing.assert_array_equal(idx, ref_i)
        np.testing.assert_allclose(dist, ref_d, atol=1e-4)  # cosine: 1 - cos, as scikit-learn
        Y = X[:, :2] + rng.normal(size=(500, 2)).astype(np.float32)
        sample = np.arange(0, 500, 2)
        probe = TrustworthinessProbe(X, sample, k=7, metric=metric)
        assert probe(Y) == pytest.approx(trustworthiness(X[sample], Y[sample], n_neighbors=7, metric=metric), abs=1e-6)
    P = pca(X, 3)
    from sklearn.decomposition import PCA

    np.testing.assert_allclose(P, PCA(3).fit_transform(X), atol=1e-4)
    u = scale_unit(P)
    assert np.isclose(np.abs(u).max(), 1.0) and np.all(np.abs(u) <= 1)


def test_labels_from_synthetic_attention():
    L, H = 10, 4
    A = np.zeros((H, L, L), np.float32)
    A[0, np.arange(1, L), np.arange(L - 1)] = 1.0  # previous token
    A[0, 0, 0] = 1.0
    A[1, :, 0] = 1.0  # [CLS] sink
    A[2] = 1.0 / L  # uniform: broad
    A[3, np.arange(L), np.arange(L)] = 1.0  # self
    special = np.zeros(L, bool)
    special[[0, L - 1]] = True
    acc = LayerAccumulator(H, L, L * L, L, 8, 0.005)
    acc.add(A, 0, 0, np.arange(L), special, causal=False, window=2)
    stats = acc.head_stats(LabelRule())
    assert [s["label"] for s in stats] == ["prev", "sink", "broad", "self"]
    assert stats[0]["label_stat"]["value"] == pytest.approx(7 / 8)  # token 1 looks at [CLS]: a sink, not "prev"
    assert stats[2]["entropy_norm"] == pytest.approx(1.0)


def test_config_presets_sampling_and_validation():
    quick, default, full = (AttentionConfig.for_preset(p) for p in ("quick", "default", "full"))
    assert quick.projections == ("pca",) and "umap" in default.projections and "tsne" in full.projections
    assert AttentionConfig(projections=("umap",)).projections == ("pca", "umap")  # PCA always
    assert AttentionConfig.from_dict(default.to_dict()) == default
    assert "n_jobs" not in default.cache_key()
    with pytest.raises(UserError):
        AttentionConfig(projections=("isomap",))
    with pytest.raises(UserError):
        AttentionConfig(dims=(4,))
    a = sample_sentences(1000, 50, seed=3)
    assert np.array_equal(a, sample_sentences(1000, 50, seed=3)) and len(set(a)) == 50 and np.all(np.diff(a) > 0)
    assert not np.array_equal(a, sample_sentences(1000, 50, seed=4))
    assert np.array_equal(sample_sentences(10, 50), np.arange(10))


def _paper_reference(q, k, offsets, causal):
    """The AttentionViz statistic the slow way: scipy per query."""
    from scipy.stats import spearmanr

    values = []
    for lo, hi in zip(offsets[:-1], offsets[1:]):
        for i in range(lo, hi):
            keys = np.arange(lo, i + 1 if causal else hi)
            if len(keys) < 3:
                continue
            dots = k[keys] @ q[i]
            cos_dist = 1 - dots / (np.linalg.norm(k[keys], axis=1) * np.linalg.norm(q[i]))
            values.append(spearmanr(dots, cos_dist).statistic)
    return float(np.nanmean(values))


def test_spearman_paper_known_answers_and_invariances():
    rng = np.random.default_rng(0)
    offsets = np.array([0, 2, 30, 31, 60, 100])  # sentences of 2 and 1 tokens: no query counts
    q = rng.normal(size=(100, 8))
    # unit keys: q·k = ‖q‖ cos, so score and cosine distance are perfectly anti-monotone -> -1
    k_unit = rng.normal(size=(100, 8))
    k_unit /= np.linalg.norm(k_unit, axis=1, keepdims=True)
    for causal in (False, True):
        assert spearman_paper(q, k_unit, offsets, causal) == pytest.approx(-1.0, abs=1e-12)
    # general keys: the same number as scipy, query by query (causal: keys j <= i)
    k = rng.normal(size=(100, 8)) + 0.7
    for causal in (False, True):
        assert spearman_paper(q, k, offsets, causal) == pytest.approx(_paper_reference(q, k, offsets, causal), abs=1e-10)
    # invariant to q * c, k / c (dots and angles unchanged) ...
    base = spearman_paper(q, k, offsets, False)
    assert spearman_paper(q * 7.5, k / 7.5, offsets, False) == pytest.approx(base, abs=1e-12)
    # ... but NOT to key translation: the scores only shift per query, the angles change
    shift = rng.normal(size=8) * 2
    moved = spearman_paper(q, k + shift, offsets, False)
    assert abs(moved - base) > 0.01
    assert moved == pytest.approx(_paper_reference(q, k + shift, offsets, False), abs=1e-10)
    # before/after in one call: the "after" side equals a direct computation on the normalised vectors
    before, after = spearman_paper(q, k, offsets, True, normalised=(q * 2.0, (k + shift) / 2.0))
    assert before == pytest.approx(spearman_paper(q, k, offsets, True), abs=1e-12)
    assert after == pytest.approx(_paper_reference(q * 2.0, (k + shift) / 2.0, offsets, True), abs=1e-10)
    # several heads at once = one head at a time; padding batches change nothing
    Q, K = rng.normal(size=(100, 3, 8)), rng.normal(size=(100, 3, 8))
    many = spearman_paper(Q, K, offsets, True, batch_values=10)
    np.testing.assert_allclose(many, [spearman_paper(Q[:, h], K[:, h], offsets, True) for h in range(3)], atol=1e-12)
    # ties share their average rank (as scipy.stats.rankdata)
    from scipy.stats import rankdata

    x = rng.integers(0, 4, size=(20, 9)).astype(float)
    np.testing.assert_array_equal(average_ranks(x), rankdata(x, axis=1) - 1)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_stage_spearman_paper_matches_direct_computation(stores, pca_results, kind):
    """Causal GPT-2 and GQA Llama: the stage's per-head numbers are the statistic on the store's
    q and k (kv head mapped), before and after the recorded normalisation."""
    store, res = stores[kind], pca_results[kind]
    info = store.info
    shifts, cs = res.normalisation()
    offsets = store.sentence_offsets
    for layer in range(info.n_layers):
        for h in range(info.n_heads):
            g = layer * info.n_heads + h
            q, k = store.queries(layer)[:, h], store.keys(layer)[:, info.kv_head_of(h)]
            assert res.heads[g]["spearman_paper_before"] == pytest.approx(_paper_reference(q.astype(np.float64), k.astype(np.float64), offsets, info.is_causal), abs=1e-6)
            qn, kn = q * cs[g], (k + shifts[g]) / cs[g]
            assert res.heads[g]["spearman_paper_after"] == pytest.approx(spearman_paper(qn, kn, offsets, info.is_causal), abs=1e-6)
