"""What the browser benchmarks share: the table they print (median and tail of each measurement,
with its target if it has one). A model's base URL in a built site: tests/browser.py model_base."""

from __future__ import annotations

import statistics


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
