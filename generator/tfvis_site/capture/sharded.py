"""The sharded stages on workers in other processes (a Ray executor, executor.py): extraction
shard by shard on actors that load the model once, and factor inference shard by shard on
actors that build the encoder once, with the partials merged by the driver as they arrive.

Both call the shard API of the single-process path (capture/extract.py: prepare_store, extract_shard,
finish_store; factors/inference.py: infer_shard, merge_partials, finish_inference), so a store
or a factor result is the same bytes whichever executor made it and however many workers it
had: shards are planned from the data alone, every shard is computed by the same function, and
merge_partials is associative and commutative to the bit.

Workers read and write the stage folders in the cache directly, so on a cluster the cache must
be on storage every node sees at the same path (docs/scale.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, TYPE_CHECKING

import numpy as np

from ..progress import Reporter

if TYPE_CHECKING:
    from ..executor import Executor
    from .extract import UnitKind


class ExtractWorker:
    """An actor's state for extraction: the model (loaded once) and the unit source of every
    input (tokenised once), indexed by sentence id like the store."""

    def __init__(self, loader: Any, inputs: list[Any], options: Any, names: list[str] | None, modality: UnitKind):
        from .extract import make_units

        self.loaded = loader()
        self.options = options
        self.units = make_units(modality, self.loaded, inputs, options, names)


def _prepare(worker: ExtractWorker, store_dir: Path) -> list[tuple[int, int]]:
    from .extract import prepare_store

    return prepare_store(worker.loaded, worker.units, store_dir, worker.options)


def _extract_one(store_dir: Path, worker: ExtractWorker, job: tuple[int, tuple[int, int]]) -> int:
    """Writes one shard; returns its number of sentences (for the driver's progress bar)."""
    from .extract import extract_shard

    index, (lo, hi) = job
    extract_shard(worker.loaded, worker.units, index, (lo, hi), store_dir, worker.options)
    return hi - lo


def extract_on_workers(executor: Executor, loader: Any, inputs: list[Any], out_dir: Path, options: Any, reporter: Reporter,
                       names: list[str] | None = None, *, modality: UnitKind) -> Any:
    """``extract.extract`` with the forward passes on the executor's actors: one of them writes
    the tables and the shard plan, all of them then write shards (finished shards of an
    interrupted run are skipped), and this process writes the final meta. Returns the store.
    ``modality`` (the model's) goes to the actors with the loader."""
    from .extract import finish_store, pending_shards

    out_dir = Path(out_dir)
    with executor.actors(partial(ExtractWorker, loader, inputs, options, names, modality)) as pool:
        (shards,) = pool.map(_prepare, [out_dir])
        unit = "images" if names is not None else "texts"
        with reporter.task(f"extract: forward passes ({unit}; {executor.workers} {executor.name} workers)", total=len(inputs)) as task:
            todo = pending_shards(out_dir, shards, task)
            pool.map(partial(_extract_one, out_dir), todo, on_result=task.advance, keep_results=False)
    return finish_store(out_dir)


def _state(value: Any) -> Any:
    return value


def _infer_one(job: Any, item: tuple[int, tuple[int, int]]) -> tuple[int, dict[str, np.ndarray]]:
    index, token_range = item
    return index, job.run(token_range)


def infer_on_workers(executor: Executor, todo: list[tuple[int, tuple[int, int]]], job: Any) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """A ``run_shards`` for factors.inference.run_inference: the inference shards ``todo``
    ((index, token range) each) on the executor's actors, each holding ``job``
    (factors.inference.InferenceJob: the store reader and the encoder, loaded once per actor);
    yields (index, partial) as they finish. The caller merges them in that order:
    merge_partials makes the order irrelevant, to the bit."""
    with executor.actors(partial(_state, job)) as pool:
        for _, result in pool.as_completed(_infer_one, todo):
            yield result
