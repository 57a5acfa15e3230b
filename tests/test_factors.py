"""Tests of the factor engine: FISTA vs scikit-learn, planted recovery, IS/top-k/levels, the stage."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.decomposition import sparse_encode

from tfvis_site.analysis.factors import (
    DictionaryLearner,
    FactorConfig,
    FactorResult,
    NonNegativeFista,
    TopKSAE,
    assign_levels,
    duality_gap,
    fista_nn,
    fista_nn_ws,
    importance_scores,
    learn_factors,
    max_cosine_recovery,
    peak_layers,
    planted_problem,
    write_factor_bundle,
)
from tfvis_site.analysis.factors.bundle import TokenContexts
from tfvis_site.analysis.factors.inference import _sentence_batches


def _objective(X, A, D, alpha):
    R = X - A @ D
    return 0.5 * (R * R).sum(1) + alpha * A.sum(1)


def _random_problem(seed, n=40, d=24, m=60, anisotropic=False):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((m, d))
    if anisotropic:
        D[:, :2] *= 20.0
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((n, d))
    if anisotropic:
        X[:, :2] *= 20.0
    alpha = 0.2 * np.abs(X @ D.T).max(1).mean()
    return X, D, alpha


@pytest.mark.parametrize("solver", ["full", "ws"])
@pytest.mark.parametrize("seed,aniso", [(0, False), (1, False), (2, True)])
def test_fista_matches_sklearn_positive_lasso(solver, seed, aniso):
    X, D, alpha = _random_problem(seed, anisotropic=aniso)
    ref = sparse_encode(X, D, algorithm="lasso_cd", alpha=alpha, positive=True, max_iter=20000)
    Xt, Dt = torch.tensor(X, dtype=torch.float32), torch.tensor(D, dtype=torch.float32)
    if solver == "full":
        A, info = fista_nn(Xt, Dt, alpha, tol=1e-4, max_iter=20000)
    else:
        A, info = fista_nn_ws(Xt, Dt, alpha, tol=1e-4, max_iter=20000, working_set=8)
    assert info.n_not_converged == 0
    A = A.double().numpy()
    assert (A >= 0).all()
    p_ours, p_ref = _objective(X, A, D, alpha), _objective(X, ref, D, alpha)
    assert np.all(p_ours <= p_ref * (1 + 1e-3) + 1e-9)
    # KKT: c = D r; c_j <= alpha everywhere, c_j ~= alpha on the support
    C = (X - A @ D) @ D.T
    scale = np.abs(X @ D.T).max()
    assert (C <= alpha + 1e-2 * scale).all()
    on = A > 1e-6
    assert np.allclose(C[on], alpha, atol=1e-2 * scale)


def test_duality_gap_certifies_objective():
    X, D, alpha = _random_problem(3)
    Xt, Dt = torch.tensor(X), torch.tensor(D)
    A, info = fista_nn(Xt.float(), Dt.float(), alpha, tol=1e-2)
    ref = torch.tensor(sparse_encode(X, D, algorithm="lasso_cd", alpha=alpha, positive=True, max_iter=20000))
    primal, gap = duality_gap(Xt, A.double(), Dt, alpha)
    p_ref, _ = duality_gap(Xt, ref, Dt, alpha)
    assert torch.all(primal - p_ref <= gap + 1e-6)
    assert np.all(info.rel_gap <= 1e-2)


def test_bf16_option_converges_to_same_certificate():
    X, D, alpha = _random_problem(4, n=64, d=32, m=96)
    Xt, Dt = torch.tensor(X, dtype=torch.float32), torch.tensor(D, dtype=torch.float32)
    A32, _ = fista_nn(Xt, Dt, alpha, tol=1e-3)
    A16, info = fista_nn(Xt, Dt, alpha, tol=1e-3, precision="bf16", max_iter=3000)
    assert info.n_not_converged == 0
    p32 = _objective(X, A32.double().numpy(), D, alpha)
    p16 = _objective(X, A16.double().numpy(), D, alpha)
    assert np.all(p16 <= p32 * (1 + 2e-3) + 1e-9)


def test_nonnegative_fista_estimator_shapes():
    X, D, alpha = _random_problem(5)
    coder = NonNegativeFista(D, alpha, batch_size=16)
    A = coder.transform(X)
    assert A.shape == (X.shape[0], D.shape[0]) and A.dtype == np.float32
    assert coder.n_iter_ > 0


@pytest.mark.parametrize("method", ["fista-dl", "topk-sae"])
def test_planted_dictionary_recovery(method):
    torch.manual_seed(0)
    X, D_true, _ = planted_problem(12000, 64, 96, 3, noise=0.02, seed=1)
    if method == "fista-dl":
        est = DictionaryLearner(96, alpha=0.05, n_steps=150, batch_size=256, lr=0.3, random_state=0).fit(X)
    else:
        est = TopKSAE(96, k=3, n_steps=1000, batch_size=256, lr=3e-3, random_state=0).fit(X)
    assert est.components_.shape == (96, 64)
    assert np.allclose(np.linalg.norm(est.components_, axis=1), 1.0, atol=1e-4)
    assert max_cosine_recovery(D_true, est.components_, 0.9) >= 0.9
    A = est.transform(X[:50])
    assert A.shape == (50, 96) and (A >= 0).all()


def test_learner_is_deterministic():
    X, _, _ = planted_problem(2000, 16, 24, 3, seed=2)
    a = DictionaryLearner(24, alpha=0.05, n_steps=20, batch_size=128, random_state=7).fit(X).components_
    b = DictionaryLearner(24, alpha=0.05, n_steps=20, batch_size=128, random_state=7).fit(X).components_
    c = DictionaryLearner(24, alpha=0.05, n_steps=20, batch_size=128, random_state=8).fit(X).components_
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_importance_peak_and_levels_on_hand_made_values():
    # 3 layers, 3 factors, k = 2: topk_values (L, m, k)
    tv = np.zeros((3, 3, 2), dtype=np.float32)
    tv[0, 0] = [4, 2]   # factor 0 peaks at layer 0 -> low
    tv[1, 0] = [1, 1]
    tv[2, 1] = [3, 3]   # factor 1 peaks at layer 2, token-local -> mid
    tv[2, 2] = [5, 1]   # factor 2 peaks at layer 2 (IS 3), spreads -> high
    tv[1, 2] = [2, 2]
    IS = importance_scores(tv)
    assert IS.shape == (3, 3)
    assert np.allclose(IS[0], [3, 1, 0]) and np.allclose(IS[2], [0, 2, 3])
    assert list(peak_layers(IS)) == [0, 2, 2]
    spread = np.array([[0.9, 0, 0], [0, 0, 0.1], [0, 0, 0.8]])
    assert list(assign_levels(IS, spread, 0, 0.5)) == ["low", "mid", "high"]
    IS0 = IS.copy()
    IS0[1] = 0
    assert assign_levels(IS0, spread, 0, 0.5)[1] == "dead"


def test_sentence_batches_cover_whole_sentences():
    offsets = np.array([0, 3, 10, 11, 30, 31])
    b = _sentence_batches(offsets, 8)
    assert b[0][0] == 0 and b[-1][1] == 31
    assert all(x[1] == y[0] for x, y in zip(b, b[1:]))
    assert all(hi in offsets for _, hi in b)


class _FakeInfo:
    def __init__(self, n_layers, d):
        self.n_layers, self.d_model = n_layers, d


class _FakeStore:
    """An ActivationStore look-alike: planted sparse states at every layer, with neighbours."""

    def __init__(self, n_sent=60, sent_len=8, d=16, n_layers=2, seed=0):
        import pyarrow as pa

        rng = np.random.default_rng(seed)
        self.info = _FakeInfo(n_layers, d)
        self.n_sentences = n_sent
        self.n_tokens = n_sent * sent_len
        self.sentence_offsets = np.arange(n_sent + 1, dtype=np.int64) * sent_len
        X, self.D_true, _ = planted_problem(self.n_tokens * (n_layers + 1), d, 20, 2, noise=0.01, seed=seed)
        self._h = (X.reshape(n_layers + 1, self.n_tokens, d) * 3.0 + rng.standard_normal(d) * 2).astype(np.float32)
        self._h[:, :, 0] *= 10  # one outlier dimension
        ids = rng.integers(0, 30, self.n_tokens)
        self.tokens = pa.table({"token_id": pa.array(ids, pa.int32()), "text": pa.array([f"w{i}" for i in ids])})

    def hidden(self, layer):
        return self._h[layer]


@pytest.mark.parametrize("method,preprocess", [("fista-dl", "center-scale"), ("topk-sae", "center-scale"),
                                               ("fista-dl", "none"), ("topk-sae", "standardize")])
def test_learn_factors_stage_and_bundle(tmp_path, method, preprocess):
    from tfvis_site.site.bundles import BundleWriter, read_data_table
    from tfvis_site.progress import Reporter

    store = _FakeStore()
    cfg = FactorConfig(method=method, preprocess=preprocess, n_components=20, alpha=0.02, sae_k=4, n_train=2000, n_steps=40,
                       sae_n_steps=300, batch_size=128, top_k=5, chunk_size=8,
                       inference_batch=50)
    res = learn_factors(store, cfg, tmp_path / "f", Reporter.silent())
    L1 = 3
    assert res.dictionary.shape == (16, 20)
    assert res.is_.shape == (20, L1) and res.topk_values.shape == (L1, 20, 5)
    assert set(res.level) <= {"low", "mid", "high", "dead"}
    # top-k values sorted, IS = their mean, tokens valid
    tv = res.topk_values
    assert np.all(np.diff(tv, axis=2) <= 1e-7)
    assert np.allclose(res.is_, tv.mean(2).T)
    assert res.topk_token.max() < store.n_tokens
    # the top-k values are the activations of those tokens
    layer, c = 1, int(res.is_[:, 1].argmax())
    rows = res.topk_token[layer, c]
    rows = rows[rows >= 0]
    codes = res.encode(store.hidden(layer)[rows], layer)
    assert np.allclose(codes[:, c], tv[layer, c, : len(rows)], rtol=1e-3, atol=1e-4)
    # quality: FVU per layer matches a direct computation in original units
    x = store.hidden(2)
    xh = res.reconstruct(res.encode(x, 2), 2)
    fvu = ((x - xh) ** 2).sum() / ((x - x.mean(0)) ** 2).sum()
    q = res.metrics["quality"]
    assert abs(q["per_layer"][2]["fvu_original"] - fvu) < 1e-3
    z = res.transform_states(x, 2)
    zh = (xh - res.mean[2]) / res.scale[2]
    fvu_z = ((z - zh) ** 2).sum() / ((z - z.mean(0)) ** 2).sum()
    assert abs(q["per_layer"][2]["fvu"] - fvu_z) < 1e-3
    assert q["overall"]["fvu"] < 0.5
    # reload + bundle
    res2 = FactorResult.load(tmp_path / "f")
    assert np.array_equal(res2.components, res.components)
    bw = BundleWriter(tmp_path / "site")
    section = write_factor_bundle(res2, store, bw, contexts=TokenContexts())
    json.dumps(section, allow_nan=False)
    assert section["n_chunks"] == 3
    assert "factors/index.parquet" in bw.files and "factors/topk-002.parquet" in bw.files
    assert (tmp_path / "site" / "data" / "factors" / "topk-000.parquet.js").exists()

    idx = read_data_table(tmp_path / "site" / "data", "factors/index.parquet")
    assert idx.num_rows == 20 and "is_2" in idx.column_names
    tk = read_data_table(tmp_path / "site" / "data", "factors/topk-000.parquet").to_pydict()
    assert set(tk["factor"]) <= set(range(8))
    assert max(tk["position"]) < 8


@pytest.mark.parametrize("method", ["fista-dl", "topk-sae"])
def test_learn_factors_is_deterministic(tmp_path, method):
    from tfvis_site.progress import Reporter

    store = _FakeStore(n_sent=20)
    cfg = FactorConfig(method=method, n_components=12, alpha=0.02, n_train=500, n_steps=10, sae_n_steps=30,
                       batch_size=64, top_k=3)
    a = learn_factors(store, cfg, tmp_path / "a", Reporter.silent())
    b = learn_factors(store, cfg, tmp_path / "b", Reporter.silent())
    assert np.array_equal(a.components, b.components)
    assert np.array_equal(a.topk_token, b.topk_token)


def test_config_presets_and_validation():
    assert FactorConfig.for_preset("quick").n_components < FactorConfig().n_components
    d = FactorConfig.for_preset("full").to_dict()
    assert FactorConfig.from_dict(d) == FactorConfig.for_preset("full")
    with pytest.raises(ValueError):
        FactorConfig(method="nmf")
    with pytest.raises(ValueError):
        FactorConfig.from_dict({"bogus": 1})


def test_learn_factors_on_a_real_activation_store(tiny_checkpoints, tmp_path):
    """The stage on an ActivationStore from extract() (tiny random BERT): all layers, bundle files."""
    from tfvis_site.site.bundles import BundleWriter
    from tfvis_site.capture.extract import ExtractOptions, extract
    from tfvis_site.modality import TEXT
    from tfvis_site.model.load import load_model
    from tfvis_site.progress import Reporter

    sentences = [f"The {w} sat on the mat number {i}." for i, w in enumerate(["cat", "dog", "bird", "fox"] * 10)]
    loaded = load_model(tiny_checkpoints["bert"], modality=TEXT)
    (tmp_path / "store").mkdir()
    store = extract(loaded, sentences, tmp_path / "store", ExtractOptions(max_tokens=16, batch_size=8), Reporter.silent(), modality=TEXT)
    cfg = FactorConfig.for_preset("quick", n_components=16, sae_k=3, sae_n_steps=40, n_train=1000, top_k=4, chunk_size=8)
    res = learn_factors(store, cfg, tmp_path / "f", Reporter.silent())
    L1 = store.info.n_layers + 1
    assert res.is_.shape == (16, L1)
    assert len(res.metrics["quality"]["per_layer"]) == L1
    section = write_factor_bundle(res, store, BundleWriter(tmp_path / "site"), contexts=TokenContexts())
    assert section["n_layers"] == L1 and section["n_chunks"] == 2
    q = section["quality"]["overall"]
    assert 0 <= q["fvu"] < 1.5 and q["l0_mean"] <= 3
    codes = res.encode(store.hidden(1)[:5], 1)
    assert codes.shape == (5, 16) and (codes >= 0).all()
