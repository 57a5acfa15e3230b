"""Concept probes: can ONE transformer factor tell the labels of a word apart? (Yun et al. 2021,
Table 2: one factor separates "left" the verb from "left" in its other senses.)

Input: a JSONL file of labelled examples, one object per line::

    {"text": "She left the party early.", "target": "left", "label": "verb"}
    {"text": "Turn left at the church.", "target": "left", "label": "direction", "start": 5, "end": 9}

``start`` / ``end`` are character offsets of the target in ``text`` (optional; without them the
target is the first whole-word, case-insensitive occurrence of ``target``). An example whose
target is not in the text, or lies beyond the tokens the site's model reads (``max_tokens``), is
reported and skipped; fewer than :data:`MIN_PER_LABEL` usable examples for a label is an error.

Method, per hidden-state layer l (0 = embeddings):

- The target's representation: the mean over its tokens (a target split into several word
  pieces has several) of the hidden states (for the raw-state probe) and of the factor
  activations, each token coded on its own as on the site (for the factor probe).
- A stratified 2-fold split of the examples (seeded). On each training half
  :class:`SingleFactorProbe` fits, for every factor that varies on that half, a logistic
  regression on that one standardised activation, and keeps the factor whose regression has the
  best training F1 (ties: the lower training log-loss, then the lower factor id). Its F1 on the
  other half is the held-out score; the halves swap, and ``f1`` is the mean of the two scores.
  The factor reported is the one the same rule chooses on all examples.
- F1: with two labels, the F1 of the label that appears first in the file; with more, the
  macro-F1 (mean of the per-label F1s).
- Ceiling ``f1_raw``: a logistic regression on the whole standardised hidden state (scikit-learn
  ``StandardScaler`` + ``LogisticRegression(C=1)``), same folds.
- Baseline ``majority_f1``: the most frequent label of the training half predicted for every
  example, same folds (layer independent).

Logistic regressions minimise ``1/2 ||w||^2 + C * sum_i log-loss_i`` (scikit-learn's objective,
C = 1): with two labels one logit ``w x + b`` (the other is 0), with K > 2 labels K logits
(multinomial). The single-factor fits are solved for all factors at once by a batched Newton
method (:func:`fit_logistic_1d`, tested against scikit-learn).

The package: labels.py (the labelled files), estimator.py (the logistic regressions and
probes), probe.py (one probe on one model), stage.py (the build stage's key and the site's files).
"""

from .estimator import C, SingleFactorProbe, f1_scores, fit_logistic_1d, predict_logistic_1d, raw_state_probe, swapped_scores, two_fold_split
from .labels import MIN_PER_LABEL, Example, LabelledSet, find_target, probe_specs, read_labels, read_probe_sets
from .probe import ConceptResult, TargetStates, probe_concepts, segment_mean, target_states
from .stage import CONCEPTS_VERSION, METHOD, concept_key, concept_log, write_concepts_bundle

__all__ = ["C", "CONCEPTS_VERSION", "METHOD", "MIN_PER_LABEL", "ConceptResult", "Example", "LabelledSet", "SingleFactorProbe",
           "TargetStates", "concept_key", "concept_log", "f1_scores", "find_target", "fit_logistic_1d", "predict_logistic_1d", "probe_concepts",
           "probe_specs", "raw_state_probe", "read_labels", "read_probe_sets", "segment_mean", "swapped_scores", "target_states", "two_fold_split",
           "write_concepts_bundle"]
