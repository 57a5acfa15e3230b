"""Resume at shard granularity: a build killed with SIGKILL during extraction, then during
factor inference, and run again keeps the shards it finished and writes the same site as a
build that was never interrupted."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_build import site_digest

from tfvis_site.cli import main

#: ~1,300 tokens in 120 texts: with 24-token store shards and (a 128K budget) ~40-token
#: inference shards, dozens of shards in each sharded stage.
TEXTS = [f"Text {i}: the {w} walked to the {p} and back" + " again" * (i % 4) + "." for i, (w, p) in
         enumerate([(w, p) for w in ("cat", "dog", "fox", "bird", "cow", "owl") for p in ("park", "river", "mill", "school")] * 5)]
CONFIG = """
shard_tokens = 24
memory_budget = "128K"
[factors]
inference_batch = 16
n_train = 200
[attention]
projections = ["pca"]
n_jobs = 1
"""


def _build_args(root: Path, checkpoint: Path, cache: Path, out: Path) -> list[str]:
    return ["build", "--quiet", "--config", str(root / "site.toml"), "--model", str(checkpoint), "--corpus", str(root / "corpus.txt"),
            "--preset", "quick", "--lime", "none", "--cache-dir", str(cache), "--out", str(out)]


def _kill_when(proc: subprocess.Popen, pattern: str, cache: Path, at_least: int, timeout: float = 120) -> int:
    """SIGKILL ``proc`` as soon as ``at_least`` files match ``pattern`` under ``cache``; returns how many did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = len(list(cache.glob(pattern)))
        if found >= at_least:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return found
        if proc.poll() is not None:
            raise AssertionError(f"the build ended (exit {proc.returncode}) before {at_least} files matched {pattern}")
        time.sleep(0.002)
    proc.kill()
    raise AssertionError(f"no {pattern} within {timeout} s")


STORE_SHARDS = "extract/.*.partial/shards/0*/done.json"
INFERENCE_PARTIALS = "factors/.*.partial/inference/0*.npz"


def test_killed_build_resumes_from_finished_shards(tiny_checkpoints, tmp_path, capsys):
    (tmp_path / "corpus.txt").write_text("\n".join(TEXTS) + "\n")
    (tmp_path / "site.toml").write_text(CONFIG)
    cache, site = tmp_path / "cache", tmp_path / "site"
    args = _build_args(tmp_path, tiny_checkpoints["bert"], cache, site)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    # 1. killed during extraction, with some store shards done
    proc = subprocess.Popen([sys.executable, "-m", "tfvis_site", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(proc, STORE_SHARDS, cache, 3)
    hidden = {p.parent.name: (p.parent / "hidden.npy").stat() for p in cache.glob(STORE_SHARDS)}
    n_shards = len(json.loads(next(cache.glob("extract/.*.partial/meta.json")).read_text())["shards"])
    assert 3 <= len(hidden) < n_shards, "extraction finished before the kill: make the corpus bigger"
    assert not _complete_entries(cache / "extract")

    # 2. run again, killed during factor inference with some partials saved
    proc = subprocess.Popen([sys.executable, "-m", "tfvis_site", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(proc, INFERENCE_PARTIALS, cache, 3)
    partials = {p.name: p.stat() for p in cache.glob(INFERENCE_PARTIALS)}
    n_partials = len(partials)
    assert _complete_entries(cache / "extract") and not _complete_entries(cache / "factors") and not site.exists()

    # 3. run to the end (with progress output: it says what it kept)
    capsys.readouterr()
    assert main([a for a in args if a != "--quiet"]) == 0
    log = capsys.readouterr().err
    assert f"factors: {n_partials} of " in log and "inference shards kept from an interrupted build" in log
    store = _complete_entries(cache / "extract")[0]
    for name, before in hidden.items():  # the store shards run 1 finished were not written again
        after = (store / "shards" / name / "hidden.npy").stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), f"shard {name} was rewritten"

    # the same site as a build that was never interrupted
    fresh = tmp_path / "fresh"
    assert main(_build_args(tmp_path, tiny_checkpoints["bert"], tmp_path / "cache2", fresh)) == 0
    assert site_digest(site) == site_digest(fresh)


def _complete_entries(stage: Path) -> list[Path]:
    return [p for p in stage.iterdir() if (p / ".complete").exists()] if stage.exists() else []
