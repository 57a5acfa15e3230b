"""A model's data files and manifest (``data/`` of models/<slug>/), written from what its stages
made: the last stage of its build (run/stages.py SITE_STAGE)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..version import __version__
from ..analysis.attention import write_attention_bundle
from ..analysis.circuits.bundle import CircuitResults, write_circuits_bundle
from .bundles import BundleWriter
from ..analysis.concepts import write_concepts_bundle
from ..analysis.factors import write_factor_bundle
from ..analysis.factors.lime import write_lime_bundle
from ..analysis.explanations.bundle import write_explanations_bundle
from ..analysis.live import write_live_bundle
from ..analysis.results import Analyses
from ..model.registry import builtin_models

if TYPE_CHECKING:
    from ..run.config import BuildConfig
    from ..modality.base import Modality, ModelSourceLike
    from ..run.runner import ModelRun


def analyses_of(run: ModelRun) -> Analyses:
    """The results of a model's stages (run/stages.py STAGES)."""
    r = run.results
    return Analyses(store=r["extract"], factors=r["factors"], factor_maps=r.get("factor-maps"), lime=r["lime"],
                    attention_store=r["extract-attention"], attention=r["attention"], attention_sample=run.attention_sample(),
                    concepts=r.get("concepts", []), live=r.get("live-choice"), live_unavailable=run.left_out.get("live-export"),
                    circuits=CircuitResults(run.configs.circuits, r.get("circuits"), r.get("output-tokens"), r.get("splice"), r.get("induction"),
                                            run.left_out.get("circuits"))
                    if run.configs.circuits.enabled else None,
                    explanations=r.get("explanations"), llm_explanations=r.get("llm-explanations"))


def write_model_data(run: ModelRun) -> dict[str, Any]:
    """Every data file of one model and its manifest, into ``run.out/data/``; returns the manifest."""
    config, corpus, model, modality, analyses = run.config, run.results["corpus"], run.model, run.modality, analyses_of(run)
    store = analyses.store
    bundle = BundleWriter(run.out)
    bundle.add_table("sentences.parquet", store.sentences.select(["sentence_id", "text", "n_tokens", "token_offset"]))
    bundle.add_table("tokens.parquet", store.tokens)

    lengths = store.sentences.column("n_tokens").to_numpy()
    info = store.info.to_dict()
    info.pop("path")  # a local path says nothing to a reader and breaks reproducibility
    info["name"] = model.name  # "SmolLM2-135M-Instruct", not the name of its converted folder
    info["slug"] = run.slug
    info["family"] = model_family(model, info)
    manifest = {
        "tool": {"name": "tfvis-site", "version": __version__},
        "title": config.title or f"{info['name']} on {corpus.name}",
        "model": {**info, "source": model.display_source, "hidden_state_layers": store.info.n_layers + 1},
        "corpus": {
            **_public_card(corpus.card()),
            "sentences": store.n_sentences,
            "tokens": store.n_tokens,
            "token_length": _length_summary(lengths, config.max_tokens),
        },
        "modality": store.info.modality,
        "layers": store.info.n_layers + 1,
        "heads": store.info.n_heads,
        "build": public_config(config),
        # Run times vary from run to run: they stay out of the site, which must be reproducible.
        "factors": _factor_files(analyses, bundle, modality),
        "attention": _without(write_attention_bundle(analyses.attention, analyses.attention_store, bundle, analyses.attention_sample,
                                                     compact_attention=modality.compact_attention), "seconds"),
    }
    # the model's display name there too, not its store's folder name ("dinov2-54dd7ea8efa7ab43")
    manifest["attention"]["model"]["name"] = info["name"]
    if analyses.concepts:
        manifest["concepts"] = write_concepts_bundle(config.probes, analyses.concepts, bundle)
    modality.write_bundles(manifest, analyses, bundle)
    if analyses.circuits is not None:
        write_circuits_bundle(analyses.circuits, manifest, bundle)
    if analyses.live is not None:
        manifest["live"] = write_live_bundle(analyses.live, analyses.factors, store.info, config.max_tokens, bundle)
    elif analyses.live_unavailable:
        manifest["live_unavailable"] = analyses.live_unavailable
    return bundle.write_manifest(manifest)


def _factor_files(analyses: Analyses, bundle: BundleWriter, modality: Modality) -> dict[str, Any]:
    """Factor bundle, LIME, the search index (derived from the first two files) and the
    explanations -> manifest["factors"]."""
    section = _without(write_factor_bundle(analyses.factors, analyses.store, bundle, analyses.factor_maps,
                                           contexts=modality.factor_contexts()), "timings")
    section["lime"] = write_lime_bundle(analyses.lime, analyses.factors.config.chunk_size, bundle)
    section["search"] = modality.write_search_index(bundle, section)
    if analyses.explanations is not None:
        section["explanations"] = write_explanations_bundle(analyses.explanations, bundle, analyses.llm_explanations)
    return section


def model_family(model: ModelSourceLike, info: dict[str, Any]) -> str:
    """"Llama decoder, GQA" for a built-in (the registry says), else the model type and whether
    its attention is causal: "bert encoder", "gpt2 decoder"."""
    builtin = getattr(model, "builtin", None)
    if builtin:
        return builtin_models()[builtin].family
    return f"{info['model_type']} {'decoder' if info['is_causal'] else 'encoder'}"


def _without(section: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in section.items() if k != key}


def _length_summary(lengths: np.ndarray, max_tokens: int) -> dict[str, Any]:
    """Histogram of tokens per text (special tokens included), for the corpus card."""
    n_bins = min(24, max(1, int(lengths.max()) - int(lengths.min()) + 1))
    counts, edges = np.histogram(lengths, bins=n_bins, range=(int(lengths.min()), int(lengths.max()) + 1))
    return {
        "min": int(lengths.min()),
        "max": int(lengths.max()),
        "mean": round(float(lengths.mean()), 2),
        "median": float(np.median(lengths)),
        "truncated": int((lengths >= max_tokens).sum()),
        "histogram": {"counts": counts.tolist(), "edges": [round(float(e), 2) for e in edges]},
    }


def _public_card(card: dict[str, Any]) -> dict[str, Any]:
    """The corpus card without local paths: a user's file or folder is named, not located."""
    source = Path(str(card.get("source", "")))
    if source.is_absolute() or source.exists():
        card = {**card, "source": f"local {'folder' if source.is_dir() else 'file'} {source.name}"}
    return card


def public_config(config: BuildConfig) -> dict[str, Any]:
    """The build options as the site shows them: paths reduced to names (no local folders)."""
    public = config.to_dict()
    public.pop("models")  # the site's other models have manifests of their own
    for key in ("model", "corpus"):
        public[key] = Path(public[key]).name if public[key] else "(default)"
    # where, with how much memory and on what: not what
    for key in ("out", "cache_dir", "no_cache", "memory_budget", "executor", "ray_address", "workers"):
        public.pop(key)
    public["probes"] = [{**p, "file": Path(p["file"]).name} for p in public["probes"]]
    # the LLM explainer's model is part of what the site says; its address is not (a private server)
    public["explanations"] = {k: v for k, v in public["explanations"].items() if k != "explainer"}
    return public
