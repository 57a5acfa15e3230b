"""The TopK SAE's sparse backward (learn._TopKEncoder) against the dense one it replaces: the same
gradients to float tolerance, the same fit on a planted problem, still recovering it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tfvis_site.analysis.factors.learn import TopKSAE, _init_from_data, _TopKEncoder, max_cosine_recovery, planted_problem

# float32 sums in another order: a few ulps of the largest entry, never more
RTOL, ATOL = 1e-5, 1e-6


def _step_grads(sparse: bool, X: torch.Tensor, m: int, k: int) -> dict[str, torch.Tensor]:
    """One step's gradients of the fit's loss at a fit-like start (non-zero biases, so every term
    counts). X (B, d) -> {"W_enc": (d, m), "b_enc": (m,), "D": (m, d), "b_dec": (d,)}."""
    gen = torch.Generator().manual_seed(0)
    D0 = _init_from_data(X, m, gen)
    params = {"D": D0.clone(), "W_enc": D0.T.contiguous(), "b_enc": 0.1 * torch.randn(m, generator=gen),
              "b_dec": 0.1 * torch.randn(X.shape[1], generator=gen)}
    params = {name: p.requires_grad_() for name, p in params.items()}
    sae = TopKSAE(m, k=k, sparse=sparse)
    loss, _, _, _ = sae._loss(X, params["D"], params["W_enc"], params["b_enc"], params["b_dec"])
    loss.backward()
    return {name: p.grad for name, p in params.items()}


def _textbook_grads(X: torch.Tensor, m: int, k: int) -> dict[str, torch.Tensor]:
    """The same gradients with every product dense: codes A (B, m), x_hat = A D + b_dec."""
    gen = torch.Generator().manual_seed(0)
    D0 = _init_from_data(X, m, gen)
    D, W, b, c = (D0.clone(), D0.T.contiguous(), 0.1 * torch.randn(m, generator=gen), 0.1 * torch.randn(X.shape[1], generator=gen))
    for p in (D, W, b, c):
        p.requires_grad_()
    pre = (X - c.detach()) @ W + b
    vals, top = torch.topk(pre, k, dim=1)
    A = torch.zeros_like(pre).scatter(1, top, torch.relu(vals))
    loss = ((A @ D + c - X) ** 2).sum(1).mean()
    loss.backward()
    return {"D": D.grad, "W_enc": W.grad, "b_enc": b.grad, "b_dec": c.grad}


@pytest.mark.parametrize("m,k", [(512, 8), (96, 3)])
def test_one_step_gradients_match_dense(m, k):
    X = torch.from_numpy(planted_problem(256, 64, 128, 4, seed=3)[0])
    sparse, dense, textbook = _step_grads(True, X, m, k), _step_grads(False, X, m, k), _textbook_grads(X, m, k)
    for name in ("W_enc", "b_enc", "D", "b_dec"):
        assert sparse[name].abs().max() > 0, name
        torch.testing.assert_close(sparse[name], dense[name], rtol=RTOL, atol=ATOL, msg=name)
        torch.testing.assert_close(sparse[name], textbook[name], rtol=RTOL, atol=ATOL, msg=name)
    # only the chosen latents get an encoder gradient: at m = 512 some are never chosen
    if m == 512:
        assert (sparse["b_enc"] == 0).any()


def test_encoder_input_gradient_matches_autograd():
    """The input's gradient (unused by fit, where b_dec is detached) is right too."""
    gen = torch.Generator().manual_seed(1)
    x, W, b, g = torch.randn(32, 16, generator=gen), torch.randn(16, 40, generator=gen), torch.randn(40, generator=gen), torch.randn(32, 5, generator=gen)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    vals, top = _TopKEncoder.apply(x1, W, b, 5)
    (vals * g).sum().backward()
    ref_vals, ref_top = torch.topk(x2 @ W + b, 5, dim=1)
    (ref_vals * g).sum().backward()
    assert torch.equal(top, ref_top) and torch.equal(vals, ref_vals)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=RTOL, atol=ATOL)


@pytest.fixture(scope="module")
def planted_fits():
    """Sparse and dense fits of the same seed on a planted problem (with resampling)."""
    X, D_true, _ = planted_problem(6000, 64, 96, 3, noise=0.02, seed=1)
    kw = dict(k=3, n_steps=600, batch_size=256, lr=3e-3, resample_every=100, random_state=0)
    return X, D_true, TopKSAE(96, sparse=True, **kw).fit(X), TopKSAE(96, sparse=False, **kw).fit(X)


