"""The concept probes in a build: one cached stage run per ``[[probes]]`` labelled file
(``CONCEPT_STAGE``, in build_stages.STAGES) and their data files on the site."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...run.runner import Stage
from .labels import LabelledSet, MIN_PER_LABEL, read_probe_sets
from .probe import METHOD, ConceptResult, probe_concepts

if TYPE_CHECKING:
    from ...site.bundles import BundleWriter
    from ...run.runner import ModelRun

#: Bump when the method or the saved result changes, to invalidate cached concept stages.
CONCEPTS_VERSION = 1


def _concept_key(run: ModelRun, labelled: LabelledSet) -> dict[str, Any]:
    """The factors' key and the labelled file's content (and what the probe reads of the model)."""
    return {"v": CONCEPTS_VERSION, "factors": run.keys["factors"], "labels": labelled.sha256, "max_tokens": run.config.max_tokens,
            "seed": run.config.seed}


def _concept_log(run: ModelRun, labelled: LabelledSet, result: ConceptResult, cached: bool) -> str:
    best = max(result.layers, key=lambda r: r["f1"])
    return (f"concepts: {labelled.path.name}: best layer {best['layer']} (factor {best['factor']}, {result.metric} {best['f1']:.3f}; "
            f"raw state {best['f1_raw']:.3f}; majority {result.majority_f1:.3f})" + (" (cached)" if cached else ""))


#: One cached stage run per [[probes]] labelled file, on the site's text models.
CONCEPT_STAGE = Stage(
    "concepts", key=_concept_key, items=lambda run: read_probe_sets(run.config.probes, 1), log=_concept_log,
    build=lambda run, labelled, folder: probe_concepts(run.model.get(), run.results["factors"], labelled, None, run.config.max_tokens,
                                                        run.config.seed).save(folder),
    load=lambda run, labelled, folder: ConceptResult.load(folder),
    applies=lambda run: run.modality.reads_text and bool(run.config.probes),
)


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
