"""LIME stability (issue 12): how many perturbed copies make the token weights hold still?

    python bench/lime_stability.py --cache-dir /tmp/tfvis-cache                 # 50 contexts, default build
    python bench/lime_stability.py --cache-dir DIR --contexts 10 --counts 16,48,192

Contexts are drawn (seeded) from the ones the default build explains (``lime.select_contexts``
with the build's LimeConfig: top contexts of the mid/high factors at their peak layer), one per
sentence. For each context and each copy count n the token weights are computed exactly as the
LIME stage does (``TokenMasker``, ``hidden_states_at``, ``factors.encode``, ``lime_weights``; the
unperturbed text is row 0) from three independent streams of random keep-masks:

* seeds A vs B: Spearman of the two weight vectors (n copies each) over the sentence's tokens;
* vs reference: Spearman of A's (and B's) weights with those from 2001 copies (the paper's count)
  of a third stream, and how often the top-weighted token is the reference's;
* seconds: wall time of the n copies of one sentence (forward passes up to the context's layer,
  encoding, regression), timed on stream A, one run per count, interleaved over the counts so
  that machine load hits every count alike. The LIME stage costs one such batch per *sentence*
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
        from tfvis_site.factors.lime import hidden_states_at

        inputs = self.masker.perturbed(self.lo, self.hi, self.sentence, self.free, keep)
        states = []
        for start in range(0, len(keep), self.cfg.batch_size):
            h = hidden_states_at(self.loaded, inputs(slice(start, start + self.cfg.batch_size)), [self.layer])[self.layer]
            states.append(h[:, self.position].float().cpu().numpy())
        return self.factors.encode(np.concatenate(states), self.layer)[:, self.c]

    def weights(self, keep: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """Token weights from the unperturbed text plus the copies ``keep`` (activations y of
        those rows, original first, when already computed)."""
        from tfvis_site.factors.lime import lime_weights

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
        c, layer, row = contexts[i]
        s = int(sentence_of[row])
        if s in used or min_free[s] < 4:
            continue
        used.add(s)
        picked.append(contexts[i])
        if len(picked) == n:
            break
    return picked


def coverage_table(factors: Any, cfg: Any, sentence_of: np.ndarray, per_factor: list[int]) -> list[dict[str, Any]]:
    """Sentences the stage needs for k contexts per factor, and what the budget serves."""
    from tfvis_site.factors.lime import select_contexts

    rows = []
    for k in per_factor:
        unlimited = select_contexts(factors, dataclasses.replace(cfg, contexts=k, max_sentences=10**9), sentence_of)
        capped = select_contexts(factors, dataclasses.replace(cfg, contexts=k), sentence_of)
        served = {}
        for c, _, _ in capped:
            served[c] = served.get(c, 0) + 1
        factors_wanted = len({c for c, _, _ in unlimited})
        rows.append({
            "contexts": k,
            "sentences_unlimited": len({int(sentence_of[r]) for _, _, r in unlimited}),
            "contexts_unlimited": len(unlimited),
            "sentences": len({int(sentence_of[r]) for _, _, r in capped}),
            "contexts_served": len(capped),
            "factors_full": sum(1 for v in served.values() if v >= k),
            "factors_wanted": factors_wanted,
        })
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--cache-dir", type=Path, required=True, help="stage cache of the build whose factors to use")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--contexts", type=int, default=50)
    ap.add_argument("--counts", default=",".join(map(str, COUNTS)))
    ap.add_argument("--reference", type=int, default=REFERENCE)
    ap.add_argument("--per-factor", default="1,2,3,5,10,20", help="contexts per factor for the coverage table")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    import torch

    from default_build import stages
    from tfvis_site.attention.normalise import spearman
    from tfvis_site.factors.lime import TokenMasker, select_contexts

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    st = stages(args.model, args.cache_dir, args.preset, with_factors=True)
    store, factors, cfg = st.store, st.factors, st.lime_config
    offsets = store.sentence_offsets
    sentence_of = np.searchsorted(offsets, np.arange(store.n_tokens), side="right") - 1
    counts = [int(x) for x in args.counts.split(",")]

    coverage = coverage_table(factors, cfg, sentence_of, [int(x) for x in args.per_factor.split(",")])
    print(f"\nLimeConfig: {cfg}\n")
    print("| contexts per factor | sentences needed | contexts | sentences within max_sentences = "
          f"{cfg.max_sentences} | contexts served | factors fully served (of {coverage[0]['factors_wanted']}) |")
    print("|---|---|---|---|---|---|")
    for r in coverage:
        print(f"| {r['contexts']} | {r['sentences_unlimited']} | {r['contexts_unlimited']} | {r['sentences']} | {r['contexts_served']} | {r['factors_full']} |")
    sys.stdout.flush()

    loaded = st.model.get()
    masker = TokenMasker(loaded, store, cfg)
    special = store.tokens.column("is_special").to_numpy(zero_copy_only=False)
    free_per_sentence = np.add.reduceat((~special).astype(np.int64), offsets[:-1].astype(np.int64))
    chosen = pick_contexts(select_contexts(factors, cfg, sentence_of), sentence_of, free_per_sentence, args.contexts, cfg.seed)
    print(f"\n{len(chosen)} contexts; copies {counts}, reference {args.reference}; load avg {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)

    per: dict[int, dict[str, list[float]]] = {n: {"ab": [], "ref": [], "top1": [], "seconds": []} for n in counts}
    n_tokens = []
    t_start = time.perf_counter()
    for i, (c, layer, row) in enumerate(chosen):
        ctx = ContextLime(loaded, store, factors, masker, cfg, c, layer, row, int(sentence_of[row]))
        n_free = len(ctx.free)
        n_tokens.append(n_free)
        streams = {name: keep_masks(cfg.seed, 1000 * i + k, size, n_free, cfg.keep_prob)
                   for k, (name, size) in enumerate((("A", max(counts)), ("B", max(counts)), ("ref", args.reference)))}
        y_b = ctx.activations(np.vstack([np.ones((1, n_free), bool), streams["B"]]))
        ref = ctx.weights(streams["ref"])
        ref_top = int(np.argmax(ref))
        for n in counts:
            t0 = time.perf_counter()
            w_a = ctx.weights(streams["A"][:n])  # timed: forward passes + encode + regression
            per[n]["seconds"].append(time.perf_counter() - t0)
            w_b = ctx.weights(streams["B"][:n], y_b[: n + 1])
            per[n]["ab"].append(spearman(w_a, w_b))
            per[n]["ref"] += [spearman(w_a, ref), spearman(w_b, ref)]
            per[n]["top1"] += [float(np.argmax(w_a) == ref_top), float(np.argmax(w_b) == ref_top)]
        print(f"  context {i + 1}/{len(chosen)} (factor {c}, layer {layer}, {n_free} tokens) {time.perf_counter() - t_start:.0f}s", file=sys.stderr, flush=True)

    print(f"\n{len(chosen)} contexts (one per sentence; {np.mean(n_tokens):.1f} maskable tokens on average, "
          f"{min(n_tokens)}–{max(n_tokens)}); reference: {args.reference} copies\n")
    print("| copies | ρ seed A vs B: mean (median, p10) | ρ vs reference: mean (median, p10) | top token = reference's | s per sentence | × 48 copies |")
    print("|---|---|---|---|---|---|")
    base = np.median(per[48]["seconds"]) if 48 in per else np.nan
    rows = []
    for n in counts:
        ab, rf = np.asarray(per[n]["ab"]), np.asarray(per[n]["ref"])
        sec = float(np.median(per[n]["seconds"]))
        rows.append({"copies": n, "ab": per[n]["ab"], "ref": per[n]["ref"], "top1": per[n]["top1"], "seconds": per[n]["seconds"]})
        print(f"| {n} | {np.nanmean(ab):.3f} ({np.nanmedian(ab):.3f}, {np.nanpercentile(ab, 10):.3f}) | "
              f"{np.nanmean(rf):.3f} ({np.nanmedian(rf):.3f}, {np.nanpercentile(rf, 10):.3f}) | {np.mean(per[n]['top1']):.0%} | "
              f"{sec:.3f} | {sec / base:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"config": cfg.to_dict(), "contexts": chosen, "n_tokens": n_tokens, "coverage": coverage, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
