"""Time every stage of a build, cold cache then warm cache, side by side.

    python bench/build.py [--preset quick|default|full] [--model NAME|PATH] [--corpus PATH|SET]

e.g. ``python bench/build.py --model dinov2 --preset default`` for the vision build.
Prints one table: stage, cold seconds, warm seconds; then the site size and peak RSS.
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

from tfvis_site.pipeline import build  # noqa: E402
from tfvis_site.config import resolve  # noqa: E402
from tfvis_site.progress import Reporter  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="quick", choices=("quick", "default", "full"))
    parser.add_argument("--model", type=Path)
    parser.add_argument("--corpus", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        flags = {"preset": args.preset, "model": args.model, "corpus": args.corpus, "out": Path(tmp) / "site", "cache_dir": Path(tmp) / "cache"}
        config = resolve(None, flags)
        runs = []
        for label in ("cold", "warm"):
            start = time.perf_counter()
            result = build(config, Reporter.silent())
            runs.append((label, time.perf_counter() - start, result.timings))
        size = sum(p.stat().st_size for p in (Path(tmp) / "site").rglob("*") if p.is_file())
        data_size = sum(p.stat().st_size for p in (Path(tmp) / "site" / "data").rglob("*") if p.is_file())

    model = f" --model {args.model}" if args.model else ""
    table = Table(title=f"tfvis-site build{model} --preset {args.preset} (seconds; {os.cpu_count()} cores)")
    table.add_column("stage")
    table.add_column("cold cache", justify="right")
    table.add_column("warm cache", justify="right")
    for stage in runs[0][2]:
        table.add_row(stage, f"{runs[0][2][stage]:.1f}", f"{runs[1][2].get(stage, 0):.1f}")
    table.add_row("total (wall)", f"{runs[0][1]:.1f}", f"{runs[1][1]:.1f}", style="bold")
    table.add_row("warm / cold", "", f"{runs[1][1] / runs[0][1]:.2f}")
    Console().print(table)
    print(f"site size: {size / 2**20:.1f} MiB (data/ with .js twins: {data_size / 2**20:.1f} MiB)")
    # ru_maxrss is in KiB on Linux: the peak of this process, i.e. of the cold build.
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    sys.exit(main())
