"""The concept probe of one labelled file on one model and dictionary: the targets' states and
activations, then per layer the best single factor against the raw state and the majority."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .estimator import SingleFactorProbe, _Majority, raw_state_probe, swapped_scores, two_fold_split
from .labels import LabelledSet

if TYPE_CHECKING:
    from ..factors.stage import FactorResult
    from ...model.load import LoadedModel

#: What the probe does, step by step (the manifest and the concepts page show it).
METHOD = {
    "target": "mean over the target's tokens: of the hidden states (raw probe) and of the factor activations, each token coded alone (factor probe)",
    "split": "stratified 2-fold split (seeded); fit on one half, score on the other, swap, average the two scores",
    "single_factor": "per layer, the factor whose 1-feature logistic regression (standardised activation, C=1) has the best training F1 (ties: lower log-loss, then lower id); the factor shown is the one chosen on all examples",
    "ceiling": "logistic regression (C=1) on the standardised raw hidden state, same folds",
    "baseline": "the training half's most frequent label for every example, same folds",
    "f1": "two labels: F1 of the label that appears first in the file; more: macro-F1",
}


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

    from ...capture.extract import TextUnits

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
