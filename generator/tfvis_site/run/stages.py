"""The list of a model's build stages, in order (runner.py runs them): corpus, extract,
extract-attention, factors, factor-maps, explanations, llm-explanations, lime, concepts, attention, induction, circuits,
output-tokens, splice, live-export, live-choice, site. Each entry says the key of its inputs,
how it runs and how its result loads, and hands the work to capture/, analysis/ or site/ with
what it reads of the ``ModelRun`` (those never import run/); adding a stage is adding an entry
(docs/architecture.md, "The stage list")."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.attention import AttentionResult, analyse_attention
from ..analysis.circuits import stage as circuits
from ..analysis.circuits.weights import unsupported
from ..analysis.concepts import ConceptResult, concept_key, concept_log, probe_concepts, read_probe_sets
from ..analysis import explanations
from ..executor import model_loader
from ..capture.extract import ActivationStore, extract
from ..analysis.factors import FactorResult, fit_factors
from ..analysis.factors.lime import compute_lime
from ..analysis.live import stage as live
from ..modality import load_corpus
from ..capture.sharded import extract_on_workers, infer_on_workers
from ..site.model_data import write_model_data
from .runner import ModelRun, Stage

# Bump when the extraction output format or maths changes, to invalidate old cache entries.
EXTRACT_VERSION = 5  # 2: image patches (image columns, images.npy); 3: value_norms.npy; 4: meta "capture" (capture.py); 5: sharded store


def _load_corpus(run: ModelRun, item: Any, folder: Path | None) -> Any:
    return run.corpus or load_corpus(run.modality, run.config.corpus, run.config, run.reporter)


CORPUS_STAGE = Stage(
    "corpus", key=lambda run, item: None, build=_load_corpus,
    log=lambda run, item, corpus, cached: f"corpus: {len(run.modality.corpus_items(corpus)):,} {run.modality.item_noun} from {corpus.name}",
)


def extract_stage(name: str, indices: Any, options: Any) -> Stage:
    """The extraction of the corpus items ``indices(run)`` ((n,) int) with ``options(run)``
    (ExtractOptions) into an activation store: in this process, or in shards on the executor's
    workers, which load the model themselves."""

    def key(run: ModelRun, item: Any) -> dict[str, Any]:
        return {"v": EXTRACT_VERSION, "model": run.model.key, "texts": run.modality.corpus_fingerprint(run.results["corpus"], indices(run)),
                "options": options(run).to_dict()}

    def build(run: ModelRun, item: Any, folder: Path | None) -> None:
        chosen_indices = indices(run)
        items = run.items()
        chosen = [items[i] for i in chosen_indices]
        names = run.modality.item_names(run.results["corpus"], chosen_indices)
        if run.executor.in_process:
            extract(run.model.get(), chosen, folder, options(run), run.reporter, names, modality=run.modality)
        else:
            extract_on_workers(run.executor, model_loader(run.model), chosen, folder, options(run), run.reporter, names, modality=run.modality)

    def load(run: ModelRun, item: Any, folder: Path) -> ActivationStore:
        store = ActivationStore(folder)
        store.max_read_bytes = run.memory.budget // 32
        return store

    def log(run: ModelRun, item: Any, store: ActivationStore, cached: bool) -> str:
        units = run.modality.unit_noun  # "tokens", "units (patches + prefix tokens)"
        return f"{name}: {store.n_tokens:,} {units} x {store.info.n_layers + 1} layers" + (" (cached)" if cached else "")

    return Stage(name, key=key, build=build, load=load, log=log, timing="extract", resumable=True)


def _learn_factors(run: ModelRun, item: Any, folder: Path | None) -> None:
    store, cfg = run.results["extract"], run.configs.factors
    d_model, n_layers = store.info.d_model, store.info.n_layers + 1
    run.memory.check({"the factor training sample": 2 * min(cfg.n_train, store.n_tokens * n_layers) * d_model * 4},
                     {"the factor training sample": "[factors] n_train"})
    shard_tokens = run.memory.inference_shard_tokens(n_layers, d_model)
    runner = None if run.executor.in_process else partial(infer_on_workers, run.executor)  # the inference shards on actors
    fit_factors(store, cfg, folder, run.reporter, shard_tokens, runner)


FACTORS_STAGE = Stage(
    "factors", key=lambda run, item: {"extract": run.keys["extract"], "config": run.configs.factors.cache_key()},
    build=_learn_factors, load=lambda run, item, folder: FactorResult.load(folder), resumable=True,
    log=lambda run, item, factors, cached: "factors: " + ("cached" if cached else "learned"),
)


def _factor_maps(run: ModelRun, item: Any, folder: Path | None) -> None:
    from ..analysis.factors.heatmaps import save_heatmaps

    save_heatmaps(run.results["factors"], run.results["extract"], folder)


def _load_factor_maps(run: ModelRun, item: Any, folder: Path) -> dict[str, np.ndarray]:
    from ..analysis.factors.heatmaps import load_heatmaps

    return load_heatmaps(folder)


#: Each factor's activation over its top images: the factor pages' heat maps (units on a grid).
FACTOR_MAPS_STAGE = Stage(
    "factor-maps", key=lambda run, item: {"factors": run.keys["factors"]}, build=_factor_maps, load=_load_factor_maps,
    timing="factor maps", applies=lambda run: run.modality.unit_grid,
)


def _lime(run: ModelRun, item: Any, folder: Path | None) -> None:
    """LIME in this process with the model loaded here, or on workers that load it themselves
    (this process then reads only the tokenizer or image processor)."""
    store, factors, cfg = run.results["extract"], run.results["factors"], run.configs.lime
    if run.executor.in_process:
        compute_lime(run.model.get(), store, factors, cfg, folder, run.reporter, run.executor, modality=run.modality)
        return
    loader = model_loader(run.model)
    compute_lime(loader.preprocessing(), store, factors, cfg, folder, run.reporter, run.executor, loader, modality=run.modality)


#: A rule per factor and layer (analysis/explanations/): after the factors (and their maps), before LIME.
EXPLANATIONS_STAGE = Stage(
    "explanations", key=lambda run, item: {"factors": run.keys["factors"], "config": run.configs.explanations.cache_key()},
    build=lambda run, item, folder: explanations.explain(run.results["factors"], run.results["extract"],
                                                         run.modality.rule_features(run.results["extract"]), run.configs.explanations,
                                                         folder, run.reporter),
    load=lambda run, item, folder: explanations.ExplanationResult.load(folder),
    log=lambda run, item, result, cached: explanations.explanations_log(result, run.configs.explanations.good, cached),
    applies=lambda run: run.configs.explanations.enabled,
)


def _llm_explanations(run: ModelRun, item: Any, folder: Path | None) -> None:
    from ..analysis.explanations.client import api_key
    from ..analysis.explanations.llm import explain_with_endpoint

    explain_with_endpoint(run.results["factors"], run.results["extract"], run.configs.explanations, run.configs.explainer,
                          api_key(run.config.explainer_key), folder, run.reporter)


def _llm_key(run: ModelRun, item: Any) -> dict[str, Any]:
    """The factors, the contexts' sampling and the explainer's settings with its model name:
    never its address or the API key."""
    return {"factors": run.keys["factors"], "contexts": run.configs.explanations.cache_key(), "explainer": run.configs.explainer.cache_key()}


#: An LLM's explanation per factor at its peak layer, scored by it (analysis/explanations/llm.py): with --explainer URL.
LLM_EXPLANATIONS_STAGE = Stage(
    "llm-explanations", key=_llm_key, build=_llm_explanations, resumable=True, label="llm explanations",
    load=lambda run, item, folder: explanations.LLMExplanations.load(folder),
    log=lambda run, item, result, cached: explanations.llm_log(result, cached),
    applies=lambda run: run.configs.explanations.enabled and run.configs.explainer.enabled,
    skip=lambda run: run.modality.llm_explainer_unavailable,
)

LIME_STAGE = Stage("lime", key=lambda run, item: {"factors": run.keys["factors"], "config": run.configs.lime.cache_key()}, build=_lime)

#: One cached stage run per [[probes]] labelled file, on the site's text models (analysis/concepts/).
CONCEPT_STAGE = Stage(
    "concepts", key=lambda run, labelled: concept_key(run.keys["factors"], labelled, run.config.max_tokens, run.config.seed),
    items=lambda run: read_probe_sets(run.config.probes, 1), log=lambda run, labelled, result, cached: concept_log(labelled, result, cached),
    build=lambda run, labelled, folder: probe_concepts(run.model.get(), run.results["factors"], labelled, None, run.config.max_tokens,
                                                        run.config.seed).save(folder),
    load=lambda run, labelled, folder: ConceptResult.load(folder),
    applies=lambda run: run.modality.reads_text and bool(run.config.probes),
)

ATTENTION_STAGE = Stage(
    "attention", key=lambda run, item: {"extract": run.keys["extract-attention"], "config": run.configs.attention.cache_key()},
    build=lambda run, item, folder: analyse_attention(run.results["extract-attention"], run.configs.attention, folder, run.reporter, run.executor,
                                                      statistics=run.modality.head_statistics()),
    load=lambda run, item, folder: AttentionResult.load(folder),
    log=lambda run, item, attention, cached: "attention: " + ("cached" if cached else "analysed"),
)


def _circuits_enabled(run: ModelRun) -> bool:
    return run.configs.circuits.enabled


def _circuits_unsupported(run: ModelRun) -> str | None:
    """Why this model's circuits are left out (logged, and said in the manifest), or None."""
    return unsupported(str(run.results["extract-attention"].info.model_type))


