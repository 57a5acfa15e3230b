"""Time every stage of a build, cold cache then warm cache, side by side; or this checkout
against another git revision.

    python bench/build.py [--preset quick|default|full] [--model NAME|PATH ...] [--corpus PATH|SET] [--keep-cache DIR]
    python bench/build.py --against REV [--repeat N] [--preset ...] [--model ...] [--corpus ...]

e.g. ``python bench/build.py --model dinov2 --preset default`` for the vision build, or
``--model minilm --model smollm2 --model dinov2 --preset quick`` for a site of three models.
Prints one table: stage (per model when there are several: "slug: stage"), cold seconds, warm
seconds; then the site size and peak RSS. The cache is a fresh temporary folder (so the cold build
is cold) unless --keep-cache names a new folder to leave it in, for studies of a later stage on
the same activations.

``--against REV`` builds the same site at REV (a ``git worktree add --detach`` of it in a temporary
folder, run with PYTHONPATH at that worktree's generator/) and at this checkout, alternately
(REV, this, REV, this, ... ``--repeat`` N times each, so that a machine's changing load hits both
alike), each as ``tfvis-site build --quiet`` in a child process with a fresh cache, and prints one
table: every stage's seconds (the build's own line "Built ... in Ts (stage Xs, ...)"), the wall
time, the child's peak RSS (``os.wait4``'s ru_maxrss: the build process or the largest worker it
waited for), the site's size and that of its data/ folders, for REV and this checkout (the median
over the repeats) and their ratio this / REV.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
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

REPO = Path(__file__).resolve().parents[1]
#: The CLI's closing line (cli.py _build): "Built DIR in 12.3s (extract 1.0s, factors 2.0s, ...)".
BUILT = re.compile(r"^Built .* in ([0-9.]+)s \((.*)\)$", re.M)


def site_sizes(site: Path) -> tuple[int, int]:
    """Bytes of every file of a built site, and of its models' data/ folders."""
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    data = sum(p.stat().st_size for p in site.glob("models/*/data/**/*") if p.is_file())
    return size, data


def build_child(tree: Path, flags: list[str], work: Path) -> dict[str, float]:
    """``tfvis-site build`` with the package of ``tree`` in a child process, fresh cache: its stage
    seconds, wall seconds, peak RSS (GiB) and site sizes (MiB); the site and cache are deleted."""
    site, cache, log = work / "site", work / "cache", work / "build.log"
    env = {**os.environ, "PYTHONPATH": str(tree / "generator"), "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "tfvis_site", "build", *flags, "--out", str(site), "--cache-dir", str(cache), "--quiet"]
    start = time.perf_counter()
    with open(log, "w") as out:
        child = subprocess.Popen(command, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    found = BUILT.search(text)
    if child.returncode != 0 or not found:
        sys.exit(f"build in {tree} failed (exit {child.returncode}): {text.strip().splitlines()[-3:]}")
    row = {f"stage: {k}": float(v[:-1]) for k, v in (part.rsplit(" ", 1) for part in found.group(2).split(", "))}
    size, data = site_sizes(site)
    row.update({"total (the build's own)": float(found.group(1)), "wall (s)": wall, "peak RSS (GiB)": usage.ru_maxrss / 2**20,
                "site size (MiB)": size / 2**20, "data/ size (MiB)": data / 2**20})
    shutil.rmtree(site, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return row


def against(rev: str, flags: list[str], repeat: int, title: str) -> None:
    """Build at REV and at this checkout alternately, ``repeat`` times each; print one table."""
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        tmp = Path(tmp)
        tree = tmp / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), rev], cwd=REPO, check=True)
        commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()
        here = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()
        runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        try:
            for i in range(repeat):
                for side, source in (("before", tree), ("after", REPO)):
                    work = tmp / f"{side}-{i}"
                    work.mkdir()
                    print(f"build {i + 1}/{repeat} at {rev if side == 'before' else 'this checkout'} ...", file=sys.stderr, flush=True)
                    runs[side].append(build_child(source, flags, work))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False)
    print(f"{title}: {rev} ({commit}) vs this checkout ({here}{', modified' if dirty() else ''}); median of {repeat} builds each, alternated, fresh cache each; {os.cpu_count()} cores")
    table = Table()
    for column, justify in (("measure", "left"), (f"{rev}", "right"), ("this checkout", "right"), ("this / REV", "right")):
        table.add_column(column, justify=justify)
    keys = list(dict.fromkeys(k for side in ("before", "after") for r in runs[side] for k in r))
    stages = [k for k in keys if k.startswith("stage: ")]
    for key in stages + [k for k in keys if not k.startswith("stage: ")]:
        old = [r[key] for r in runs["before"] if key in r]
        new = [r[key] for r in runs["after"] if key in r]
        a = statistics.median(old) if old else None
        b = statistics.median(new) if new else None
        ratio = f"{b / a:.2f}" if a and b is not None else ""
        digits = 2 if "GiB" in key else 1
        table.add_row(key, "-" if a is None else f"{a:.{digits}f}", "-" if b is None else f"{b:.{digits}f}", ratio,
                      style="bold" if not key.startswith("stage: ") else None)
    Console(width=160).print(table)


def dirty() -> bool:
    return bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True).stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="quick", choices=("quick", "default", "full"))
    parser.add_argument("--model", type=Path, action="append", help="repeat for a site of several models")
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--keep-cache", type=Path, help="a new folder: the build's cache is left there")
    parser.add_argument("--against", metavar="REV", help="build at this git revision too and compare (a temporary worktree); see above")
    parser.add_argument("--repeat", type=int, default=1, help="with --against: builds per side, alternated (default: 1)")
    args = parser.parse_args()
    if args.against:
        if args.keep_cache:
            parser.error("--keep-cache: not with --against (every build there has a fresh cache, deleted after it)")
        # the builds run in their own trees: a path given here is made absolute (a built-in name stays)
        path = lambda p: str(p.resolve()) if p.exists() else str(p)  # noqa: E731
        flags = ["--preset", args.preset, *(["--corpus", path(args.corpus)] if args.corpus else []), *(x for m in args.model or [] for x in ("--model", path(m)))]
        models = "".join(f" --model {m}" for m in args.model or [])
        return against(args.against, flags, max(1, args.repeat), f"tfvis-site build{models} --preset {args.preset}")
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
