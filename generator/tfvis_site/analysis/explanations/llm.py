"""LLM explanations (issue 25; docs/factors.md, "LLM explanations"): for every factor at its peak
layer, an OpenAI-compatible endpoint explains excerpts of its activating contexts with the active
tokens marked, and the same endpoint scores the explanation on held-out contexts by detection
and by fuzzing, as EleutherAI's delphi does.

The contexts are the rule explanations' (stage.factor_contexts: activating ones from equal-count
activation bands and the top-k, as many non-activating ones), split within each band into an
explanation half and a held-out half (scoring.split_halves). Every factor's answers are kept in
a file of its own, named by a hash of what its prompts hold (model, prompt version, excerpts),
in the stage's resumable folder: a killed build asks again only for the factors it had not
finished.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ...cache import stable_hash
from ...progress import Reporter
from .client import Usage
from .config import ExplanationConfig
from .llm_config import ExplainerConfig
from .prompts import DETECTION_SYSTEM, FUZZING_SYSTEM, PROMPT_VERSION, Excerpt, explain_messages, judge_messages, parse_explanation, parse_labels
from .rules import balanced_accuracy
from .scoring import split_halves
from .stage import TYPES, Contexts, FactorActivity, factor_contexts

if TYPE_CHECKING:
    from ...capture.extract import ActivationStore
    from ..factors.stage import FactorResult

KIND = "llm"
#: Columns an LLM row has beyond the rule rows' (TYPES): null on the rule rows.
LLM_TYPES = {"fuzzing_score": pa.float64(), "n_fuzzed": pa.int16()}


class Asker(Protocol):
    """What the stage asks of an endpoint (client.ChatClient, or a scripted one in the tests)."""

    usage: Usage

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str: ...


class TokenText:
    """The texts of a store's token rows (tokens.parquet, texts contiguous) as excerpts show them."""

    def __init__(self, tokens: pa.Table):
        texts = tokens.column("text").to_pylist()
        special = tokens.column("is_special").to_numpy(zero_copy_only=False).astype(bool)
        space = tokens.column("space_before").to_numpy(zero_copy_only=False).astype(bool)
        sentence = tokens.column("sentence_id").to_numpy().astype(np.int64)
        self.pieces = ["" if s else (" " if sp else "") + t for t, s, sp in zip(texts, special, space)]
        starts = np.flatnonzero(np.r_[True, sentence[1:] != sentence[:-1]])
        which = np.cumsum(np.r_[True, sentence[1:] != sentence[:-1]]) - 1
        #: (n_tokens,) the first row of each row's text and the row after its last
        self.start, self.end = starts[which], np.r_[starts[1:], len(texts)][which]

    def windows(self, rows: np.ndarray, before: int) -> list[np.ndarray]:
        """Per row of ``rows`` (n,): the rows of its excerpt, ``before`` tokens before it and a
        quarter as many after, within its text."""
        after = max(1, before // 4)
        return [np.arange(max(self.start[r], r - before), min(self.end[r], r + after + 1)) for r in rows]


def excerpts(activity: FactorActivity, text: TokenText, rows: np.ndarray, factor: int, layer: int, before: int) -> list[Excerpt]:
    """The excerpts around ``rows`` (n,) with the factor's active tokens (its code > 0), special
    tokens left out."""
    windows = text.windows(rows, before)
    if not windows:
        return []
    every = np.unique(np.concatenate(windows))
    active = activity.codes(every, layer)[:, factor] > 0
    out = []
    for w in windows:
        keep = [int(r) for r in w if text.pieces[r]]
        on = active[np.searchsorted(every, keep)] if keep else np.zeros(0, bool)
        out.append(Excerpt(tuple(text.pieces[r] for r in keep), tuple(bool(x) for x in on)))
    return out


def spread(indices: np.ndarray, bands: np.ndarray, n: int) -> np.ndarray:
    """Up to ``n`` of ``indices`` taken round-robin over their ``bands`` (lowest band first), in
    the order they come within a band: a draw spread over the activation quantiles."""
    groups = [list(indices[bands[indices] == b]) for b in np.unique(bands[indices])]
    out: list[int] = []
    while len(out) < n and any(groups):
        for g in groups:
            if g and len(out) < n:
                out.append(int(g.pop(0)))
    return np.asarray(out, np.int64)


def fuzzed(excerpt: Excerpt, correct: bool, rng: np.random.Generator) -> tuple[list[bool], bool]:
    """(marks, whether they are the true ones): the active tokens, or as many tokens drawn at
    random among the inactive ones (true when there are too few of those to draw from)."""
    active = np.asarray(excerpt.active, bool)
    off = np.flatnonzero(~active)
    if correct or len(off) < max(1, int(active.sum())):
        return list(active), True
    marks = np.zeros(len(active), bool)
    marks[rng.choice(off, max(1, int(active.sum())), replace=False)] = True
    return list(marks), False


def judged(asker: Asker, system: str, explanation: str, texts: Sequence[str], truth: np.ndarray, cfg: ExplainerConfig,
           rng: np.random.Generator) -> tuple[float, int]:
    """(balanced accuracy of the endpoint's 1s as predictions of ``truth`` (n,) bool, batches it
    answered unreadably): the texts shuffled, asked ``cfg.batch`` at a time; an unreadable answer
    counts as 0 everywhere in its batch."""
    order = rng.permutation(len(texts))
    said = np.zeros(len(texts), bool)
    unparsed = 0
    for lo in range(0, len(order), cfg.batch):
        part = order[lo:lo + cfg.batch]
        labels = parse_labels(asker.complete(judge_messages(system, explanation, [texts[i] for i in part]), cfg.max_tokens), len(part))
        if labels is None:
            unparsed += 1
        else:
            said[part] = np.asarray(labels, bool)
    return balanced_accuracy(int((said & truth).sum()), int(truth.sum()), int((said & ~truth).sum()), int((~truth).sum())), unparsed


def prompts_of(ctx: Contexts, activity: FactorActivity, text: TokenText, cfg: ExplainerConfig) -> dict[str, Any] | None:
    """What one factor's prompts show (before any is asked): ``explain`` (marked excerpts of the
    explanation half, strongest band first), ``detection`` (held-out activating excerpts spread
    over the bands, unmarked, and as many non-activating ones) with its ``truth``, ``fuzzing``
    (the held-out activating excerpts, half marked truly, half at random tokens) with its
    ``truth``; None when too few non-activating excerpts are left."""
    rng = ctx.rng
    shown_half, held_half = split_halves(ctx.bands, rng)
    shown = shown_half[np.argsort(-ctx.bands[shown_half], kind="stable")][:cfg.contexts]
    held = spread(held_half, ctx.bands, len(held_half))
    before = cfg.window
    shown_ex = excerpts(activity, text, ctx.active[shown], ctx.factor, ctx.layer, before)
    seen = {e.text() for e in shown_ex}  # two contexts of a short text can show the same excerpt: never score one shown
    held_ex = _new(excerpts(activity, text, ctx.active[held], ctx.factor, ctx.layer, before), seen)[:cfg.held_out]
    quiet = _new([e for e in excerpts(activity, text, rng.permutation(ctx.inactive), ctx.factor, ctx.layer, before) if not any(e.active)], seen)
    quiet = quiet[:len(held_ex)]
    if len(quiet) < 2 or len(held_ex) < 2:
        return None
    correct = np.zeros(len(held_ex), bool)
    correct[rng.permutation(len(held_ex))[:(len(held_ex) + 1) // 2]] = True
    fuzz = [fuzzed(e, bool(ok), rng) for e, ok in zip(held_ex, correct)]
    return {
        "explain": [e.text(e.active) for e in shown_ex],
        "detection": [e.text() for e in held_ex] + [e.text() for e in quiet],
        "detection_truth": [True] * len(held_ex) + [False] * len(quiet),
        "fuzzing": [e.text(marks) for e, (marks, _) in zip(held_ex, fuzz)],
        "fuzzing_truth": [ok for _, ok in fuzz],
    }


def _new(items: list[Excerpt], seen: set[str]) -> list[Excerpt]:
    """``items`` whose text is not in ``seen`` nor earlier in ``items`` (``seen`` grows)."""
    out = []
    for e in items:
        if e.text() not in seen:
            seen.add(e.text())
            out.append(e)
    return out


def ask(asker: Asker, prompts: dict[str, Any], cfg: ExplainerConfig, rng: np.random.Generator) -> dict[str, Any]:
    """One factor's answers: its explanation and the explanation's detection and fuzzing scores."""
    before = Usage(asker.usage.requests, asker.usage.prompt_tokens, asker.usage.completion_tokens)
    explanation = parse_explanation(asker.complete(explain_messages(prompts["explain"]), cfg.max_tokens))
    detection, fuzzing, unparsed = None, None, 0
    if explanation:
        detection, u1 = judged(asker, DETECTION_SYSTEM, explanation, prompts["detection"], np.asarray(prompts["detection_truth"]), cfg, rng)
        fuzz_truth = np.asarray(prompts["fuzzing_truth"])
        fuzzing, u2 = (judged(asker, FUZZING_SYSTEM, explanation, prompts["fuzzing"], fuzz_truth, cfg, rng)
                       if fuzz_truth.any() and not fuzz_truth.all() else (None, 0))
        unparsed = u1 + u2
    used = asker.usage
    return {"text": explanation, "score": detection, "fuzzing_score": fuzzing, "unparsed": unparsed,
            "usage": Usage(used.requests - before.requests, used.prompt_tokens - before.prompt_tokens,
                           used.completion_tokens - before.completion_tokens).to_dict()}


def _write_json(path: Path, value: Any) -> None:
    """Written under another name and renamed: a killed build leaves no half-written answer."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, sort_keys=True))
    os.replace(tmp, path)


@dataclass
class LLMExplanations:
    """The stage's output: ``table`` (columns stage.TYPES + LLM_TYPES, one row per explained
    factor) and ``meta`` {"model", "prompt_version", "usage" (every answer's, resumed ones
    included), "config"}."""

    table: pa.Table
    meta: dict[str, Any]

    def save(self, folder: Path) -> None:
        pq.write_table(self.table, folder / "llm_explanations.parquet")
        (folder / "llm_meta.json").write_text(json.dumps(self.meta, sort_keys=True))

    @classmethod
    def load(cls, folder: Path) -> LLMExplanations:
        return cls(pq.read_table(folder / "llm_explanations.parquet"), json.loads((folder / "llm_meta.json").read_text()))


def explained_factors(importance: np.ndarray, peaks: np.ndarray, n: int) -> dict[int, list[int]]:
    """{peak layer: factors}: every factor ever active, or the ``n`` with the highest peak
    importance scores (``n`` > 0; ties to the lower index)."""
    peak_score = importance[np.arange(len(peaks)), peaks]
    chosen = [int(c) for c in np.lexsort((np.arange(len(peaks)), -peak_score)) if peak_score[c] > 0]
    by_layer: dict[int, list[int]] = {}
    for c in sorted(chosen[:n] if n else chosen):
        by_layer.setdefault(int(peaks[c]), []).append(c)
    return by_layer


def explain_llm(activity: FactorActivity, tokens: pa.Table, rules: ExplanationConfig, cfg: ExplainerConfig, asker: Asker, folder: Path,
                reporter: Reporter) -> LLMExplanations:
    """Every chosen factor (explained_factors) explained and scored by ``asker``, its answers
    kept in ``folder`` (one file per factor, reused when its prompts are the same)."""
    text = TokenText(tokens)
    peaks = np.asarray(activity.peak_layers())
    by_layer = explained_factors(activity.importance(), peaks, cfg.factors)
    total, rows, resumed, skipped = Usage(), [], 0, 0
    with reporter.task(f"llm explanations: {sum(map(len, by_layer.values())):,} factors by {cfg.model}",
                       total=sum(map(len, by_layer.values()))) as task:
        for ctx in factor_contexts(activity, tokens.num_rows, rules, by_layer):
            prompts = prompts_of(ctx, activity, text, cfg) if ctx.why is None else None
            skipped += prompts is None
            if prompts is not None:
                path = folder / f"factor-{ctx.factor:06d}-{stable_hash({'model': cfg.model, 'config': cfg.cache_key(), 'prompts': prompts})}.json"
                if path.exists():
                    answer, resumed = json.loads(path.read_text()), resumed + 1
                else:
                    answer = ask(asker, prompts, cfg, ctx.rng)
                    _write_json(path, answer)
                total.add(Usage(**answer["usage"]))
                rows.append(_row(ctx, prompts, answer, rules))
            task.advance()
    reporter.log(f"llm explanations: {asker.usage.line()} to {cfg.model}" + (f"; {resumed:,} factors' answers kept from an earlier run" if resumed else "")
                 + (f"; {skipped:,} factors not asked (too few activating contexts, or too few excerpts without activity)" if skipped else ""))
    meta = {"model": cfg.model, "prompt_version": PROMPT_VERSION, "usage": total.to_dict(), "config": cfg.to_dict() | {"url": None}}
    return LLMExplanations(_table(rows), meta)


def _row(ctx: Contexts, prompts: dict[str, Any], answer: dict[str, Any], rules: ExplanationConfig) -> dict[str, Any]:
    score = answer["score"]
    return {"factor": ctx.factor, "layer": ctx.layer, "peak": True, "kind": KIND, "text": answer["text"] or "(no explanation given)",
            "explained": score is not None and score >= rules.threshold, "score": score, "one_token_score": None, "fit": None, "rule": None,
            "one_token_text": None, "one_token_rule": None, "n_active": sum(prompts["detection_truth"]),
            "n_scored": len(prompts["detection_truth"]), "fuzzing_score": answer["fuzzing_score"], "n_fuzzed": len(prompts["fuzzing"])}


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    types = {**TYPES, **LLM_TYPES}
    return pa.table({name: pa.array([r[name] for r in rows], t) for name, t in types.items()})


def explain_with_endpoint(factors: FactorResult, store: ActivationStore, rules: ExplanationConfig, cfg: ExplainerConfig, key: str,
                          folder: Path, reporter: Reporter) -> None:
    """The stage's result (LLMExplanations) -> ``folder``, asking ``cfg.url`` with the API key ``key``."""
    from .client import ChatClient
    from .stage import ResultActivity

    asker = ChatClient(cfg.url, cfg.model, key, cfg.timeout, cfg.retries, cfg.seed)
    explain_llm(ResultActivity(factors, store), store.tokens, rules, cfg, asker, folder, reporter).save(folder)


def llm_log(result: LLMExplanations, cached: bool) -> str:
    """The stage's progress line: how many factors, their median scores, what the answers cost."""
    def median(name: str) -> str:
        x = result.table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
        x = x[np.isfinite(x)]
        return f"{np.median(x):.2f}" if len(x) else "-"

    usage = Usage(**result.meta["usage"])
    return (f"llm explanations: {result.table.num_rows:,} factors by {result.meta['model']}, median detection {median('score')}, "
            f"fuzzing {median('fuzzing_score')} ({usage.line()})" + (" (cached)" if cached else ""))
