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
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import UserError
from .stages import Stage

if TYPE_CHECKING:
    from .factors.result import FactorResult
    from .models import LoadedModel
    from .stages import ModelRun

#: Usable examples a label needs: 2 folds of at least 5 to fit on and to score.
MIN_PER_LABEL = 10
#: Inverse L2 strength of every logistic regression (scikit-learn's default).
C = 1.0
#: Bump when the method or the saved result changes, to invalidate cached concept stages.
CONCEPTS_VERSION = 1

METHOD = {
    "target": "mean over the target's tokens: of the hidden states (raw probe) and of the factor activations, each token coded alone (factor probe)",
    "split": "stratified 2-fold split (seeded); fit on one half, score on the other, swap, average the two scores",
    "single_factor": "per layer, the factor whose 1-feature logistic regression (standardised activation, C=1) has the best training F1 (ties: lower log-loss, then lower id); the factor shown is the one chosen on all examples",
    "ceiling": "logistic regression (C=1) on the standardised raw hidden state, same folds",
    "baseline": "the training half's most frequent label for every example, same folds",
    "f1": "two labels: F1 of the label that appears first in the file; more: macro-F1",
}


# ----------------------------------------------------------------------------- labelled examples

@dataclass
class Example:
    """One line of a labelled file; ``start``/``end`` are the target's character span (None:
    not found) and ``reason`` says why an example is not usable ("" when it is)."""

    line: int
    text: str
    target: str
    label: str
    start: int | None
    end: int | None
    reason: str = ""


@dataclass
class LabelledSet:
    """The examples of a labelled file, in file order, and its labels in order of first appearance."""

    path: Path
    examples: list[Example]
    labels: list[str]
    sha256: str

    @property
    def usable(self) -> list[Example]:
        return [e for e in self.examples if not e.reason]

    @property
    def skipped(self) -> list[dict[str, Any]]:
        return [{"line": e.line, "target": e.target, "reason": e.reason} for e in self.examples if e.reason]

    def check_counts(self) -> None:
        """One-line UserError when a label has fewer than MIN_PER_LABEL usable examples."""
        counts = {label: 0 for label in self.labels}
        for e in self.usable:
            counts[e.label] += 1
        if len(counts) < 2:
            raise UserError(f"{self.path}: needs at least 2 labels, found {len(counts)} ({', '.join(map(repr, counts)) or 'none'})")
        short = [f"{label!r} has {n}" for label, n in counts.items() if n < MIN_PER_LABEL]
        if short:
            skipped = len(self.examples) - len(self.usable)
            raise UserError(f"{self.path}: too few usable examples per label ({', '.join(short)}; {MIN_PER_LABEL} needed{f'; {skipped} skipped' if skipped else ''})")


def find_target(text: str, target: str) -> tuple[int, int] | None:
    """(start, end) of the first whole-word, case-insensitive occurrence of ``target`` in
    ``text``, or None. "Whole word": no letter, digit or underscore touches it on either side."""
    match = re.search(rf"(?<!\w){re.escape(target)}(?!\w)", text, flags=re.IGNORECASE)
    return (match.start(), match.end()) if match else None


