"""A finished attention stage folder read back (analyse.py writes it and documents its layout)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...capture.store import UnitTables
from .config import RESULT_VERSION, AttentionConfig


def finite(obj: Any) -> Any:
    """NaN/inf -> None so the JSON is strict (the manifest forbids NaN)."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if isinstance(obj, np.generic):
        return finite(obj.item())
    return obj


@dataclass
class AttentionResult(UnitTables):
    """Read access to a finished attention stage folder (arrays are memory-mapped; the sample's
    ``tokens`` and ``sentences`` tables from UnitTables)."""

    path: Path
    meta: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> "AttentionResult":
        path = Path(path)
        meta = json.loads((path / "result.json").read_text())
        if meta.get("version") != RESULT_VERSION:
            raise ValueError(f"{path}: attention result version {meta.get('version')} != {RESULT_VERSION}")
        return cls(path=path, meta=meta)

    @property
    def config(self) -> AttentionConfig:
        return AttentionConfig.from_dict(self.meta["config"])

    @property
    def heads(self) -> list[dict[str, Any]]:
        """Per head g = layer * n_heads + h: metrics, label and the statistic that decided it."""
        return self.meta["heads"]

    @property
    def projections(self) -> list[str]:
        """Names like "pca2", "umap3"."""
        return self.meta["projections"]

    @property
    def n_tokens(self) -> int:
        return self.meta["n_tokens"]

    def _arr(self, name: str) -> np.ndarray:
        return np.load(self.path / f"{name}.npy", mmap_mode="r")

    def coords(self, name: str) -> np.ndarray:
        """(G, 2N, dim) float32 in [-1, 1]; points 0..N-1 are queries, N..2N-1 keys."""
        return self._arr(f"coords_{name}")

    def norms(self) -> np.ndarray:
        """(G, 2N) float32 vector norms before normalisation."""
        return self._arr("norms")

    def aggregate(self) -> tuple[np.ndarray, np.ndarray]:
        """((G, M, M) mean attention by query/key position, (M, M) sentence counts)."""
        return self._arr("aggregate"), self._arr("aggregate_count")

    def weights_sqrt16(self) -> np.ndarray:
        """(G, sum L^2) uint16 round(sqrt(w) * 65535) (``stats.decode_sqrt_u16``): sentence s's
        block at pair_offset[s], row-major (L, L)."""
        return self._arr("weights")

    def topk(self) -> tuple[np.ndarray, np.ndarray]:
        """((G, N, K) uint8 or uint16 key positions (dtype max = none), (G, N, K) float32 weights)."""
        return self._arr("topk_key"), self._arr("topk_weight")

    def normalisation(self) -> tuple[np.ndarray, np.ndarray]:
        """((G, d_head) key shifts, (G,) scale factors c)."""
        return self._arr("shift"), self._arr("c")
