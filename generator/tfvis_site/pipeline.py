"""The pipeline (``tfvis-site build`` and ``tfvis_site.build``): corpus -> extract -> analyses -> bundles -> pages, with a stage cache.

A site holds one or several models (layout: layout.py); each model runs through every stage with
the stage cache (keys name the model), so adding a model to a built site computes only that
model. The whole site is written into a temporary folder beside the output and swapped into
place only when complete, so a failed build leaves the previous site untouched.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, layout
from .attention import AttentionConfig, AttentionResult, analyse_attention, sample_sentences, write_attention_bundle
from .attention.bundle import sample_rows
from .bundles import BundleWriter
from .budget import ModelCost, scaled_sizes
from .memory import MemoryBudget
from .cache import StageCache, file_fingerprint, stable_hash
from .concepts import concept_stage, read_probe_sets, write_concepts_bundle
from .config import BuildConfig
from .corpus import load_corpus
from .errors import UserError
from .executor import LocalExecutor, check_executor, make_executor, model_loader
from .extract import ActivationStore, ExtractOptions, extract
from .factors import FactorConfig, FactorResult, learn_factors, write_factor_bundle
from .factors.lime import LimeConfig, compute_lime, write_lime_bundle
from .factors.search import write_search_index
from .factors.token_factors import write_token_factors
from .live import live_stage, write_live_bundle
from .models import LoadedModel, resolve_device, _read_config, is_image_config, load_model
from .registry import DEFAULT_MODEL, builtin_models, resolve_model
from .sharded import extract_on_workers, infer_on_workers
from .probe import write_site_record
from .progress import Reporter
from .pages import render_site

# Bump when the extraction output format or maths changes, to invalidate old cache entries.
EXTRACT_VERSION = 5  # 2: image patches (image columns, images.npy); 3: value_norms.npy; 4: meta "capture" (capture.py); 5: sharded store


@dataclass
class Analyses:
    """Everything the pages are made from."""

    store: ActivationStore  # the corpus sample: hidden states of every layer
    factors: FactorResult
    factor_maps: dict[str, np.ndarray] | None  # image stores: activation maps (factors/heatmaps.py)
    lime: Path  # folder with lime.parquet + lime.json
    attention_store: ActivationStore  # the attention sample: q, k and attention weights too
    attention: AttentionResult
    attention_sample: np.ndarray  # (n_attention_sentences,) sentence_id of each sample sentence in ``store``
    concepts: list[Any] = field(default_factory=list)  # concepts.ConceptResult per [[probes]] table
    live: Any = None  # live.LiveExport of the live probe, or None
    live_unavailable: str | None = None  # why the model has no live probe (None: it has one, or --no-live-probe)


@dataclass
class ModelBuild:
    """One model of a built site: its slug (folder models/<slug>/), manifest, and what its stages
    cost (seconds) and found in the cache."""

    slug: str
    manifest: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    cache_hits: dict[str, bool] = field(default_factory=dict)


@dataclass
class BuildResult:
    """``models``: every model of the site by slug, in build order; ``timings``: every stage
    summed over the models, plus "pages" (the pages, the gallery and the assets)."""

    out: Path
    models: dict[str, ModelBuild]
    timings: dict[str, float] = field(default_factory=dict)

    def model_dir(self, slug: str | None = None) -> Path:
        return layout.model_dir(self.out, slug or self._only().slug)

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest of a single-model site."""
        return self._only().manifest

    @property
    def cache_hits(self) -> dict[str, bool]:
        """Stage -> found in the cache, of a single-model site."""
        return self._only().cache_hits

    def _only(self) -> ModelBuild:
        if len(self.models) != 1:
            raise ValueError(f"the site holds {len(self.models)} models: use result.models[slug] ({', '.join(self.models)})")
        return next(iter(self.models.values()))


class StageTimer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start


