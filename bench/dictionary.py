"""Dictionary learning: quality vs wall time for our two methods and scikit-learn's.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/dictionary.py [--budgets 5,10,20,40] [--real]

Methods: "fista-dl" (DictionaryLearner: FISTA codes + Hessian-diagonal dictionary steps),
"topk-sae" (TopKSAE), and scikit-learn's MiniBatchDictionaryLearning(positive_code=True,
fit_algorithm="cd"), each stopped at the same wall-time budgets (snapshots of the dictionary
taken when a budget is crossed). Quality on held-out vectors: planted recovery (share of true
atoms with max cosine > 0.9; planted data only), FVU = sum||x - x_hat||^2 / sum||x - mean||^2,
mean L0, dead fraction (never active on the held-out set). Each method codes with its own
transform (lasso for the dictionary learners, the encoder for the SAE). All on 2 threads.
With --real: MiniLM states of all 7 layers pooled, centre-scaled per layer (as the build does).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))


class _Stop(Exception):
    pass


def _snapshots(fit, budgets):
    """Runs fit(callback) and returns {budget: (components, estimator-state)} at each budget."""
    snaps = {}
    t0 = time.perf_counter()
    todo = sorted(budgets)

    def cb(step, est):
        el = time.perf_counter() - t0
        while todo and el >= todo[0]:
            snaps[todo.pop(0)] = _freeze(est)
        if not todo:
            raise _Stop

    est = None
    try:
        est = fit(cb)
    except _Stop:
        pass
    return snaps


def _freeze(est):
    import copy

    e = copy.copy(est)
    for name in ("components_", "W_enc_", "b_enc_", "b_dec_"):
        if hasattr(est, name):
            setattr(e, name, np.array(getattr(est, name)))
    e.callback = None
    return e


def _evaluate(est, X, D_true, kind):
    if kind == "sklearn":
        A = est.transform(X)
        Xh = A @ est.components_
    elif kind == "topk-sae":
        A = est.transform(X)
        Xh = est.inverse_transform(A)
    else:
        A = est.transform(X)
        Xh = A @ est.components_
    fvu = float(((X - Xh) ** 2).sum() / ((X - X.mean(0)) ** 2).sum())
    from tfvis_site.analysis.factors import max_cosine_recovery

    rec = max_cosine_recovery(D_true, est.components_) if D_true is not None else float("nan")
    return rec, fvu, float((A > 0).sum(1).mean()), float(((A > 0).sum(0) == 0).mean())


def main() -> None:
    from sklearn.decomposition import MiniBatchDictionaryLearning

    from tfvis_site.analysis.factors import DictionaryLearner, TopKSAE, planted_problem

    ap = argparse.ArgumentParser()
    ap.add_argument("--budgets", default="5,10,20,40")
    ap.add_argument("--real", action="store_true")
    ap.add_argument("--m", type=int, default=None)
    ap.add_argument("--alpha", type=float, default=None)
    ap.add_argument("--k", type=int, default=None)
    args = ap.parse_args()
    budgets = [float(b) for b in args.budgets.split(",")]
    torch.set_num_threads(2)
    if args.real:
        from sparse_coding import real_store

        from tfvis_site.analysis.factors.statistics import layer_stats, make_transform
        from tfvis_site.progress import Reporter

        store = real_store(int(os.environ.get("TFVIS_BENCH_SENTENCES", "4000")))
        mean, scale = make_transform(layer_stats(store, Reporter.silent()), "center-scale")
        rng = np.random.default_rng(0)
        parts = []
        for layer in range(store.info.n_layers + 1):
            rows = np.sort(rng.choice(store.n_tokens, 60000 // (store.info.n_layers + 1), replace=False))
            parts.append((np.asarray(store.hidden(layer)[rows]) - mean[layer]) / scale[layer])
        X = np.concatenate(parts).astype(np.float32)
        X = X[rng.permutation(len(X))]
        D_true = None
        m, alpha, k = args.m or 1536, args.alpha or 0.1, args.k or 24
        name = "minilm (7 layers, centre-scaled)"
    else:
        m, alpha, k = args.m or 256, args.alpha or 0.05, args.k or 6
        X, D_true, _ = planted_problem(40000, 128, m, 5, noise=0.05, seed=3)
        name = f"planted d=128 m={m} 5 active"
    X_train, X_test = X[:-4000], X[-4000:]
    print(f"# {name}; train {len(X_train)}, held out {len(X_test)}; m={m}, alpha={alpha}, sae k={k}; budgets {budgets} s")
    big = 10**9
    methods = {
        "fista-dl hessian": (lambda cb: DictionaryLearner(m, alpha=alpha, n_steps=big, batch_size=1024, lr=0.3,
                                                          update="hessian", fit_tol=3e-2, callback=cb).fit(X_train), "dl"),
        "fista-dl sgd": (lambda cb: DictionaryLearner(m, alpha=alpha, n_steps=big, batch_size=1024, lr=10.0,
                                                      update="sgd", fit_tol=3e-2, callback=cb).fit(X_train), "dl"),
        "topk-sae": (lambda cb: TopKSAE(m, k=k, n_steps=big, batch_size=1024, callback=cb).fit(X_train), "topk-sae"),
    }

    def sk_fit(cb):
        est = MiniBatchDictionaryLearning(m, alpha=alpha, batch_size=1024, positive_code=True, fit_algorithm="cd",
                                          transform_algorithm="lasso_cd", transform_alpha=alpha, random_state=0)
        rng = np.random.default_rng(0)
        step = 0
        while True:
            est.partial_fit(X_train[rng.integers(0, len(X_train), 1024)])
            cb(step, est)
            step += 1

    methods["sklearn MiniBatchDL"] = (sk_fit, "sklearn")
    rows = []
    for label, (fit, kind) in methods.items():
        snaps = _snapshots(fit, budgets)
        for b in budgets:
            if b in snaps:
                rows.append((label, b, *_evaluate(snaps[b], X_test, D_true, kind)))
        print(f"# done {label}", flush=True)
    print(f"{'method':22s} {'budget s':>8s} {'recovery':>9s} {'FVU':>7s} {'L0':>7s} {'dead':>6s}")
    for label, b, rec, fvu, l0, dead in rows:
        print(f"{label:22s} {b:8.0f} {rec:9.3f} {fvu:7.3f} {l0:7.1f} {dead:6.3f}")


if __name__ == "__main__":
    main()
