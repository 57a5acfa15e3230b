"""Time every stage of a build, cold cache then warm cache, side by side.

    python bench/build.py [--preset quick|default|full] [--model NAME|PATH ...] [--corpus PATH|SET] [--keep-cache DIR]

e.g. ``python bench/build.py --model dinov2 --preset default`` for the vision build, or
``--model minilm --model smollm2 --model dinov2 --preset quick`` for a site of three models.
Prints one table: stage (per model when there are several: "slug: stage"), cold seconds, warm
seconds; then the site size and peak RSS. The cache is a fresh temporary folder (so the cold build
is cold) unless --keep-cache names a new folder to leave it in, for studies of a later stage on
the same activations.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from tfvis_site.run.build import build  # noqa: E402
from tfvis_site.run.config import model_flags, resolve  # noqa: E402
from tfvis_site.progress import Reporter  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="quick", choices=("quick", "default", "full"))
    parser.add_argument("--model", type=Path, action="append", help="repeat for a site of several models")
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--keep-cache", type=Path, help="a new folder: the build's cache is left there")
    args = parser.parse_args()
    if args.keep_cache and args.keep_cache.exists():
        parser.error(f"--keep-cache {args.keep_cache}: already exists (the cold build needs an empty cache)")
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        flags = {"preset": args.preset, "corpus": args.corpus, "out": site, "cache_dir": args.keep_cache or Path(tmp) / "cache", **model_flags(args.model)}
        config = resolve(None, flags)
        runs = []
        for label in ("cold", "warm"):
            start = time.perf_counter()
            result = build(config, Reporter.silent())
            runs.append((label, time.perf_counter() - start, result))
        size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
        data_size = sum(p.stat().st_size for p in site.glob("models/*/data/**/*") if p.is_file())

    models = "".join(f" --model {m}" for m in args.model or [])
    table = Table(title=f"tfvis-site build{models} --preset {args.preset} (seconds; {os.cpu_count()} cores)")
    table.add_column("stage")
    table.add_column("cold cache", justify="right")
    table.add_column("warm cache", justify="right")
    cold, warm = runs[0][2], runs[1][2]
    several = len(cold.models) > 1
    for slug, model in cold.models.items():
        for stage, seconds in model.timings.items():
            table.add_row(f"{slug}: {stage}" if several else stage, f"{seconds:.1f}", f"{warm.models[slug].timings.get(stage, 0):.1f}")
    table.add_row("pages (every model + gallery)", f"{cold.timings['pages']:.1f}", f"{warm.timings['pages']:.1f}")
    table.add_row("total (wall)", f"{runs[0][1]:.1f}", f"{runs[1][1]:.1f}", style="bold")
    table.add_row("warm / cold", "", f"{runs[1][1] / runs[0][1]:.2f}")
    Console().print(table)
    print(f"site size: {size / 2**20:.1f} MiB (models/*/data/ with .js twins: {data_size / 2**20:.1f} MiB)")
    # ru_maxrss is in KiB on Linux: the peak of this process, i.e. of the cold build; for the
    # worker processes (per-head projections) the kernel keeps only the largest one's peak.
    main_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(f"peak RSS: {main_peak:.2f} GiB (largest worker process: {worker_peak:.2f} GiB)")


if __name__ == "__main__":
    sys.exit(main())
