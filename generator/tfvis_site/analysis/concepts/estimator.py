"""The estimators of the concept probes: batched one-feature logistic regressions (Newton's
method for every factor at once, tested against scikit-learn), the single-factor probe, the raw
state ceiling, the majority baseline, F1 and the 2-fold split."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Inverse L2 strength of every logistic regression (scikit-learn's default).
C = 1.0


def _logits(x: np.ndarray, coef: np.ndarray, intercept: np.ndarray, n_classes: int) -> np.ndarray:
    """(m, n) features, (m, F) coefficients and intercepts -> (m, n, K) logits; with K = 2 the
    first class's logit is 0 (F = 1), with K > 2 all K logits are free (F = K)."""
    z = x[:, :, None] * coef[:, None, :] + intercept[:, None, :]
    if n_classes == 2:
        z = np.concatenate([np.zeros_like(z), z], axis=2)
    return z


def _log_loss(x: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: np.ndarray, n_classes: int) -> np.ndarray:
    """(m,) summed log-loss of the regressions (coef, intercept) (m, F) on features x (m, n)."""
    if n_classes == 2:  # log(1 + e^z) - t z, without the (m, n, 2) logits
        z = x * coef + intercept
        return (np.logaddexp(0.0, z) - z * (y == 1)).sum(1)
    z = _logits(x, coef, intercept, n_classes)
    top = z.max(2, keepdims=True)
    lse = top[..., 0] + np.log(np.exp(z - top).sum(2))
    return (lse - z[:, np.arange(z.shape[1]), y]).sum(1)


def _newton_system(x: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: np.ndarray, n_classes: int,
                   C: float) -> tuple[np.ndarray, np.ndarray]:
    """Gradient (a, 2F) and Hessian (a, 2F, 2F) of ``1/2 ||coef||^2 + C * log-loss`` in
    (coef, intercept) for the rows of x (a, n)."""
    if n_classes == 2:
        p = 1.0 / (1.0 + np.exp(-(x * coef + intercept)))
        r = p - (y == 1)
        h = p * (1.0 - p)
        hx = h * x
        grad = np.stack([coef[:, 0] + C * (r * x).sum(1), C * r.sum(1)], 1)
        hww, hwb, hbb = 1.0 + C * (hx * x).sum(1), C * hx.sum(1), C * h.sum(1) + 1e-10
        return grad, np.stack([np.stack([hww, hwb], 1), np.stack([hwb, hbb], 1)], 1)
    K = n_classes
    z = _logits(x, coef, intercept, K)
    P = np.exp(z - z.max(2, keepdims=True))
    P /= P.sum(2, keepdims=True)
    R = P - np.eye(K)[y]
    # + 1/2 (sum b)^2: K logits are invariant to a common shift of b, the term pins sum b = 0
    # (the optimum and every prediction stay the same; the Hessian becomes regular)
    grad = np.concatenate([coef + C * (x[:, None, :] @ R)[:, 0], C * R.sum(1) + intercept.sum(1, keepdims=True)], axis=1)

    def block(weight):  # C * sum_i weight_i (diag(P_i) - P_i P_i^T), (a, K, K)
        Pw = P * weight[:, :, None]
        return C * (Pw.sum(1)[:, :, None] * np.eye(K) - Pw.transpose(0, 2, 1) @ P)

    hww = block(x * x) + np.eye(K)
    hwb = block(x)
    hbb = block(np.ones_like(x)) + 1.0
    return grad, np.concatenate([np.concatenate([hww, hwb], 2), np.concatenate([hwb, hbb], 2)], 1)


