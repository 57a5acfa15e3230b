"""What SAE training costs against the size of its training sample, and per step against the
dictionary width: the measurements behind docs/scale.md's choice of one trainer reading a
sample from every shard over Ray Train's data-parallel TorchTrainer.

    python bench/sae_scaling.py [--d 384] [--m 3072] [--k 24] [--steps 200] [--batch 1024]

Data: Gaussian vectors of width d with a few dimensions 10x larger (like the outlier
dimensions of transformer states; the time of a step does not depend on the values), the build's TopK SAE (factors/learn.TopKSAE) on this machine's CPU. Prints two tables:
fit seconds for n_train = 25k .. 200k samples at a fixed number of steps (the build's sample is
drawn once, then every step reads one batch of it), and seconds per step and effective GFLOP/s
for m = 768 .. 3072 (FLOPs per step: 2 x 2·B·d·m for the encoder's matmul forward and its
weight gradient, plus the k-sparse decoder).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from tfvis_site.analysis.factors.learn import TopKSAE  # noqa: E402


def sae_step_flops(batch: int, d: int, m: int, k: int) -> float:
    """FLOPs of one training step of factors/learn.TopKSAE: encoder (B, d) @ (d, m) forward and
    its weight gradient (the data needs no gradient): 2 x 2·B·d·m; the decoder is an
    embedding_bag over the k chosen rows, forward and backward: 3 x 2·B·k·d."""
    return 2 * 2.0 * batch * d * m + 3 * 2.0 * batch * k * d


def fit_seconds(X: np.ndarray, m: int, k: int, steps: int, batch: int) -> float:
    sae = TopKSAE(m, k=k, n_steps=steps, batch_size=batch, random_state=0)
    t0 = time.perf_counter()
    sae.fit(X)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--d", type=int, default=384)
    parser.add_argument("--m", type=int, default=3072)
    parser.add_argument("--k", type=int, default=24)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1024)
    args = parser.parse_args()
    console = Console()
    X_all = np.random.default_rng(0).standard_normal((200_000, args.d), dtype=np.float32)
    X_all[:, : args.d // 64 + 1] *= 10.0

    table = Table(title=f"TopK SAE fit vs training sample (d={args.d}, m={args.m}, k={args.k}, {args.steps} steps of {args.batch}; {torch.get_num_threads()} threads)")
    for column in ("n_train", "sample MB (fp32)", "fit s", "s / step", "epochs seen"):
        table.add_column(column, justify="right")
    for n in (25_000, 50_000, 100_000, 200_000):
        X = X_all[:n]
        seconds = fit_seconds(X, args.m, args.k, args.steps, args.batch)
        table.add_row(f"{n:,}", f"{X.nbytes / 2**20:.0f}", f"{seconds:.1f}", f"{seconds / args.steps * 1e3:.1f} ms", f"{args.steps * args.batch / n:.2f}")
    console.print(table)

    table = Table(title=f"TopK SAE cost per step vs width (d={args.d}, k={args.k}, batch {args.batch}, n_train 100,000)")
    for column in ("m", "s / step", "GFLOP / step", "GFLOP/s", "params MB (W_enc + D, fp32)"):
        table.add_column(column, justify="right")
    X = X_all[:100_000]
    for m in (768, 1536, 3072):
        steps = max(20, args.steps * 768 // m)
        seconds = fit_seconds(X, m, args.k, steps, args.batch) / steps
        flops = sae_step_flops(args.batch, args.d, m, args.k)
        table.add_row(f"{m:,}", f"{seconds * 1e3:.1f} ms", f"{flops / 1e9:.2f}", f"{flops / seconds / 1e9:.1f}", f"{2 * args.d * m * 4 / 2**20:.1f}")
    console.print(table)


if __name__ == "__main__":
    main()
