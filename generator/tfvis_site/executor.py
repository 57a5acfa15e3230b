"""Where the parallel parts of a build run: in this process (``LocalExecutor``, the default) or on
Ray (``RayExecutor``, the optional extra ``pip install -e '.[ray]'``; docs/scale.md).

A stage that scales hands its work to an executor in one of two shapes:

* ``tasks(workers)``: a pool of stateless tasks (``submit(fn, *args)`` -> a
  ``concurrent.futures.Future``), e.g. one head's projections. Locally: a process pool of
  ``workers`` spawned processes (today's behaviour), or inline for one worker; on Ray: Ray tasks
  of one CPU each, however many the cluster runs at once.
* ``actor_map(make_state, fn, items)``: ``fn(state, item)`` for every item, where each worker
  builds ``state = make_state()`` once (load the model once, then run many batches). Results
  come back in submission order, whatever the number of workers, so a stage's output never
  depends on it. Locally: one state, in this process; on Ray: one actor per worker.

Every function and argument sent to Ray must be picklable (top-level functions, paths rather
than open objects); workers return NumPy arrays, never torch tensors (``to_numpy``): a tensor
in the object store is copied out again on every read.

The default install never imports Ray: this module imports it only inside ``RayExecutor``.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TYPE_CHECKING

from .errors import UserError, first_line

if TYPE_CHECKING:
    from .model.load import InputKind, LoadedModel

EXECUTORS = ("local", "ray")
RAY_MISSING = "--executor ray needs Ray, an optional extra: pip install -e '.[ray]' (or pip install 'tfvis-site[ray]')"

#: Environment of Ray's worker processes (a local instance inherits the driver's; a cluster's
#: workers do not): the OpenMP policy that keeps forward passes fast on a busy machine, no hub access.
WORKER_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1"}


def to_numpy(value: Any) -> Any:
    """Torch tensors -> NumPy arrays, through tuples, lists and dict values (what a worker returns)."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_numpy(v) for v in value)
    return value


