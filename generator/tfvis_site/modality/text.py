"""Text models: units are the tokens of texts (extract.TextUnits), sized for MiniLM and shrunk
for bigger models by budget.py."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cache import stable_hash
from ..errors import UserError, first_line

if TYPE_CHECKING:
    from ..corpus.text import Corpus as TextCorpus
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


class TextModality:
    """The text side of the seam (see base.Modality for what each member means)."""

    name = "text"
    item_noun = "texts"
    sequence_noun = "sentences"
    unit_noun = "tokens"
    page_unit, page_units = "token", "tokens"
    corpus_phrase = "a text corpus"
    model_phrase = "a text model"
    corpus_hint = "give a .txt, .jsonl or .parquet file"
    reads_text = True
    compact_attention = False
    unit_grid = False
    live_probe_unavailable = None
    llm_explainer_unavailable = None
    probe_unavailable = None

    def claims_config(self, hf_config: dict[str, Any]) -> bool:
        return True  # asked last: a model with a vocabulary, or anything no other modality claims

    def info_fields(self, hf_config: dict[str, Any]) -> dict[str, Any]:
        return {}  # ModelInfo's defaults describe a text model

    def load_preprocessing(self, model_dir: Path) -> tuple[Any, Any]:
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        except Exception as e:
            raise UserError(f"{model_dir}: cannot load tokenizer ({first_line(e)})") from None
        if not getattr(tokenizer, "is_fast", False):
            raise UserError(f"{model_dir}: a fast tokenizer (tokenizer.json) is required for token offsets")
        if tokenizer.pad_token is None:  # GPT-2 / Llama ship without one; padding is masked anyway
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer, None

    def fit_sizes(self, config: BuildConfig, model: ModelSourceLike, configs: StageConfigs,
                  reporter: Reporter) -> tuple[BuildConfig, StageConfigs]:
        """The text presets are sized for MiniLM: a bigger model gets smaller samples (budget.py)."""
        from ..run.budget import fit_to_budget

        return fit_to_budget(config, model, configs, reporter)

    def claims_corpus(self, spec: str | Path) -> bool:
        return True  # asked last: whatever no other modality claims is a text file

    def accepts_python(self, items: list[Any]) -> bool:
        return True  # asked last, like claims_corpus

    def load_corpus(self, spec: str | Path | None, config: BuildConfig, reporter: Reporter) -> TextCorpus:
        from ..corpus.text import load_corpus

        return load_corpus(spec, config.n_sentences, config.seed, config.encoding)

    def corpus_from_python(self, items: list[Any], config: BuildConfig) -> TextCorpus:
        from ..corpus.text import corpus_from_texts

        return corpus_from_texts(list(items), config.n_sentences, config.seed)

    def corpus_items(self, corpus: TextCorpus) -> list[Any]:
        return corpus.texts

    def item_names(self, corpus: TextCorpus, indices: np.ndarray) -> list[str] | None:
        return None

    def corpus_fingerprint(self, corpus: TextCorpus, indices: np.ndarray) -> str:
        return stable_hash([corpus.texts[i] for i in indices])

    def make_units(self, loaded: LoadedModel, inputs: list[Any], options: ExtractOptions, names: list[str] | None = None) -> Units:
        from ..capture.extract import TextUnits

        return TextUnits(loaded, inputs, options.max_tokens)

    def make_masker(self, loaded: LoadedModel, store: ActivationStore, cfg: LimeConfig) -> Masker:
        from ..analysis.factors.lime import TokenMasker

        return TokenMasker(loaded, store, cfg)

    def head_statistics(self) -> HeadStatistics:
        from ..analysis.attention.stats import TextHeadStatistics

        return TextHeadStatistics()

    def factor_contexts(self) -> FactorContexts:
        from ..analysis.factors.bundle import TokenContexts

        return TokenContexts()

    def write_search_index(self, bundle: BundleWriter, section: dict[str, Any]) -> dict[str, Any]:
        from ..analysis.factors.search import write_word_index

        return write_word_index(bundle, section)

    def rule_features(self, store: ActivationStore) -> RuleFeatures:
        """The token, the word it is part of, the token before it, first / last / after punctuation."""
        from ..analysis.explanations.features import text_rule_features

        return text_rule_features(store.tokens)

    def write_bundles(self, manifest: dict[str, Any], analyses: Analyses, bundle: BundleWriter) -> None:
        """The strongest factors of each attention-sample token: links tokens <-> factors."""
        from ..analysis.attention.bundle import sample_rows
        from ..analysis.factors.token_factors import write_token_factors

        rows = sample_rows(analyses.attention_store, analyses.attention.tokens)
        manifest["attention"]["token_factors"] = write_token_factors(analyses.factors, analyses.attention_store, rows, bundle,
                                                                     "attention/token_factors.u16")