class ModelSource:
    """The model, loaded on first use only: a fully cached rebuild never loads the weights."""

    def __init__(self, config: BuildConfig, cache_root: Path, log: Callable[[str], None] | None = None):
        # A built-in name, a folder, a .gguf file or a hub id in the HF cache -> a checkpoint folder
        self.resolved = resolve_model(config.model, cache_root, log=log)
        self.builtin = self.resolved.builtin
        self.is_default = self.builtin == "minilm"
        self.dir = self.resolved.folder
        self.name = self.resolved.name  # a converted folder's own name is a cache key
        self.slug = self.resolved.slug
        # Fail fast on a folder that is not a checkpoint; the config also tells text from vision.
        self.is_image = is_image_config(_read_config(self.dir))
        self.device = config.device
        self._loaded: LoadedModel | None = None

    @property
    def key(self) -> dict[str, str]:
        return {"path": str(self.dir.resolve()), "fingerprint": file_fingerprint(self.dir)}

    def get(self) -> LoadedModel:
        if self._loaded is None:
            self._loaded = load_model(None if self.is_default else self.dir, self.device)
        return self._loaded

    def release(self) -> None:
        self._loaded = None

    def hf_config(self) -> Any:
        """The transformers config, read without loading the weights."""
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(self.dir, local_files_only=True)

    @property
    def display_source(self) -> str:
        return self.resolved.source


def build(config: BuildConfig, reporter: Reporter, model: Any = None, corpus: Any = None) -> BuildResult:
    """Run every stage for every model of the site and write the site. ``model`` (a ModelSource
    or InMemoryModel) and ``corpus`` (a Corpus / ImageCorpus) replace ``config.model`` /
    ``config.corpus`` of a single-model build when given (the Python API, tfvis_site.api).

    The models are analysed one after the other (only one model's analyses in memory at a
    time), their data written into a staging folder; the pages come last, when every model's
    manifest is known (each page's model switcher lists what the other models have)."""
    out = Path(config.out)
    _check_output_folder(out)
    config = dataclasses.replace(config, device=resolve_device(config.device))  # before any work
    cache = StageCache(config.cache_dir, enabled=not config.no_cache)
    configs = config.model_configs()
    if (model is not None or corpus is not None) and len(configs) > 1:
        raise UserError("build(model=<object> or corpus=<list>) builds one model: give several models as names or paths")
    # Resolve every model before any work: a bad name or two models with one slug stop the build at once.
    sources = [model or ModelSource(c, cache.root, log=reporter.log) for c in configs]
    slugs = _site_slugs(configs, sources)
    read_probe_sets(config.probes, sum(not s.is_image for s in sources))  # a bad labels file stops the build at once
    check_executor(config.executor_options())  # --executor ray without Ray: one line, before any work
    timer = StageTimer()
    built: dict[str, ModelBuild] = {}
    records: dict[str, dict[str, Any]] = {}
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-building-", dir=out.resolve().parent))
    executor = None
    try:
        executor = make_executor(config.executor_options(), cache.root, config.device)
        if executor.name != "local":
            reporter.log(f"executor: {executor.name}, {executor.workers} worker{'s' if executor.workers > 1 else ''}")
        for model_config, source, slug in zip(configs, sources, slugs):
            if len(configs) > 1:
                reporter.log(f"model {slug}: {source.name}")
            built[slug], records[slug] = build_model(model_config, source, corpus, cache, reporter, layout.model_dir(staging, slug), slug, executor)
            if isinstance(source, ModelSource):
                source.release()  # the next model's weights need the memory
        with timer("pages"):
            render_site(staging, {slug: b.manifest for slug, b in built.items()}, site_title(config, built))
            (staging / ".nojekyll").write_text("")  # GitHub Pages: serve folders starting with _ or . as is
            _swap_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if executor is not None:
            executor.close()
    write_site_record(cache, out, {"models": records})
    # every stage summed over the models, in the order of the model with the most stages (an image model's factor maps)
    stages = list(max((b.timings for b in built.values()), key=len))
    timings = {stage: sum(b.timings.get(stage, 0.0) for b in built.values()) for stage in stages}
    return BuildResult(out=out, models=built, timings={**timings, **timer.timings})