def test_fit_matches_dense(planted_fits):
    X, _, sparse, dense = planted_fits
    assert sparse.n_resampled_ == dense.n_resampled_ > 0
    for name in ("components_", "W_enc_", "b_enc_", "b_dec_", "usage_"):
        np.testing.assert_allclose(getattr(sparse, name), getattr(dense, name), rtol=1e-5, atol=2e-6, err_msg=name)
    a, b = sparse.transform(X[:1000]), dense.transform(X[:1000])
    assert ((a > 0) == (b > 0)).mean() > 0.9999  # the same latents fire
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-6)


def test_fit_still_recovers_planted_dictionary(planted_fits):
    X, D_true, sparse, dense = planted_fits
    assert max_cosine_recovery(D_true, sparse.components_, 0.9) >= 0.9
    assert max_cosine_recovery(D_true, sparse.components_, 0.9) == max_cosine_recovery(D_true, dense.components_, 0.9)
    assert np.allclose(np.linalg.norm(sparse.components_, axis=1), 1.0, atol=1e-4)


def test_sparse_fit_is_deterministic():
    X, _, _ = planted_problem(2000, 16, 24, 3, seed=2)
    kw = dict(k=3, n_steps=60, batch_size=128, resample_every=20)
    a = TopKSAE(24, random_state=7, **kw).fit(X)
    b = TopKSAE(24, random_state=7, **kw).fit(X)
    assert all(np.array_equal(getattr(a, n), getattr(b, n)) for n in ("components_", "W_enc_", "b_enc_", "b_dec_"))


def test_factor_cache_key_holds_the_result_version():
    """A new version of what the stage learns never reuses an old cached dictionary."""
    from tfvis_site.analysis.factors.config import RESULT_VERSION, FactorConfig

    cfg = FactorConfig()
    assert cfg.cache_key()["result_version"] == RESULT_VERSION >= 2
    assert FactorConfig.from_dict(cfg.to_dict()) == cfg  # the version is not a setting


def test_bf16_forward_product_trains_as_well_as_fp32():
    """precision="bf16" picks the top k from bf16 pre-activations. bf16's rounding moves every
    step, so a fit is not fp32's to float tolerance, and one seed's FVU differs from fp32's about
    as another seed's does. Over four seeds each, bf16 learns a planted dictionary as well: mean
    FVU within 5 % and the same mean recovery within 0.02."""
    X, D_true, _ = planted_problem(3000, 32, 48, 3, noise=0.02, seed=1)
    kw = dict(k=3, n_steps=300, batch_size=256, lr=3e-3, resample_every=100)
    fits = {p: [TopKSAE(48, precision=p, random_state=seed, **kw).fit(X) for seed in range(4)] for p in ("fp32", "bf16")}
    assert not np.allclose(fits["bf16"][0].W_enc_, fits["fp32"][0].W_enc_, rtol=1e-5, atol=2e-6)  # the bf16 product ran
    Xt = torch.as_tensor(X[:2000])

    def fvu(sae):
        Xhat = torch.as_tensor(sae.inverse_transform(sae.transform(X[:2000])))
        return float(((Xhat - Xt) ** 2).sum() / ((Xt - Xt.mean(0)) ** 2).sum())

    mean_fvu = {p: np.mean([fvu(s) for s in fits[p]]) for p in fits}
    recovery = {p: np.mean([max_cosine_recovery(D_true, s.components_, 0.9) for s in fits[p]]) for p in fits}
    assert mean_fvu["bf16"] <= 1.05 * mean_fvu["fp32"] and recovery["bf16"] >= recovery["fp32"] - 0.02
    with pytest.raises(ValueError, match="precision must be 'fp32', or 'bf16' with sparse=True"):
        TopKSAE(48, precision="bf16", sparse=False)


def test_factor_config_resolves_the_sae_precision(monkeypatch):
    """"auto" becomes what runs, so the factor stage's cache key says it; set values stay."""
    import tfvis_site.capture.extract as extract_module
    from tfvis_site.analysis.factors.config import FactorConfig

    for has, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(extract_module, "cpu_has_bf16", lambda has=has: has)
        assert FactorConfig().sae_precision == expected and FactorConfig().cache_key()["sae_precision"] == expected
        assert FactorConfig(sae_precision="fp32").sae_precision == "fp32"
    with pytest.raises(ValueError, match="factors.sae_precision must be one of auto, fp32, bf16, not 'fp16'"):
        FactorConfig(sae_precision="fp16")
