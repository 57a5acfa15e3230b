"""The splice stage at each precision, side by side on one build's cache: time and the per-layer
numbers (a decoder's loss recovered, an encoder's or ViT's final cosine), and how far each
precision's numbers are from the first one's.

    python bench/splice_precision.py [--model NAME|PATH] [--preset quick|default] [--cache-dir DIR]
                                     [--precisions fp32 bf16]

Resolves the build exactly as ``tfvis-site build --model MODEL --preset PRESET --cache-dir DIR``
does (the circuit samples sized by the model's cost included), runs its stages up to the
factors from that cache (building what is missing), then the splice once per precision, in
the order given. bf16 on a CPU without native bf16 is emulated and slow: the stage's "auto" would
pick fp32 there.
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
    parser.add_argument("--preset", default="default")
    parser.add_argument("--cache-dir", type=Path, default=Path(os.environ.get("TFVIS_CACHE_DIR", Path.home() / ".cache/tfvis-site")))
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    args = parser.parse_args()

    from tfvis_site.analysis.circuits.splice import splice_quality
    from tfvis_site.analysis.circuits.weights import family_of, model_weights
    from tfvis_site.run.stages import _sample_units

    from default_build import stages  # bench/ is on the path of a script run from it

    built = stages(args.model, args.cache_dir, args.preset, with_factors=True)
    source, run = built.model, built.run
    cfg, store, result = run.configs.circuits, run.results["extract-attention"], run.results["factors"]
    loaded = source.get()
    weights = model_weights(loaded.model, loaded.info.path)
    family, units = family_of(loaded.model), _sample_units(run, loaded)
    sequences = np.arange(min(cfg.splice_sequences, store.n_sentences))

    seconds, values, mode = {}, {}, ""
    for precision in args.precisions:
        start = time.perf_counter()
        layers = splice_quality(loaded.model, family, weights, units, sequences, store.info.is_causal, result,
                                batch_size=cfg.batch_size, device=loaded.device, precision=precision)
        seconds[precision] = time.perf_counter() - start
        mode = layers[0].mode
        values[precision] = np.array([s.recovered if s.mode == "loss" else s.final_cosine for s in layers], np.float64)

    name = "loss recovered" if mode == "loss" else "final cosine"
    first = args.precisions[0]
    table = Table(title=f"splice of {source.slug} ({args.preset}, {len(sequences)} sequences): {name} per hidden state")
    table.add_column("precision")
    table.add_column("seconds", justify="right")
    table.add_column(f"÷ {first}", justify="right")
    table.add_column(f"max |Δ| vs {first}", justify="right")
    table.add_column("at layer", justify="right")
    table.add_column("per layer")
    for precision in args.precisions:
        diff = np.abs(values[precision] - values[first])
        table.add_row(precision, f"{seconds[precision]:.1f}", f"{seconds[precision] / seconds[first]:.2f}", f"{diff.max():.4f}",
                      str(int(diff.argmax())), " ".join(f"{v:.3f}" for v in values[precision]))
    Console(width=240).print(table)


if __name__ == "__main__":
    main()
