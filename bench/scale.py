"""Time and peak memory of every stage of a build, per execution path, in one table.

    python bench/scale.py [--n-sentences N] [--max-tokens 64] [--preset default]
                          [--memory-budget 4G] [--store-dtype float16] [--work /tmp/scale]
                          [--only single-process]

Each path (RUNS below) builds the same site in a fresh child process with its own cache
folder under --work (cold on the first run: delete --work to measure again; a build that was
killed resumes there from its finished shards); the
child samples the resident set of its whole process tree (itself and every descendant: worker
processes, a local Ray instance) every 50 ms and attributes each sample to the running stage.
Prints per path and stage: seconds, peak RSS (GB), tokens/s (the corpus's tokens over the
stage's time); then per path the whole build; the last line compares the last path with the
first. ``--n-sentences 0`` is the whole corpus (the million-token build at --max-tokens 64).
bench/gpu.py prints the same table for ``--device cuda``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

#: Execution paths: name -> extra build options (flags as ``tfvis-site build`` takes them).
RUNS: dict[str, list[str]] = {
    "single-process": [],
    # ---- Ray executor rows (bench owner: the ray helper): a local Ray instance started by the
    # build (workers + 1 logical CPUs), extraction and inference shards on actors, LIME sentences
    # on actors, head projections as tasks; the sampled tree includes raylet, GCS and workers.
    "ray, 1 worker": ["--executor", "ray", "--workers", "1"],
    "ray, 2 workers": ["--executor", "ray", "--workers", "2"],
    # ---- end of the Ray rows
}

PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root: int) -> int:
    """Bytes resident in process ``root`` and all its descendants (from /proc)."""
    parent_of: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                parent_of[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parent_of.items() if parent == pid and p not in tree]
        tree.update(children)
        frontier += children
    total = 0
    for pid in tree:
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total


class StageSampler:
    """Peak tree RSS per stage: a thread samples every ``interval`` s; ``stage`` is the running one."""

    def __init__(self, interval: float = 0.05):
        self.stage = "setup"
        self.peaks: dict[str, int] = {}
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pid = os.getpid()
        while not self._stop.is_set():
            rss = tree_rss(pid)
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0), rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> "StageSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def child(flags: list[str]) -> dict:
    """Run one build in this process (the child), stages tracked; returns the measurements."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tfvis_site.run import build as pipeline
    from tfvis_site.cli import make_parser
    from tfvis_site.run.config import model_flags, resolve
    from tfvis_site.progress import Reporter

    args = make_parser().parse_args(["build", *flags])
    options = {k: v for k, v in vars(args).items() if k not in ("command", "config", "quiet", "lime", "model")}
    if args.lime:
        options["lime"] = {"coverage": args.lime}
    config = resolve(args.config, {**options, **model_flags(args.model)})
    sampler = StageSampler()
    original = pipeline.StageTimer.__call__

    @contextlib.contextmanager
    def tracked(self, stage: str):
        sampler.stage = stage
        with original(self, stage):
            yield
        sampler.stage = "between stages"

    pipeline.StageTimer.__call__ = tracked
    start = time.perf_counter()
    with sampler:
        result = pipeline.build(config, Reporter.silent())
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {
        "tokens": result.manifest["corpus"]["tokens"],
        "sentences": result.manifest["corpus"]["sentences"],
        "seconds": seconds,
        "stages": {stage: {"seconds": t, "peak_rss": sampler.peaks.get(stage, 0)} for stage, t in result.timings.items()},
        "peak_rss": max(max(sampler.peaks.values(), default=0), own),
        "peak_rss_self": own,
        "peak_rss_children": children,
    }


def run_path(flags: list[str]) -> dict:
    """One build in a fresh child process (its own peak RSS, a cold start)."""
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(flags)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"build {' '.join(flags)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_table(results: dict[str, dict], title: str) -> None:
    """Per path and stage: seconds, peak RSS, tokens/s; per path the whole build; the ratio of
    the last path's tokens/s to the first's on the last line."""
    gb = 1 << 30
    print(title)
    print(f"{'path':<20} {'stage':<16} {'seconds':>9} {'peak RSS GB':>12} {'tokens/s':>10}")
    for name, r in results.items():
        for stage, s in r["stages"].items():
            rate = r["tokens"] / s["seconds"] if s["seconds"] > 0 else float("inf")
            print(f"{name:<20} {stage:<16} {s['seconds']:>9.1f} {s['peak_rss'] / gb:>12.2f} {rate:>10.0f}")
        print(f"{name:<20} {'whole build':<16} {r['seconds']:>9.1f} {r['peak_rss'] / gb:>12.2f} {r['tokens'] / r['seconds']:>10.0f}")
    names = list(results)
    first, last = results[names[0]], results[names[-1]]
    ratio = (last["tokens"] / last["seconds"]) / (first["tokens"] / first["seconds"])
    print(f"ratio tokens/s, {names[-1]} / {names[0]}: {ratio:.2f}")


def build_flags(args: argparse.Namespace, work: Path, name: str) -> list[str]:
    slug = name.replace(" ", "").replace(",", "-")
    flags = ["--quiet", "--preset", args.preset, "--n-sentences", str(args.n_sentences), "--max-tokens", str(args.max_tokens),
             "--out", str(work / f"site-{slug}"), "--cache-dir", str(work / f"cache-{slug}"), "--device", args.device]
    for option in ("memory_budget", "store_dtype", "config", "model", "corpus"):
        if getattr(args, option):
            flags += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    return flags


def parser(description: str = __doc__) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--preset", default="default", choices=("quick", "default", "full"))
    p.add_argument("--n-sentences", type=int, default=4000, help="corpus texts (0 = all: 1.08 M tokens at --max-tokens 64)")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--memory-budget")
    p.add_argument("--store-dtype", choices=("float32", "float16"))
    p.add_argument("--config", help="a TOML file of further options, e.g. shard_tokens = 8192 (several store shards give Ray's actors work each)")
    p.add_argument("--model")
    p.add_argument("--corpus")
    p.add_argument("--device", default="cpu")
    p.add_argument("--work", type=Path, default=Path("/tmp/tfvis-scale"), help="sites and caches go here")
    p.add_argument("--only", action="append", help="run only these paths (names of RUNS)")
    return p


def main(argv: list[str] | None = None, device: str | None = None, title: str = "tfvis-site build, single process vs Ray") -> None:
    args = parser().parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child))))
        return
    if device is not None:
        args.device = device
    args.work.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, extra in RUNS.items():
        if args.only and name not in args.only:
            continue
        results[name] = run_path(build_flags(args, args.work, name) + extra)
        print(f"{name}: {results[name]['seconds']:.0f} s", file=sys.stderr)
    print_table(results, f"{title}: --preset {args.preset} --n-sentences {args.n_sentences} --max-tokens {args.max_tokens} "
                f"--device {args.device}{' --store-dtype ' + args.store_dtype if args.store_dtype else ''} ({os.cpu_count()} cores, "
                f"{next(iter(results.values()))['tokens']:,} tokens)")


if __name__ == "__main__":
    main()