def read_labels(path: Path) -> LabelledSet:
    """Parse a labelled JSONL file (see the module docstring). Malformed lines are one-line
    UserErrors naming the file and line; targets not found are kept with their ``reason``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: labelled examples file does not exist")
    raw = path.read_bytes()
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    examples: list[Example] = []
    labels: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{where}: not a JSON object ({e.msg})") from None
        if not isinstance(obj, dict):
            raise UserError(f"{where}: not a JSON object")
        for key in ("text", "target", "label"):
            if not isinstance(obj.get(key), str) or not obj[key].strip():
                raise UserError(f"{where}: {key!r} must be a non-empty string")
        text, target, label = obj["text"], obj["target"], obj["label"]
        if ("start" in obj) != ("end" in obj):
            raise UserError(f"{where}: give both 'start' and 'end', or neither")
        reason = ""
        if "start" in obj:
            start, end = obj["start"], obj["end"]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)) or not 0 <= start < end <= len(text):
                raise UserError(f"{where}: 'start' and 'end' must be character offsets with 0 <= start < end <= {len(text)}")
            if text[start:end].lower() != target.lower():
                raise UserError(f"{where}: text[{start}:{end}] is {text[start:end]!r}, not the target {target!r}")
        else:
            span = find_target(text, target)
            start, end = span if span else (None, None)
            if span is None:
                reason = f"target {target!r} not found as a whole word"
        if label not in labels:
            labels.append(label)
        examples.append(Example(number, text, target, label, start, end, reason))
    if not examples:
        raise UserError(f"{path}: no examples (one JSON object per line)")
    return LabelledSet(path, examples, labels, hashlib.sha256(raw).hexdigest())


# ----------------------------------------------------------------------------- target states

@dataclass
class TargetStates:
    """Hidden states of the targets' tokens: ``hidden`` (n_layers+1, T, d) float32 for the T
    target tokens of all usable examples, ``owner`` (T,) the example (index into
    ``LabelledSet.usable``) each token belongs to, ``n`` the number of examples."""

    hidden: np.ndarray
    owner: np.ndarray
    n: int

    def mean_states(self, layer: int) -> np.ndarray:
        """(n, d): per example, the mean hidden state of its target tokens at ``layer``."""
        return segment_mean(self.hidden[layer], self.owner, self.n)

    def mean_codes(self, factors: FactorResult, layer: int) -> np.ndarray:
        """(n, m): per example, the mean factor activation of its target tokens at ``layer``
        (every token coded alone, as the site codes the corpus)."""
        return segment_mean(factors.encode(self.hidden[layer], layer), self.owner, self.n)


def segment_mean(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """(T, k) rows grouped by ``owner`` (T,) in 0..n-1 -> (n, k) means (every group non-empty)."""
    sums = np.zeros((n, values.shape[1]), dtype=np.float64)
    np.add.at(sums, owner, values)
    return (sums / np.bincount(owner, minlength=n)[:, None]).astype(np.float32)


def target_states(loaded: LoadedModel, labelled: LabelledSet, max_tokens: int, batch_size: int = 32) -> TargetStates:
    """Forward passes over the usable examples' texts (truncated to ``max_tokens`` like the site's
    corpus). A target with no token left after truncation gets ``reason`` set (it becomes
    skipped) and the states returned cover the remaining examples only."""
    import torch

    from .extract import TextUnits

    examples = labelled.usable
    units = TextUnits(loaded, [e.text for e in examples], max_tokens)
    token_positions: list[list[int]] = []
    for e, enc in zip(examples, units.encoded):
        positions = [p for p, ((s, t), special) in enumerate(zip(enc["offsets"], enc["special"]))
                     if not special and t > s and s < e.end and t > e.start]
        if not positions:
            e.reason = f"target {e.target!r} lies beyond the first {max_tokens} tokens"
        token_positions.append(positions)
    keep = [i for i, p in enumerate(token_positions) if p]
    owner = np.concatenate([np.full(len(token_positions[i]), j) for j, i in enumerate(keep)]).astype(np.int64) if keep else np.zeros(0, np.int64)
    layers = loaded.info.n_layers + 1
    hidden = np.empty((layers, len(owner), loaded.info.d_model), dtype=np.float32)
    row_of = np.concatenate([[0], np.cumsum([len(token_positions[i]) for i in keep])]).astype(np.int64)
    order = sorted(keep, key=lambda i: -units.lengths[i])  # similar lengths share a batch
    slot = {i: j for j, i in enumerate(keep)}
    with torch.inference_mode():
        for lo in range(0, len(order), batch_size):
            batch = np.array(order[lo : lo + batch_size])
            inputs = {k: v.to(loaded.device) for k, v in units.model_inputs(batch).items()}
            states = torch.stack(loaded.model(**inputs, output_hidden_states=True).hidden_states)  # (L+1, B, W, d)
            for b, i in enumerate(batch):
                j = slot[int(i)]
                hidden[:, row_of[j] : row_of[j + 1]] = states[:, b, token_positions[i]].float().cpu().numpy()
    return TargetStates(hidden, owner, len(keep))


# ----------------------------------------------------------------------------- logistic regressions

def _logits(x: np.ndarray, coef: np.ndarray, intercept: np.ndarray, n_classes: int) -> np.ndarray:
    """(m, n) features, (m, F) coefficients and intercepts -> (m, n, K) logits; with K = 2 the
    first class's logit is 0 (F = 1), with K > 2 all K logits are free (F = K)."""
    z = x[:, :, None] * coef[:, None, :] + intercept[:, None, :]
    if n_classes == 2:
        z = np.concatenate([np.zeros_like(z), z], axis=2)
    return z


