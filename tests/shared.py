"""Folders that session fixtures build once per test run, whatever the number of pytest-xdist
workers (pyproject's addopts run the suite on every core).

Each xdist worker is a process of its own with its own session fixtures, so a plain session
fixture that builds a site would build it once per worker. ``shared_folder`` builds it once per
run instead, as pytest-xdist's documentation shows ("Making session-scoped fixtures execute only
once"): in a folder of the run's temporary root, the parent of every worker's basetemp, under a
file lock. The first worker that asks builds, the others wait on the lock and read what it built.

A fixture that returns a shared folder hands every test the same files: a test that changes them
works on a copy (``shutil.copytree``) of its own.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock


def run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of this test run: under xdist the parent of the workers' basetemps
    (``pytest-N/popen-gw0``, ...); on one process the basetemp itself (``pytest-N``)."""
    basetemp = tmp_path_factory.getbasetemp()
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


def shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """``<run root>/shared/<name>/``, made by ``build(folder)`` (into an empty folder) the first
    time a fixture of this run asks for it, in this worker or another; every later call returns
    it as built. A build that raised is not marked built: its folder stays for a look until the
    next call builds it again from scratch (and fails again, in a test of its own)."""
    root = run_root(tmp_path_factory) / "shared"
    root.mkdir(exist_ok=True)
    folder, done = root / name, root / f"{name}.built"
    with FileLock(root / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.write_text("")
    return folder
