"""Image models (ViT, DeiT, DINOv2): units are an image's prefix tokens ([CLS], registers) and
its patches (patches.ImageUnits); the presets are sized for images."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import UserError, first_line

if TYPE_CHECKING:
    from ..corpus.images import ImageCorpus
    from ..analysis.attention.stats import HeadStatistics
    from ..analysis.explanations.features import RuleFeatures
    from ..site.bundles import BundleWriter
    from ..capture.extract import ExtractOptions, Units
    from ..analysis.factors.bundle import FactorContexts
    from ..analysis.factors.lime import LimeConfig, Masker
    from ..analysis.results import Analyses
    from ..run.config import BuildConfig, StageConfigs
    from ..capture.extract import ActivationStore
    from ..model.load import LoadedModel
    from ..progress import Reporter
    from .base import ModelSourceLike

#: Patch states are easier to code than token states (DINOv2 default, 3000 steps: FVU 0.093 vs
#: MiniLM's 0.211) and the SAE's steps were the biggest stage of the vision build (275 s of 636 s):
#: fewer steps for images keep the default build within 10 minutes.
IMAGE_FACTORS: dict[str, dict[str, Any]] = {"quick": {}, "default": {"sae_n_steps": 2000}, "full": {}}

#: LIME on images costs a forward pass of the whole image per perturbed copy (a DINOv2-S
#: image ~ 9 MiniLM sentences): fewer images and copies than for text, within the time budget.
IMAGE_LIME: dict[str, dict[str, Any]] = {
    "quick": {"contexts": 1, "max_sentences": 3, "samples": 24},
    "default": {"max_sentences": 12, "samples": 32},
    "full": {},
}

#: The circuit stages' samples for images: an image is 257 DINOv2-S/14 tokens, a Wikipedia
#: sentence ~29 MiniLM tokens, so the OV ablations' 48 sentences (~1,400 tokens) are ~6 images.
#: The splice's 24 sentences (~700 tokens) would be 3 images, but images differ more than
#: sentences: the final cosine after splicing the patch embeddings was 0.95 on 4 images, 0.94
#: on 8, 0.84 on all 12 (the last four are hard ones); 8 it is. With the text sizes (the whole 12-image attention sample for both) the
#: circuit stages took 65.9 s of DINOv2's 345 s default build.
IMAGE_CIRCUITS: dict[str, dict[str, Any]] = {"quick": {}, "default": {"ov_sentences": 6, "splice_sequences": 8}, "full": {}}

#: Built-in image corpora (images.py); a folder of images works too.
IMAGE_SETS = ("synthetic", "natural", "default")
#: Images per attention sample: an image has ~200-260 units (a sentence ~30), so a few dozen
#: images give as many points per head as the 200 sentences of a text build.
IMAGE_ATTENTION_SAMPLE = {"quick": 6, "default": 12, "full": 48}


def is_image_config(config: dict[str, Any]) -> bool:
    """A vision transformer (ViT, DeiT, DINOv2, ...): patches of an image, no vocabulary."""
    return "patch_size" in config and "image_size" in config and "vocab_size" not in config


class ImageModality:
    """The image side of the seam (see base.Modality for what each member means)."""

    name = "image"
    item_noun = "images"
    sequence_noun = "images"
    unit_noun = "units (patches + prefix tokens)"
    page_unit, page_units = "patch", "patches"
    corpus_phrase = "an image corpus"
    model_phrase = "a vision transformer"
    corpus_hint = f"give a folder of images, or {' / '.join(IMAGE_SETS)}"
    reads_text = False
    compact_attention = True
    unit_grid = True
    live_probe_unavailable = "the live probe covers text models only for now (vision models: not yet exported)"
    llm_explainer_unavailable = "the LLM explainer reads text: this model's factors keep their rule explanations"
    probe_unavailable = "built from a vision model; probe takes text (open an image's factors on the site instead)"

    def claims_config(self, hf_config: dict[str, Any]) -> bool:
        return is_image_config(hf_config)

    def info_fields(self, hf_config: dict[str, Any]) -> dict[str, Any]:
        patch = hf_config["patch_size"]
        return {"modality": self.name, "patch_size": int(patch[0] if isinstance(patch, (list, tuple)) else patch)}

    def load_preprocessing(self, model_dir: Path) -> tuple[Any, Any]:
        from transformers import AutoImageProcessor
        from transformers.utils import logging as hf_logging

        if not (model_dir / "preprocessor_config.json").exists():
            raise UserError(f"{model_dir}: a vision checkpoint needs preprocessor_config.json (its image processor)")
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # "requires torchvision ... falling back to the PIL backend": fine here
        try:
            return None, AutoImageProcessor.from_pretrained(model_dir, local_files_only=True)
        except Exception as e:
            raise UserError(f"{model_dir}: cannot load the image processor ({first_line(e)})") from None
        finally:
            hf_logging.set_verbosity(verbosity)

    def fit_sizes(self, config: BuildConfig, model: ModelSourceLike, configs: StageConfigs,
                  reporter: Reporter) -> tuple[BuildConfig, StageConfigs]:
        """The image presets (the tables above), unless the config file sets the option."""
        preset = config.preset
        return config, dataclasses.replace(
            configs,
            attention=configs.attention.replace(n_sentences=config.attention.get("n_sentences", IMAGE_ATTENTION_SAMPLE[preset])),
            lime=configs.lime.replace(**{k: v for k, v in IMAGE_LIME[preset].items() if k not in config.lime}),
            factors=configs.factors.replace(**{k: v for k, v in IMAGE_FACTORS[preset].items() if k not in config.factors}),
            circuits=configs.circuits.replace(**{k: v for k, v in IMAGE_CIRCUITS[preset].items() if k not in config.circuits}),
        )

    def claims_corpus(self, spec: str | Path) -> bool:
        return Path(spec).is_dir() or str(spec).split(",")[0] in IMAGE_SETS

    def accepts_python(self, items: list[Any]) -> bool:
        return bool(items) and not isinstance(items[0], str)

    def load_corpus(self, spec: str | Path | None, config: BuildConfig, reporter: Reporter) -> ImageCorpus:
        from ..corpus.images import load_image_corpus

        if spec is not None and not Path(spec).is_dir():
            spec = str(spec)  # a built-in set name, not a path
        return load_image_corpus(spec, config.n_images, config.seed, warn=lambda line: reporter.log(f"warning: {line}"))

    def corpus_from_python(self, items: list[Any], config: BuildConfig) -> ImageCorpus:
        """An ImageCorpus from PIL images given in Python (all of them, converted to RGB)."""
        from ..corpus.images import ImageCorpus

        if not items or not all(hasattr(im, "convert") and hasattr(im, "size") for im in items):
            raise UserError("corpus: a list of texts or of PIL images is required")
        return ImageCorpus(
            name="images given in Python", source="a Python list", license="as provided by the user", attribution="",
            images=[im.convert("RGB") for im in items], names=[f"image {i}" for i in range(len(items))],
            sources=["python"] * len(items), stats={"images_used": len(items)},
        )

    def corpus_items(self, corpus: ImageCorpus) -> list[Any]:
        return corpus.images

    def item_names(self, corpus: ImageCorpus, indices: np.ndarray) -> list[str] | None:
        return [corpus.names[i] for i in indices]

    def corpus_fingerprint(self, corpus: ImageCorpus, indices: np.ndarray) -> str:
        """Hash of the chosen images' names and pixels."""
        h = hashlib.sha256()
        for i in indices:
            image = corpus.images[i]
            h.update(f"{corpus.names[i]}\0{image.mode}{image.size}\0".encode())
            h.update(image.tobytes())
        return h.hexdigest()[:20]

    def make_units(self, loaded: LoadedModel, inputs: list[Any], options: ExtractOptions, names: list[str] | None = None) -> Units:
        from ..capture.patches import ImageUnits

        return ImageUnits(loaded, inputs, names or [f"image {i}" for i in range(len(inputs))], options.batch_size)

    def make_masker(self, loaded: LoadedModel, store: ActivationStore, cfg: LimeConfig) -> Masker:
        from ..analysis.factors.lime import PatchMasker

        return PatchMasker(loaded, store, cfg)

    def head_statistics(self) -> HeadStatistics:
        from ..analysis.attention.stats import ImageHeadStatistics

        return ImageHeadStatistics()

    def factor_contexts(self) -> FactorContexts:
        from ..analysis.factors.bundle import PatchContexts

        return PatchContexts()

    def write_search_index(self, bundle: BundleWriter, section: dict[str, Any]) -> dict[str, Any]:
        """Units are patches named "patch r,c": no words to index; the factors by image instead."""
        from ..analysis.factors.search import write_image_index

        return {"file": None, "rows": 0, "skipped": "image model: units are patches, there are no words to search",
                "by_image": write_image_index(bundle, section)}

    def rule_features(self, store: ActivationStore) -> RuleFeatures:
        """The unit itself (patch place, [CLS], a register), its row and column band, hue,
        brightness and spatial frequency (the patch columns of the store's token table)."""
        from ..analysis.explanations.features import image_rule_features

        return image_rule_features(store.tokens, tuple(store.image["grid"]))

    def write_bundles(self, manifest: dict[str, Any], analyses: Analyses, bundle: BundleWriter) -> None:
        """The processed images as sprite sheets (patches.write_image_bundle)."""
        from ..capture.patches import write_image_bundle

        manifest["image"] = write_image_bundle(analyses.store, bundle)
