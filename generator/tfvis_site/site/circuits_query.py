"""What a built site says of one head or one factor, read from its data files alone (no cache,
no model): ``tfvis-site probe SITE --head L H``, and the ``output_tokens`` and ``explanation``
of ``--factor F``. The JSON shapes are those of docs/data-contract.md, "Circuits" and
"Explanations"."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from ..errors import UserError
from .bundles import read_data_table
from .layout import MANIFEST, model_dir, pick_model


def _manifest(site_dir: Path, slug: str | None) -> tuple[Path, dict[str, Any]]:
    folder = model_dir(site_dir, pick_model(site_dir, slug))
    return folder / "data", json.loads((folder / MANIFEST).read_text())


def _rows(data_dir: Path, name: str, **equal: Any) -> list[dict[str, Any]]:
    """Rows of the parquet file ``name`` whose columns equal ``equal``, in file order."""
    table = read_data_table(data_dir, name)
    mask = None
    for column, value in equal.items():
        test = pc.equal(table.column(column), value)
        mask = test if mask is None else pc.and_(mask, test)
    return (table.filter(mask) if mask is not None else table).to_pylist()


def _number(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def head_circuits(site_dir: Path, layer: int, head: int, slug: str | None = None) -> dict[str, Any]:
    """{"layer", "head", "label", "induction_score", "qk_pairs", "qk_agreement", "ov_pairs",
    "ov_ablation"} of one head (issue 22's CLI shape); a one-line UserError for a head the site
    does not have or a site without circuits."""
    data_dir, manifest = _manifest(site_dir, slug)
    attention = manifest["attention"]
    n_layers, n_heads = attention["model"]["n_layers"], attention["model"]["n_heads"]
    if not (0 <= layer < n_layers and 0 <= head < n_heads):
        raise UserError(f"--head {layer} {head}: the model has layers 0..{n_layers - 1} and heads 0..{n_heads - 1}")
    if "circuits" not in manifest:
        raise UserError(f"{site_dir}: the site has no circuits ({manifest.get('circuits_unavailable', 'built without them')})")
    info = attention["heads"][layer * n_heads + head]
    files = manifest["circuits"]["files"]
    summary = _rows(data_dir, files["heads"], layer=layer, head=head)[0]
    weight_pairs = [r for r in _rows(data_dir, files["qk"], layer=layer, head=head) if r["ranked_by"] == "weights"]
    top_ov = [r for r in _rows(data_dir, files["ov"], layer=layer, head=head) if r["kind"] == "top"]
    return {
        "layer": layer,
        "head": head,
        "label": info["label"],
        "induction_score": info.get("induction_score"),
        "qk_pairs": [{"query_factor": r["query_factor"], "key_factor": r["key_factor"], "weight_score": _number(r["weight_score"]),
                      "data_share": _number(r["data_share"])} for r in weight_pairs],
        "qk_agreement": _number(summary["qk_agreement"]),
        "ov_pairs": [{"read_factor": r["read_factor"], "write_factor": r["write_factor"], "weight": _number(r["weight"]),
                      "ablation_drop": _number(r["ablation_drop"])} for r in top_ov],
        "ov_ablation": {"top_pairs_drop": _number(summary["ov_top_pairs_drop"]), "random_pairs_drop": _number(summary["ov_random_pairs_drop"])},
    }


def factor_output_tokens(site_dir: Path, factor: int, slug: str | None = None) -> dict[str, Any] | None:
    """{"kind", "layer", "promoted": [[token, value]], "suppressed": [...]} of one factor, with
    "reason" when the model has no output side; None for a site built before circuits."""
    data_dir, manifest = _manifest(site_dir, slug)
    n_factors = manifest["factors"]["n_factors"]
    if not 0 <= factor < n_factors:
        raise UserError(f"--factor {factor}: the site has factors 0..{n_factors - 1}")
    section = manifest["factors"].get("output_tokens")
    if section is None:
        return None
    if section["kind"] is None:
        return {"kind": None, "reason": section["reason"], "promoted": [], "suppressed": []}
    rows = _rows(data_dir, section["file"], factor=factor)
    side = {name: [[r["token"], _number(r["value"])] for r in rows if r["side"] == name] for name in ("promoted", "suppressed")}
    return {"kind": section["kind"], "layer": rows[0]["layer"] if rows else None, **side}


def _explanation(row: dict[str, Any]) -> dict[str, Any]:
    return {"text": row["text"], "kind": row["kind"], "score": _number(row["score"]), "fuzzing_score": _number(row.get("fuzzing_score")),
            "layer": row["layer"]}


def primary_explanation(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(the explanation a factor is shown by, the other one or None) of its peak-layer rows: the
    LLM's when its detection score beats the rule's or the rule has none, else the rule's
    (manifest["factors"]["explanations"]["primary"])."""
    rule = next((r for r in rows if r["kind"] == "rule"), None)
    llm = next((r for r in rows if r["kind"] == "llm"), None)
    if rule is None or llm is None:
        return (rule or llm), None  # type: ignore[return-value]
    rule_score, llm_score = _number(rule["score"]), _number(llm["score"])
    if llm_score is not None and (rule_score is None or llm_score > rule_score):
        return llm, rule
    return rule, llm


def factor_explanation(site_dir: Path, factor: int, slug: str | None = None) -> dict[str, Any] | None:
    """{"text", "kind", "score", "one_token_score", "layer", "fuzzing_score", "other"} of one
    factor at its peak layer (factors/explanations.parquet): the primary explanation
    (primary_explanation), the rule's one-token score, and the other kind's explanation or null;
    scores null when not scored; None for a site built without explanations or a factor it does
    not have."""
    data_dir, manifest = _manifest(site_dir, slug)
    section = manifest["factors"].get("explanations")
    if section is None:
        return None
    rows = _rows(data_dir, section["file"], factor=factor, peak=True)
    if not rows:
        return None
    primary, other = primary_explanation(rows)
    rule = next((r for r in rows if r["kind"] == "rule"), {})
    return {**_explanation(primary), "one_token_score": _number(rule.get("one_token_score")),
            "other": _explanation(other) if other is not None else None}