def _log_loss(x: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: np.ndarray, n_classes: int) -> np.ndarray:
    """(m,) summed log-loss of the regressions (coef, intercept) (m, F) on features x (m, n)."""
    if n_classes == 2:  # log(1 + e^z) - t z, without the (m, n, 2) logits
        z = x * coef + intercept
        return (np.logaddexp(0.0, z) - z * (y == 1)).sum(1)
    z = _logits(x, coef, intercept, n_classes)
    top = z.max(2, keepdims=True)
    lse = top[..., 0] + np.log(np.exp(z - top).sum(2))
    return (lse - z[:, np.arange(z.shape[1]), y]).sum(1)


def _newton_system(x: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: np.ndarray, n_classes: int,
                   C: float) -> tuple[np.ndarray, np.ndarray]:
    """Gradient (a, 2F) and Hessian (a, 2F, 2F) of ``1/2 ||coef||^2 + C * log-loss`` in
    (coef, intercept) for the rows of x (a, n)."""
    if n_classes == 2:
        p = 1.0 / (1.0 + np.exp(-(x * coef + intercept)))
        r = p - (y == 1)
        h = p * (1.0 - p)
        hx = h * x
        grad = np.stack([coef[:, 0] + C * (r * x).sum(1), C * r.sum(1)], 1)
        hww, hwb, hbb = 1.0 + C * (hx * x).sum(1), C * hx.sum(1), C * h.sum(1) + 1e-10
        return grad, np.stack([np.stack([hww, hwb], 1), np.stack([hwb, hbb], 1)], 1)
    K = n_classes
    z = _logits(x, coef, intercept, K)
    P = np.exp(z - z.max(2, keepdims=True))
    P /= P.sum(2, keepdims=True)
    R = P - np.eye(K)[y]
    # + 1/2 (sum b)^2: K logits are invariant to a common shift of b, the term pins sum b = 0
    # (the optimum and every prediction stay the same; the Hessian becomes regular)
    grad = np.concatenate([coef + C * (x[:, None, :] @ R)[:, 0], C * R.sum(1) + intercept.sum(1, keepdims=True)], axis=1)

    def block(weight):  # C * sum_i weight_i (diag(P_i) - P_i P_i^T), (a, K, K)
        Pw = P * weight[:, :, None]
        return C * (Pw.sum(1)[:, :, None] * np.eye(K) - Pw.transpose(0, 2, 1) @ P)

    hww = block(x * x) + np.eye(K)
    hwb = block(x)
    hbb = block(np.ones_like(x)) + 1.0
    return grad, np.concatenate([np.concatenate([hww, hwb], 2), np.concatenate([hwb, hbb], 2)], 1)


