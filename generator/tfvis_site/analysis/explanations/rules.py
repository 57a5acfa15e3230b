"""Short rules over a unit's features and the search for the best one (docs/factors.md,
"Explanations").

A rule is one or two conditions joined by "and"; a condition says that a feature's label is one
value, or for a feature that allows it (the token) one of a small set. The search counts, on the
activating and the non-activating contexts of the selection half, how often every candidate holds
and keeps the one with the best balanced accuracy, less ``penalty`` for each condition or set
member beyond the first. Candidates: every label that at least ``min_support`` activating
contexts have (one condition), every pair of labels of two features that as many have together
(two conditions), and for set features a greedy set (the best token, then the token that adds
most, up to ``max_set``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from .features import RuleFeatures

#: Most labels of a set feature the greedy set search tries to add (the best ones alone).
SET_CANDIDATES = 12


@dataclass(frozen=True)
class Rule:
    """conditions: ((feature index, (label index, ...)), ...), in feature order."""

    conditions: tuple[tuple[int, tuple[int, ...]], ...]

    @property
    def complexity(self) -> int:
        """Conditions and set members beyond the first: 0 for "the token "of""."""
        return len(self.conditions) - 1 + sum(len(values) - 1 for _, values in self.conditions)

    def holds(self, codes: np.ndarray) -> np.ndarray:
        """(n,) bool: whether the rule holds for units with feature codes ``codes`` (n, F)."""
        out = np.ones(len(codes), bool)
        for feature, values in self.conditions:
            out &= np.isin(codes[:, feature], values)
        return out

    def reads_unit_alone(self, features: RuleFeatures) -> bool:
        return all(features.features[f].own for f, _ in self.conditions)

    def words(self, features: RuleFeatures) -> str:
        """The rule in words: 'the token "of" after "one"', 'a patch in the top rows (0-3) with blue hue'."""
        parts = []
        for i, (f, values) in enumerate(self.conditions):
            feature = features.features[f]
            shown = [feature.shown[v] for v in values]
            value = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
            parts.append((feature.alone if i == 0 else feature.qualifier).format(value))
        return " ".join(parts)

    def to_json(self, features: RuleFeatures) -> str:
        """{"all": [{"feature": name, "values": [label, ...]}, ...]}: the unit matches when every
        condition's feature label (computed as manifest["factors"]["explanations"]["features"]
        says) is one of its values."""
        return json.dumps({"all": [{"feature": features.features[f].name, "values": [features.features[f].labels[v] for v in values]}
                                   for f, values in self.conditions]}, sort_keys=True, separators=(",", ":"))


def balanced_accuracy(hits_active: float, n_active: int, hits_inactive: float, n_inactive: int) -> float:
    """Balanced accuracy of "the rule holds" as a prediction of "active": the mean of the share
    of activating contexts where it holds and of non-activating ones where it does not."""
    return 0.5 * (hits_active / n_active + 1.0 - hits_inactive / n_inactive)


def _lookup(keys: np.ndarray, table_keys: np.ndarray, table_counts: np.ndarray) -> np.ndarray:
    """Counts of ``keys`` in a (sorted keys, counts) table; 0 for keys it lacks."""
    if not len(table_keys):
        return np.zeros(len(keys), np.int64)
    at = np.minimum(np.searchsorted(table_keys, keys), len(table_keys) - 1)
    return np.where(table_keys[at] == keys, table_counts[at], 0)


def _counts(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    column = column[column >= 0]
    return np.unique(column, return_counts=True)


@dataclass
class Group:
    """Candidates of one shape: conditions on ``features`` (one or two), one label each (or a set
    of one feature's labels, ``values`` then holding the set), with their hits on the activating
    and the non-activating contexts."""

    features: tuple[int, ...]
    values: list[tuple[tuple[int, ...], ...]] | np.ndarray  # (n, len(features)) labels, or per candidate a tuple of sets
    hits_active: np.ndarray
    hits_inactive: np.ndarray
    complexity: np.ndarray

    def rule(self, i: int) -> Rule:
        if isinstance(self.values, np.ndarray):
            return Rule(tuple((f, (int(v),)) for f, v in zip(self.features, self.values[i])))
        return Rule(tuple(zip(self.features, self.values[i])))


def candidates(active: np.ndarray, inactive: np.ndarray, features: RuleFeatures, max_set: int, penalty: float,
               min_support: int) -> list[Group]:
    """Every candidate rule, in groups, with its hits on ``active`` (a, F) and ``inactive``
    (b, F) codes; a candidate must hold on at least ``min_support`` activating contexts (and a
    set's every label on that many), so that no rule is built around one context."""
    out: list[Group] = []
    F = active.shape[1]
    n_a, n_n = len(active), len(inactive)
    singles: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for f in range(F):
        values, tp = _counts(active[:, f])
        keep = tp >= min_support
        values, tp = values[keep], tp[keep]
        fp = _lookup(values, *_counts(inactive[:, f]))
        singles[f] = (values, tp, fp)
        if len(values):
            out.append(Group((f,), values[:, None], tp, fp, np.zeros(len(values), np.int64)))
    for f1 in range(F):
        for f2 in range(f1 + 1, F):
            if not len(singles[f1][0]) or not len(singles[f2][0]):
                continue
            width = np.int64(max(int(active[:, f2].max(initial=-1)), int(inactive[:, f2].max(initial=-1))) + 1)
            both = (active[:, f1] >= 0) & (active[:, f2] >= 0)
            keys, tp = np.unique(active[both, f1].astype(np.int64) * width + active[both, f2], return_counts=True)
            keys, tp = keys[tp >= min_support], tp[tp >= min_support]
            if not len(keys):
                continue
            nb = (inactive[:, f1] >= 0) & (inactive[:, f2] >= 0)
            fp = _lookup(keys, *np.unique(inactive[nb, f1].astype(np.int64) * width + inactive[nb, f2], return_counts=True))
            out.append(Group((f1, f2), np.stack(np.divmod(keys, width), 1), tp, fp, np.ones(len(keys), np.int64)))
    for f, feature in enumerate(features.features):
        if feature.can_set and max_set > 1:
            group = _greedy_sets(f, *singles[f], n_a, n_n, max_set, penalty)
            if group is not None:
                out.append(group)
    return out


def _greedy_sets(f: int, values: np.ndarray, tp: np.ndarray, fp: np.ndarray, n_a: int, n_n: int, max_set: int,
                 penalty: float) -> Group | None:
    """Sets of labels of feature ``f``: from the best label alone, add the label that raises the
    balanced accuracy most while it raises it by more than ``penalty``, up to ``max_set`` labels
    (among the SET_CANDIDATES best labels alone); every set on the way is a candidate."""
    if len(values) < 2:
        return None
    alone = 0.5 * (tp / n_a + 1.0 - fp / n_n)
    pool = [int(i) for i in np.lexsort((values, -alone))[:SET_CANDIDATES]]
    chosen = [pool.pop(0)]
    hits_a, hits_n = int(tp[chosen[0]]), int(fp[chosen[0]])
    current = balanced_accuracy(hits_a, n_a, hits_n, n_n)
    sets, tps, fps = [], [], []
    while pool and len(chosen) < max_set:
        gains = [balanced_accuracy(hits_a + tp[i], n_a, hits_n + fp[i], n_n) for i in pool]
        k = int(np.argmax(gains))  # the first of equal gains: the better label alone
        if gains[k] - penalty <= current:
            break
        i = pool.pop(k)
        chosen.append(i)
        hits_a, hits_n, current = hits_a + int(tp[i]), hits_n + int(fp[i]), gains[k]
        sets.append((tuple(sorted(int(values[j]) for j in chosen)),))
        tps.append(hits_a)
        fps.append(hits_n)
    if not sets:
        return None
    return Group((f,), sets, np.asarray(tps), np.asarray(fps), np.asarray([len(v[0]) - 1 for v in sets]))


@dataclass
class Choice:
    """The chosen rule (None: no candidate) and its balanced accuracy on the contexts it was
    chosen on."""

    rule: Rule | None
    fit: float


def select(active: np.ndarray, inactive: np.ndarray, features: RuleFeatures, max_set: int, penalty: float,
           min_support: int = 2) -> tuple[Choice, Choice]:
    """(the best rule, the best rule that reads the unit alone) on these contexts: the highest
    balanced accuracy less ``penalty`` per complexity; ties go to the simpler rule, then to the
    lower feature and label indices."""
    n_a, n_n = len(active), len(inactive)
    best: dict[bool, tuple[Any, ...]] = {}
    for g in candidates(active, inactive, features, max_set, penalty, min_support):
        ba = 0.5 * (g.hits_active / n_a + 1.0 - g.hits_inactive / n_n)
        adjusted = ba - penalty * g.complexity
        i = int(np.lexsort((g.complexity, -adjusted))[0])  # within a group the labels come sorted: the first is the lowest
        rule = g.rule(i)
        key = (-float(adjusted[i]), int(g.complexity[i]), rule.conditions)
        for own in ((False, True) if all(features.features[f].own for f in g.features) else (False,)):
            if own not in best or key < best[own][0]:
                best[own] = (key, rule, float(ba[i]))
    return tuple(Choice(best[own][1], best[own][2]) if own in best else Choice(None, 0.5) for own in (False, True))  # type: ignore[return-value]
