"""The stores and factors of a default build, for the bench scripts that study one stage on them.

``stages(model, cache_dir)`` resolves the build configuration exactly as ``tfvis-site build
--model MODEL --cache-dir DIR`` does and returns its attention-sample store (and on demand its
corpus store and factors) through the same stage cache keys (tfvis_site.pipeline), so a bench
run after a build reuses that build's cache entries and a bench run before one fills them.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402


@dataclass
class DefaultStages:
    config: Any  # BuildConfig
    model: Any  # pipeline.ModelSource (loads the weights on first .get())
    store: Any | None  # ActivationStore of the corpus sample (None unless with_factors)
    attention_store: Any  # ActivationStore of the attention sample (q, k, attention)
    attention_config: Any  # AttentionConfig of the build
    factors: Any | None  # FactorResult (None unless with_factors)
    lime_config: Any  # LimeConfig of the build


def stages(model: str | None, cache_dir: Path, preset: str = "default", with_factors: bool = False) -> DefaultStages:
    """Attention store (and with_factors: corpus store and factors) of ``tfvis-site build [--model MODEL] --preset
    PRESET --cache-dir CACHE_DIR``, built into that cache when missing."""
    import dataclasses

    from tfvis_site import pipeline
    from tfvis_site.attention import AttentionConfig, sample_sentences
    from tfvis_site.cache import StageCache
    from tfvis_site.config import resolve
    from tfvis_site.extract import ActivationStore, ExtractOptions, extract
    from tfvis_site.factors import FactorConfig, FactorResult, learn_factors
    from tfvis_site.factors.lime import LimeConfig
    from tfvis_site.progress import Reporter

    reporter = Reporter.silent()
    config = resolve(None, {"model": model, "preset": preset, "cache_dir": Path(cache_dir), "out": Path(cache_dir) / "unused-site"})
    cache = StageCache(config.cache_dir)
    source = pipeline.ModelSource(config, cache.root)
    attention_config = pipeline.analysis_config(AttentionConfig, "attention", config)
    factor_config = pipeline.analysis_config(FactorConfig, "factors", config)
    lime_config = pipeline.analysis_config(LimeConfig, "lime", config)
    if source.is_image:  # the pipeline's image presets
        attention_config = attention_config.replace(n_sentences=pipeline.IMAGE_ATTENTION_SAMPLE[preset])
        lime_config = dataclasses.replace(lime_config, **pipeline.IMAGE_LIME[preset])
        factor_config = dataclasses.replace(factor_config, **pipeline.IMAGE_FACTORS[preset])
    corpus = pipeline.load_any_corpus(config, source.is_image, reporter)
    items = pipeline.corpus_items(corpus)

    def extract_stage(stage: str, indices: np.ndarray, options: Any) -> tuple[Any, dict[str, Any]]:
        key = {"v": pipeline.EXTRACT_VERSION, "model": source.key, "texts": pipeline.corpus_fingerprint(corpus, indices), "options": options.to_dict()}
        names = [corpus.names[i] for i in indices] if source.is_image else None
        path = cache.get_or_build(stage, key, lambda d: extract(source.get(), [items[i] for i in indices], d, options, reporter, names))
        return ActivationStore(path), key

    sample = sample_sentences(len(items), attention_config.n_sentences, config.seed)
    attention_options = ExtractOptions(max_tokens=config.max_tokens, batch_size=config.batch_size, capture_attention=True)
    attention_store, _ = extract_stage("extract-attention", sample, attention_options)
    store = factors = None
    if with_factors:  # the corpus store too (a vision corpus takes minutes to extract)
        store, extract_key = extract_stage("extract", np.arange(len(items)), ExtractOptions(max_tokens=config.max_tokens, batch_size=config.batch_size))
        key = {"extract": extract_key, "config": factor_config.to_dict()}
        factors = FactorResult.load(cache.get_or_build("factors", key, lambda d: learn_factors(store, factor_config, d, reporter)))
    return DefaultStages(config, source, store, attention_store, attention_config, factors, lime_config)
