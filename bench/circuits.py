"""Time the parts of the circuit stages (heads x factors x outputs) on a build's cache.

    python bench/circuits.py [--model NAME|PATH] [--preset quick|default] [--cache-dir DIR] [--layers N] [--profile]

Resolves the build exactly as ``tfvis-site build --model MODEL --preset PRESET --cache-dir DIR``
does, runs its stages up to the factors from that cache (building what is missing), then times,
block by block, the parts of the "circuits" stage: coding the sample, QK by weights, QK by
data (attention shares), the agreement's null, the OV ablations; then the output tokens and the
splice. Prints one table of seconds per part, and the total next to the build's own stage times
when the cache holds them (a build's timings are in its manifest only as cache hits).
``--layers N`` times only the first N blocks and extrapolates (says so).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--cache-dir", type=Path, default=Path(os.environ.get("TFVIS_CACHE_DIR", Path.home() / ".cache/tfvis-site")))
    parser.add_argument("--layers", type=int, default=0, help="time only the first N blocks (0: all)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the circuits part, the output tokens and the splice (by own time)")
    args = parser.parse_args()

    from tfvis_site.analysis.circuits.common import sample_codes
    from tfvis_site.analysis.circuits.output import output_tokens
    from tfvis_site.analysis.circuits.ov import CleanRuns, ov_in_factors
    from tfvis_site.analysis.circuits.qk import agreement_null, qk_data_shares, qk_vectors, top_pairs, active_factors
    from tfvis_site.analysis.circuits.splice import splice_quality
    from tfvis_site.analysis.circuits.weights import family_of, model_weights
    from tfvis_site.run.stages import _sample_units

    from default_build import stages  # bench/ is on the path of a script run from it

    built = stages(args.model, args.cache_dir, args.preset, with_factors=True)
    source, run = built.model, built.run
    cfg, store, result = run.configs.circuits, run.results["extract-attention"], run.results["factors"]

    seconds: dict[str, float] = {}

    def timed(part: str, fn, *a, **kw):
        start = time.perf_counter()
        out = fn(*a, **kw)
        seconds[part] = seconds.get(part, 0.0) + time.perf_counter() - start
        return out

    loaded = timed("load model", source.get)
    weights = timed("read weights", model_weights, loaded.model, loaded.info.path)
    family, units = family_of(loaded.model), timed("sample units", _sample_units, run, loaded)
    blocks = weights.layers[: args.layers] if args.layers else weights.layers
    ov_sentences = np.arange(min(cfg.ov_sentences, store.n_sentences))
    clean = CleanRuns(loaded.model, family, units, ov_sentences, cfg.batch_size, loaded.device)
    import cProfile
    import pstats

    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    for lw in blocks:
        codes = timed("code the sample", sample_codes, store, result, lw.layer)
        ov_codes = timed("code the sample", sample_codes, store, result, lw.layer, ov_sentences)
        factors = active_factors(result, lw.layer)
        data = timed("QK by data", qk_data_shares, store, codes)
        for h in range(lw.n_heads):
            Q, K = timed("QK by weights", qk_vectors, lw, result, h)
            Qf, Kf = Q[factors], K[factors]
            wp, _ = timed("QK by weights", top_pairs, Qf, Kf.T, factors, factors, cfg.top, scale=lw.scaling)

            def score_of(pairs, Q=Q, K=K):
                pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
                return lw.scaling * np.einsum("nd,nd->n", Q[pairs[:, 0]], K[pairs[:, 1]])

            timed("QK null", agreement_null, score_of, data[h], wp, factors, result.n_components, cfg.top, cfg.n_null)
        timed("OV weights + ablations", ov_in_factors, loaded.model, family, lw, units, store, result, cfg.top, cfg.ov_random, cfg.seed,
              sentences=ov_sentences, codes=ov_codes, max_sentences=None, batch_size=cfg.batch_size, device=loaded.device,
              clean=clean)
    scale = len(weights.layers) / len(blocks)
    circuit_parts = ["code the sample", "QK by data", "QK by weights", "QK null", "OV weights + ablations"]
    for part in circuit_parts:
        seconds[part] *= scale
    timed("output tokens", output_tokens, weights, result, k=cfg.output_k, tokenizer=loaded.tokenizer)
    timed("splice", splice_quality, loaded.model, family, weights, units, np.arange(min(cfg.splice_sequences, store.n_sentences)),
          store.info.is_causal, result, batch_size=cfg.batch_size, device=loaded.device, precision=cfg.splice_precision)
    if profiler:
        profiler.disable()

    table = Table(title=f"circuit stages: {source.slug}, preset {args.preset}"
                  + (f" (blocks 0-{len(blocks) - 1} of {len(weights.layers)}, extrapolated)" if scale != 1 else ""))
    table.add_column("part")
    table.add_column("seconds", justify="right")
    for part, s in seconds.items():
        table.add_row(part, f"{s:.1f}")
    table.add_row("total", f"{sum(seconds.values()):.1f}")
    Console().print(table)
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