def fit_logistic_1d(x: np.ndarray, y: np.ndarray, n_classes: int, C: float = C, max_iter: int = 50,
                    tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Independent L2 logistic regressions on one feature each, all at once (Newton's method with
    step halving).

    x: (m, n) one feature per row (standardise it first); y: (n,) classes in 0..K-1.
    Minimises ``1/2 ||coef||^2 + C * log-loss`` per row (scikit-learn's objective; the intercept
    is not penalised). Returns coef (m, F), intercept (m, F), log-loss (m,) at the optimum,
    F = 1 for K = 2 (the logit of class 1) and F = K otherwise.
    """
    x = np.asarray(x, dtype=np.float64)
    m = x.shape[0]
    K = n_classes
    F = 1 if K == 2 else K
    coef = np.zeros((m, F))
    intercept = np.zeros((m, F))

    def objective(rows, w, b):  # K > 2: + 1/2 (sum b)^2, see _newton_system
        return 0.5 * (w**2).sum(1) + C * _log_loss(x[rows], y, w, b, K) + (0.5 * b.sum(1) ** 2 if K > 2 else 0.0)

    obj = objective(np.arange(m), coef, intercept)
    active = np.arange(m)
    for _ in range(max_iter):
        if active.size == 0:
            break
        w, b = coef[active], intercept[active]
        grad, H = _newton_system(x[active], y, w, b, K, C)
        step = np.linalg.solve(H, grad[:, :, None])[:, :, 0]
        t = np.ones(active.size)
        new = np.empty(active.size)
        todo = np.arange(active.size)  # rows whose step is not accepted yet
        for _ in range(30):  # halve the step where the objective went up
            new[todo] = objective(active[todo], w[todo] - t[todo, None] * step[todo, :F], b[todo] - t[todo, None] * step[todo, F:])
            worse = new[todo] > obj[active[todo]] + 1e-12 * np.abs(obj[active[todo]])
            todo = todo[worse]
            if todo.size == 0:
                break
            t[todo] *= 0.5
        ok = np.ones(active.size, dtype=bool)
        ok[todo] = False
        moved = t[:, None] * step
        coef[active[ok]] -= moved[ok, :F]
        intercept[active[ok]] -= moved[ok, F:]
        obj[active[ok]] = new[ok]
        size = 1 + np.abs(np.concatenate([coef[active], intercept[active]], 1)).max(1)
        active = active[ok & (np.abs(moved).max(1) > tol * size)]
    return coef, intercept, _log_loss(x, y, coef, intercept, K)


def predict_logistic_1d(x: np.ndarray, coef: np.ndarray, intercept: np.ndarray, n_classes: int) -> np.ndarray:
    """(m, n) features -> (m, n) predicted classes of the regressions fitted by fit_logistic_1d."""
    return _logits(np.asarray(x, dtype=np.float64), coef, intercept, n_classes).argmax(2)


def f1_scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """F1 of class 0 (two classes) or macro-F1 (more), for every row of ``y_pred`` (r, n) (or a
    single (n,) prediction -> a 0-d array). A class never true nor predicted scores 0."""
    y_pred = np.asarray(y_pred)
    single = y_pred.ndim == 1
    pred = y_pred[None] if single else y_pred
    classes = [0] if n_classes == 2 else range(n_classes)
    scores = []
    for k in classes:
        t, p = (y_true == k)[None], pred == k
        tp = (t & p).sum(1)
        denom = t.sum() + p.sum(1)
        scores.append(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0))
    out = np.mean(scores, axis=0)
    return out[0] if single else out


class SingleFactorProbe:
    """The one feature (factor) that best separates the classes, with its logistic regression.

    ``fit(X, y)``: X (n, m) activations, y (n,) classes in 0..n_classes-1. Every column that
    varies on X gets a 1-feature logistic regression on its standardised values; the column
    with the best training F1 (:func:`f1_scores`; ties: lower log-loss, then lower index) is
    kept. Attributes: ``factor_`` (int, or None when no column varies: then the majority class
    is predicted), ``mean_``, ``scale_`` (its standardisation), ``coef_`` (F,), ``intercept_``
    (F,), ``train_f1_``, ``majority_``. ``predict(X)`` -> (n,) classes. ``threshold_`` (two
    classes): the activation where the prediction flips (None if it never does), and
    ``above_`` the class predicted above it.
    """

    def __init__(self, n_classes: int, C: float = C):
        self.n_classes = n_classes
        self.C = C

    def fit(self, X: np.ndarray, y: np.ndarray) -> "SingleFactorProbe":
        X = np.asarray(X, dtype=np.float64)
        self.majority_ = int(np.bincount(y, minlength=self.n_classes).argmax())
        sd = X.std(0)
        candidates = np.flatnonzero(sd > 1e-12 * np.maximum(np.abs(X).max(0), 1e-30))
        self.factor_ = None
        self.threshold_ = self.above_ = None
        self.train_f1_ = float(f1_scores(y, np.full(len(y), self.majority_), self.n_classes))
        if candidates.size == 0:
            return self
        mu = X[:, candidates].mean(0)
        Z = ((X[:, candidates] - mu) / sd[candidates]).T  # (c, n)
        # in chunks of ~2M (factor, example) pairs: the Newton steps hold a few (chunk, n, K) arrays
        step = max(1, (1 << 21) // (len(y) * self.n_classes))
        fits = []
        for lo in range(0, len(Z), step):
            w, b, loss = fit_logistic_1d(Z[lo : lo + step], y, self.n_classes, self.C)
            fits.append((w, b, loss, f1_scores(y, predict_logistic_1d(Z[lo : lo + step], w, b, self.n_classes), self.n_classes)))
        coef, intercept, loss, f1 = (np.concatenate(parts) for parts in zip(*fits))
        best = np.lexsort((candidates, loss, -f1))[0]
        self.factor_ = int(candidates[best])
        self.mean_, self.scale_ = float(mu[best]), float(sd[candidates[best]])
        self.coef_, self.intercept_ = coef[best], intercept[best]
        self.train_f1_ = float(f1[best])
        if self.n_classes == 2 and abs(self.coef_[0]) > 1e-12:
            self.threshold_ = self.mean_ - self.scale_ * float(self.intercept_[0] / self.coef_[0])
            self.above_ = 1 if self.coef_[0] > 0 else 0
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if self.factor_ is None:
            return np.full(X.shape[0], self.majority_)
        z = (X[:, self.factor_].astype(np.float64) - self.mean_) / self.scale_
        return predict_logistic_1d(z[None], self.coef_[None], self.intercept_[None], self.n_classes)[0]


def raw_state_probe() -> Any:
    """The ceiling: StandardScaler + LogisticRegression(C=1) on the whole hidden state."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))


def two_fold_split(y: np.ndarray, seed: int) -> np.ndarray:
    """(n,) fold ids 0/1, stratified: each class's examples shuffled (seeded) and alternated."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(y), dtype=np.int64)
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        folds[idx] = np.arange(len(idx)) % 2
    return folds


def swapped_scores(make: Any, X: np.ndarray, y: np.ndarray, folds: np.ndarray, n_classes: int) -> tuple[float, list[Any], list[float]]:
    """Fit ``make()`` on each fold, score F1 on the other: (mean F1, [fitted (2)], [F1 (2)])."""
    fitted, scores = [], []
    for fold in (0, 1):
        train, test = folds == fold, folds != fold
        model = make().fit(X[train], y[train])
        fitted.append(model)
        scores.append(float(f1_scores(y[test], model.predict(X[test]), n_classes)))
    return float(np.mean(scores)), fitted, scores


class _Majority:
    """Predicts the most frequent training class (the baseline)."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "_Majority":
        self.majority_ = int(np.bincount(y).argmax())
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.majority_)


