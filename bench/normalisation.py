"""Normalisation study (issue 12): which key translation / norm scaling makes the best picture?

    python bench/normalisation.py --cache-dir /tmp/tfvis-cache            # MiniLM, the default build's attention sample
    python bench/normalisation.py --model dinov2 --cache-dir /tmp/tfvis-cache
    python bench/normalisation.py --heads 12 --json out.json              # 12 heads spread over the layers

The attention sample is the default build's (bench/default_build.py: same stage cache keys, so
after ``tfvis-site build --cache-dir DIR`` nothing is extracted again). For every head and every
variant (key translation on/off x the rule for c) it normalises q and k, projects the joint set
exactly as the attention stage does (``project.project_head``: PCA, UMAP 2D on the exact cosine
kNN graph, the build's parameters) and measures:

* paper: the AttentionViz statistic after normalisation (``normalise.spearman_paper``: per query,
  Spearman(q·k_j, cosine distance) within its sentence, mean over queries);
* pooled: our statistic, Spearman(q·k, Euclidean ‖q − k‖) over the pooled scored pairs;
* T pca / T umap: trustworthiness (scikit-learn's definition, k = 10, on a seeded 1000-point
  subsample; checked against ``sklearn.manifold.trustworthiness`` on the first head: equal to
  ~1e-4, as the probe keeps the input distances in float32) of the 2D
  projection against the normalised joint space (Euclidean);
* mix space / pca / umap: over the same subsample, the share of a point's 10 nearest neighbours
  that are of the other kind (a query's keys, a key's queries): 0 = two separate clouds, 0.5 =
  fully mixed (the picture can put a query beside the keys it attends to);
* row pca / umap: the AttentionViz statistic read off the 2D picture: per query, within its
  sentence, Spearman(q·k_j, 2D distance to k_j), mean over queries (key translation cannot change
  a query's ranking of keys, so this is fair between the variants);
* proj pca / umap: Spearman(q·k, distance in the 2D picture) over the scored pairs (the build's
  ``spearman_projected``): how far the picture's distances show attention;
* c: the scale factor (queries x c, keys / c).

Rules for c (applied after the translation, on the keys it moved): ``off`` (c = 1); ``corr`` (the
attention stage's rule, ``normalise.choose_scale``: minimise the locally weighted Pearson
correlation of q·k and ‖cq − k/c‖ over the scored pairs); ``mean`` (equal mean norms,
c² = mean‖k‖ / mean‖q‖); ``rms`` (equal RMS norms, c² = rms‖k‖ / rms‖q‖).
Prints a markdown table (mean over heads; paper and pooled also min / max) and, with --json,
writes every head's numbers. Machine load changes only the seconds column.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

SCALE_RULES = ("off", "corr", "mean", "rms")
K = 10  # neighbours for trustworthiness and mixing (the brief's choice; the build uses 15)


def scale_factor(rule: str, q: np.ndarray, k: np.ndarray, pairs: Any) -> float:
    """c for queries q (n, d) and (already translated) keys k (n, d) under ``rule``."""
    from tfvis_site.analysis.attention.normalise import choose_scale

    if rule == "off":
        return 1.0
    if rule == "corr":
        return choose_scale(q, k, pairs)
    qn, kn = np.linalg.norm(q.astype(np.float64), axis=1), np.linalg.norm(k.astype(np.float64), axis=1)
    if rule == "mean":
        return float(np.sqrt(kn.mean() / qn.mean()))
    if rule == "rms":
        return float(np.sqrt(np.sqrt((kn**2).mean() / (qn**2).mean())))
    raise ValueError(rule)


def other_kind_share(X: np.ndarray, sample: np.ndarray, n_tokens: int, k: int = K) -> float:
    """Mean share, over the points ``sample``, of their k nearest neighbours among all points of X
    (n_points, dim; queries first, then keys) that are of the other kind."""
    Z = X.astype(np.float64)
    sq = (Z * Z).sum(1)
    d = sq[None, :] - 2.0 * Z[sample] @ Z.T  # + sq[sample] (constant per row)
    d[np.arange(len(sample)), sample] = np.inf
    nn = np.argpartition(d, k, axis=1)[:, :k]
    is_key = nn >= n_tokens
    return float(np.where((sample >= n_tokens)[:, None], ~is_key, is_key).mean())


def rowwise_picture(dots_of: Any, coords: np.ndarray, offsets: np.ndarray, causal: bool, min_keys: int = 3) -> float:
    """The AttentionViz statistic read off a picture: per query, within its sentence, Spearman
    between q·k_j and the picture distance of q and k_j (Euclidean, coords (2N, dim), queries
    first), over the keys it can see; mean over queries. ``dots_of(lo, hi)`` -> (L, L) q·k."""
    from tfvis_site.analysis.attention.normalise import average_ranks, masked_row_pearson

    N = len(coords) // 2
    total, count = 0.0, 0
    for lo, hi in zip(offsets[:-1], offsets[1:]):
        L = int(hi - lo)
        if L < min_keys:
            continue
        P, Kc = coords[lo:hi].astype(np.float64), coords[N + lo : N + hi].astype(np.float64)
        dist = np.sqrt(((P[:, None, :] - Kc[None, :, :]) ** 2).sum(-1))
        dots = dots_of(lo, hi)
        if causal:  # masked keys rank last in both, and the row correlation ignores them
            mask = np.tril(np.ones((L, L), bool))
            top_d, top_s = dist.max() + 1.0, np.abs(dots).max() + 1.0
            ramp = np.arange(L) * 1e-6
            dist, dots = np.where(mask, dist, 2 * top_d + ramp), np.where(mask, dots, 2 * top_s + ramp)
            rho = masked_row_pearson(average_ranks(dots), average_ranks(dist), mask)[mask.sum(1) >= min_keys]
        else:
            rho = masked_row_pearson(average_ranks(dots), average_ranks(dist), None)
        rho = rho[np.isfinite(rho)]
        total += float(rho.sum())
        count += len(rho)
    return total / count if count else float("nan")


def variants(translate: list[bool], rules: list[str]) -> list[tuple[bool, str]]:
    return [(t, r) for t in translate for r in rules]


def variant_name(v: tuple[bool, str]) -> str:
    return f"{'translate' if v[0] else 'no translation'}, c {v[1]}"


def run_head(args: tuple[int, np.ndarray, np.ndarray, Any, list[tuple[bool, str]], dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """All variants of one head: q, k (N, d) raw -> one dict of measures per variant."""
    from tfvis_site.analysis.attention.normalise import key_translation, spearman_dot_distance
    from tfvis_site.analysis.attention.project import project_head

    g, q, k, pairs, vs, task = args
    N = len(q)
    out = []

    def dots_of(lo: int, hi: int) -> np.ndarray:  # raw q·k: per query row the same ranks as normalised
        return q[lo:hi].astype(np.float64) @ k[lo:hi].astype(np.float64).T

    for translate, rule in vs:
        t0 = time.process_time()
        shift = key_translation(q, k) if translate else np.zeros(q.shape[1], np.float32)
        c = scale_factor(rule, q, k + shift, pairs)
        qn, kn = (q * c).astype(np.float32), ((k + shift) / c).astype(np.float32)
        X = np.vstack([qn, kn])
        hp = project_head(X, task)
        sample = np.asarray(task["trust_sample"])
        row = {
            "c": c,
            "shift": float(np.linalg.norm(shift)),
            "pooled": spearman_dot_distance(qn, kn, pairs),
            "mix_space": other_kind_share(X, sample, N),
            **{f"T_{name[:-1]}": hp.trust[name] for name in hp.coords},
            **{f"mix_{name[:-1]}": other_kind_share(coords, sample, N) for name, coords in hp.coords.items()},
            **{f"proj_{name[:-1]}": hp.spearman[name] for name in hp.coords},
            **{f"row_{name[:-1]}": rowwise_picture(dots_of, coords, task["offsets"], task["causal"]) for name, coords in hp.coords.items()},
            "cpu": time.process_time() - t0,
        }
        if task.get("check_sklearn"):
            from sklearn.manifold import trustworthiness

            # the probe keeps input distances in float32: equal to ~1e-4
            ref = trustworthiness(X[sample], hp.coords["pca2"][sample], n_neighbors=K)
            print(f"  trustworthiness check, head {g}: ours {row['T_pca']:.5f}, sklearn {ref:.5f}", file=sys.stderr)
            assert abs(ref - row["T_pca"]) < 2e-3, (ref, row["T_pca"])
        out.append(row)
    return g, out


def paper_statistic(store: Any, layer: int, shifts: np.ndarray, cs: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(before, after) AttentionViz statistic of every head of ``layer`` normalised with shifts
    (H, d) and cs (H,): (H,) each."""
    from tfvis_site.analysis.attention.normalise import spearman_paper

    info = store.info
    Q = np.asarray(store.queries(layer), np.float32)
    Kk = np.asarray(store.keys(layer), np.float32)[:, [info.kv_head_of(h) for h in range(info.n_heads)]]
    return spearman_paper(Q, Kk, offsets, info.is_causal, normalised=(Q * cs[:, None], (Kk + shifts) / cs[:, None]))


