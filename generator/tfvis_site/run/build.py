"""The pipeline (``tfvis-site build`` and ``tfvis_site.build``): corpus -> extract -> analyses -> bundles -> pages, with a stage cache.

A site holds one or several models (layout: layout.py); each model runs through every stage with
the stage cache (keys name the model), so adding a model to a built site computes only that
model. The whole site is written into a temporary folder beside the output and swapped into
place only when complete, so a failed build leaves the previous site untouched.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..site import layout
from ..analysis.attention import AttentionConfig
from ..analysis.circuits.config import CircuitsConfig
from ..analysis.explanations.config import ExplanationConfig
from ..analysis.explanations.llm_config import ExplainerConfig, split_table
from .stages import STAGES
from ..cache import StageCache, file_fingerprint
from ..analysis.concepts import read_probe_sets
from .config import BuildConfig, StageConfigs
from ..errors import UserError
from ..executor import Executor, LocalExecutor, check_executor, make_executor
from ..analysis.factors import FactorConfig
from ..analysis.factors.lime import LimeConfig
from .memory import MemoryBudget
from ..modality import Corpus, Modality, ModelSourceLike, modality_for
from ..model.load import LoadedModel, load_model, read_config, read_hf_config, resolve_device
from ..site.pages import render_site
from ..probe import write_site_record
from ..progress import Reporter
from ..model.registry import DEFAULT_MODEL, resolve_model
from ..stage_config import StageConfig, check_types
from .runner import ModelRun, StageTimer, run_stages

C = TypeVar("C", bound=StageConfig)


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
        # Fail fast on a folder that is not a checkpoint; the config also tells its modality.
        self.modality: Modality = modality_for(read_config(self.dir))
        self._hf_config = read_hf_config(self.dir)  # transformers' reading of it: a one-line error now, not in a stage
        self.device = config.device
        self._loaded: LoadedModel | None = None

    @property
    def key(self) -> dict[str, str]:
        return {"path": str(self.dir.resolve()), "fingerprint": file_fingerprint(self.dir)}

    def get(self) -> LoadedModel:
        if self._loaded is None:
            self._loaded = load_model(None if self.is_default else self.dir, self.device, modality=self.modality)
        return self._loaded

    def release(self) -> None:
        self._loaded = None

    def hf_config(self) -> Any:
        """The transformers config, read without loading the weights."""
        return self._hf_config

    @property
    def display_source(self) -> str:
        return self.resolved.source


def build(config: BuildConfig, reporter: Reporter, model: ModelSourceLike | None = None, corpus: Corpus | None = None) -> BuildResult:
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
    read_probe_sets(config.probes, sum(s.modality.reads_text for s in sources))  # a bad labels file stops the build at once
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


def build_model(config: BuildConfig, model: ModelSourceLike, corpus: Corpus | None, cache: StageCache, reporter: Reporter, model_dir: Path,
                slug: str, executor: Executor | None = None) -> tuple[ModelBuild, dict[str, Any]]:
    """Every stage of one model (build_stages.STAGES), its data files and manifest into
    ``model_dir`` (no pages yet). Returns the model's build and its record for ``tfvis-site
    probe``. ``executor``: where the parallel parts run (executor.py; None = this process)."""
    cache.hits = {}  # this model's hits only
    run = run_stages(STAGES, model_run(config, model, cache, reporter, model_dir, slug, executor, corpus))
    record = {
        "model": None if model.is_default or model.dir is None else str(model.dir.resolve()),
        "in_memory": model.dir is None,
        "factors": str(run.results["factors"].path),
        "max_tokens": config.max_tokens,
    }
    return ModelBuild(slug=slug, manifest=run.results["site"], timings=run.timer.timings, cache_hits=dict(cache.hits)), record


def model_run(config: BuildConfig, model: ModelSourceLike, cache: StageCache, reporter: Reporter, model_dir: Path, slug: str,
              executor: Executor | None = None, corpus: Corpus | None = None) -> ModelRun:
    """What the stages of one model share, before any stage ran: the stage configs from the
    preset and the config file, sized for this model by its modality (a bigger text model:
    smaller samples), unless the user set them."""
    rules, llm = split_table(config.explanations)
    configs = StageConfigs(*(analysis_config(cls, section, config, table) for cls, section, table in
                             ((FactorConfig, "factors", None), (LimeConfig, "lime", None), (AttentionConfig, "attention", None),
                              (CircuitsConfig, "circuits", None), (ExplanationConfig, "explanations", rules))),
                           explainer=explainer_config(llm, config))
    config, configs = model.modality.fit_sizes(config, model, configs, reporter)
    return ModelRun(config=config, model=model, configs=configs, cache=cache, reporter=reporter, executor=executor or LocalExecutor(),
                    memory=MemoryBudget.from_option(config.memory_budget), out=model_dir, slug=slug, corpus=corpus)


def _site_slugs(configs: list[BuildConfig], sources: list[ModelSourceLike]) -> list[str]:
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


def analysis_config(cls: type[C], section: str, config: BuildConfig, table: dict[str, Any] | None = None) -> C:
    """FactorConfig / AttentionConfig from the preset, the build's seed and device, and the
    ``[factors]`` / ``[attention]`` table of the config file (or ``table``: part of it); errors
    become one-line UserErrors."""
    base = {"seed": config.seed}
    if "device" in {f.name for f in dataclasses.fields(cls)}:
        base["device"] = config.device
    try:
        values = config.__dict__[section] if table is None else table
        check_types(cls, values)
        return cls.for_preset(config.preset, **{**base, **values})
    except TypeError as e:
        raise UserError(f"[{section}]: {str(e).split('() ', 1)[-1]}") from None
    except (ValueError, UserError) as e:  # AttentionConfig raises UserErrors of its own: they name the table too
        raise UserError(f"[{section}]: {e}") from None


def explainer_config(table: dict[str, Any], config: BuildConfig) -> ExplainerConfig:
    """The LLM explainer's settings from the explainer* keys of [explanations] (--explainer and
    --explainer-model land there too); errors become one-line UserErrors."""
    try:
        return ExplainerConfig.from_table(table, config.seed)
    except TypeError as e:
        raise UserError(f"[explanations]: unknown explainer option ({str(e).split('() ', 1)[-1]})") from None
    except ValueError as e:
        raise UserError(f"[explanations]: {e}") from None


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