def build_model(config: BuildConfig, model: Any, corpus: Any, cache: StageCache, reporter: Reporter, model_dir: Path, slug: str,
                executor: Any = None) -> tuple[ModelBuild, dict[str, Any]]:
    """Every stage of one model, its data files and manifest into ``model_dir`` (no pages yet).
    Returns the model's build and its record for ``tfvis-site probe``. ``executor``: where the
    parallel parts run (executor.py; None = this process)."""
    executor = executor or LocalExecutor()
    timer = StageTimer()
    cache.hits = {}  # this model's hits only
    factor_config = analysis_config(FactorConfig, "factors", config)
    lime_config = analysis_config(LimeConfig, "lime", config)
    attention_config = analysis_config(AttentionConfig, "attention", config)

    if not model.is_image:  # a bigger text model: smaller samples, unless the user set them
        config, factor_config, lime_config, attention_config = fit_to_budget(config, model, factor_config, lime_config, attention_config, reporter)
    probe_sets = [] if model.is_image else read_probe_sets(config.probes, 1)  # [[probes]] run on the site's text models
    with timer("corpus"):
        corpus = corpus or load_any_corpus(config, model.is_image, reporter)
        items = corpus_items(corpus)
        reporter.log(f"corpus: {len(items):,} {'images' if model.is_image else 'texts'} from {corpus.name}")
    if model.is_image:  # presets sized for images, unless the config file sets the option
        attention_config = attention_config.replace(n_sentences=config.attention.get("n_sentences", IMAGE_ATTENTION_SAMPLE[config.preset]))
        lime_config = dataclasses.replace(lime_config, **{k: v for k, v in IMAGE_LIME[config.preset].items() if k not in config.lime})
        factor_config = dataclasses.replace(factor_config, **{k: v for k, v in IMAGE_FACTORS[config.preset].items() if k not in config.factors})

    memory = MemoryBudget.from_option(config.memory_budget)

    def extract_stage(stage: str, indices: np.ndarray, options: ExtractOptions) -> tuple[ActivationStore, dict[str, Any]]:
        chosen = [items[i] for i in indices]
        names = [corpus.names[i] for i in indices] if model.is_image else None
        key = {"v": EXTRACT_VERSION, "model": model.key, "texts": corpus_fingerprint(corpus, indices), "options": options.to_dict()}
        if executor.in_process:
            run = lambda d: extract(model.get(), chosen, d, options, reporter, names)  # noqa: E731
        else:  # shards on the executor's actors, which load the model themselves
            run = lambda d: extract_on_workers(executor, model_loader(model), chosen, d, options, reporter, names)  # noqa: E731
        store = ActivationStore(cache.get_or_build(stage, key, run, resumable=True))
        store.max_read_bytes = memory.budget // 32
        unit = "units (patches + prefix tokens)" if model.is_image else "tokens"
        reporter.log(f"{stage}: {store.n_tokens:,} {unit} x {store.info.n_layers + 1} layers" + (" (cached)" if cache.hits[stage] else ""))
        return store, key

    with timer("extract"):
        options = ExtractOptions(max_tokens=config.max_tokens, batch_size=config.batch_size, dtype=config.store_dtype, shard_tokens=config.shard_tokens)
        store, extract_key = extract_stage("extract", np.arange(len(items)), options)
        sample = sample_sentences(len(items), attention_config.n_sentences, config.seed)
        # the attention sample is small: its q, k, attention weights and hidden states stay float32
        attention_options = ExtractOptions(max_tokens=config.max_tokens, batch_size=config.batch_size, capture_attention=True, shard_tokens=config.shard_tokens)
        attention_store, attention_extract_key = extract_stage("extract-attention", sample, attention_options)

    with timer("factors"):
        key = {"extract": extract_key, "config": factor_config.to_dict()}
        d_model, n_layers = store.info.d_model, store.info.n_layers + 1
        memory.check({"the factor training sample": 2 * min(factor_config.n_train, store.n_tokens * n_layers) * d_model * 4}, {"the factor training sample": "[factors] n_train"})
        shard_tokens = memory.inference_shard_tokens(n_layers, d_model)
        runner = None if executor.in_process else partial(infer_on_workers, executor)  # the inference shards on actors
        factors = FactorResult.load(cache.get_or_build("factors", key, lambda d: learn_factors(store, factor_config, d, reporter, shard_tokens, runner), resumable=True))
        reporter.log("factors: " + ("cached" if cache.hits["factors"] else "learned"))
    factors_key = key

    factor_maps = None
    if store.is_image:  # each factor's activation over its top images (the factor pages' heat maps)
        with timer("factor maps"):
            from .factors.heatmaps import load_heatmaps, save_heatmaps

            maps_dir = cache.get_or_build("factor-maps", {"factors": key}, lambda d: save_heatmaps(factors, store, d))
            factor_maps = load_heatmaps(maps_dir)

    with timer("lime"):
        lime_key = {"factors": key, "config": lime_config.to_dict()}
        lime = cache.get_or_build("lime", lime_key, lambda d: lime_stage(model, store, factors, lime_config, d, reporter, executor))

    concepts = []
    if probe_sets:
        with timer("concepts"):
            concepts = concept_stage(cache, key, factors, model, probe_sets, config.max_tokens, config.seed, reporter)

    with timer("attention"):
        key = {"extract": attention_extract_key, "config": attention_config.cache_key()}
        attention = AttentionResult.load(cache.get_or_build("attention", key, lambda d: analyse_attention(attention_store, attention_config, d, reporter, executor)))
        reporter.log("attention: " + ("cached" if cache.hits["attention"] else "analysed"))

    live = live_unavailable = None
    if config.live_probe != "off":  # the model in ONNX + the encoder, for the pages' "try your own text"
        with timer("live"):
            live, live_unavailable = live_stage(cache, config.live_probe, model, store, factors, factors_key, items, config.max_tokens, reporter)

    analyses = Analyses(
        store=store, factors=factors, factor_maps=factor_maps, lime=lime, attention_store=attention_store, attention=attention, attention_sample=sample,
        concepts=concepts, live=live, live_unavailable=live_unavailable,
    )
    with timer("site"):
        manifest = write_model_data(model_dir, config, corpus, model, analyses, slug)
    record = {
        "model": None if model.is_default or model.dir is None else str(model.dir.resolve()),
        "in_memory": model.dir is None,
        "factors": str(factors.path),
        "max_tokens": config.max_tokens,
    }
    return ModelBuild(slug=slug, manifest=manifest, timings=timer.timings, cache_hits=dict(cache.hits)), record


