"""The heads x factors x outputs numbers of built sites, side by side: a Markdown table.

    python bench/circuits_summary.py SITE [SITE ...]

Reads each site's manifests only (``circuits.summary``, ``factors.quality.spliced``, the heads'
``induction_score`` and labels), so the table is what the sites show: QK agreement per head
against its shuffled null, the OV ablation drops of top and random pairs over heads, induction
heads, and the dictionary spliced in per hidden state. One column per model of every site.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _manifests(site: Path) -> list[dict]:
    folders = sorted((site / "models").iterdir()) if (site / "models").is_dir() else [site]
    return [json.loads((folder / "data" / "manifest.json").read_text()) for folder in folders]


def _quartiles(s: dict, fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(s['median'])} ({fmt.format(s['q1'])} – {fmt.format(s['q3'])})" if s and s.get("n") else "–"


def _induction(manifest: dict) -> str:
    heads = [h for h in manifest.get("attention", {}).get("heads", []) if h.get("induction_score") is not None]
    if not heads:
        return "no score (not a decoder)"
    threshold = manifest["circuits"]["config"]["induction_threshold"]
    found = sorted((h for h in heads if h["induction_score"] >= threshold), key=lambda h: -h["induction_score"])
    names = ", ".join(f"L{h['layer']}H{h['head']} {h['induction_score']:.2f}" for h in found)
    scores = sorted(h["induction_score"] for h in heads)
    return f"{len(found)} of {len(heads)} at >= {threshold}: {names or 'none'} (median over heads {scores[len(scores) // 2]:.3f})"


def _spliced(manifest: dict) -> str:
    rows = manifest["factors"]["quality"].get("spliced") or []
    if not rows:
        return "–"
    key = "recovered" if "recovered" in rows[0] else "final_cosine"
    label = "loss recovered" if key == "recovered" else "final cosine"
    return label + ": " + " ".join(f"{r['layer']}: {r[key]:.2f}" for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sites", type=Path, nargs="+")
    args = parser.parse_args()
    manifests = [m for site in args.sites for m in _manifests(site)]
    rows = {
        "heads": lambda m, s: str(s["heads"]),
        "QK agreement per head, median (q1 – q3)": lambda m, s: _quartiles(s["qk_agreement"]),
        "the same with the data's labels shuffled (null)": lambda m, s: _quartiles(s["qk_agreement_null"]),
        "heads above their null's 95th percentile": lambda m, s: f"{s['qk_above_null']} of {s['heads']}",
        "OV top pairs' ablation drop over heads, median (q1 – q3)": lambda m, s: _quartiles(s["ov_top_pairs_drop"], "{:.1e}"),
        "OV random pairs' drop over heads, median (q1 – q3)": lambda m, s: _quartiles(s["ov_random_pairs_drop"], "{:.1e}"),
        "heads whose top pairs drop at least twice the random pairs'": lambda m, s: f"{s['ov_top_at_least_twice_random']} of {s['heads']}",
        "induction heads": lambda m, s: _induction(m),
        "spliced in, per hidden state": lambda m, s: _spliced(m),
    }
    print("| | " + " | ".join(m["model"]["name"] for m in manifests) + " |")
    print("|---|" + "---|" * len(manifests))
    for label, cell in rows.items():
        print(f"| {label} | " + " | ".join(cell(m, m["circuits"]["summary"]) if "circuits" in m else "–" for m in manifests) + " |")


if __name__ == "__main__":
    main()
