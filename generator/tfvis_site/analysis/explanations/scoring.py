"""Detection scoring of a rule on held-out contexts (docs/factors.md, "Explanations").

As EleutherAI's delphi scores an explanation by detection (activating contexts spread over
activation quantiles plus as many non-activating ones; the score is how well "the explanation
holds" predicts "active"), with the rule in the place of the LLM's judgement. The contexts are
split, seeded, into a selection half, where the rule is chosen (rules.select), and a scoring
half it never saw, where its balanced accuracy is the score: a rule fitted to noise scores about
0.5 there however well it fits the selection half.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .features import RuleFeatures
from .rules import Rule, balanced_accuracy, select


def split_halves(bands: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(selection, scoring) indices of contexts with these activation ``bands``: shuffled within
    each band and dealt alternately, so both halves cover every band; the scoring half gets the
    odd one of an odd total."""
    order = []
    for band in np.unique(bands):
        idx = np.flatnonzero(bands == band)
        order.extend(idx[rng.permutation(len(idx))])
    order = np.asarray(order, np.int64)
    return order[1::2], order[0::2]


def held_out_score(rule: Rule | None, active: np.ndarray, inactive: np.ndarray) -> float:
    """Balanced accuracy of ``rule`` on codes of activating and non-activating contexts (no rule:
    0.5, what predicting "inactive" everywhere gets)."""
    if rule is None:
        return 0.5
    return balanced_accuracy(int(rule.holds(active).sum()), len(active), int(rule.holds(inactive).sum()), len(inactive))


@dataclass
class Explanation:
    """What the rule search made of one factor at one layer.

    rule, score: the chosen rule and its balanced accuracy on the scoring half; fit: the same on
    the selection half it was chosen on; own_rule, own_score: the best rule that reads the unit
    alone (its token), chosen and scored the same way; n_active, n_inactive: contexts of the
    scoring half."""

    rule: Rule | None
    score: float
    fit: float
    own_rule: Rule | None
    own_score: float
    n_active: int
    n_inactive: int


def explain_contexts(active_rows: np.ndarray, bands: np.ndarray, inactive_rows: np.ndarray, features: RuleFeatures, max_set: int,
                     penalty: float, min_support: int, rng: np.random.Generator) -> Explanation:
    """Choose a rule on half of the contexts (token rows of activating contexts with their
    activation ``bands``, and of non-activating ones) and score it on the other half."""
    codes = features.matrix
    sel_a, test_a = split_halves(np.asarray(bands), rng)
    perm = rng.permutation(len(inactive_rows))
    sel_n, test_n = perm[1::2], perm[0::2]
    A_sel, N_sel = codes[active_rows[sel_a]], codes[inactive_rows[sel_n]]
    best, own = select(A_sel, N_sel, features, max_set, penalty, min_support)
    A_test, N_test = codes[active_rows[test_a]], codes[inactive_rows[test_n]]
    return Explanation(rule=best.rule, score=held_out_score(best.rule, A_test, N_test), fit=best.fit, own_rule=own.rule,
                       own_score=held_out_score(own.rule, A_test, N_test), n_active=len(A_test), n_inactive=len(N_test))
