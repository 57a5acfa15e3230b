"""The distribution summary the analyses' manifest sections share."""

from __future__ import annotations

import numpy as np


def quartiles(x: np.ndarray) -> dict[str, float] | None:
    """{"median", "q1", "q3", "n"} of the finite values of ``x`` (n,); None when there are none."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if not len(x):
        return None
    q1, median, q3 = np.percentile(x, [25, 50, 75])
    return {"median": float(median), "q1": float(q1), "q3": float(q3), "n": int(len(x))}
