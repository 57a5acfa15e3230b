"""The sharded stages on workers in other processes (a Ray executor, executor.py): extraction
shard by shard on actors that load the model once, and factor inference shard by shard on
actors that build the encoder once, with the partials merged here as they arrive.

Both call the shard API of the single-process path (extract.py: prepare_store, extract_shard,
finish_store; factors/pipeline.py: infer_shard, merge_partials, finish_inference), so a store
or a factor result is the same bytes whichever executor made it and however many workers it
had: shards are planned from the data alone, every shard is computed by the same function, and
merge_partials is associative and commutative to the bit.

Workers read and write the stage folders in the cache directly, so on a cluster the cache must
be on storage every node sees at the same path (docs/scale.md).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .progress import Reporter


class ExtractWorker:
    """An actor's state for extraction: the model (loaded once) and the unit source of every
    input (tokenised once), indexed by sentence id like the store."""

    def __init__(self, loader: Any, inputs: list[Any], options: Any, names: list[str] | None):
        from .extract import make_units

        self.loaded = loader()
        self.options = options
        self.units = make_units(self.loaded, inputs, options, names)


def _prepare(worker: ExtractWorker, store_dir: Path) -> list[tuple[int, int]]:
    from .extract import prepare_store

    return prepare_store(worker.loaded, worker.units, store_dir, worker.options)


def _extract_one(worker: ExtractWorker, job: tuple[Path, int, tuple[int, int]]) -> int:
    """Writes one shard; returns its number of sentences (for the driver's progress bar)."""
    from .extract import extract_shard

    store_dir, index, (lo, hi) = job
    extract_shard(worker.loaded, worker.units, index, (lo, hi), store_dir, worker.options)
    return hi - lo


def extract_on_workers(executor: Any, loader: Any, inputs: list[Any], out_dir: Path, options: Any, reporter: Reporter,
                       names: list[str] | None = None) -> Any:
    """``extract.extract`` with the forward passes on the executor's actors: one of them writes
    the tables and the shard plan, all of them then write shards (finished shards of an
    interrupted run are skipped), and this process writes the final meta. Returns the store."""
    from .extract import finish_store, shard_done

    out_dir = Path(out_dir)
    with executor.actors(partial(ExtractWorker, loader, inputs, options, names)) as pool:
        (shards,) = pool.map(_prepare, [out_dir])
        unit = "images" if names is not None else "texts"
        with reporter.task(f"extract: forward passes ({unit}; {executor.workers} {executor.name} workers)", total=len(inputs)) as task:
            todo = []
            for index, (lo, hi) in enumerate(shards):
                if shard_done(out_dir, index):
                    task.advance(hi - lo)
                else:
                    todo.append((out_dir, index, (lo, hi)))
            pool.map(_extract_one, todo, on_result=task.advance, keep_results=False)
    return finish_store(out_dir)


class InferenceWorker:
    """An actor's state for factor inference: the store (read from its folder) and the encoder."""

    def __init__(self, store_path: Path, cfg: Any, components: np.ndarray, sae: dict[str, np.ndarray] | None,
                 mean: np.ndarray, scale: np.ndarray):
        from .extract import ActivationStore
        from .factors.pipeline import Encoder

        self.store = ActivationStore(store_path)
        self.cfg, self.mean, self.scale = cfg, mean, scale
        self.encoder = Encoder(cfg, components, sae)


def _infer_one(worker: InferenceWorker, job: tuple[int, tuple[int, int], Path | None]) -> tuple[int, dict[str, np.ndarray]]:
    """One shard's partial (saved into ``partial_dir`` when given); returns (its tokens, it)."""
    from .factors.pipeline import infer_shard, save_partial

    index, (lo, hi), partial_dir = job
    result = infer_shard(worker.store, worker.cfg, worker.encoder, worker.mean, worker.scale, (lo, hi))
    if partial_dir is not None:  # resume: a rerun after a kill keeps this shard
        save_partial(Path(partial_dir) / f"{index:05d}.npz", result)
    return hi - lo, result


def infer_on_workers(executor: Any, store: Any, cfg: Any, components: np.ndarray, sae: dict[str, np.ndarray] | None,
                     mean: np.ndarray, scale: np.ndarray, shards: list[tuple[int, int]], partial_dir: Path | None,
                     task: Any) -> tuple[dict[str, np.ndarray] | None, int]:
    """The merged partial of every inference shard (token ranges ``shards``), computed on the
    executor's actors; shards whose partial a killed run left in ``partial_dir`` are loaded
    instead. Partials are merged as they arrive, so only a few are in memory at once:
    merge_partials makes the order irrelevant. Returns (the merged partial, None without
    shards; the number of shards kept from an earlier run)."""
    from .factors.pipeline import load_partial, merge_partials

    per_token = store.info.n_layers + 1
    merged: dict[str, np.ndarray] | None = None
    kept = 0

    def add(n_tokens: int, part: dict[str, np.ndarray]) -> None:
        nonlocal merged
        merged = part if merged is None else merge_partials(merged, part)
        task.advance(per_token * n_tokens)

    todo = []
    for index, (lo, hi) in enumerate(shards):
        path = None if partial_dir is None else Path(partial_dir) / f"{index:05d}.npz"
        if path is not None and path.exists():
            add(hi - lo, load_partial(path))
            kept += 1
        else:
            todo.append((index, (lo, hi), partial_dir))
    if todo:
        make_worker = partial(InferenceWorker, store.path, cfg, components, sae, mean, scale)
        with executor.actors(make_worker) as pool:
            pool.map(_infer_one, todo, on_result=lambda result: add(*result), keep_results=False)
    return merged, kept
