"""One build three ways in one run: single process, Ray with 1 local worker, Ray with 2 local
workers; tokens/s and peak memory per stage, and the ratio on the last line.

    python bench/scale_ray.py [--n-sentences 2000] [--preset quick] [--model NAME|PATH]

Each build runs in a fresh interpreter with a cold cache of its own (tfvis-site build
--executor ...), watched from this process: every 0.2 s the resident memory of the build's
whole process tree (the driver, and for Ray its raylet, GCS, and the worker and actor
processes) is summed, both as RSS (pages shared between processes, such as the object store in
/dev/shm, count once per process that maps them) and as PSS (shared pages split among them).
The stage of a sample is the one the build reports through its progress bars. Throughput is
tokens of the corpus sample per second of the stage (LIME: sentences explained per second;
attention: heads per second), from the build's own stage timings.

This machine has 2 cores: Ray with 2 workers cannot beat one process using both cores for
torch; the table shows what the executor costs, not a speed-up (docs/scale.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table



def process_tree(root: int) -> list[int]:
    """``root`` and every descendant, from /proc (no psutil needed)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_memory(root: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes summed over ``root``'s process tree."""
    rss = pss = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return rss, pss


class Watcher(threading.Thread):
    """Samples the tree's memory until stopped; peak per stage (the stage read from a file the
    build writes)."""

    def __init__(self, pid: int, stage_file: Path):
        super().__init__(daemon=True)
        self.pid, self.stage_file = pid, stage_file
        self.peak: dict[str, tuple[int, int]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                stage = self.stage_file.read_text().strip() or "start"
            except OSError:
                stage = "start"
            rss, pss = tree_memory(self.pid)
            old = self.peak.get(stage, (0, 0))
            self.peak[stage] = (max(old[0], rss), max(old[1], pss))
            time.sleep(0.2)


CHILD = r"""
import json, sys
from pathlib import Path
from tfvis_site.config import resolve
from tfvis_site.pipeline import build
from tfvis_site.progress import Reporter

stage_file, flags = Path(sys.argv[1]), json.loads(sys.argv[2])

class StageReporter(Reporter):
    def task(self, description, total):
        stage_file.write_text(description.split(":")[0])
        return super().task(description, total)

for k in ("out", "cache_dir", "model", "corpus"):
    if flags.get(k):
        flags[k] = Path(flags[k])
result = build(resolve(None, flags), StageReporter.silent())
m = next(iter(result.models.values())).manifest
print(json.dumps({"timings": result.timings, "tokens": m["corpus"]["tokens"], "sentences": m["corpus"]["sentences"],
                  "lime_sentences": m["factors"]["lime"]["sentences"], "heads": len(m["attention"]["heads"])}))
"""


def run(label: str, flags: dict, tmp: Path) -> dict:
    stage_file = tmp / f"{label}.stage"
    stage_file.write_text("start")
    flags = {**flags, "out": str(tmp / f"site-{label}"), "cache_dir": str(tmp / f"cache-{label}")}
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(stage_file), json.dumps(flags)], stdout=subprocess.PIPE, text=True)
    watcher = Watcher(child.pid, stage_file)
    watcher.start()
    out, _ = child.communicate()
    watcher.stop.set()
    watcher.join()
    if child.returncode != 0:
        raise SystemExit(f"{label}: build failed (exit {child.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - t0
    result["peak"] = watcher.peak
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-sentences", type=int, default=2000)
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    base = {"preset": args.preset, "n_sentences": args.n_sentences, "model": args.model}
    runs = {}
    with tempfile.TemporaryDirectory(prefix="tfvis-scale-") as tmp:
        for label, extra in (("single process", {}), ("ray, 1 worker", {"executor": "ray", "workers": 1}), ("ray, 2 workers", {"executor": "ray", "workers": 2})):
            runs[label] = run(label.replace(" ", "").replace(",", "-"), {**base, **extra}, Path(tmp))
    print_table(runs, args)


def print_table(runs: dict[str, dict], args: argparse.Namespace) -> None:
    first = next(iter(runs.values()))
    table = Table(title=f"tfvis-site build --preset {args.preset} --n-sentences {args.n_sentences} ({first['tokens']:,} tokens; {os.cpu_count()} cores)")
    table.add_column("executor")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("throughput", justify="right")
    table.add_column("peak RSS (tree)", justify="right")
    table.add_column("peak PSS (tree)", justify="right")
    for label, r in runs.items():
        units = {"extract": (r["tokens"], "tokens"), "factors": (r["tokens"], "tokens"), "lime": (r["lime_sentences"], "sentences"), "attention": (r["heads"], "heads")}
        for stage, seconds in r["timings"].items():
            n, unit = units.get(stage, (0, ""))
            peak = r["peak"].get(stage, (0, 0))
            table.add_row(label, stage, f"{seconds:.1f}", f"{n / seconds:,.0f} {unit}/s" if n and seconds else "", f"{peak[0] / 2**30:.2f} GB", f"{peak[1] / 2**30:.2f} GB")
        overall = (max(p[0] for p in r["peak"].values()), max(p[1] for p in r["peak"].values()))
        table.add_row(label, "whole build", f"{r['wall']:.1f}", f"{r['tokens'] / r['wall']:,.0f} tokens/s", f"{overall[0] / 2**30:.2f} GB", f"{overall[1] / 2**30:.2f} GB", end_section=True)
    Console().print(table)
    walls = {label: r["wall"] for label, r in runs.items()}
    base = walls["single process"]
    print("ratio (wall time / single process): " + ", ".join(f"{label} {w / base:.2f}x" for label, w in walls.items()))


if __name__ == "__main__":
    main()
