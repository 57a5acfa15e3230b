"""The factor stage's TopK SAE with the dense and the sparse encoder backward (TopKSAE(sparse=...),
factors/learn._TopKEncoder), per step and for a whole fit, side by side in one run so the
ratios share the machine's state.

    python bench/sparse_sae.py [--widths 384,576] [--pairs 5] [--steps 30] [--fit-steps -1]

Data: n_train = 200,000 Gaussian vectors per width (the default FactorConfig's sample) with a few
dimensions 10x larger, like bench/sae_scaling.py (a step's time does not depend on the values);
m, k and the batch from the default FactorConfig (3,072, 24, 1,024). Widths: 384 (MiniLM, the
default model) and 576 (SmolLM2).

Per step: ``--pairs`` pairs of short fits of ``--steps`` steps, dense then sparse (A B A B), after
one short warm-up fit of each; each fit's loop seconds (fit_seconds_) / steps. Prints the median
of each and the median of the pairs' ratios dense / sparse.
Full fit: one dense and one sparse fit of the default preset's SAE steps for that width
(budget.py: 3,000 at d 384, 2,449 at d 576; ``--fit-steps N`` for N, 0 to skip), their ratio,
each one's FVU on 20,000 held-out vectors, and the largest difference between the two
dictionaries (components_, unit rows). Over thousands of steps that difference is not float
rounding any more: TopK training is chaotic (a latent that wins the top k by one ulp in one
path and not in the other changes every later step), so the dense path drifts as far from
itself when its input is scaled by 1 + 1e-7; the FVUs say whether the two fits are equally good.
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from tfvis_site.analysis.factors import FactorConfig  # noqa: E402
from tfvis_site.analysis.factors.learn import TopKSAE  # noqa: E402
from tfvis_site.run.budget import ModelCost, scaled_sizes  # noqa: E402


def fit(X: np.ndarray, sparse: bool, steps: int) -> TopKSAE:
    cfg = FactorConfig()
    return TopKSAE(cfg.n_components, k=cfg.sae_k, n_steps=steps, batch_size=cfg.batch_size, lr=cfg.sae_lr,
                   random_state=cfg.seed, sparse=sparse).fit(X)


def fvu(est: TopKSAE, X: np.ndarray) -> float:
    """Fraction of variance unexplained: sum ||x - x_hat||^2 / sum ||x - mean||^2 over X (n, d)."""
    err = sum(float(((x - est.inverse_transform(est.transform(x))) ** 2).sum()) for x in np.array_split(X, len(X) // 2048))
    return err / float(((X - X.mean(0)) ** 2).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", default="384,576", help="comma-separated d_model")
    parser.add_argument("--pairs", type=int, default=5, help="dense/sparse pairs of short fits per width")
    parser.add_argument("--steps", type=int, default=30, help="steps of each short fit")
    parser.add_argument("--fit-steps", type=int, default=-1, help="steps of the full fits (-1: the default preset's for the width, 0: none)")
    args = parser.parse_args()
    cfg = FactorConfig()
    table = Table(title=f"TopK SAE dense vs sparse encoder backward (m = {cfg.n_components:,}, k = {cfg.sae_k}, batch {cfg.batch_size:,}, "
                        f"n_train {cfg.n_train:,}; {torch.get_num_threads()} threads, {os.cpu_count()} cores)")
    # ratio: dense / sparse, the median of the pairs'; max |dD|: largest |D_dense - D_sparse| after the full fits
    for column in ("d", "dense ms/step", "sparse ms/step", "ratio", "fit steps", "dense fit s", "sparse fit s", "fit ratio",
                   "dense FVU", "sparse FVU", "max |dD|"):
        table.add_column(column, justify="right")
    for d in (int(w) for w in args.widths.split(",")):
        X = np.random.default_rng(0).standard_normal((cfg.n_train + 20_000, d), dtype=np.float32)
        X[:, : d // 64 + 1] *= 10.0
        X, held_out = X[: cfg.n_train], X[cfg.n_train :]
        fit(X, False, 5), fit(X, True, 5)  # warm-up: allocations, thread pools
        dense, sparse = [], []
        for _ in range(args.pairs):
            dense.append(fit(X, False, args.steps).fit_seconds_ / args.steps)
            sparse.append(fit(X, True, args.steps).fit_seconds_ / args.steps)
        ratio = statistics.median(a / b for a, b in zip(dense, sparse))
        row = [f"{d}", f"{statistics.median(dense) * 1e3:.1f}", f"{statistics.median(sparse) * 1e3:.1f}", f"{ratio:.2f}"]
        n = args.fit_steps if args.fit_steps >= 0 else scaled_sizes(ModelCost(0.0, 0, d), {"sae_n_steps": cfg.sae_n_steps})["sae_n_steps"]
        if n:
            a, b = fit(X, False, n), fit(X, True, n)
            row += [f"{n:,}", f"{a.fit_seconds_:.1f}", f"{b.fit_seconds_:.1f}", f"{a.fit_seconds_ / b.fit_seconds_:.2f}",
                    f"{fvu(a, held_out):.4f}", f"{fvu(b, held_out):.4f}", f"{np.abs(a.components_ - b.components_).max():.1e}"]
        table.add_row(*row)
        print(" | ".join(row), flush=True)  # each width as it finishes (a full run takes minutes)
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