def summarise(values: list[float]) -> tuple[float, float, float]:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], np.float64)
    return (float(v.mean()), float(v.min()), float(v.max())) if len(v) else (np.nan, np.nan, np.nan)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="built-in name or folder (default: minilm)")
    ap.add_argument("--cache-dir", type=Path, required=True, help="stage cache of the build whose sample to use")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--heads", type=int, default=0, help="only this many heads, spread over the layers (0 = all)")
    ap.add_argument("--rules", default=",".join(SCALE_RULES), help="rules for c, comma list")
    ap.add_argument("--translate", default="on,off", help="key translation settings, comma list")
    ap.add_argument("--projections", default="pca,umap")
    ap.add_argument("--umap-heads", type=int, default=0, help="UMAP (and the other non-PCA projections) on only this many of the heads (0 = all)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from threadpoolctl import threadpool_limits

    from default_build import stages
    from tfvis_site.analysis.attention.normalise import key_translation, sentence_pairs
    from tfvis_site.analysis.attention.project import _worker_init

    st = stages(args.model, args.cache_dir, args.preset)
    store, cfg = st.attention_store, st.attention_config
    info = store.info
    # The attention store holds exactly the build's sampled sentences: all of them are the sample.
    offsets = np.asarray(store.sentence_offsets, np.int64)
    N = store.n_tokens
    G = info.n_layers * info.n_heads
    heads = list(range(G)) if not args.heads else sorted({int(round(x)) for x in np.linspace(0, G - 1, args.heads)})
    others = [p for p in args.projections.split(",") if p != "pca"]
    umap_heads = set(heads) if not args.umap_heads or not others else {heads[int(round(x))] for x in np.linspace(0, len(heads) - 1, args.umap_heads)}
    vs = variants([t == "on" for t in args.translate.split(",")], args.rules.split(","))
    pairs = sentence_pairs(offsets, info.is_causal, cfg.max_pairs, cfg.seed)
    rng = np.random.default_rng(cfg.seed)  # the stage's draws, in the stage's order
    n_proj = min(len(pairs.query), 50_000)
    proj_pairs = np.sort(rng.choice(len(pairs.query), n_proj, replace=False))
    sample = np.sort(rng.choice(2 * N, min(cfg.trust_sample, 2 * N), replace=False))
    task = {
        "projections": args.projections.split(","), "dims": [2], "seed": cfg.seed,
        "umap": {"n_neighbors": cfg.umap_n_neighbors, "min_dist": cfg.umap_min_dist, "n_epochs": cfg.umap_n_epochs, "metric": cfg.umap_metric, "init3d": cfg.umap_init3d},
        "tsne": {"perplexity": cfg.tsne_perplexity, "max_iter": cfg.tsne_max_iter, "metric": cfg.tsne_metric},
        "trust_k": K, "trust_sample": sample, "trust_metric": "euclidean",
        "proj_pairs": (pairs.query[proj_pairs].astype(np.int32), pairs.key[proj_pairs].astype(np.int32)),
        "offsets": offsets, "causal": info.is_causal,
    }
    print(f"{info.name}: {len(heads)} of {G} heads, {store.n_sentences} sequences, {N} units -> {2 * N} points per head; "
          f"{len(vs)} variants; load avg {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)

    results: dict[int, list[dict[str, Any]]] = {}
    t_start = time.perf_counter()

    def jobs():
        for n, g in enumerate(heads):
            layer, h = divmod(g, info.n_heads)
            q = np.asarray(store.queries(layer)[:, h], np.float32)
            k = np.asarray(store.keys(layer)[:, info.kv_head_of(h)], np.float32)
            projections = task["projections"] if g in umap_heads else [p for p in task["projections"] if p == "pca"]
            yield g, q, k, pairs, vs, {**task, "projections": projections, "check_sklearn": n == 0}

    def done(g: int, rows: list[dict[str, Any]]) -> None:
        results[g] = rows
        print(f"  head {g} ({len(results)}/{len(heads)}) {time.perf_counter() - t_start:.0f}s", file=sys.stderr, flush=True)

    with threadpool_limits(1):
        if args.jobs > 1:
            import multiprocessing as mp

            with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn"), initializer=_worker_init) as pool:
                for g, rows in pool.map(run_head, jobs()):
                    done(g, rows)
        else:
            for job in jobs():
                done(*run_head(job))
        # The AttentionViz statistic: per layer, all heads at once (the stage's batched code).
        for layer in sorted({g // info.n_heads for g in heads}):
            for v, _ in enumerate(vs):
                hs = [g for g in heads if g // info.n_heads == layer]
                shifts = np.zeros((info.n_heads, info.d_head), np.float64)
                cs = np.ones(info.n_heads, np.float64)
                for g in hs:
                    h = g % info.n_heads
                    if vs[v][0]:
                        shifts[h] = key_translation(np.asarray(store.queries(layer)[:, h]), np.asarray(store.keys(layer)[:, info.kv_head_of(h)]))
                    cs[h] = results[g][v]["c"]
                before, after = paper_statistic(store, layer, shifts, cs, offsets)
                for g in hs:
                    results[g][v]["paper_before"] = float(before[g % info.n_heads])
                    results[g][v]["paper"] = float(after[g % info.n_heads])

    cols = ["paper", "pooled", "row_pca", "row_umap", "T_pca", "T_umap", "mix_space", "mix_pca", "mix_umap", "proj_pca", "proj_umap"]
    cols = [c for c in cols if any(c in results[g][0] for g in heads)]
    before = summarise([results[g][0]["paper_before"] for g in heads])
    print(f"\n{info.name}, {len(heads)} heads, {2 * N} points per head. AttentionViz statistic before normalisation: "
          f"mean {before[0]:.3f} (min {before[1]:.3f}, max {before[2]:.3f}); UMAP on {len(umap_heads)} heads\n")
    print("| variant | paper mean (min, max) | pooled mean (min, max) | " + " | ".join(c.replace("_", " ") for c in cols[2:]) + " | c mean (min–max) | CPU s/head |")
    print("|" + "---|" * (len(cols) + 3))
    summary = {}
    for v, name in enumerate(map(variant_name, vs)):
        s = {c: summarise([results[g][v].get(c) for g in heads]) for c in cols + ["c", "cpu"]}
        summary[name] = s
        cells = [f"{s[c][0]:.3f} ({s[c][1]:.3f}, {s[c][2]:.3f})" for c in ("paper", "pooled")] + [f"{s[c][0]:.3f}" for c in cols[2:]]
        print(f"| {name} | " + " | ".join(cells) + f" | {s['c'][0]:.2f} ({s['c'][1]:.2f}–{s['c'][2]:.2f}) | {s['cpu'][0]:.1f} |")
    if args.json:
        args.json.write_text(json.dumps({"model": info.name, "heads": heads, "variants": [variant_name(v) for v in vs], "summary": summary,
                                         "per_head": {str(g): results[g] for g in heads}}, indent=1))


if __name__ == "__main__":
    main()