class _InlinePool:
    """``submit`` runs the call at once in this process and returns a finished Future."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args))
        except BaseException as e:  # noqa: BLE001 - re-raised by future.result(), as a pool would
            future.set_exception(e)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


class _LocalActors:
    """One state in this process: the calls run one after the other."""

    def __init__(self, state: Any):
        self.state = state

    def as_completed(self, fn: Callable[[Any, Any], Any], items: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        for index, item in enumerate(items):
            yield index, fn(self.state, item)

    def map(self, fn: Callable[[Any, Any], Any], items: Iterable[Any], on_result: Callable[[Any], None] | None = None,
            keep_results: bool = True) -> list[Any]:
        results = []
        for item in items:
            value = fn(self.state, item)
            if on_result is not None:
                on_result(value)
            if keep_results:
                results.append(value)
        return results


class _Executor:
    name: str
    #: whether the work runs in this process (with the model this process loaded)
    in_process: bool
    workers: int

    def actor_map(self, make_state: Callable[[], Any], fn: Callable[[Any, Any], Any], items: Iterable[Any],
                  on_result: Callable[[Any], None] | None = None) -> list[Any]:
        """``fn(state, item)`` per item on workers that build ``make_state()`` once; results
        in submission order (``on_result`` sees each as it arrives, e.g. to advance a bar)."""
        with self.actors(make_state) as pool:
            return pool.map(fn, items, on_result)


class LocalExecutor(_Executor):
    """Everything on this machine: actor maps in this process, task pools in ``workers``
    spawned processes (``workers`` as the stage asks; 1 = inline)."""

    name = "local"
    in_process = True

    def __init__(self, workers: int = 0):
        self.workers = workers  # 0: each stage decides (the attention stage: one per core, at most 2)

    def task_workers(self, default: int) -> int:
        return self.workers or default

    @contextmanager
    def tasks(self, workers: int, initializer: Callable[[], None] | None = None) -> Iterator[Any]:
        if workers <= 1:
            yield _InlinePool()
            return
        import multiprocessing as mp

        pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=initializer)
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def share(self, value: Any) -> Any:
        """A read-only argument of many tasks, sent once (here: the value itself)."""
        return value

    @contextmanager
    def actors(self, make_state: Callable[[], Any]) -> Iterator["_LocalActors"]:
        yield _LocalActors(make_state())

    def close(self) -> None:
        pass


class _Worker:
    """The body of a Ray actor: one per worker for the whole build (a process start and the
    imports cost seconds); each stage installs its state (``set_state``: load the model once)
    and drops it at the end (``clear``), then runs ``fn(state, item)`` per call."""

    def __init__(self) -> None:
        logging.getLogger("ray").setLevel(logging.WARNING)
        use_node_threads()
        self.state: Any = None

    def set_state(self, make_state: Callable[[], Any]) -> bool:
        self.state = make_state()
        return True

    def clear(self) -> bool:
        import gc

        self.state = None
        gc.collect()  # the model's weights go now, not at some later collection
        return True

    def run(self, fn: Callable[[Any, Any], Any], index: int, item: Any) -> tuple[int, Any]:
        return index, to_numpy(fn(self.state, item))


_initialized: set[Any] = set()


def _run_task(initializer: Callable[[], None] | None, fn: Callable[..., Any], *args: Any) -> Any:
    """A Ray task: the pool's ``initializer`` once per worker process (as a process pool does),
    then ``fn(*args)``."""
    if initializer is not None and initializer not in _initialized:
        initializer()
        _initialized.add(initializer)
    return to_numpy(fn(*args))


def use_node_threads() -> None:
    """Torch threads in a Ray actor as a single process on its node has (Ray sets
    OMP_NUM_THREADS=1 for a 1-CPU actor): with one thread some CPU kernels sum in another order,
    and the hidden states of a forward pass differed in the last bits (3.6e-7 at layer 2 of a
    tiny GPT-2), so a Ray build would not be byte-identical to the single-process one."""
    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)))


class RayExecutor(_Executor):
    """Stages on Ray: a cluster at ``address`` (``ray start --head`` prints it; "auto" = the one
    this machine belongs to), else a local instance started here and stopped by ``close``.

    ``workers``: the build's actors (0 = this machine's cores for a local instance; half the
    cluster's CPUs, or one per GPU). The pitfalls reported in Ray's tracker, handled here: the
    actors never hold every CPU (a local instance gets ``2 x workers + 1`` logical CPUs: the
    actors', as many for tasks and one spare; on a cluster at most its CPUs minus one actors),
    so tasks (the heads' projections) are still scheduled beside them; objects spill into
    ``spill_dir`` (under the cache folder), not /tmp; GPU actors ask for a GPU and a quarter of
    a CPU, not a whole CPU each; workers return NumPy arrays; actors compute with as many torch
    threads as a single process would (``use_node_threads``).
    """

    name = "ray"
    in_process = False

    def __init__(self, address: str | None = None, workers: int = 0, spill_dir: Path | None = None, device: str = "cpu"):
        try:
            import ray
        except ImportError:
            raise UserError(RAY_MISSING) from None
        self.ray = ray
        self.device = device
        self._started = False
        self._actors: list[Any] = []
        if not ray.is_initialized():
            kwargs: dict[str, Any] = dict(
                include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                runtime_env={"env_vars": WORKER_ENV},
            )
            if address:
                try:
                    ray.init(address=address, **kwargs)
                except (ConnectionError, RuntimeError, ValueError) as e:
                    raise UserError(f"--ray-address {address}: cannot connect to a Ray cluster ({first_line(e)})") from None
            else:
                # logical CPUs: the actors', as many again for tasks (a stage's tasks run while the
                # actors idle), and one spare: actors never hold every CPU
                workers = workers or os.cpu_count() or 1
                if spill_dir is not None:
                    Path(spill_dir).mkdir(parents=True, exist_ok=True)
                    kwargs["object_spilling_directory"] = str(spill_dir)
                ray.init(num_cpus=2 * workers + 1, **kwargs)
            self._started = True
        resources = ray.cluster_resources()
        self.gpus = int(resources.get("GPU", 0)) if device == "cuda" else 0
        cpus = int(resources.get("CPU", 1))
        if self.gpus:
            self.workers = min(workers or self.gpus, self.gpus)
        else:  # never every CPU: tasks scheduled beside the actors would wait forever
            self.workers = max(1, min(workers or cpus // 2, cpus - 1))

    def task_workers(self, default: int) -> int:
        return self.workers

    @contextmanager
    def tasks(self, workers: int, initializer: Callable[[], None] | None = None) -> Iterator[Any]:
        """Ray tasks of one CPU each; ``initializer`` runs once in each worker process."""
        remote = self.ray.remote(num_cpus=1, max_retries=0)(_run_task)
        ray = self.ray
        refs: list[Any] = []

        class _Pool:
            def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
                refs.append(remote.remote(initializer, fn, *args))
                return _unwrapped(refs[-1].future())

        try:
            yield _Pool()
        finally:  # a stage that failed half-way: drop the tasks still queued
            for ref in refs:
                ray.cancel(ref)

    def share(self, value: Any) -> Any:
        """A read-only argument of many tasks, put into the object store once (a task given its
        reference as a top-level argument receives the value)."""
        return self.ray.put(value)

    @contextmanager
    def actors(self, make_state: Callable[[], Any]) -> Iterator["_RayActors"]:
        """The build's ``self.workers`` actors (started on first use), each with the state
        ``make_state()`` built once, for one or several maps; the state is dropped on leaving,
        which frees the model's memory for the next stage."""
        ray = self.ray
        if not self._actors:
            options = {"num_cpus": 0.25, "num_gpus": 1} if self.gpus else {"num_cpus": 1}
            actor_cls = ray.remote(max_restarts=0, **options)(_Worker)
            self._actors = [actor_cls.remote() for _ in range(self.workers)]
        state_ref = ray.put(make_state)
        for ref in [actor.set_state.remote(state_ref) for actor in self._actors]:
            _get(ray, ref)
        try:
            yield _RayActors(ray, self._actors)
        finally:
            ray.get([actor.clear.remote() for actor in self._actors])

    def close(self) -> None:
        for actor in self._actors:
            self.ray.kill(actor)
        self._actors = []
        if self._started:
            self.ray.shutdown()
            self._started = False


class _RayActors:
    """Actors of one state each (``RayExecutor.actors``)."""

    def __init__(self, ray: Any, actors: list[Any]):
        self.ray, self.actors = ray, actors

    def as_completed(self, fn: Callable[[Any, Any], Any], items: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        """(submission index, ``fn(state, item)``) per item, as they finish. At most two calls
        in flight per actor, each sent to the least busy one: items are read lazily, so a long
        list of batches is never all in the object store at once."""
        ray, actors = self.ray, self.actors
        pending: dict[Any, int] = {}  # object ref -> actor
        load = [0] * len(actors)
        iterator = enumerate(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < 2 * len(actors):
                try:
                    index, item = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                a = load.index(min(load))
                pending[actors[a].run.remote(fn, index, item)] = a
                load[a] += 1
            if not pending:
                return
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                load[pending.pop(ref)] -= 1
                yield _get(ray, ref)

    def map(self, fn: Callable[[Any, Any], Any], items: Iterable[Any], on_result: Callable[[Any], None] | None = None,
            keep_results: bool = True) -> list[Any]:
        """``fn(state, item)`` per item, results in submission order (none with
        ``keep_results=False``: ``on_result`` consumes each as it arrives, e.g. merges it, so
        big results are never all held at once)."""
        results: dict[int, Any] = {}
        for index, value in self.as_completed(fn, items):
            if on_result is not None:
                on_result(value)
            if keep_results:
                results[index] = value
        return [results[i] for i in range(len(results))]


def _worker_error(e: BaseException) -> BaseException:
    """The UserError a worker raised, when ``e`` (Ray's wrapper) carries one, else ``e``."""
    cause = getattr(e, "cause", None)
    return cause if isinstance(cause, UserError) else e


def _get(ray: Any, ref: Any) -> Any:
    """ray.get, with a UserError raised in a worker raised here as itself (one line, exit 2)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        error = _worker_error(e)
        if error is e:
            raise
        raise error from None


def _unwrapped(future: concurrent.futures.Future) -> concurrent.futures.Future:
    """A Future of a Ray task whose UserError comes out as itself (see ``_get``)."""
    out: concurrent.futures.Future = concurrent.futures.Future()

    def relay(f: concurrent.futures.Future) -> None:
        e = f.exception()
        if e is None:
            out.set_result(f.result())
            return
        out.set_exception(_worker_error(e))

    future.add_done_callback(relay)
    return out


@dataclass(frozen=True)
class ExecutorOptions:
    """The build options that choose an executor (they never change a result)."""

    executor: str = "local"
    ray_address: str = ""
    workers: int = 0


def check_executor(options: ExecutorOptions) -> None:
    """Before any work: ``--executor ray`` without Ray installed is a one-line error (exit 2)."""
    if options.executor == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise UserError(RAY_MISSING)
    elif options.ray_address:
        raise UserError("--ray-address is an option of --executor ray (add --executor ray)")


#: Any executor (LocalExecutor, RayExecutor): what a stage hands its parallel work to.
Executor = _Executor


def make_executor(options: ExecutorOptions, cache_root: Path, device: str = "cpu") -> LocalExecutor | RayExecutor:
    check_executor(options)
    if options.executor == "ray":
        return RayExecutor(options.ray_address or None, options.workers, spill_dir=Path(cache_root) / "ray-spill", device=device)
    return LocalExecutor(options.workers)


@dataclass(frozen=True)
class ModelLoader:
    """A picklable recipe that loads the model in a worker: its checkpoint folder (None = the
    default model), its modality (the build's) and device. ``preprocessing()``: the tokenizer or
    image processor alone, for a driver that plans the work without holding the weights."""

    folder: Path | None
    modality: InputKind
    device: str = "cpu"

    def __call__(self) -> Any:
        from .model.load import load_model

        return load_model(self.folder, self.device, modality=self.modality)

    def preprocessing(self) -> Any:
        from .model.load import LoadedModel, load_preprocessing

        _, tokenizer, processor = load_preprocessing(self.folder, self.modality)
        return LoadedModel(model=None, tokenizer=tokenizer, info=None, device=self.device, processor=processor)


@dataclass(frozen=True)
class InMemoryLoader:
    """A model given as a Python object (no folder to load it from): shipped to the workers whole."""

    loaded: LoadedModel

    def __call__(self) -> Any:
        return self.loaded

    def preprocessing(self) -> Any:
        return self.loaded


def model_loader(source: Any) -> ModelLoader | InMemoryLoader:
    """The loader of a pipeline's model source (pipeline.ModelSource or api.InMemoryModel)."""
    if getattr(source, "dir", None) is None:
        return InMemoryLoader(source.get())
    return ModelLoader(None if source.is_default else Path(source.dir), source.modality, getattr(source, "device", "cpu"))
