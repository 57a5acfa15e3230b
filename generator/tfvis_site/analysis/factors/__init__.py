"""Transformer factors: one non-negative sparse dictionary shared by all layers (Yun et al. 2021).

Public API::

    cfg = FactorConfig.for_preset("default")
    res = learn_factors(store, cfg, out_dir, reporter)   # or FactorResult.load(out_dir)
    section = write_factor_bundle(res, store, bundle, contexts=modality.factor_contexts())  # -> manifest["factors"]
    res.encode(hidden_states, layer)                     # (n, d) -> (n, m) activations

Estimators (scikit-learn conventions, components_ is (m, d)): NonNegativeFista,
DictionaryLearner, TopKSAE. See docs/factors.md for the method, units, files and measurements.
"""

from .bundle import write_factor_bundle
from .coding import FistaInfo, NonNegativeFista, duality_gap, fista_nn, fista_nn_ws, spectral_norm_sq
from .config import FactorConfig
from .learn import DictionaryLearner, TopKSAE, max_cosine_recovery, planted_problem
from .statistics import FORMULAS, assign_levels, importance_scores, peak_layers
from .stage import FactorResult, fit_factors, learn_factors

__all__ = [
    "FORMULAS", "DictionaryLearner", "FactorConfig", "FactorResult", "FistaInfo", "NonNegativeFista", "TopKSAE",
    "assign_levels", "duality_gap", "fista_nn", "fista_nn_ws", "fit_factors", "importance_scores", "learn_factors",
    "max_cosine_recovery", "peak_layers", "planted_problem", "spectral_norm_sq", "write_factor_bundle",
]