# ----------------------------------------------------------------------------- the probe

@dataclass
class ConceptResult:
    """What a concept probe found (see the module docstring).

    labels: label names (first appearance order; class k = labels[k]); counts: usable examples
    per label; metric: what ``f1`` means; majority_f1; layers: per layer {"layer", "factor",
    "f1", "f1_raw", "folds": [{"factor", "f1"}, ...] (the two swapped halves), "f1_raw_folds",
    "train_f1", "threshold" (two labels: activation where the chosen factor's regression flips,
    or None), "above" (the label predicted above it)}; skipped: [{"line", "target", "reason"}];
    examples: the usable examples {"line", "text", "target", "label", "start", "end"} (n);
    factors: (k,) the distinct factors chosen at any layer, ascending; activations (k, L, n)
    float32: their mean activation on every example's target at every probed layer.
    """

    labels: list[str]
    counts: dict[str, int]
    metric: str
    majority_f1: float
    layers: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    examples: list[dict[str, Any]]
    factors: list[int]
    activations: np.ndarray
    method: dict[str, str] = field(default_factory=lambda: dict(METHOD))

    @property
    def n(self) -> int:
        return len(self.examples)

    def to_json(self) -> dict[str, Any]:
        """The ``tfvis-site probe --labels --json`` output."""
        return {
            "labels": self.labels,
            "n": self.n,
            "majority_f1": round(self.majority_f1, 4),
            "layers": [{"layer": r["layer"], "factor": r["factor"], "f1": round(r["f1"], 4), "f1_raw": round(r["f1_raw"], 4)} for r in self.layers],
        }

    def save(self, out_dir: Path) -> None:
        out_dir = Path(out_dir)
        meta = {k: getattr(self, k) for k in ("labels", "counts", "metric", "majority_f1", "layers", "skipped", "examples", "factors", "method")}
        (out_dir / "result.json").write_text(json.dumps(meta, indent=1))
        np.save(out_dir / "activations.npy", self.activations)

    @classmethod
    def load(cls, path: Path) -> "ConceptResult":
        meta = json.loads((Path(path) / "result.json").read_text())
        return cls(**meta, activations=np.load(Path(path) / "activations.npy"))


