"""What the LIME stage costs per sentence on a built model, and where the time goes: the
measurement behind budget.py's LIME sample for models bigger than MiniLM.

    python bench/build.py --model smollm2 --preset default --keep-cache CACHE
    python bench/lime_cost.py CACHE [--sentences 12] [--samples 96]

Runs factors.lime.compute_lime (in this process) with the default preset's LimeConfig and
``max_sentences`` = --sentences on the cache's model, text activation store and dictionary, and
prints one table: sentences, contexts, wall seconds, seconds per sentence, and the part spent in
the forward passes of the perturbed copies (lime.hidden_states_at) and in coding their states
(FactorResult.encode).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from tfvis_site.capture.extract import ActivationStore  # noqa: E402
from tfvis_site.analysis.factors import FactorResult  # noqa: E402
from tfvis_site.analysis.factors import lime  # noqa: E402
from tfvis_site.modality import TEXT  # noqa: E402
from tfvis_site.model.load import load_model  # noqa: E402
from tfvis_site.progress import Reporter  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from sae_steps import only  # noqa: E402


def timed(owner: object, name: str, spent: dict[str, float]) -> None:
    """Wrap owner.name so that its wall time adds up in spent[name]."""
    inner = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - start

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cache", type=Path, help="a build's cache folder (bench/build.py --keep-cache)")
    parser.add_argument("--sentences", type=int, default=12)
    parser.add_argument("--samples", type=int, default=lime.LimeConfig().samples, help="perturbed copies per sentence")
    args = parser.parse_args()
    store = ActivationStore(only(args.cache / "extract", "activation store"))
    factors = FactorResult.load(only(args.cache / "factors", "dictionary"))
    loaded = load_model(only(args.cache / "models", "model") if (args.cache / "models").exists() else Path(store.info.path), modality=TEXT)
    spent: dict[str, float] = {}
    timed(lime, "hidden_states_at", spent)
    timed(FactorResult, "encode", spent)
    config = lime.LimeConfig.for_preset("default", max_sentences=args.sentences, samples=args.samples)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        lime.compute_lime(loaded, store, factors, config, Path(tmp), Reporter.silent(), modality=TEXT)
        seconds = time.perf_counter() - start
        summary = __import__("json").loads((Path(tmp) / "lime.json").read_text())

    table = Table(title=f"LIME on {store.info.name} ({store.info.n_layers} layers, d = {store.info.d_model}, "
                        f"m = {factors.n_components}; {config.samples} copies per sentence; {os.cpu_count()} cores)")
    for column in ("sentences", "factors", "contexts", "wall s", "s / sentence", "forward passes s", "coding s", "other s"):
        table.add_column(column, justify="right")
    forward, coding = spent.get("hidden_states_at", 0.0), spent.get("encode", 0.0)
    n = max(summary["sentences"], 1)
    table.add_row(str(summary["sentences"]), str(summary["factors"]), str(summary["contexts"]), f"{seconds:.1f}", f"{seconds / n:.2f}",
                  f"{forward:.1f}", f"{coding:.1f}", f"{seconds - forward - coding:.1f}")
    Console().print(table)


if __name__ == "__main__":
    sys.exit(main())
