"""LIME stability (issue 12): how many perturbed copies make the token weights hold still?

    python bench/lime_stability.py --cache-dir /tmp/tfvis-cache                 # 50 contexts, default build
    python bench/lime_stability.py --cache-dir DIR --contexts 10 --counts 16,48,192

Contexts are drawn (seeded) from the ones the default build explains (``lime.select_contexts``
with the build's LimeConfig: top contexts of the mid/high factors at their peak layer), one per
sentence. For each context and each copy count n the token weights are computed exactly as the
LIME stage does (``TokenMasker``, ``hidden_states_at``, ``factors.encode``, ``lime_weights``; the
unperturbed text is row 0) from two independent streams of random keep-masks, A (2001 copies)
and B (the largest count); the weights from n copies use a stream's first n:

* seeds A vs B: Spearman of the two weight vectors (n copies each) over the sentence's tokens;
* vs reference: Spearman (and Pearson: the page shades a token by w / max|w|, so near-zero
  weights swapping ranks are invisible) of B's weights with those from all 2001 copies of A (the
  paper's count; independent of B), and how often the top-weighted token is the reference's;
* seconds: wall time of the n copies of one sentence (forward passes up to the context's layer,
  encoding, regression), on the first ``--timed`` contexts, one run per count, interleaved over
  the counts so that machine load hits every count alike (median reported). The LIME stage costs one such batch per *sentence*
  (every factor whose contexts use that sentence reads the same codes), so its time is about
  sentences x seconds(n).

Then, without the model, how many sentences the stage needs for 1..20 contexts per factor
(``select_contexts``; the budget ``max_sentences`` caps it) and how many contexts it serves.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

COUNTS = (16, 32, 48, 96, 192, 384, 768)
REFERENCE = 2001


class ContextLime:
    """LIME weights of one context (factor c at layer ``layer``, token ``row`` of the store) for any
    keep-masks, through the LIME stage's own pieces."""

    def __init__(self, loaded: Any, store: Any, factors: Any, masker: Any, cfg: Any, c: int, layer: int, row: int, sentence: int):
        self.loaded, self.factors, self.masker, self.cfg = loaded, factors, masker, cfg
        self.c, self.layer = c, layer
        self.lo, self.hi = int(store.sentence_offsets[sentence]), int(store.sentence_offsets[sentence + 1])
        self.sentence, self.position = sentence, row - self.lo
        self.free = masker.free_units(self.lo, self.hi)

    def activations(self, keep: np.ndarray) -> np.ndarray:
        """keep: (n_copies, n_free) bool -> (n_copies,) the factor's activation in each copy."""
        from tfvis_site.analysis.factors.lime import hidden_states_at

        inputs = self.masker.perturbed(self.lo, self.hi, self.sentence, self.free, keep)
        states = []
        for start in range(0, len(keep), self.cfg.batch_size):
            h = hidden_states_at(self.loaded, inputs(slice(start, start + self.cfg.batch_size)), [self.layer], self.cfg.precision)[self.layer]
            states.append(h[:, self.position].float().cpu().numpy())
        return self.factors.encode(np.concatenate(states), self.layer)[:, self.c]

    def weights(self, keep: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """Token weights from the unperturbed text plus the copies ``keep`` (activations y of
        those rows, original first, when already computed)."""
        from tfvis_site.analysis.factors.lime import lime_weights

        masks = np.vstack([np.ones((1, keep.shape[1]), bool), keep])
        if y is None:
            y = self.activations(masks)
        return lime_weights(masks.astype(np.float64), y, self.cfg.kernel_width, self.cfg.alpha)


def keep_masks(seed: int, stream: int, n: int, n_free: int, keep_prob: float) -> np.ndarray:
    return np.random.default_rng(np.random.SeedSequence([seed, stream])).random((n, n_free)) < keep_prob


def pick_contexts(contexts: list[tuple[int, int, int]], sentence_of: np.ndarray, min_free: np.ndarray, n: int, seed: int) -> list[tuple[int, int, int]]:
    """n contexts in distinct sentences with at least 4 maskable tokens, seeded."""
    order = np.random.default_rng(seed).permutation(len(contexts))
    picked, used = [], set()
    for i in order:
        row = contexts[i][2]
        s = int(sentence_of[row])
        if s in used or min_free[s] < 4:
            continue
        used.add(s)
        picked.append(contexts[i])
        if len(picked) == n:
            break
    return picked


def coverage_table(factors: Any, cfg: Any, sentence_of: np.ndarray, per_factor: list[int], budgets: list[int]) -> list[dict[str, Any]]:
    """Per contexts-per-factor k: the sentences the stage needs for every context, and per
    sentence budget (max_sentences) the contexts it serves and the factors it serves fully / at all."""
    from tfvis_site.analysis.factors.lime import select_contexts

    rows = []
    for k in per_factor:
        unlimited = select_contexts(factors, dataclasses.replace(cfg, contexts=k, max_sentences=10**9), sentence_of)
        row = {"contexts": k, "sentences_unlimited": len({int(sentence_of[r]) for _, _, r in unlimited}),
               "contexts_unlimited": len(unlimited), "factors_wanted": len({c for c, _, _ in unlimited}), "budgets": {}}
        for budget in budgets:
            capped = select_contexts(factors, dataclasses.replace(cfg, contexts=k, max_sentences=budget), sentence_of)
            served: dict[int, int] = {}
            for c, _, _ in capped:
                served[c] = served.get(c, 0) + 1
            row["budgets"][budget] = {"sentences": len({int(sentence_of[r]) for _, _, r in capped}), "contexts": len(capped),
                                      "factors_full": sum(1 for v in served.values() if v >= k), "factors_any": len(served)}
        rows.append(row)
    return rows


def print_coverage(coverage: list[dict[str, Any]]) -> None:
    budgets = list(coverage[0]["budgets"])
    print("\n| contexts per factor | sentences for all | " + " | ".join(f"{b} sentences: contexts / factors full / any" for b in budgets) + " |")
    print("|---|---|" + "---|" * len(budgets))
    for r in coverage:
        cells = [f"{v['contexts']} / {v['factors_full']} / {v['factors_any']}" for v in r["budgets"].values()]
        print(f"| {r['contexts']} | {r['sentences_unlimited']} ({r['contexts_unlimited']} contexts) | " + " | ".join(cells) + " |")
    print(f"({coverage[0]['factors_wanted']} factors wanted)")
    sys.stdout.flush()


def parse_overrides(text: str) -> dict[str, Any]:
    """"samples=96,contexts=5" -> {"samples": 96, "contexts": 5} (ints, floats or strings)."""
    out: dict[str, Any] = {}
    for part in filter(None, text.split(",")):
        key, value = part.split("=", 1)
        for cast in (int, float):
            try:
                out[key] = cast(value)
                break
            except ValueError:
                continue
        else:
            out[key] = value
    return out


def context_agreement(a: Any, b: Any) -> dict[str, float]:
    """Two LIME stage outputs (lime.parquet tables) on the same contexts: per context (factor,
    layer, sentence, position) the Pearson correlation of their token weights and whether their
    top-weighted token is the same; median, 5th percentile and mean over the contexts."""
    from collections import defaultdict

    def contexts(table: Any) -> dict[tuple[int, ...], dict[int, float]]:
        cols = {k: table.column(k).to_numpy() for k in ("factor", "layer", "sentence_id", "position", "token", "weight")}
        out: dict[tuple[int, ...], dict[int, float]] = defaultdict(dict)
        for f, l, s, p, t, w in zip(*(cols[k].tolist() for k in cols)):
            out[(f, l, s, p)][t] = w
        return out

    ca, cb = contexts(a), contexts(b)
    pearson, top1 = [], []
    for key in sorted(ca.keys() & cb.keys()):
        tokens = sorted(ca[key].keys() & cb[key].keys())
        wa = np.array([ca[key][t] for t in tokens])
        wb = np.array([cb[key][t] for t in tokens])
        if len(tokens) >= 2 and wa.std() > 0 and wb.std() > 0:
            pearson.append(float(np.corrcoef(wa, wb)[0, 1]))
        top1.append(float(tokens[int(np.argmax(wa))] == tokens[int(np.argmax(wb))]))
    return {"contexts": len(top1), "pearson_median": float(np.median(pearson)), "pearson_p5": float(np.percentile(pearson, 5)),
            "pearson_mean": float(np.mean(pearson)), "top1": float(np.mean(top1))}


def time_stage(st: Any, overrides: list[str], repeats: int) -> None:
    """Wall seconds of ``compute_lime`` per config, the configs interleaved round by round, so
    that machine load hits them alike: compare the ratios, not the seconds. Each config's token
    weights are compared with the first config's, context by context (``context_agreement``)."""
    import tempfile

    import pyarrow.parquet as pq

    from tfvis_site.analysis.factors.lime import compute_lime
    from tfvis_site.progress import Reporter

    loaded = st.model.get()
    configs = [dataclasses.replace(st.lime_config, **parse_overrides(o)) for o in overrides]
    seconds: list[list[float]] = [[] for _ in configs]
    summaries, tables = [], []
    for _ in range(repeats):
        for i, cfg in enumerate(configs):
            with tempfile.TemporaryDirectory(prefix="lime-stage-") as tmp:
                t0 = time.perf_counter()
                compute_lime(loaded, st.store, st.factors, cfg, Path(tmp), Reporter.silent(), modality=st.model.modality)
                seconds[i].append(time.perf_counter() - t0)
                summaries.append(json.loads((Path(tmp) / "lime.json").read_text()))
                if len(tables) < len(configs):
                    tables.append(pq.read_table(Path(tmp) / "lime.parquet"))
            print(f"  {overrides[i]}: {seconds[i][-1]:.1f}s (load avg {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    print("\n| LIME stage config | sentences | contexts | factors | wall s (each round) | ratio to the first "
          "| Pearson with the first, median (5th pct) | same top token |")
    print("|---|---|---|---|---|---|---|---|")
    for i, o in enumerate(overrides):
        sm = summaries[i]
        ratio = np.mean([a / b for a, b in zip(seconds[i], seconds[0])])
        agree = context_agreement(tables[0], tables[i])
        print(f"| {o} | {sm['sentences']} | {sm['contexts']} | {sm['factors']} | {', '.join(f'{x:.0f}' for x in seconds[i])} | {ratio:.2f} "
              f"| {agree['pearson_median']:.4f} ({agree['pearson_p5']:.4f}) | {agree['top1']:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--cache-dir", type=Path, help="stage cache of the build whose factors to use (required but with --report)")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--contexts", type=int, default=50)
    ap.add_argument("--counts", default=",".join(map(str, COUNTS)))
    ap.add_argument("--reference", type=int, default=REFERENCE)
    ap.add_argument("--per-factor", default="1,2,3,5,10,20", help="contexts per factor for the coverage table")
    ap.add_argument("--budgets", default="200,300,400,600", help="max_sentences values for the coverage table")
    ap.add_argument("--coverage-only", action="store_true", help="only the coverage table (no model needed)")
    ap.add_argument("--timed", type=int, default=5, help="contexts whose copies are also timed, one run per count")
    ap.add_argument("--stage", nargs="*", default=None, metavar="KEY=VALUE,...",
                    help="instead of the study: time the whole LIME stage for each of these LimeConfig overrides "
                    "(e.g. samples=48 samples=96), interleaved, in this process")
    ap.add_argument("--repeats", type=int, default=1, help="rounds of --stage runs")
    ap.add_argument("--json", type=Path, help="write the measurements here (after every context)")
    ap.add_argument("--report", type=Path, help="only print the table from a --json file")
    args = ap.parse_args()
    if args.report:
        report(json.loads(args.report.read_text()))
        return
    if args.cache_dir is None:
        ap.error("--cache-dir is required")

    import torch

    from default_build import stages
    from tfvis_site.analysis.attention.normalise import spearman
    from tfvis_site.analysis.factors.lime import TokenMasker, select_contexts

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    st = stages(args.model, args.cache_dir, args.preset, with_factors=True)
    store, factors, cfg = st.store, st.factors, st.lime_config
    offsets = store.sentence_offsets
    sentence_of = np.searchsorted(offsets, np.arange(store.n_tokens), side="right") - 1
    counts = [int(x) for x in args.counts.split(",")]

    if args.stage is not None:
        time_stage(st, args.stage, args.repeats)
        return
    coverage = coverage_table(factors, cfg, sentence_of, [int(x) for x in args.per_factor.split(",")], [int(x) for x in args.budgets.split(",")])
    print(f"\nLimeConfig: {cfg}")
    print_coverage(coverage)
    if args.coverage_only:
        return

    loaded = st.model.get()
    masker = TokenMasker(loaded, store, cfg)
    special = store.tokens.column("is_special").to_numpy(zero_copy_only=False)
    free_per_sentence = np.add.reduceat((~special).astype(np.int64), offsets[:-1].astype(np.int64))
    chosen = pick_contexts(select_contexts(factors, cfg, sentence_of), sentence_of, free_per_sentence, args.contexts, cfg.seed)
    print(f"\n{len(chosen)} contexts; copies {counts}, reference {args.reference}; load avg {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)

    per: dict[int, dict[str, list[float]]] = {n: {"ab": [], "ref": [], "pearson": [], "top1": [], "seconds": []} for n in counts}
    state = {"config": cfg.to_dict(), "reference": args.reference, "coverage": coverage, "contexts": [], "n_tokens": [], "per": per}
    t_start = time.perf_counter()
    for i, (c, layer, row) in enumerate(chosen):
        ctx = ContextLime(loaded, store, factors, masker, cfg, c, layer, row, int(sentence_of[row]))
        n_free = len(ctx.free)
        # Stream A (reference size) gives A_n as its first n copies and the reference as all of it;
        # B is independent of both: seed stability = A_n vs B_n, accuracy = B_n vs the reference.
        a = keep_masks(cfg.seed, 2 * i, max(args.reference, max(counts)), n_free, cfg.keep_prob)
        b = keep_masks(cfg.seed, 2 * i + 1, max(counts), n_free, cfg.keep_prob)
        y_a = ctx.activations(np.vstack([np.ones((1, n_free), bool), a]))
        y_b = ctx.activations(np.vstack([np.ones((1, n_free), bool), b]))
        ref = ctx.weights(a[: args.reference], y_a[: args.reference + 1])
        for n in counts:
            if i < args.timed:  # a run of its own, as the stage does it: forward passes + encode + regression
                t0 = time.perf_counter()
                ctx.weights(a[:n])
                per[n]["seconds"].append(time.perf_counter() - t0)
            w_a = ctx.weights(a[:n], y_a[: n + 1])
            w_b = ctx.weights(b[:n], y_b[: n + 1])
            per[n]["ab"].append(spearman(w_a, w_b))
            per[n]["ref"].append(spearman(w_b, ref))
            per[n]["pearson"].append(float(np.corrcoef(w_b, ref)[0, 1]))
            per[n]["top1"].append(float(np.argmax(w_b) == np.argmax(ref)))
        state["contexts"].append([c, layer, row])
        state["n_tokens"].append(n_free)
        if args.json:  # after every context: a long run can be read (--report) before it ends
            args.json.write_text(json.dumps(state))
        print(f"  context {i + 1}/{len(chosen)} (factor {c}, layer {layer}, {n_free} tokens) {time.perf_counter() - t_start:.0f}s", file=sys.stderr, flush=True)
    report(state)


def report(state: dict[str, Any]) -> None:
    """The stability table from the measurements (a finished or partial run's JSON)."""
    per = {int(n): v for n, v in state["per"].items()}
    n_tokens = state["n_tokens"]
    print(f"\n{len(n_tokens)} contexts (one per sentence; {np.mean(n_tokens):.1f} maskable tokens on average, "
          f"{min(n_tokens)}–{max(n_tokens)}); reference: {state['reference']} copies\n")
    print("| copies | ρ seed A vs B: mean (median, p10) | ρ vs reference: mean (median, p10) | Pearson r vs reference | top token = reference's | s per sentence | × 48 copies |")
    print("|---|---|---|---|---|---|---|")
    base = np.median(per[48]["seconds"]) if 48 in per and per[48]["seconds"] else np.nan
    for n in sorted(per):
        ab, rf = np.asarray(per[n]["ab"]), np.asarray(per[n]["ref"])
        sec = float(np.median(per[n]["seconds"])) if per[n]["seconds"] else np.nan
        print(f"| {n} | {np.nanmean(ab):.3f} ({np.nanmedian(ab):.3f}, {np.nanpercentile(ab, 10):.3f}) | "
              f"{np.nanmean(rf):.3f} ({np.nanmedian(rf):.3f}, {np.nanpercentile(rf, 10):.3f}) | {np.nanmean(per[n]['pearson']):.3f} | "
              f"{np.mean(per[n]['top1']):.0%} | {sec:.3f} | {sec / base:.2f} |")

if __name__ == "__main__":
    main()