def fit_logistic_1d(x: np.ndarray, y: np.ndarray, n_classes: int, C: float = C, max_iter: int = 50,
                    tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Independent L2 logistic regressions on one feature each, all at once (Newton's method with
    step halving).

    x: (m, n) one feature per row (standardise it first); y: (n,) classes in 0..K-1.
    Minimises ``1/2 ||coef||^2 + C * log-loss`` per row (scikit-learn's objective; the intercept
    is not penalised). Returns coef (m, F), intercept (m, F), log-loss (m,) at the optimum,
    F = 1 for K = 2 (the logit of class 1) and F = K otherwise.
    """
    x = np.asarray(x, dtype=np.float64)
    m = x.shape[0]
    K = n_classes
    F = 1 if K == 2 else K
    coef = np.zeros((m, F))
    intercept = np.zeros((m, F))

    def objective(rows, w, b):  # K > 2: + 1/2 (sum b)^2, see _newton_system
        return 0.5 * (w**2).sum(1) + C * _log_loss(x[rows], y, w, b, K) + (0.5 * b.sum(1) ** 2 if K > 2 else 0.0)

    obj = objective(np.arange(m), coef, intercept)
    active = np.arange(m)
    for _ in range(max_iter):
        if active.size == 0:
            break
        w, b = coef[active], intercept[active]
        grad, H = _newton_system(x[active], y, w, b, K, C)
        step = np.linalg.solve(H, grad[:, :, None])[:, :, 0]
        t = np.ones(active.size)
        new = np.empty(active.size)
        todo = np.arange(active.size)  # rows whose step is not accepted yet
        for _ in range(30):  # halve the step where the objective went up
            new[todo] = objective(active[todo], w[todo] - t[todo, None] * step[todo, :F], b[todo] - t[todo, None] * step[todo, F:])
            worse = new[todo] > obj[active[todo]] + 1e-12 * np.abs(obj[active[todo]])
            todo = todo[worse]
            if todo.size == 0:
                break
            t[todo] *= 0.5
        ok = np.ones(active.size, dtype=bool)
        ok[todo] = False
        moved = t[:, None] * step
        coef[active[ok]] -= moved[ok, :F]
        intercept[active[ok]] -= moved[ok, F:]
        obj[active[ok]] = new[ok]
        size = 1 + np.abs(np.concatenate([coef[active], intercept[active]], 1)).max(1)
        active = active[ok & (np.abs(moved).max(1) > tol * size)]
    return coef, intercept, _log_loss(x, y, coef, intercept, K)


def predict_logistic_1d(x: np.ndarray, coef: np.ndarray, intercept: np.ndarray, n_classes: int) -> np.ndarray:
    """(m, n) features -> (m, n) predicted classes of the regressions fitted by fit_logistic_1d."""
    return _logits(np.asarray(x, dtype=np.float64), coef, intercept, n_classes).argmax(2)


def f1_scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """F1 of class 0 (two classes) or macro-F1 (more), for every row of ``y_pred`` (r, n) (or a
    single (n,) prediction -> a 0-d array). A class never true nor predicted scores 0."""
    y_pred = np.asarray(y_pred)
    single = y_pred.ndim == 1
    pred = y_pred[None] if single else y_pred
    classes = [0] if n_classes == 2 else range(n_classes)
    scores = []
    for k in classes:
        t, p = (y_true == k)[None], pred == k
        tp = (t & p).sum(1)
        denom = t.sum() + p.sum(1)
        scores.append(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0))
    out = np.mean(scores, axis=0)
    return out[0] if single else out


class SingleFactorProbe:
    """The one feature (factor) that best separates the classes, with its logistic regression.

    ``fit(X, y)``: X (n, m) activations, y (n,) classes in 0..n_classes-1. Every column that
    varies on X gets a 1-feature logistic regression on its standardised values; the column
    with the best training F1 (:func:`f1_scores`; ties: lower log-loss, then lower index) is
    kept. Attributes: ``factor_`` (int, or None when no column varies: then the majority class
    is predicted), ``mean_``, ``scale_`` (its standardisation), ``coef_`` (F,), ``intercept_``
    (F,), ``train_f1_``, ``majority_``. ``predict(X)`` -> (n,) classes. ``threshold_`` (two
    classes): the activation where the prediction flips (None if it never does), and
    ``above_`` the class predicted above it.
    """

    def __init__(self, n_classes: int, C: float = C):
        self.n_classes = n_classes
        self.C = C

    def fit(self, X: np.ndarray, y: np.ndarray) -> "SingleFactorProbe":
        X = np.asarray(X, dtype=np.float64)
        self.majority_ = int(np.bincount(y, minlength=self.n_classes).argmax())
        sd = X.std(0)
        candidates = np.flatnonzero(sd > 1e-12 * np.maximum(np.abs(X).max(0), 1e-30))
        self.factor_ = None
        self.threshold_ = self.above_ = None
        self.train_f1_ = float(f1_scores(y, np.full(len(y), self.majority_), self.n_classes))
        if candidates.size == 0:
            return self
        mu = X[:, candidates].mean(0)
        Z = ((X[:, candidates] - mu) / sd[candidates]).T  # (c, n)
        # in chunks of ~2M (factor, example) pairs: the Newton steps hold a few (chunk, n, K) arrays
        step = max(1, (1 << 21) // (len(y) * self.n_classes))
        fits = []
        for lo in range(0, len(Z), step):
            w, b, loss = fit_logistic_1d(Z[lo : lo + step], y, self.n_classes, self.C)
            fits.append((w, b, loss, f1_scores(y, predict_logistic_1d(Z[lo : lo + step], w, b, self.n_classes), self.n_classes)))
        coef, intercept, loss, f1 = (np.concatenate(parts) for parts in zip(*fits))
        best = np.lexsort((candidates, loss, -f1))[0]
        self.factor_ = int(candidates[best])
        self.mean_, self.scale_ = float(mu[best]), float(sd[candidates[best]])
        self.coef_, self.intercept_ = coef[best], intercept[best]
        self.train_f1_ = float(f1[best])
        if self.n_classes == 2 and abs(self.coef_[0]) > 1e-12:
            self.threshold_ = self.mean_ - self.scale_ * float(self.intercept_[0] / self.coef_[0])
            self.above_ = 1 if self.coef_[0] > 0 else 0
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if self.factor_ is None:
            return np.full(X.shape[0], self.majority_)
        z = (X[:, self.factor_].astype(np.float64) - self.mean_) / self.scale_
        return predict_logistic_1d(z[None], self.coef_[None], self.intercept_[None], self.n_classes)[0]


def raw_state_probe() -> Any:
    """The ceiling: StandardScaler + LogisticRegression(C=1) on the whole hidden state."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))


def two_fold_split(y: np.ndarray, seed: int) -> np.ndarray:
    """(n,) fold ids 0/1, stratified: each class's examples shuffled (seeded) and alternated."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(y), dtype=np.int64)
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        folds[idx] = np.arange(len(idx)) % 2
    return folds


def swapped_scores(make: Any, X: np.ndarray, y: np.ndarray, folds: np.ndarray, n_classes: int) -> tuple[float, list[Any], list[float]]:
    """Fit ``make()`` on each fold, score F1 on the other: (mean F1, [fitted (2)], [F1 (2)])."""
    fitted, scores = [], []
    for fold in (0, 1):
        train, test = folds == fold, folds != fold
        model = make().fit(X[train], y[train])
        fitted.append(model)
        scores.append(float(f1_scores(y[test], model.predict(X[test]), n_classes)))
    return float(np.mean(scores)), fitted, scores


class _Majority:
    """Predicts the most frequent training class (the baseline)."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "_Majority":
        self.majority_ = int(np.bincount(y).argmax())
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.majority_)