def probe_concepts(loaded: LoadedModel, factors: FactorResult, labelled: LabelledSet, layers: list[int] | None, max_tokens: int,
                   seed: int = 0, batch_size: int = 32) -> ConceptResult:
    """Run the concept probe of ``labelled`` on a model (``loaded``, models.LoadedModel) and its
    factors (factors.FactorResult) at ``layers`` (None: every hidden-state layer)."""
    states = target_states(loaded, labelled, max_tokens, batch_size)
    labelled.check_counts()  # again: truncation may have cost examples
    usable = labelled.usable
    y = np.array([labelled.labels.index(e.label) for e in usable])
    K = len(labelled.labels)
    folds = two_fold_split(y, seed)
    X0 = np.zeros((len(y), 1))
    majority_f1, _, _ = swapped_scores(_Majority, X0, y, folds, K)
    layers = list(range(states.hidden.shape[0])) if layers is None else list(layers)

    rows, codes = [], {}
    for layer in layers:
        codes[layer] = states.mean_codes(factors, layer)  # (n, m)
        f1, fitted, fold_f1 = swapped_scores(lambda: SingleFactorProbe(K), codes[layer], y, folds, K)
        f1_raw, _, raw_f1 = swapped_scores(raw_state_probe, states.mean_states(layer), y, folds, K)
        final = SingleFactorProbe(K).fit(codes[layer], y)
        rows.append({
            "layer": layer, "factor": final.factor_, "f1": f1, "f1_raw": f1_raw,
            "folds": [{"factor": p.factor_, "f1": s} for p, s in zip(fitted, fold_f1)],
            "f1_raw_folds": raw_f1, "train_f1": final.train_f1_,
            "threshold": final.threshold_, "above": None if final.above_ is None else labelled.labels[final.above_],
        })
    chosen = sorted({r["factor"] for r in rows if r["factor"] is not None})
    activations = np.array([[codes[layer][:, c] for layer in layers] for c in chosen], dtype=np.float32).reshape(len(chosen), len(layers), len(y))
    counts = {label: int((y == k).sum()) for k, label in enumerate(labelled.labels)}
    metric = f"F1 of {labelled.labels[0]!r}" if K == 2 else f"macro-F1 over {K} labels"
    examples = [{"line": e.line, "text": e.text, "target": e.target, "label": e.label, "start": e.start, "end": e.end} for e in usable]
    return ConceptResult(list(labelled.labels), counts, metric, majority_f1, rows, labelled.skipped, examples, chosen, activations)


# ----------------------------------------------------------------------------- the build: [[probes]]

def probe_specs(value: Any, where: str, base: Path | None = None) -> list[dict[str, str]]:
    """Validate the ``[[probes]]`` tables of a config ({"name", "file"} each, names unique);
    ``base``: the config file's folder, against which relative files are resolved."""
    if not isinstance(value, list) or not all(isinstance(p, dict) for p in value):
        raise UserError(f"{where}: 'probes' must be an array of tables ([[probes]] with name and file)")
    specs, names = [], set()
    for i, p in enumerate(value, 1):
        unknown = set(p) - {"name", "file"}
        if unknown:
            raise UserError(f"{where}: [[probes]] #{i}: unknown key {sorted(unknown)[0]!r} (known: file, name)")
        if not all(isinstance(p.get(k), (str, Path)) and str(p[k]).strip() for k in ("name", "file")):
            raise UserError(f"{where}: [[probes]] #{i}: needs 'name' and 'file' strings")
        if p["name"] in names:
            raise UserError(f"{where}: [[probes]] #{i}: the name {p['name']!r} is used twice")
        names.add(p["name"])
        file = Path(p["file"])
        if base is not None and not file.is_absolute():
            file = base / file
        specs.append({"name": str(p["name"]), "file": str(file)})
    return specs


