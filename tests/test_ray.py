"""The Ray executor (executor.py) on one local Ray instance for the whole module: a build with
``--executor ray --workers 2`` writes the same bytes as the single-process build, LIME and the
heads' projections computed on Ray equal the local arrays, and actor maps keep submission order.
Skipped where Ray is not installed (CI installs the extra: .ci/run)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from tiny import TRAIN_TEXT

ray = pytest.importorskip("ray")

from tfvis_site.run.config import resolve  # noqa: E402
from tfvis_site.errors import UserError  # noqa: E402
from tfvis_site.executor import LocalExecutor, RayExecutor  # noqa: E402
from tfvis_site.run.build import build  # noqa: E402
from tfvis_site.progress import Reporter  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def ray_instance(tmp_path_factory):
    """One local instance (5 logical CPUs: two actors, two tasks and one spare, as RayExecutor
    sizes it for 2 workers), shared by the tests; RayExecutor finds it running and leaves it
    running."""
    spill = tmp_path_factory.mktemp("ray-spill")
    # workers import the package and this module (its functions run on actors) by name
    path = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=5, include_dashboard=False, log_to_driver=False, object_spilling_directory=str(spill),
             runtime_env={"env_vars": {"PYTHONPATH": path, "OMP_WAIT_POLICY": "PASSIVE"}})
    yield
    ray.shutdown()


#: Small shards, so that both actors get store shards and inference shards of their own.
SHARDED = """
preset = "quick"
shard_tokens = 24
memory_budget = "256K"
[factors]
inference_batch = 16
n_train = 200
[lime]
coverage = "all"
[attention]
projections = ["pca", "umap", "tsne"]   # the default projections (dims 2 and 3) and t-SNE, as Ray tasks
tsne_perplexity = 10.0
"""


@pytest.fixture(scope="module")
def builds(tiny_checkpoints, tmp_path_factory):
    """The same quick build twice: single-process in a fresh interpreter (which also reports
    whether Ray was imported), and on Ray with 2 workers in this process."""
    root = tmp_path_factory.mktemp("ray-builds")
    (root / "corpus.txt").write_text("\n".join(TRAIN_TEXT) + "\n")
    (root / "site.toml").write_text(SHARDED)
    common = ["--config", str(root / "site.toml"), "--model", str(tiny_checkpoints["gpt2"]), "--corpus", str(root / "corpus.txt")]
    args = ["build", "--quiet", *common, "--out", str(root / "site-local"), "--cache-dir", str(root / "cache-local")]
    code = f"import sys\nfrom tfvis_site.cli import main\ncode = main({args!r})\nprint('RAY_IMPORTED' if 'ray' in sys.modules else 'NO_RAY')\nsys.exit(code)"
    local = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert local.returncode == 0, local.stderr
    flags = {"model": tiny_checkpoints["gpt2"], "corpus": root / "corpus.txt", "out": root / "site-ray", "cache_dir": root / "cache-ray",
             "executor": "ray", "workers": 2}
    reporter = Reporter.silent()
    build(resolve(root / "site.toml", flags), reporter)
    return {"root": root, "local_stdout": local.stdout, "messages": reporter.messages}


def test_default_build_never_imports_ray(builds):
    assert builds["local_stdout"].strip().splitlines()[-1] == "NO_RAY"


def test_ray_build_is_byte_identical_to_single_process_build(builds):
    assert "executor: ray, 2 workers" in builds["messages"]
    local, on_ray = builds["root"] / "site-local", builds["root"] / "site-ray"
    local_files = sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())
    ray_files = sorted(str(p.relative_to(on_ray)) for p in on_ray.rglob("*") if p.is_file())
    assert local_files == ray_files and len(local_files) > 20
    different = [name for name in local_files if (local / name).read_bytes() != (on_ray / name).read_bytes()]
    assert different == []


def _stage_dir(builds, cache: str, stage: str) -> Path:
    (found,) = (builds["root"] / cache / stage).glob("*/.complete")
    return found.parent


def test_lime_on_ray_actors_equals_local(builds):
    local = pq.read_table(_stage_dir(builds, "cache-local", "lime") / "lime.parquet")
    on_ray = pq.read_table(_stage_dir(builds, "cache-ray", "lime") / "lime.parquet")
    assert local.num_rows > 0 and local.equals(on_ray)
    assert len(np.unique(local.column("sentence_id").to_numpy())) > 1  # several sentences, i.e. several jobs


def test_store_and_inference_were_sharded(builds):
    store = _stage_dir(builds, "cache-ray", "extract")
    assert len(json.loads((store / "meta.json").read_text())["shards"]) >= 4  # several per actor
    from tfvis_site.capture.extract import ActivationStore
    from tfvis_site.analysis.factors import FactorConfig
    from tfvis_site.analysis.factors.inference import inference_shards
    from tfvis_site.run.memory import MemoryBudget

    opened = ActivationStore(store)
    per_shard = MemoryBudget.from_option("256K").inference_shard_tokens(opened.info.n_layers + 1, opened.info.d_model)
    assert len(inference_shards(opened.sentence_offsets, FactorConfig(inference_batch=16), per_shard)) >= 2


def test_projection_tasks_on_ray_equal_local(builds):
    local, on_ray = _stage_dir(builds, "cache-local", "attention"), _stage_dir(builds, "cache-ray", "attention")
    names = sorted(p.name for p in local.glob("coords_*.npy"))
    assert {f"coords_{p}{d}.npy" for p in ("pca", "umap", "tsne") for d in (2, 3)} <= set(names), names
    for name in names:
        assert np.array_equal(np.load(local / name), np.load(on_ray / name)), name
    meta = json.loads((on_ray / "result.json").read_text())
    assert meta["workers"] == 2


def _slow_square(state, item):
    time.sleep(0.05 * (item % 3))  # later items often finish first
    return {"pid": os.getpid(), "state": state["id"], "value": np.array([item * item])}


def _make_state():
    return {"id": f"{os.getpid()}-{time.time_ns()}"}


@pytest.fixture(scope="module")
def executor():
    """One executor (its two actors start once) for the executor's own tests."""
    on_ray = RayExecutor(workers=2)
    yield on_ray
    on_ray.close()


def test_actor_map_keeps_submission_order_and_builds_state_once_per_actor(executor):
    seen = []
    out = executor.actor_map(_make_state, _slow_square, iter(range(12)), on_result=seen.append)
    assert [int(r["value"][0]) for r in out] == [i * i for i in range(12)]
    assert len(seen) == 12 and isinstance(out[0]["value"], np.ndarray)
    assert {r["pid"] for r in out} != {os.getpid()} and len({r["state"] for r in out}) == 2  # 2 actors, one state each
    assert LocalExecutor().actor_map(_make_state, _slow_square, range(4))[3]["value"][0] == 9


def _reject(state, item):
    raise UserError(f"item {item}: bad input")


def test_user_error_in_a_worker_arrives_as_itself(executor):
    with pytest.raises(UserError, match="^item 0: bad input$"):
        executor.actor_map(dict, _reject, [0])
    with executor.tasks(1) as pool:
        with pytest.raises(UserError, match="^item 1: bad input$"):
            pool.submit(_reject, None, 1).result()
