"""What the browser benchmarks share: the site's base URL (file:// or a local http server) and
the table they print (median and tail of each measurement, with its target if it has one)."""

from __future__ import annotations

import contextlib
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser import serve_dir  # noqa: E402


@contextlib.contextmanager
def site_base(site: Path, how: str) -> Iterator[str]:
    """Base URL ending in '/' of a built site, opened from disk (how='file') or over http."""
    if how == "http":
        with serve_dir(site) as base:
            yield base
    else:
        yield site.as_uri() + "/"


def print_table(rows: list[tuple[str, list[float], str]]) -> None:
    """rows: (measurement, values in ms, target text or ''). Prints median and p95 (the max for
    fewer than 20 values)."""
    print(f"{'measurement':62s} {'median ms':>10s} {'p95/max ms':>11s} {'target ms':>10s}")
    for name, values, target in rows:
        if not values:
            print(f"{name:62s} {'n/a':>10s}")
            continue
        v = sorted(values)
        p95 = v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))]
        print(f"{name:62s} {statistics.median(v):10.0f} {p95:11.0f} {target:>10s}")
