"""The concept probes in a build: the key and log line of their cached stage (one run per
``[[probes]]`` labelled file; its entry, ``CONCEPT_STAGE``, is in run/stages.py) and their data
files on the site."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .labels import LabelledSet, MIN_PER_LABEL
from .probe import METHOD, ConceptResult

if TYPE_CHECKING:
    from ...site.bundles import BundleWriter

#: Bump when the method or the saved result changes, to invalidate cached concept stages.
CONCEPTS_VERSION = 1


def concept_key(factors_key: Any, labelled: LabelledSet, max_tokens: int, seed: int) -> dict[str, Any]:
    """The factors' key and the labelled file's content (and what the probe reads of the model)."""
    return {"v": CONCEPTS_VERSION, "factors": factors_key, "labels": labelled.sha256, "max_tokens": max_tokens, "seed": seed}


def concept_log(labelled: LabelledSet, result: ConceptResult, cached: bool) -> str:
    best = max(result.layers, key=lambda r: r["f1"])
    return (f"concepts: {labelled.path.name}: best layer {best['layer']} (factor {best['factor']}, {result.metric} {best['f1']:.3f}; "
            f"raw state {best['f1_raw']:.3f}; majority {result.majority_f1:.3f})" + (" (cached)" if cached else ""))


def write_concepts_bundle(specs: list[dict[str, str]], results: list[ConceptResult], bundle: BundleWriter) -> dict[str, Any]:
    """data/concepts/probe-<i>/{examples.parquet, activations.f32} per probe -> manifest["concepts"]."""
    import pyarrow as pa

    probes = []
    for i, (spec, result) in enumerate(zip(specs, results)):
        folder = f"concepts/probe-{i}"
        ex = result.examples
        bundle.add_table(f"{folder}/examples.parquet", pa.table({
            "line": pa.array([e["line"] for e in ex], pa.int32()),
            "text": pa.array([e["text"] for e in ex], pa.string()),
            "target": pa.array([e["target"] for e in ex], pa.string()),
            "label": pa.array([e["label"] for e in ex], pa.string()),
            "start": pa.array([e["start"] for e in ex], pa.int32()),
            "end": pa.array([e["end"] for e in ex], pa.int32()),
        }))
        bundle.add_float32(f"{folder}/activations.f32", result.activations)
        probes.append({
            "name": spec["name"],
            "file": Path(spec["file"]).name,  # no local paths on the site
            "labels": result.labels,
            "counts": result.counts,
            "n": result.n,
            "metric": result.metric,
            "majority_f1": round(result.majority_f1, 4),
            "layers": [_rounded(r) for r in result.layers],
            "factors": result.factors,
            "skipped": result.skipped,
            "files": {"examples": f"{folder}/examples.parquet", "activations": f"{folder}/activations.f32"},
        })
    return {"probes": probes, "method": METHOD, "min_per_label": MIN_PER_LABEL,
            "activations": "activations.f32: (factors, layers, examples) float32, the mean activation of each chosen factor on each example's target at each layer"}


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    """A layer row with its scores rounded to 4 digits (the manifest stays readable and stable)."""
    def r(v: Any) -> Any:
        return round(v, 4) if isinstance(v, float) else [r(x) for x in v] if isinstance(v, list) else {k: r(x) for k, x in v.items()} if isinstance(v, dict) else v
    return r(row)