def lime_stage(model: Any, store: ActivationStore, factors: FactorResult, cfg: LimeConfig, out_dir: Path, reporter: Reporter, executor: Any) -> None:
    """LIME in this process with the model loaded here, or on workers that load it themselves
    (this process then reads only the tokenizer or image processor)."""
    if executor.in_process:
        return compute_lime(model.get(), store, factors, cfg, out_dir, reporter, executor)
    loader = model_loader(model)
    return compute_lime(loader.preprocessing(), store, factors, cfg, out_dir, reporter, executor, loader)


def _site_slugs(configs: list[BuildConfig], sources: list[Any]) -> list[str]:
    """Each model's folder name (models/<slug>/): the config's slug, else the registry's; two
    models with one slug are a one-line error."""
    slugs = [c.slug or s.slug for c, s in zip(configs, sources)]
    for i, slug in enumerate(slugs):
        if slug in slugs[:i]:
            first = configs[slugs.index(slug)]
            raise UserError(
                f"--model {first.model or DEFAULT_MODEL} and --model {configs[i].model or DEFAULT_MODEL}: two models with the slug {slug!r} "
                "(one site folder models/<slug>/ each; give one a slug = \"...\" in its [[models]] entry)"
            )
    return slugs


def site_title(config: BuildConfig, built: dict[str, ModelBuild]) -> str:
    """The gallery's title: the config's title, the only model's, or the models' names."""
    if config.title:
        return config.title
    manifests = [b.manifest for b in built.values()]
    if len(manifests) == 1:
        return manifests[0]["title"]
    return " · ".join(m["model"]["name"] for m in manifests)