def read_probe_sets(specs: list[dict[str, str]], text_models: int) -> list[LabelledSet]:
    """Read and check every probe's file, up front (before the long stages of a build).
    ``text_models``: how many models of the site read text (probes run on those; one is needed)."""
    if specs and not text_models:
        raise UserError(f"{specs[0]['file']}: concept probes need a text model (the site's models are vision transformers)")
    sets = [read_labels(Path(spec["file"])) for spec in specs]
    for labelled in sets:
        labelled.check_counts()
    return sets


def _concept_key(run: ModelRun, labelled: LabelledSet) -> dict[str, Any]:
    """The factors' key and the labelled file's content (and what the probe reads of the model)."""
    return {"v": CONCEPTS_VERSION, "factors": run.keys["factors"], "labels": labelled.sha256, "max_tokens": run.config.max_tokens,
            "seed": run.config.seed}


def _concept_log(run: ModelRun, labelled: LabelledSet, result: ConceptResult, cached: bool) -> str:
    best = max(result.layers, key=lambda r: r["f1"])
    return (f"concepts: {labelled.path.name}: best layer {best['layer']} (factor {best['factor']}, {result.metric} {best['f1']:.3f}; "
            f"raw state {best['f1_raw']:.3f}; majority {result.majority_f1:.3f})" + (" (cached)" if cached else ""))


#: One cached stage run per [[probes]] labelled file, on the site's text models.
CONCEPT_STAGE = Stage(
    "concepts", key=_concept_key, items=lambda run: read_probe_sets(run.config.probes, 1), log=_concept_log,
    build=lambda run, labelled, folder: probe_concepts(run.model.get(), run.results["factors"], labelled, None, run.config.max_tokens,
                                                        run.config.seed).save(folder),
    load=lambda run, labelled, folder: ConceptResult.load(folder),
    applies=lambda run: run.modality.reads_text and bool(run.config.probes),
)


def write_concepts_bundle(specs: list[dict[str, str]], results: list[ConceptResult], bundle: Any) -> dict[str, Any]:
    """data/concepts/probe-<i>/{examples.parquet, activations.f32} per probe -> manifest["concepts"]."""
    import pyarrow as pa

    probes = []
    for i, (spec, result) in enumerate(zip(specs, results)):
        folder = f"concepts/probe-{i}"
        ex = result.examples
        bundle.add_table(f"{folder}/examples.parquet", pa.table({
            "line": pa.array([e["line"] for e in ex], pa.int32()),
            "text": pa.array([e["text"] for e in ex], pa.string()),
            "target": pa.array([e["target"] for e in ex], pa.string()),
            "label": pa.array([e["label"] for e in ex], pa.string()),
            "start": pa.array([e["start"] for e in ex], pa.int32()),
            "end": pa.array([e["end"] for e in ex], pa.int32()),
        }))
        bundle.add_float32(f"{folder}/activations.f32", result.activations)
        probes.append({
            "name": spec["name"],
            "file": Path(spec["file"]).name,  # no local paths on the site
            "labels": result.labels,
            "counts": result.counts,
            "n": result.n,
            "metric": result.metric,
            "majority_f1": round(result.majority_f1, 4),
            "layers": [_rounded(r) for r in result.layers],
            "factors": result.factors,
            "skipped": result.skipped,
            "files": {"examples": f"{folder}/examples.parquet", "activations": f"{folder}/activations.f32"},
        })
    return {"probes": probes, "method": METHOD, "min_per_label": MIN_PER_LABEL,
            "activations": "activations.f32: (factors, layers, examples) float32, the mean activation of each chosen factor on each example's target at each layer"}


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    """A layer row with its scores rounded to 4 digits (the manifest stays readable and stable)."""
    def r(v: Any) -> Any:
        return round(v, 4) if isinstance(v, float) else [r(x) for x in v] if isinstance(v, list) else {k: r(x) for k, x in v.items()} if isinstance(v, dict) else v
    return r(row)
