"""The stage machinery of a build: a stage is one entry (``Stage``: a name, the key of its
inputs, a run and a load) and ``run_stages`` is the one place that decides, for every stage,
whether it runs (``applies``, ``skip``), caching (``StageCache.get_or_build``), its progress line
and its timing (``StageTimer``). The build's list of stages is in run/stages.py;
docs/architecture.md, "The stage list", says how to add one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..capture.extract import ExtractOptions
from ..heap import release_freed_memory

if TYPE_CHECKING:
    from ..cache import StageCache
    from .config import BuildConfig, StageConfigs
    from ..executor import Executor
    from .memory import MemoryBudget
    from ..modality.base import Corpus, Modality, ModelSourceLike
    from ..progress import Reporter


class StageTimer:
    """Seconds per timing bucket, summed over the stages that share one (both extractions are "extract")."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start


@dataclass
class ModelRun:
    """What the stages of one model share (the build's settings, the model, where and how they
    run, its folder ``out`` and ``slug`` in the site, the corpus given in Python if any) and what
    they made: ``results`` and ``keys`` by stage name (a stage run per item, like
    the concept probes, has a list of each); ``left_out``: why a stage that could have run did
    not (the live probe's reason, for the manifest)."""

    config: BuildConfig
    model: ModelSourceLike
    configs: StageConfigs
    cache: StageCache
    reporter: Reporter
    executor: Executor
    memory: MemoryBudget
    out: Path
    slug: str
    corpus: Corpus | None = None
    timer: StageTimer = field(default_factory=StageTimer)
    results: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, Any] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)

    @property
    def modality(self) -> Modality:
        return self.model.modality

    def items(self) -> list[Any]:
        """(n_items,) what the model reads of the corpus (the corpus stage's result): texts, PIL images."""
        return self.modality.corpus_items(self.results["corpus"])

    def attention_sample(self) -> np.ndarray:
        """(n_attention_sentences,) int: the corpus items of the attention sample, sorted."""
        from ..analysis.attention.config import sample_sentences

        return sample_sentences(len(self.items()), self.configs.attention.n_sentences, self.config.seed)

    def store_options(self) -> ExtractOptions:
        """How the corpus sample is extracted: hidden states only, in the build's store dtype."""
        c = self.config
        return ExtractOptions(max_tokens=c.max_tokens, batch_size=c.batch_size, dtype=c.store_dtype, shard_tokens=c.shard_tokens)

    def attention_options(self) -> ExtractOptions:
        """The attention sample is small: its q, k, attention weights and hidden states stay float32."""
        c = self.config
        return ExtractOptions(max_tokens=c.max_tokens, batch_size=c.batch_size, capture_attention=True, shard_tokens=c.shard_tokens)


def _always(run: ModelRun) -> bool:
    return True


def _never(run: ModelRun) -> str | None:
    return None


def _no_items(run: ModelRun) -> list[Any]:
    return [None]


@dataclass(frozen=True)
class Stage:
    """One stage of a model's build.

    name: its cache folder and the key of its result in ``ModelRun.results`` / ``keys``;
    label: how its log lines name it (default: ``name``);
    timing: its bucket in the build's timings (default: ``name``);
    key(run, item): everything its result depends on (None: not cached, ``run`` gets no folder);
    build(run, item, folder): compute the result into ``folder`` (or return it, uncached);
    load(run, item, folder): the result from its folder;
    log(run, item, result, cached): its progress line, or None;
    applies(run): whether the stage belongs to this model's build at all;
    skip(run): why it is left out this time (logged, kept in ``run.left_out``), or None;
    tolerate(run, error): why a failure leaves the stage out instead of stopping the build (a
      warning in every output mode), or None (the error stops the build);
    items(run): run once per item (one concept probe per labelled file): the result is a list;
    resumable: build in a fixed partial folder that a killed build continues (cache.py).
    """

    name: str
    key: Callable[[ModelRun, Any], Any]
    build: Callable[[ModelRun, Any, Path | None], Any]
    load: Callable[[ModelRun, Any, Path], Any] = lambda run, item, folder: folder
    log: Callable[[ModelRun, Any, Any, bool], str | None] = lambda run, item, result, cached: None
    label: str = ""
    timing: str = ""
    applies: Callable[[ModelRun], bool] = _always
    skip: Callable[[ModelRun], str | None] = _never
    tolerate: Callable[[ModelRun, Exception], str | None] = lambda run, error: None
    items: Callable[[ModelRun], list[Any]] | None = None
    resumable: bool = False


def run_stages(stages: list[Stage], run: ModelRun) -> ModelRun:
    """Run every stage that applies, in order, each under its timing bucket; returns ``run``
    with the results."""
    for stage in stages:
        if stage.applies(run):
            with run.timer(stage.timing or stage.name):
                _run_stage(stage, run)
            release_freed_memory()
    return run


def _run_stage(stage: Stage, run: ModelRun) -> None:
    reason = stage.skip(run)
    if reason:
        _leave_out(stage, run, reason)
        return
    items = stage.items(run) if stage.items else _no_items(run)
    results, keys = [], []
    for item in items:
        key = stage.key(run, item)
        try:
            result = _cached(stage, run, item, key)
        except Exception as error:
            reason = stage.tolerate(run, error)
            if reason is None:
                raise
            _leave_out(stage, run, reason, failed=True)
            return
        line = stage.log(run, item, result, bool(run.cache.hits.get(stage.name)))
        if line:
            run.reporter.log(line)
        results.append(result)
        keys.append(key)
    run.results[stage.name], run.keys[stage.name] = (results, keys) if stage.items else (results[0], keys[0])


def _cached(stage: Stage, run: ModelRun, item: Any, key: Any) -> Any:
    if key is None:  # not cached: the result is what build returns
        return stage.build(run, item, None)
    folder = run.cache.get_or_build(stage.name, key, lambda d: stage.build(run, item, d), resumable=stage.resumable)
    return stage.load(run, item, folder)


def _leave_out(stage: Stage, run: ModelRun, reason: str, failed: bool = False) -> None:
    """Keep why ``stage`` is not in this model's site (for the manifest); a stage that failed is
    a warning, which the command line shows even with --quiet."""
    run.left_out[stage.name] = reason
    line = f"{stage.label or stage.name}: left out: {reason}"
    if failed:
        run.reporter.warn(f"{run.slug}: {line}")
    else:
        run.reporter.log(line)
