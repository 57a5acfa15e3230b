"""The factor stage's SAE steps against its quality and time, side by side on one build's
activations: the measurement behind budget.py shrinking the steps for wider models.

    python bench/build.py --model smollm2 --preset default --keep-cache CACHE
    python bench/sae_steps.py CACHE [--steps 3000,2449] [--massive-ratio 10] [--precision fp32,bf16]

Runs the whole factor stage (factors.learn_factors: layer statistics, SAE training, inference
over every token and layer) on the cache's text activation store, once per step count in the
order given, with the default preset's FactorConfig and only ``sae_n_steps`` changed
(``--massive-ratio 0``: keep the massive activations, as builds before it did); with
``--precision``, each step count once per SAE precision (``sae_precision``, in the order given).
Prints one table: steps, precision, learn s, stage s, FVU (preprocessed units, all layers
pooled), FVU in the model's own units, dead and dense fractions, and each row's time and FVU
relative to the first.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from tfvis_site.capture.extract import ActivationStore  # noqa: E402
from tfvis_site.analysis.factors import FactorConfig, learn_factors  # noqa: E402
from tfvis_site.progress import Reporter  # noqa: E402


def only(folder: Path, what: str) -> Path:
    """The one finished folder of a kept cache's stage (``folder``, e.g. CACHE/extract); hidden
    ones are unfinished. Exits with a one-line error when there is not exactly one."""
    found = sorted(p for p in folder.glob("*") if p.is_dir() and not p.name.startswith("."))
    if len(found) != 1:
        sys.exit(f"{folder}: expected one {what}, found {len(found)} (build one model into a new --keep-cache folder)")
    return found[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cache", type=Path, help="a build's cache folder (bench/build.py --keep-cache)")
    parser.add_argument("--steps", default="3000,2449", help="comma-separated SAE step counts")
    parser.add_argument("--massive-ratio", type=float, default=FactorConfig().massive_ratio, help="FactorConfig.massive_ratio (0 keeps every state)")
    parser.add_argument("--precision", default="auto", help="comma-separated FactorConfig.sae_precision values (auto, fp32, bf16)")
    args = parser.parse_args()
    store = ActivationStore(only(args.cache / "extract", "activation store"))
    steps = [int(s) for s in args.steps.split(",")]
    precisions = args.precision.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in steps:
            for precision in precisions:
                start = time.perf_counter()
                config = FactorConfig.for_preset("default", sae_n_steps=n, massive_ratio=args.massive_ratio, sae_precision=precision)
                result = learn_factors(store, config, Path(tmp) / f"{n}-{precision}", Reporter.silent())
                rows.append((n, config.sae_precision, time.perf_counter() - start, result.metrics))

    info = store.info
    table = Table(title=f"factor stage vs SAE steps: {store.n_tokens:,} tokens x {info.n_layers + 1} layers, d = {info.d_model} "
                        f"(m = {FactorConfig().n_components}, k = {FactorConfig().sae_k}, massive_ratio {args.massive_ratio:g}; {os.cpu_count()} cores)")
    for column in ("SAE steps", "precision", "learn s", "stage s", "stage / first", "FVU", "FVU / first", "FVU original units", "dead", "dense", "set aside"):
        table.add_column(column, justify="right")
    first_seconds, first_fvu = rows[0][2], rows[0][3]["quality"]["overall"]["fvu"]
    for n, precision, seconds, metrics in rows:
        q = metrics["quality"]["overall"]
        table.add_row(f"{n:,}", precision, f"{metrics['timings']['learn']:.1f}", f"{seconds:.1f}", f"{seconds / first_seconds:.2f}", f"{q['fvu']:.4f}",
                      f"{q['fvu'] / first_fvu:.3f}", f"{q['fvu_original']:.4f}", f"{q['dead_fraction']:.1%}", f"{q['dense_fraction']:.1%}",
                      f"{q.get('massive', 0):,}")
    Console().print(table)


if __name__ == "__main__":
    sys.exit(main())
