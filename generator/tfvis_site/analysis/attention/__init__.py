"""Attention analysis: joint query-key embeddings, head metrics and attention data (issue 5).

    cfg = AttentionConfig.for_preset("default")
    res = analyse_attention(store, cfg, out_dir, reporter, statistics=modality.head_statistics())  # the stage (cacheable folder)
    res = AttentionResult.load(out_dir)
    section = write_attention_bundle(res, store, bundle, compact_attention=modality.compact_attention)  # data/attention/* + manifest

See docs/attention.md for the method, the file layout and measured numbers.
"""

from .stage import analyse_attention, token_table
from .result import AttentionResult
from .bundle import write_attention_bundle
from .config import AttentionConfig, sample_sentences
from .normalise import Normalisation, normalise_head, sentence_pairs, spearman_dot_distance
from .stats import LABEL_TEXT, LABELS, LabelRule

__all__ = [
    "AttentionConfig",
    "AttentionResult",
    "LABELS",
    "LABEL_TEXT",
    "LabelRule",
    "Normalisation",
    "analyse_attention",
    "normalise_head",
    "sample_sentences",
    "sentence_pairs",
    "spearman_dot_distance",
    "token_table",
    "write_attention_bundle",
]
