"""Dictionary learners with scikit-learn conventions.

Both learners fit ``components_`` of shape (n_components, n_features) = (m, d) with unit-norm
rows (the paper's Phi is ``components_.T``) and return non-negative codes of shape
(n_samples, n_components) from ``transform``.

* :class:`DictionaryLearner`: the paper's alternating minimisation. Each step codes a minibatch
  with non-negative FISTA (working-set solver, duality-gap stop), then takes one gradient step
  on the dictionary for 1/2 ||X - A D||^2 / B, either plain (``update="sgd"``: D -= lr * grad)
  or preconditioned by the diagonal of the Hessian with respect to each atom
  (``update="hessian"``: row j of the step is divided by h_j = EMA of mean_b a_bj^2, the exact
  curvature along atom j), and renormalises the rows.
* :class:`TopKSAE`: a TopK sparse autoencoder (Gao et al. 2024): z = TopK(ReLU((x - b_dec)
  W_enc + b_enc)), x_hat = z D + b_dec, trained with Adam on the squared error, rows of D kept
  unit norm. Only the encoder's forward product is dense: the decoder and both weight
  gradients touch the k active latents of each vector only.

Dead factors (active on fewer than ``dead_threshold`` of the recent samples) are re-initialised
every ``resample_every`` steps from the worst-reconstructed vectors of the current batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch

from .coding import fista_nn_ws, spectral_norm_sq


def _normalize_rows(D: torch.Tensor) -> torch.Tensor:
    return D / D.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _init_from_data(X: torch.Tensor, m: int, gen: torch.Generator) -> torch.Tensor:
    idx = torch.randperm(X.shape[0], generator=gen)[:m]
    D = X[idx].clone()
    if D.shape[0] < m:  # fewer samples than atoms: fill with noise
        extra = torch.randn((m - D.shape[0], X.shape[1]), generator=gen)
        D = torch.cat([D, extra])
    D += 1e-3 * torch.randn(D.shape, generator=gen) * D.norm(dim=1, keepdim=True).clamp_min(1e-6)
    return _normalize_rows(D)


def _batches(n: int, batch_size: int, n_steps: int, gen: torch.Generator):
    """Yields index tensors: epochs of a seeded permutation, ``n_steps`` batches in all."""
    perm = torch.randperm(n, generator=gen)
    pos = 0
    for _ in range(n_steps):
        if pos + batch_size > n:
            perm = torch.randperm(n, generator=gen)
            pos = 0
        yield perm[pos : pos + batch_size]
        pos += batch_size


class _Base:
    n_components: int
    device: str

    def _resample(self, D: torch.Tensor, usage: torch.Tensor, Xb: torch.Tensor, Xhat: torch.Tensor) -> int:
        """Re-initialise rarely used atoms from the worst-reconstructed vectors of the batch."""
        dead = (usage < self.dead_threshold).nonzero().squeeze(1)
        if dead.numel() == 0:
            return 0
        R = Xb - Xhat
        err = (R * R).sum(1)
        n_new = min(dead.numel(), Xb.shape[0])
        worst = torch.topk(err, n_new).indices
        dead = dead[:n_new]
        D[dead] = _normalize_rows(R[worst])
        usage[dead] = self.dead_threshold * 10  # give them time before judging again
        return int(n_new)


class DictionaryLearner(_Base):
    """Non-negative sparse dictionary learning by minibatch alternating minimisation.

    Parameters
    ----------
    n_components: m, the number of atoms (factors).
    alpha: L1 weight of the lasso ``1/2 ||x - a D||^2 + alpha * sum(a)``, a >= 0.
    n_steps, batch_size: minibatch steps and samples per step.
    update: "hessian" (diagonal-Hessian preconditioned step) or "sgd".
    lr: step size (for "hessian" a fraction of the per-atom Newton step).
    fit_tol: relative duality gap of the codes during fitting; ``tol`` the one of transform.
    resample_every, dead_threshold: dead-factor handling (see the module docstring).
    callback: called as ``callback(step, learner)`` after every step (progress, benchmarks).

    Attributes after fit: ``components_`` (m, d) float32 numpy, ``usage_`` (m,) recent
    activity frequency, ``n_resampled_``, ``fit_seconds_``.
    """

    def __init__(self, n_components: int = 1536, alpha: float = 0.1, *, n_steps: int = 300, batch_size: int = 1024,
                 update: str = "hessian", lr: float = 0.5, fit_tol: float = 1e-2, tol: float = 1e-2,
                 working_set: int = 32, resample_every: int = 50, dead_threshold: float = 1e-4,
                 random_state: int = 0, device: str = "cpu", init: np.ndarray | None = None,
                 callback: Callable[[int, "DictionaryLearner"], None] | None = None):
        if update not in ("hessian", "sgd"):
            raise ValueError(f"update must be 'hessian' or 'sgd', not {update!r}")
        self.n_components = n_components
        self.alpha = alpha
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.update = update
        self.lr = lr
        self.fit_tol = fit_tol
        self.tol = tol
        self.working_set = working_set
        self.resample_every = resample_every
        self.dead_threshold = dead_threshold
        self.random_state = random_state
        self.device = device
        self.init = init
        self.callback = callback

    def fit(self, X, y=None) -> "DictionaryLearner":
        """X: (n_samples, n_features) array or tensor (already preprocessed)."""
        X = torch.as_tensor(np.asarray(X, dtype=np.float32) if not torch.is_tensor(X) else X, dtype=torch.float32)
        gen = torch.Generator().manual_seed(self.random_state)
        dev = torch.device(self.device)
        D = (torch.as_tensor(self.init, dtype=torch.float32).clone() if self.init is not None
             else _init_from_data(X, self.n_components, gen)).to(dev)
        D = _normalize_rows(D)
        m = D.shape[0]
        h = torch.zeros(m, device=dev)
        usage = torch.full((m,), 1.0, device=dev)
        self.n_resampled_ = 0
        t0 = time.perf_counter()
        beta = 0.9
        for step, idx in enumerate(_batches(X.shape[0], min(self.batch_size, X.shape[0]), self.n_steps, gen)):
            Xb = X[idx].to(dev)
            G = (D @ D.T).contiguous()
            A, _ = fista_nn_ws(Xb, D, self.alpha, tol=self.fit_tol, gram=G, working_set=self.working_set)
            Xhat = A @ D
            R = Xb - Xhat
            B = Xb.shape[0]
            grad = -(A.T @ R) / B  # (m, d)
            active = (A > 0).float().mean(0)
            usage.mul_(0.98).add_(0.02 * active)
            if self.update == "hessian":
                hb = (A * A).mean(0)
                h = hb if step == 0 else beta * h + (1 - beta) * hb
                # floor the curvature at a tenth of its mean: rarely used atoms get SGD-like steps
                scale = self.lr / torch.maximum(h, 0.1 * h.mean()).clamp_min(1e-12)
                D = D - grad * scale.unsqueeze(1)
            else:
                D = D - self.lr * grad
            D = _normalize_rows(D)
            if self.resample_every and (step + 1) % self.resample_every == 0 and step + 1 < self.n_steps:
                self.n_resampled_ += self._resample(D, usage, Xb, Xhat)
            if self.callback is not None:
                self.components_ = D.cpu().numpy()
                self.callback(step, self)
        self.components_ = D.cpu().numpy()
        self.usage_ = usage.cpu().numpy()
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def transform(self, X, batch_size: int = 1024) -> np.ndarray:
        """(n_samples, n_features) -> (n_samples, n_components) float32 non-negative codes."""
        D = torch.as_tensor(self.components_, device=self.device)
        G = (D @ D.T).contiguous()
        L = spectral_norm_sq(D) * 1.02
        X = np.asarray(X, dtype=np.float32)
        out = np.empty((X.shape[0], D.shape[0]), dtype=np.float32)
        for lo in range(0, X.shape[0], batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(X[lo : lo + batch_size])).to(self.device)
            A, _ = fista_nn_ws(xb, D, self.alpha, tol=self.tol, gram=G, L=L, working_set=self.working_set)
            out[lo : lo + len(xb)] = A.cpu().numpy()
        return out

    def fit_transform(self, X, y=None) -> np.ndarray:
        return self.fit(X).transform(X)


class _TopKEncoder(torch.autograd.Function):
    """vals, top = TopK_k(x W + b), with a backward that touches only the k chosen latents.

    forward: x (B, d), W (d, m), b (m,), k, dtype -> vals (B, k) pre-activations (float32),
    top (B, k) int64. ``dtype`` is the dense product's: torch.bfloat16 picks the top k from bf16
    pre-activations (TopKSAE's ``precision``), float32 is the exact product.
    backward: grad_vals (B, k) -> grad_x (B, d), grad_W (d, m), grad_b (m,). Only the chosen
    columns of W and entries of b get a gradient, so instead of the dense x.T @ grad_pre
    (B·d·m multiply-adds over a (B, m) gradient that is zero but for B·k entries) the B·k
    (sample, latent) pairs are grouped by latent and summed with one embedding_bag: B·k·d.
    The forward product stays dense: every latent's pre-activation is needed to pick the top k.
    """

    @staticmethod
    def forward(ctx, x, W, b, k, dtype=torch.float32):
        # in float32 the dense path's exact expression; addmm adds the bias inside the product,
        # which saves a pass over the (B, m) pre-activations
        vals, top = torch.topk(torch.addmm(b.to(dtype), x.to(dtype), W.to(dtype)), k, dim=1)
        ctx.save_for_backward(x, W, top)
        ctx.mark_non_differentiable(top)
        return vals.float(), top

    @staticmethod
    def backward(ctx, grad_vals, _grad_top):
        x, W, top = ctx.saved_tensors
        B, k = top.shape
        m = W.shape[1]
        flat, g = top.reshape(-1), grad_vals.reshape(-1)
        # group the pairs by latent; stable, so each latent sums its samples in batch order
        # and the result does not depend on the threads (determinism given the seed)
        order = torch.argsort(flat, stable=True)
        counts = torch.bincount(flat, minlength=m)
        offsets = counts.cumsum(0) - counts  # (m,) start of each latent's bag, empty bags give 0
        gW = torch.nn.functional.embedding_bag(torch.div(order, k, rounding_mode="floor"), x, offsets,
                                               mode="sum", per_sample_weights=g[order])  # (m, d)
        gb = torch.zeros(m, dtype=g.dtype, device=g.device).index_add_(0, flat, g)
        gx = None
        if ctx.needs_input_grad[0]:  # not in fit (b_dec is detached there), kept for a true backward
            gx = torch.nn.functional.embedding_bag(top, W.T.contiguous(), mode="sum", per_sample_weights=grad_vals)
        return gx, gW.T, gb, None, None  # autograd copies gW.T into W's (d, m) layout


class TopKSAE(_Base):
    """TopK sparse autoencoder with a unit-norm decoder (the dictionary).

    Parameters: ``n_components`` m; ``k`` active latents per vector; ``n_steps``,
    ``batch_size``; ``lr`` Adam step; ``resample_every``/``dead_threshold`` as for
    DictionaryLearner; ``sparse``: True forms the encoder's weight and bias gradients from the k
    active latents only (_TopKEncoder), False from the dense (B, m) gradient of the
    pre-activations (the earlier path, kept as the tests' reference; same result to float
    tolerance). The decoder is a gather of the k active rows either way. ``precision``: of
    the encoder's dense forward product (the step's largest cost), "fp32" or "bf16" (sparse
    only: the pre-activations that pick the top k, and their values, in bf16; the gradients and
    the optimiser stay float32). In bf16, on a CPU that multiplies it natively, the default
    factor stage trains in 0.66-0.79x the time, FVU within 0.002 (docs/factors.md "The SAE's
    forward product in bf16").
    Attributes after fit: ``components_`` (m, d) decoder rows (unit norm), ``W_enc_`` (d, m),
    ``b_enc_`` (m,), ``b_dec_`` (d,).
    ``transform(X)`` returns the (n, m) TopK codes (non-negative, at most k non-zero per row);
    ``inverse_transform(A)`` = A @ components_ + b_dec_.
    """

    def __init__(self, n_components: int = 1536, k: int = 32, *, n_steps: int = 2000, batch_size: int = 1024,
                 lr: float = 3e-3, resample_every: int = 100, dead_threshold: float = 1e-3,
                 random_state: int = 0, device: str = "cpu", sparse: bool = True, precision: str = "fp32",
                 callback: Callable[[int, "TopKSAE"], None] | None = None):
        if precision not in ("fp32", "bf16") or (precision == "bf16" and not sparse):
            raise ValueError(f"TopKSAE precision must be 'fp32', or 'bf16' with sparse=True, not {precision!r} (sparse={sparse})")
        self.n_components = n_components
        self.k = k
        self.sparse = sparse
        self.precision = precision
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.lr = lr
        self.resample_every = resample_every
        self.dead_threshold = dead_threshold
        self.random_state = random_state
        self.device = device
        self.callback = callback

    def _encode(self, X: torch.Tensor, W_enc, b_enc, b_dec) -> torch.Tensor:
        pre = (X - b_dec) @ W_enc + b_enc
        k = min(self.k, pre.shape[1])
        vals, idx = torch.topk(pre, k, dim=1)
        A = torch.zeros_like(pre)
        A.scatter_(1, idx, torch.relu(vals))
        return A

    def _loss(self, Xb: torch.Tensor, D, W_enc, b_enc, b_dec):
        """One step's forward. Xb (B, d); D (m, d), W_enc (d, m), b_enc (m,), b_dec (d,).

        Returns loss (scalar: mean over the batch of ||x_hat - x||^2), Xhat (B, d), and the
        codes as top (B, k) latent indices with vals (B, k) their ReLU'd activations.
        """
        kk = min(self.k, D.shape[0])
        x = Xb - b_dec.detach()
        if self.sparse:
            vals, top = _TopKEncoder.apply(x, W_enc, b_enc, kk, torch.bfloat16 if self.precision == "bf16" else torch.float32)
        else:  # autograd through topk: a dense (B, m) gradient, then x.T @ it
            vals, top = torch.topk(torch.addmm(b_enc, x, W_enc), kk, dim=1)
        vals = torch.relu(vals)
        # the decoder gathers the k chosen rows of D; its backward touches only those rows
        Xhat = torch.nn.functional.embedding_bag(top, D, per_sample_weights=vals, mode="sum") + b_dec
        loss = ((Xhat - Xb) ** 2).sum(1).mean()
        return loss, Xhat, top, vals

    def fit(self, X, y=None) -> "TopKSAE":
        X = torch.as_tensor(np.asarray(X, dtype=np.float32) if not torch.is_tensor(X) else X, dtype=torch.float32)
        gen = torch.Generator().manual_seed(self.random_state)
        dev = torch.device(self.device)
        D0 = _init_from_data(X, self.n_components, gen)
        D = torch.nn.Parameter(D0.to(dev))
        W_enc = torch.nn.Parameter(D0.T.contiguous().to(dev))
        b_enc = torch.nn.Parameter(torch.zeros(self.n_components, device=dev))
        b_dec = torch.nn.Parameter(torch.zeros(X.shape[1], device=dev))  # states are centred upstream
        opt = torch.optim.Adam([D, W_enc, b_enc, b_dec], lr=self.lr, fused=True)
        # constant step, then a linear decay to 0 over the last 30% of the steps
        decay_from = int(0.7 * self.n_steps)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 1.0 if s < decay_from else max(0.0, (self.n_steps - s) / max(self.n_steps - decay_from, 1)))
        usage = torch.full((self.n_components,), min(1.0, self.k / self.n_components), device=dev)
        self.n_resampled_ = 0
        t0 = time.perf_counter()
        for step, idx in enumerate(_batches(X.shape[0], min(self.batch_size, X.shape[0]), self.n_steps, gen)):
            Xb = X[idx].to(dev)
            # sparse: one dense matmul (the encoder's forward), the rest touches the k chosen latents
            loss, Xhat, top, vals = self._loss(Xb, D, W_enc, b_enc, b_dec)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():  # keep the decoder rows on the sphere: drop the radial gradient
                D.grad -= (D.grad * D).sum(1, keepdim=True) * D
            opt.step()
            sched.step()
            with torch.no_grad():
                D.copy_(_normalize_rows(D))
                fired = torch.zeros(self.n_components, device=dev).index_add_(
                    0, top[vals > 0], torch.ones(int((vals > 0).sum()), device=dev))
                usage.mul_(0.9).add_(0.1 * fired / Xb.shape[0])
                if self.resample_every and (step + 1) % self.resample_every == 0 and step + 1 < self.n_steps:
                    before = D.detach().clone()
                    n_new = self._resample(D.data, usage, Xb, Xhat.detach())
                    if n_new:
                        changed = (D.data != before).any(1)
                        # make the new latent fire on its direction as strongly as a typical one
                        W_enc.data[:, changed] = D.data[changed].T * W_enc.data.norm(dim=0).mean()
                        b_enc.data[changed] = 0.0
                        self.n_resampled_ += n_new
            if self.callback is not None:
                self._store(D, W_enc, b_enc, b_dec)
                self.callback(step, self)
        self._store(D, W_enc, b_enc, b_dec)
        self.usage_ = usage.cpu().numpy()
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _store(self, D, W_enc, b_enc, b_dec) -> None:
        self.components_ = D.detach().cpu().numpy().copy()
        self.W_enc_ = W_enc.detach().cpu().numpy().copy()
        self.b_enc_ = b_enc.detach().cpu().numpy().copy()
        self.b_dec_ = b_dec.detach().cpu().numpy().copy()

    def transform(self, X, batch_size: int = 4096) -> np.ndarray:
        W_enc = torch.as_tensor(self.W_enc_, device=self.device)
        b_enc = torch.as_tensor(self.b_enc_, device=self.device)
        b_dec = torch.as_tensor(self.b_dec_, device=self.device)
        X = np.asarray(X, dtype=np.float32)
        out = np.empty((X.shape[0], self.n_components), dtype=np.float32)
        with torch.no_grad():
            for lo in range(0, X.shape[0], batch_size):
                xb = torch.from_numpy(np.ascontiguousarray(X[lo : lo + batch_size])).to(self.device)
                out[lo : lo + len(xb)] = self._encode(xb, W_enc, b_enc, b_dec).cpu().numpy()
        return out

    def inverse_transform(self, A) -> np.ndarray:
        return np.asarray(A, dtype=np.float32) @ self.components_ + self.b_dec_

    def fit_transform(self, X, y=None) -> np.ndarray:
        return self.fit(X).transform(X)


def max_cosine_recovery(true_D: np.ndarray, learned_D: np.ndarray, threshold: float = 0.9) -> float:
    """Fraction of true atoms (rows) whose best cosine with a learned atom exceeds threshold."""
    T = true_D / np.linalg.norm(true_D, axis=1, keepdims=True)
    Lr = learned_D / np.maximum(np.linalg.norm(learned_D, axis=1, keepdims=True), 1e-12)
    return float(((T @ Lr.T).max(1) > threshold).mean())


def planted_problem(n_samples: int, n_features: int, n_components: int, n_active: int, noise: float = 0.01,
                    seed: int = 0, anisotropy: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic data x = a D_true (+ noise) with a >= 0, ``n_active`` non-zeros per row.

    Returns (X (n, d) float32, D_true (m, d) unit rows, A_true (n, m)). ``anisotropy`` > 0
    multiplies a few coordinates (d // 64 + 1 of them) by (1 + anisotropy) after mixing, like
    the outlier dimensions of transformer states (the returned D_true is then the distorted,
    renormalised one; X stays exactly sparse in it up to noise).
    """
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_components, n_features))
    if anisotropy:
        scale = np.ones(n_features)
        scale[: n_features // 64 + 1] = 1.0 + anisotropy
        D = D * scale
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    A = np.zeros((n_samples, n_components))
    cols = np.argsort(rng.random((n_samples, n_components)), axis=1)[:, :n_active]
    np.put_along_axis(A, cols, rng.uniform(0.5, 1.5, (n_samples, n_active)), axis=1)
    X = A @ D + noise * rng.standard_normal((n_samples, n_features)) / math.sqrt(n_features)
    return X.astype(np.float32), D.astype(np.float32), A.astype(np.float32)
