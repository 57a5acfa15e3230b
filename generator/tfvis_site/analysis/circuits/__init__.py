"""Circuits in factors (issue 22): what each attention head reads (QK) and writes (OV) in terms
of the dictionary's factors, what a factor does to the output, induction scores, and the
dictionary's quality when spliced into the model. Plain library code; the build does not call
it yet.

weights.py   per-head W_Q, W_K, W_V, W_O, norms, W_E, W_U of each architecture family
common.py    factor directions, codes of a sample, top-k pairs, model inputs, hooks
qk.py        s_ij (weights), D_ij (data), their agreement per head
ov.py        virtual weights and the zero-ablation check per head
output.py    a factor's promoted / suppressed tokens (or nearest embeddings)
induction.py TransformerLens induction scores (causal models)
splice.py    loss recovered / final cosine with each layer's states reconstructed
"""

from .common import SampleCodes, StoreTokens, sample_codes
from .induction import induction_scores, loaded_induction_scores
from .output import OutputTokens, output_tokens
from .ov import HeadOV, ablation_drops, ov_in_factors, ov_weights, top_ov_pairs
from .qk import HeadQK, qk_data_shares, qk_in_factors, qk_weight_scores, top_qk_weight_pairs
from .splice import SpliceLayer, splice_quality
from .weights import LayerWeights, ModelWeights, Norm, family_of, model_weights

__all__ = [
    "HeadOV", "HeadQK", "LayerWeights", "ModelWeights", "Norm", "OutputTokens", "SampleCodes", "SpliceLayer", "StoreTokens",
    "ablation_drops", "family_of", "induction_scores", "loaded_induction_scores", "model_weights", "output_tokens",
    "ov_in_factors", "ov_weights", "qk_data_shares", "qk_in_factors", "qk_weight_scores", "sample_codes",
    "splice_quality", "top_ov_pairs", "top_qk_weight_pairs",
]
