"""Ten factors' explanations, picked at random, beside their top contexts: a Markdown table.

    python bench/explanation_samples.py SITE [--model SLUG] [--n 10] [--seed 0] [--contexts 3]

Reads a built site only (manifest, factors/explanations.parquet, the top-k chunks, tokens and
sentences), so what it prints is what the site shows. Factors are drawn (seeded) among those
whose peak-layer explanation was scored; each row gives the explanation, its held-out detection
score, the best one-token rule's score, and the factor's strongest contexts at that layer with
the unit marked: a text's token as [[token]] in a window of words around it, an image's patch
as its row and column in the image's patch grid. The distribution over all factors comes first.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def _context(tokens, sentence: int, position: int, width: int = 8) -> str:
    rows = tokens[sentence]
    if "row" in rows:  # an image: name the patch
        i = int(np.flatnonzero(rows["position"] == position)[0])
        return f"image {sentence}, patch row {rows['row'][i]} col {rows['col'][i]}"
    at = int(np.flatnonzero(rows["position"] == position)[0])
    window = [i for i in range(len(rows["position"])) if abs(i - at) <= width and (i == at or not rows["is_special"][i])]
    out = ""
    for i in window:
        piece = str(rows["text"][i])
        piece = f"[[{piece.strip()}]]" if i == at else piece
        out += (" " if rows["space_before"][i] and out else "") + piece.strip()
    return out


def main() -> None:
    from tfvis_site.site.bundles import read_data_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--model", default=None, help="the model's slug (default: the site's only or first model)")
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--contexts", type=int, default=3)
    args = parser.parse_args()

    models = sorted(p.name for p in (args.site / "models").iterdir()) if (args.site / "models").is_dir() else []
    data = args.site / "models" / (args.model or models[0]) / "data" if models else args.site / "data"
    manifest = json.loads((data / "manifest.json").read_text())
    section = manifest["factors"]["explanations"]
    summary = section["summary"]
    s, o = summary["score"], summary["one_token_score"]
    print(f"{summary['factors']} factors, {summary['scored']} scored at their peak layer: detection score median {s['median']:.2f} "
          f"(q1 {s['q1']:.2f}, q3 {s['q3']:.2f}); best one-token rule median {o['median']:.2f} (q1 {o['q1']:.2f}, q3 {o['q3']:.2f}); "
          f"score >= {section['thresholds']['good']}: {100 * summary['share_good']:.1f} %\n")

    table = _columns(read_data_table(data, section["file"]))
    peak = np.flatnonzero(table["peak"] & (table["kind"] == "rule") & np.isfinite(table["score"].astype(np.float64)))
    picked = np.sort(np.random.default_rng(args.seed).choice(peak, min(args.n, len(peak)), replace=False))

    all_tokens = _columns(read_data_table(data, "tokens.parquet"))
    bounds = np.flatnonzero(np.diff(all_tokens["sentence_id"])) + 1
    tokens = {int(g["sentence_id"][0]): g for g in ({c: v[lo:hi] for c, v in all_tokens.items()}
                                                    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(all_tokens["sentence_id"])]))}
    files = manifest["factors"]["files"]
    chunk_size = manifest["factors"]["chunk_size"]
    print("| factor (layer) | explanation | score | one-token | strongest contexts |")
    print("|---|---|---|---|---|")
    for r in picked:
        factor, layer = int(table["factor"][r]), int(table["layer"][r])
        topk = _columns(read_data_table(data, files["topk"].format(chunk=factor // chunk_size)))
        at = np.flatnonzero((topk["factor"] == factor) & (topk["layer"] == layer))
        at = at[np.argsort(topk["rank"][at])][: args.contexts]
        contexts = " / ".join(_context(tokens, int(topk["sentence_id"][i]), int(topk["position"][i])) for i in at)
        text = str(table["text"][r]).replace("|", "\\|")
        print(f"| {factor} ({layer}) | {text} | {table['score'][r]:.2f} | {table['one_token_score'][r]:.2f} | {contexts.replace('|', '/')} |")


def _columns(table) -> dict[str, np.ndarray]:
    return {name: np.asarray(table.column(name).to_numpy(zero_copy_only=False)) for name in table.schema.names}

if __name__ == "__main__":
    main()