def fit_to_budget(config: BuildConfig, model: Any, factor_config: FactorConfig, lime_config: LimeConfig, attention_config: AttentionConfig,
                  reporter: Reporter) -> tuple[BuildConfig, FactorConfig, LimeConfig, AttentionConfig]:
    """The text presets are sized for MiniLM: shrink the samples and SAE steps a bigger model
    would spend too long on (budget.py); options set in the config file or on the command line
    stay as given."""
    cost = ModelCost.from_config(model.hf_config())
    left = {}
    if "n_sentences" not in config.user_set:
        left["n_sentences"] = config.n_sentences
    if "max_sentences" not in config.lime:
        left["lime_max_sentences"] = lime_config.max_sentences
    if "n_sentences" not in config.attention:
        left["attention_n_sentences"] = attention_config.n_sentences
    if "sae_n_steps" not in config.factors and factor_config.method == "topk-sae":
        left["sae_n_steps"] = factor_config.sae_n_steps
    sizes = scaled_sizes(cost, left)
    if sizes == left:
        return config, factor_config, lime_config, attention_config
    reporter.log(
        f"budget: {model.name} costs {cost.forward_ratio:.1f}x MiniLM per token, is {cost.width_ratio:.1f}x as wide and has {cost.heads} heads: "
        + ", ".join(f"{k.replace('_', ' ')} {left[k]:,} -> {v:,}" for k, v in sizes.items() if v != left[k])
        + " (set them in the config or on the command line to keep them)"
    )
    config = dataclasses.replace(config, n_sentences=sizes.get("n_sentences", config.n_sentences))
    factor_config = factor_config.replace(sae_n_steps=sizes.get("sae_n_steps", factor_config.sae_n_steps))
    lime_config = dataclasses.replace(lime_config, max_sentences=sizes.get("lime_max_sentences", lime_config.max_sentences))
    attention_config = attention_config.replace(n_sentences=sizes.get("attention_n_sentences", attention_config.n_sentences))
    return config, factor_config, lime_config, attention_config


#: Patch states are easier to code than token states (DINOv2 default, 3000 steps: FVU 0.093 vs
#: MiniLM's 0.211) and the SAE's steps were the biggest stage of the vision build (275 s of 636 s):
#: fewer steps for images keep the default build within 10 minutes.
IMAGE_FACTORS = {"quick": {}, "default": {"sae_n_steps": 2000}, "full": {}}

#: LIME on images costs a forward pass of the whole image per perturbed copy (a DINOv2-S
#: image ~ 9 MiniLM sentences): fewer images and copies than for text, within the time budget.
IMAGE_LIME = {
    "quick": {"contexts": 1, "max_sentences": 3, "samples": 24},
    "default": {"max_sentences": 12, "samples": 32},
    "full": {},
}

#: Built-in image corpora (images.py); a folder of images works too.
IMAGE_SETS = ("synthetic", "natural", "default")
#: Images per attention sample: an image has ~200-260 units (a sentence ~30), so a few dozen
#: images give as many points per head as the 200 sentences of a text build.
IMAGE_ATTENTION_SAMPLE = {"quick": 6, "default": 12, "full": 48}


def load_any_corpus(config: BuildConfig, image_model: bool, reporter: Reporter) -> Any:
    """The text corpus of a text model, the image corpus of a vision model; a corpus of the
    other kind is a one-line error."""
    spec = config.corpus
    looks_like_images = spec is not None and (Path(spec).is_dir() or str(spec).split(",")[0] in IMAGE_SETS)
    if image_model:
        if spec is not None and not looks_like_images:
            raise UserError(f"{spec}: a text corpus, but the model is a vision transformer (give a folder of images, or {' / '.join(IMAGE_SETS)})")
        from .images import load_image_corpus

        if spec is not None and not Path(spec).is_dir():
            spec = str(spec)  # a built-in set name, not a path
        return load_image_corpus(spec, config.n_images, config.seed, warn=lambda line: reporter.log(f"warning: {line}"))
    if looks_like_images:
        raise UserError(f"{spec}: an image corpus, but the model is a text model (give a .txt, .jsonl or .parquet file)")
    return load_corpus(spec, config.n_sentences, config.seed, config.encoding)


def corpus_items(corpus: Any) -> list[Any]:
    """Texts of a text corpus, PIL images of an image corpus."""
    return corpus.images if hasattr(corpus, "images") else corpus.texts


def corpus_fingerprint(corpus: Any, indices: np.ndarray) -> str:
    """Hash of the chosen items' content (texts, or image names + pixels)."""
    if not hasattr(corpus, "images"):
        return stable_hash([corpus.texts[i] for i in indices])
    h = hashlib.sha256()
    for i in indices:
        image = corpus.images[i]
        h.update(f"{corpus.names[i]}\0{image.mode}{image.size}\0".encode())
        h.update(image.tobytes())
    return h.hexdigest()[:20]


