"""Every factor explained by a short rule and scored by detection on held-out contexts, without
an LLM (issue 25; docs/factors.md, "Explanations").

config.py    ExplanationConfig, the [explanations] table
features.py  the candidate rule features of a store's units (what the modality gives)
rules.py     rules of one or two conditions, their words and JSON, the search on the selection half
scoring.py   the halves, balanced accuracy on the scoring half
stage.py     the build stage's work: contexts per factor and layer -> explanations.parquet
bundle.py    factors/explanations.parquet and manifest["factors"]["explanations"]

With an LLM endpoint (--explainer URL), an LLM explanation per factor on top of the rules:
llm_config.py  ExplainerConfig, the explainer* keys of [explanations]
client.py      the OpenAI-compatible chat-completions client (stdlib), its usage
prompts.py     the explanation, detection and fuzzing prompts and how answers are read
llm.py         the stage's work: excerpts, the questions, the scores, one cached file per factor
"""

from .config import ExplanationConfig
from .features import Feature, RuleFeatures, image_rule_features, text_rule_features
from .rules import Rule, balanced_accuracy, select
from .scoring import Explanation, explain_contexts, split_halves
from .llm import LLMExplanations, explain_llm, llm_log
from .llm_config import ExplainerConfig
from .stage import ExplanationResult, FactorActivity, ResultActivity, explain, explain_factors, explanations_log

__all__ = [
    "Explanation", "ExplanationConfig", "ExplainerConfig", "LLMExplanations", "explain_llm", "llm_log", "ExplanationResult", "FactorActivity", "Feature", "ResultActivity",
    "Rule", "RuleFeatures", "balanced_accuracy", "explain", "explain_contexts", "explain_factors", "explanations_log", "image_rule_features", "select",
    "split_halves", "text_rule_features",
]
