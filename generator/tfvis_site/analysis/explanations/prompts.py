"""The LLM explainer's prompts and how its answers are read (docs/factors.md, "LLM explanations").

Three questions, in the shapes of EleutherAI delphi's explainer and its detection and fuzzing
scorers (written here from their descriptions): explain the marked tokens of some excerpts; say
which excerpts an explanation applies to; say which excerpts are marked the way an explanation
says. Excerpts are numbered lines; marked tokens stand between ``<<`` and ``>>`` (consecutive
marked tokens share one pair). Bump PROMPT_VERSION when a prompt changes: it keys the cache.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

PROMPT_VERSION = 1
#: Longest explanation kept (characters); a longer answer is cut at a word.
MAX_EXPLANATION = 200

EXPLAIN_SYSTEM = (
    "You study one feature of a language model. You are shown excerpts of text; in each, the tokens where the feature is "
    "active stand between << and >>. Say in one short phrase (at most 15 words) what the marked tokens have in common: "
    "the tokens themselves and, when it matters, the words around them. Answer with the phrase only.")
DETECTION_SYSTEM = (
    "You check an explanation of a feature of a language model. You are given the explanation and numbered excerpts of "
    "text. For each excerpt say whether the feature, as explained, is active somewhere in it: 1 for yes, 0 for no. "
    "Answer with a JSON list of 0s and 1s, one per excerpt, in order, e.g. [1, 0, 0], and nothing else.")
FUZZING_SYSTEM = (
    "You check an explanation of a feature of a language model. You are given the explanation and numbered excerpts of "
    "text with some tokens marked between << and >>. For each excerpt say whether the marked tokens are the ones the "
    "explanation describes: 1 for yes, 0 for no. Answer with a JSON list of 0s and 1s, one per excerpt, in order, "
    "e.g. [1, 0, 0], and nothing else.")


@dataclass(frozen=True)
class Excerpt:
    """A context as the prompts show it: ``pieces`` (n,) the texts of its tokens, each with its
    leading space; ``active`` (n,) bool: the factor is active at the token."""

    pieces: tuple[str, ...]
    active: tuple[bool, ...]

    def text(self, marks: Sequence[bool] | None = None) -> str:
        """The excerpt on one line, with the tokens of ``marks`` (n,) between << and >>."""
        out, inside = [], False
        for piece, mark in zip(self.pieces, marks if marks is not None else [False] * len(self.pieces)):
            if mark and not inside:
                stripped = piece.lstrip()
                out.append(piece[:len(piece) - len(stripped)] + "<<" + stripped)
            elif not mark and inside:
                out.append(">>" + piece)
            else:
                out.append(piece)
            inside = mark
        return (("".join(out) + (">>" if inside else "")).replace("\n", " ")).strip()


def _numbered(texts: Sequence[str]) -> str:
    return "\n".join(f"{i}. {t}" for i, t in enumerate(texts, 1))


def explain_messages(texts: Sequence[str]) -> list[dict[str, str]]:
    """The explanation request: excerpts with their active tokens marked."""
    return [{"role": "system", "content": EXPLAIN_SYSTEM}, {"role": "user", "content": f"Excerpts:\n{_numbered(texts)}\n\nExplanation:"}]


def judge_messages(system: str, explanation: str, texts: Sequence[str]) -> list[dict[str, str]]:
    """A scoring request (DETECTION_SYSTEM or FUZZING_SYSTEM): the explanation and the excerpts."""
    user = f"Explanation: {explanation}\n\nExcerpts:\n{_numbered(texts)}\n\nAnswer ({len(texts)} numbers):"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_explanation(reply: str) -> str:
    """The explanation in an answer: its first non-empty line without a leading "Explanation:",
    quotes or list marks, cut to MAX_EXPLANATION characters ("" when there is none)."""
    for line in reply.splitlines():
        line = re.sub(r"^\s*(?:[-*#>]+\s*)?(?:explanation\s*:\s*)?", "", line, flags=re.I).strip().strip("\"'`*").strip()
        if line:
            return line if len(line) <= MAX_EXPLANATION else line[:MAX_EXPLANATION].rsplit(" ", 1)[0] + "..."
    return ""


def parse_labels(reply: str, n: int) -> list[int] | None:
    """The ``n`` 0/1 answers of a scoring reply: its first JSON list of n numbers, else its
    first n standalone 0s and 1s; None when the reply holds neither (the batch counts as
    answered "no" everywhere, and as unparsed)."""
    for match in re.finditer(r"\[[^\[\]]*\]", reply):
        try:
            values = json.loads(match.group(0))
        except ValueError:
            continue
        if isinstance(values, list) and len(values) == n and all(v in (0, 1) for v in values):
            return [int(v) for v in values]
    digits = re.findall(r"(?<![\w.])[01](?![\w.])", reply)
    return [int(d) for d in digits[:n]] if len(digits) >= n else None