def _circuits_key(run: ModelRun) -> dict[str, Any]:
    return run.configs.circuits.cache_key()


def _sample_units(run: ModelRun, loaded: Any) -> Any:
    """The model inputs of the attention sample's sentences, indexed as its store is."""
    items = run.items()
    chosen = run.attention_sample()
    names = run.modality.item_names(run.results["corpus"], chosen)
    return run.modality.make_units(loaded, [items[i] for i in chosen], run.attention_options(), names)


def _on_attention_sample(work: Any) -> Any:
    """A circuit stage's build that reads the model, the attention sample's inputs, store and the factors."""
    def build(run: ModelRun, item: Any, folder: Path | None) -> None:
        loaded = run.model.get()
        work(loaded, _sample_units(run, loaded), run.results["extract-attention"], run.results["factors"], run.configs.circuits, folder,
             run.reporter)
    return build


#: Heads x factors x outputs (analysis/circuits/), after the attention stage, on its sample.
CIRCUIT_STAGES = [
    Stage("induction", key=lambda run, item: {"model": run.model.key, "config": _circuits_key(run)},
          build=lambda run, item, folder: circuits.induction(run.model.get(), run.configs.circuits, folder),
          load=lambda run, item, folder: circuits.load_induction(folder),
          applies=lambda run: _circuits_enabled(run) and run.results["extract-attention"].info.is_causal,
          log=lambda run, item, scores, cached: circuits.induction_log(scores, run.configs.circuits.induction_threshold, cached),
          skip=_circuits_unsupported),
    Stage("circuits", key=lambda run, item: {"factors": run.keys["factors"], "extract": run.keys["extract-attention"], "config": _circuits_key(run)},
          build=_on_attention_sample(circuits.head_circuits), load=lambda run, item, folder: circuits.HeadCircuits.load(folder),
          applies=_circuits_enabled, log=lambda run, item, result, cached: circuits.circuits_log(result, cached), skip=_circuits_unsupported),
    Stage("output-tokens", key=lambda run, item: {"factors": run.keys["factors"], "model": run.model.key, "config": _circuits_key(run)},
          build=lambda run, item, folder: circuits.factor_outputs(run.model.get(), run.results["factors"], run.configs.circuits, folder),
          load=lambda run, item, folder: circuits.FactorOutputs.load(folder), applies=_circuits_enabled,
          log=lambda run, item, out, cached: f"output tokens: {out.kind or 'none'}" + (" (cached)" if cached else ""),
          skip=_circuits_unsupported),
    Stage("splice", key=lambda run, item: {"factors": run.keys["factors"], "extract": run.keys["extract-attention"], "config": _circuits_key(run)},
          build=_on_attention_sample(circuits.splice), load=lambda run, item, folder: circuits.load_splice(folder), applies=_circuits_enabled,
          log=lambda run, item, layers, cached: circuits.splice_log(layers, cached), skip=_circuits_unsupported),
]


