"""The stores and factors of a default build, for the bench scripts that study one stage on them.

``stages(model, cache_dir)`` resolves the build configuration exactly as ``tfvis-site build
--model MODEL --cache-dir DIR`` does and returns its attention-sample store (and on demand its
corpus store and factors) through the build's own stages (tfvis_site.run.stages), so a bench
run after a build reuses that build's cache entries and a bench run before one fills them.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


@dataclass
class DefaultStages:
    config: Any  # BuildConfig
    model: Any  # pipeline.ModelSource (loads the weights on first .get())
    store: Any | None  # ActivationStore of the corpus sample (None unless with_factors)
    attention_store: Any  # ActivationStore of the attention sample (q, k, attention)
    attention_config: Any  # AttentionConfig of the build
    factors: Any | None  # FactorResult (None unless with_factors)
    lime_config: Any  # LimeConfig of the build
    run: Any = None  # the build's ModelRun (its stage configs and results)


def stages(model: str | None, cache_dir: Path, preset: str = "default", with_factors: bool = False) -> DefaultStages:
    """Attention store (and with_factors: corpus store and factors) of ``tfvis-site build [--model MODEL] --preset
    PRESET --cache-dir CACHE_DIR``, built into that cache when missing."""
    from tfvis_site.run import build as pipeline
    from tfvis_site.run.stages import STAGES
    from tfvis_site.cache import StageCache
    from tfvis_site.run.config import resolve
    from tfvis_site.progress import Reporter
    from tfvis_site.run.runner import run_stages

    reporter = Reporter.silent()
    config = resolve(None, {"model": model, "preset": preset, "cache_dir": Path(cache_dir), "out": Path(cache_dir) / "unused-site"})
    cache = StageCache(config.cache_dir)
    source = pipeline.ModelSource(config, cache.root)
    # the build's own stages, sized as the build sizes them: the same cache keys
    run = pipeline.model_run(config, source, cache, reporter, Path(cache_dir) / "unused-site", source.slug)
    wanted = {"corpus", "extract-attention"} | ({"extract", "factors"} if with_factors else set())  # a vision corpus takes minutes to extract
    results = run_stages([stage for stage in STAGES if stage.name in wanted], run).results
    return DefaultStages(run.config, source, results.get("extract"), results["extract-attention"], run.configs.attention, results.get("factors"),
                         run.configs.lime, run)