def analysis_config(cls: Any, section: str, config: BuildConfig) -> Any:
    """FactorConfig / AttentionConfig from the preset, the build's seed and device, and the
    ``[factors]`` / ``[attention]`` table of the config file; errors become one-line UserErrors."""
    base = {"seed": config.seed}
    if "device" in {f.name for f in dataclasses.fields(cls)}:
        base["device"] = config.device
    try:
        return cls.for_preset(config.preset, **{**base, **config.__dict__[section]})
    except TypeError as e:
        raise UserError(f"[{section}]: {str(e).split('() ', 1)[-1]}") from None
    except ValueError as e:
        raise UserError(f"[{section}]: {e}") from None


def _factor_files(analyses: Analyses, bundle: BundleWriter) -> dict[str, Any]:
    """Factor bundle, LIME and the word index (derived from the first two files) -> manifest["factors"]."""
    section = _without(write_factor_bundle(analyses.factors, analyses.store, bundle, analyses.factor_maps), "timings")
    section["lime"] = write_lime_bundle(analyses.lime, analyses.factors.config.chunk_size, bundle)
    section["search"] = write_search_index(bundle, section)
    return section


def write_model_data(model_dir: Path, config: BuildConfig, corpus: Any, model: ModelSource, analyses: Analyses, slug: str) -> dict[str, Any]:
    """Every data file of one model and its manifest, into ``model_dir/data/``; returns the manifest."""
    store = analyses.store
    bundle = BundleWriter(model_dir)
    bundle.add_table("sentences.parquet", store.sentences.select(["sentence_id", "text", "n_tokens", "token_offset"]))
    bundle.add_table("tokens.parquet", store.tokens)

    lengths = store.sentences.column("n_tokens").to_numpy()
    info = store.info.to_dict()
    info.pop("path")  # a local path says nothing to a reader and breaks reproducibility
    info["name"] = model.name  # "SmolLM2-135M-Instruct", not the name of its converted folder
    info["slug"] = slug
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
        "build": _public_config(config),
        # Run times vary from run to run: they stay out of the site, which must be reproducible.
        "factors": _factor_files(analyses, bundle),
        "attention": _without(write_attention_bundle(analyses.attention, analyses.attention_store, bundle, analyses.attention_sample), "seconds"),
    }
    # the model's display name there too, not its store's folder name ("dinov2-54dd7ea8efa7ab43")
    manifest["attention"]["model"]["name"] = info["name"]
    if analyses.concepts:
        manifest["concepts"] = write_concepts_bundle(config.probes, analyses.concepts, bundle)
    if not store.is_image:  # the strongest factors of each attention-sample token: links tokens <-> factors
        rows = sample_rows(analyses.attention_store, analyses.attention.tokens)
        manifest["attention"]["token_factors"] = write_token_factors(analyses.factors, analyses.attention_store, rows, bundle, "attention/token_factors.u16")
    if store.is_image:
        from .patches import write_image_bundle

        manifest["image"] = write_image_bundle(store, bundle)
    if analyses.live is not None:
        manifest["live"] = write_live_bundle(analyses.live, analyses.factors, store.info, config.max_tokens, bundle)
    elif analyses.live_unavailable:
        manifest["live_unavailable"] = analyses.live_unavailable
    return bundle.write_manifest(manifest)


def model_family(model: Any, info: dict[str, Any]) -> str:
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


def _public_config(config: BuildConfig) -> dict[str, Any]:
    """The build options as the site shows them: paths reduced to names (no local folders)."""
    public = config.to_dict()
    public.pop("models")  # the site's other models have manifests of their own
    for key in ("model", "corpus"):
        public[key] = Path(public[key]).name if public[key] else "(default)"
    # where, with how much memory and on what: not what
    for key in ("out", "cache_dir", "no_cache", "memory_budget", "executor", "ray_address", "workers"):
        public.pop(key)
    public["probes"] = [{**p, "file": Path(p["file"]).name} for p in public["probes"]]
    return public


def _check_output_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: output path exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not layout.is_site(out):
        raise UserError(f"{out}: output folder is not empty and holds no tfvis site; refusing to replace it (choose another --out)")
    if not out.resolve().parent.exists():
        raise UserError(f"{out}: parent folder does not exist")


def _swap_into_place(staging: Path, out: Path) -> None:
    """Replace ``out`` by ``staging`` with two renames; the old site is removed only afterwards."""
    os.chmod(staging, 0o755)
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}-old-{os.getpid()}")
        os.replace(out, old)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