def _accuracy_texts(run: ModelRun) -> list[str]:
    return live.accuracy_texts(run.items())


#: The model in ONNX + the encoder, for the pages' "try your own text" (analysis/live/): export
#: (cached per model + max_tokens), then the choice of weights (cached per export + dictionary + texts).
LIVE_STAGES = [
    Stage("live-export", key=lambda run, item: live.export_key(run.model.key, run.config.max_tokens), label="live probe", timing="live",
          tolerate=lambda run, error: live.export_failed(error, run.config.live_probe),
          build=lambda run, item, folder: live.export_all(run.model.get(), run.config.max_tokens, folder, run.reporter),
          applies=lambda run: run.config.live_probe != "off",
          skip=lambda run: live.unavailable(run.config.live_probe, run.model.name, run.results["extract"], run.results["factors"],
                                            run.modality.live_probe_unavailable)),
    Stage("live-choice", key=lambda run, item: live.choice_key(run.keys["live-export"], run.keys["factors"], _accuracy_texts(run)),
          build=lambda run, item, folder: live.choose_weights(run.model.get(), run.results["factors"], run.results["live-export"], _accuracy_texts(run),
                                                              run.config.max_tokens, folder, run.reporter),
          load=lambda run, item, folder: live.load_choice(folder, run.results["live-export"]),
          log=lambda run, item, result, cached: live.choice_log(result, cached), timing="live",
          applies=lambda run: "live-export" in run.results),
]

SITE_STAGE = Stage("site", key=lambda run, item: None, build=lambda run, item, folder: write_model_data(run))

#: Every stage of a model's build, in order.
STAGES: list[Stage] = [
    CORPUS_STAGE,
    extract_stage("extract", lambda run: np.arange(len(run.items())), ModelRun.store_options),
    extract_stage("extract-attention", ModelRun.attention_sample, ModelRun.attention_options),
    FACTORS_STAGE,
    # right after the factors it reads: its ONNX session's ~0.3 GB transient then stacks on the
    # smallest resident set of the build, not on every later stage's results
    *LIVE_STAGES,
    FACTOR_MAPS_STAGE,
    EXPLANATIONS_STAGE,
    LLM_EXPLANATIONS_STAGE,
    LIME_STAGE,
    CONCEPT_STAGE,
    ATTENTION_STAGE,
    *CIRCUIT_STAGES,
    SITE_STAGE,
]
