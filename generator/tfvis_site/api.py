"""The Python API: ``tfvis_site.build(...)`` for notebooks, with the options of ``tfvis-site build``.

    import tfvis_site
    result = tfvis_site.build("minilm", preset="quick", out="site")              # like the CLI
    result = tfvis_site.build(model, ["A text.", "Another one."], tokenizer=tok,  # objects in memory
                              out="site", preset="quick")
    result.out, result.manifest["factors"]["quality"], result.timings
    result.model_dir()   # site/models/<slug>/: the model's pages and data/ (site/index.html: the gallery)

``model``: anything ``--model`` takes (a built-in name, a folder, a .gguf file, a hub id in the
Hugging Face cache) or a transformers model object with its ``tokenizer`` (a fast tokenizer) or,
for a vision model, its image ``processor``. ``corpus``: anything ``--corpus`` takes, or a list
of texts, or a list of PIL images. Other keyword arguments are the build options (``preset``,
``n_sentences``, ``max_tokens``, ``n_images``, ``seed``, ``cache_dir``, ``no_cache``, ``title``,
``factors={...}``, ``lime={...}``, ``attention={...}``, ``circuits={...}``, ``explanations={...}``, ``probes=[{"name": ..., "file": ...}]``,
``executor="ray"``, ``ray_address=...``, ``workers=N``; see docs/configuration.md and
docs/scale.md), checked like the command line's. Bad input raises ``tfvis_site.errors.UserError``.
With ``executor="ray"`` in a session where ``ray.init`` already ran, the build uses that Ray
instance and leaves it running.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UserError

if TYPE_CHECKING:
    from torch import nn
    from .model.load import LoadedModel
    from .run.build import BuildResult


class InMemoryModel:
    """A model object handed to ``build``: used as is, keyed in the stage cache by a hash of its
    weights and config (the same weights give the same cache entries)."""

    builtin = None
    is_default = False
    dir = None  # no checkpoint folder: ``tfvis-site probe`` cannot reload it

    def __init__(self, model: nn.Module, tokenizer: Any, processor: Any, device: str):
        from .modality import modality_for
        from .model.load import config_dict, wrap_model
        from .model.registry import slugify

        if tokenizer is None and processor is None:
            raise UserError("build(model=<object>): pass its tokenizer= (text model) or processor= (vision model)")
        if tokenizer is not None and not getattr(tokenizer, "is_fast", False):
            raise UserError("build(tokenizer=...): a fast tokenizer is required (token offsets)")
        self.name = Path(str(getattr(model.config, "_name_or_path", "") or type(model).__name__)).name
        self.slug = slugify(self.name)  # its folder in the site: models/<slug>/
        if getattr(model.config, "_attn_implementation", "eager") != "eager":
            model.set_attn_implementation("eager")  # attention weights and q/k are captured
        self.modality = modality_for(config_dict(model))  # what its config claims, like a checkpoint's config.json
        self.loaded = wrap_model(model, tokenizer, name=self.name, device=device, processor=processor, modality=self.modality)
        self.display_source = f"a Python object ({type(model).__name__})"
        weights = hashlib.sha256(model.config.to_json_string().encode())
        for key, tensor in sorted(model.state_dict().items()):
            weights.update(key.encode())
            weights.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        self.key = {"object": type(model).__name__, "weights": weights.hexdigest()[:20]}

    def get(self) -> LoadedModel:
        return self.loaded

    def hf_config(self) -> Any:
        return self.loaded.model.config


def build(model: str | Path | nn.Module | None = None, corpus: str | Path | list[Any] | None = None, *, tokenizer: Any = None, processor: Any = None, out: str | Path = "site",
          config: str | Path | None = None, progress: bool = False, **options: Any) -> BuildResult:
    """Build a site; returns the ``BuildResult`` (out, manifest, timings, cache_hits)."""
    from .run.config import resolve
    from .modality import corpus_from_python
    from .run.build import build as run_build
    from .progress import Reporter

    flags: dict[str, Any] = {**options, "out": Path(out)}
    model_object = model if model is not None and not isinstance(model, (str, Path)) else None
    if model_object is None and model is not None:
        flags["model"] = Path(model)
    corpus_items = corpus if isinstance(corpus, (list, tuple)) else None
    if corpus_items is None and corpus is not None:
        flags["corpus"] = Path(corpus)
    cfg = resolve(Path(config) if config else None, flags)
    source = InMemoryModel(model_object, tokenizer, processor, cfg.device) if model_object is not None else None
    corpus_obj = None
    if corpus_items is not None:
        # a model given by name is checked against its corpus when the build loads it
        corpus_obj = corpus_from_python(list(corpus_items), cfg, getattr(source, "modality", None))
    if progress:
        from rich.progress import Progress

        with Progress() as bar:
            return run_build(cfg, Reporter(bar), model=source, corpus=corpus_obj)
    return run_build(cfg, Reporter.silent(), model=source, corpus=corpus_obj)
