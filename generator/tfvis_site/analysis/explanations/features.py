"""The candidate rule features of a store's units: what a rule may test (docs/factors.md,
"Explanations"). Each feature gives every unit one label or none; a rule's condition is "the
unit's label of this feature is one of these". What the features are differs by modality and
comes from the modality (``Modality.rule_features``: text_rule_features for tokens,
image_rule_features for patches); the search and the scoring (rules.py, scoring.py) read only
the labels.

Every feature's ``spec`` says how to compute its label from the site's tokens.parquet alone
(manifest["factors"]["explanations"]["features"]), so the pages can mark a rule's matches in
any context they show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa


@dataclass
class Feature:
    """One candidate feature of the units.

    codes: (n_units,) int32, the label index of every unit (-1: the feature says nothing there);
    labels: the machine-readable label of each index (what ``spec`` computes);
    shown: the label in a reader's words;
    alone / qualifier: a condition on this feature in words, as a rule's subject ("the token
        {}") and after another condition ("after {}"); ``{}`` takes the shown value(s);
    own: whether it reads the unit alone (its token, its pixels), not its context;
    can_set: whether a rule may name a small set of its labels ("the token "a", "b" or "c"").
    """

    name: str
    codes: np.ndarray
    labels: list[str]
    shown: list[str]
    alone: str
    qualifier: str
    own: bool
    spec: dict[str, Any]
    can_set: bool = False


@dataclass
class RuleFeatures:
    """The features of one store's units, in the order a rule's conditions are read."""

    features: list[Feature]
    matrix: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.matrix = np.stack([f.codes for f in self.features], 1).astype(np.int32) if self.features else np.zeros((0, 0), np.int32)

    def __len__(self) -> int:
        return len(self.features)

    def named(self, name: str) -> int:
        return next(i for i, f in enumerate(self.features) if f.name == name)

    def specs(self) -> dict[str, Any]:
        """manifest["factors"]["explanations"]["features"]: per feature how its label is computed."""
        return {f.name: {**f.spec, "reads": "the unit alone" if f.own else "its context"} for f in self.features}


def _encode(labels: list[str | None]) -> tuple[np.ndarray, list[str]]:
    """(codes (n,) int32, -1 for None; the distinct labels, sorted)."""
    present = sorted({x for x in labels if x is not None})
    index = {x: i for i, x in enumerate(present)}
    return np.asarray([index[x] if x is not None else -1 for x in labels], np.int32), present


def _yes(mask: np.ndarray) -> np.ndarray:
    return np.where(mask, 0, -1).astype(np.int32)


def _quoted(label: str) -> str:
    return f'"{label}"'


# ----------------------------------------------------------------------------- text


def token_label(text: str, special: bool) -> str:
    """A token's label: its text trimmed and lowercased; a special token as written ("[CLS]")."""
    return text if special else text.strip().lower()


def _is_punctuation(label: str) -> bool:
    return bool(label) and not any(ch.isalnum() for ch in label)


def _words(labels: list[str], special: np.ndarray, space: np.ndarray, sentence: np.ndarray) -> list[str | None]:
    """The word each token is part of, for tokens of words of two or more tokens: a word is a
    run of consecutive non-special tokens whose texts are letters and digits only, with no
    space between them ("tick" + "er" = "ticker"); None elsewhere."""
    out: list[str | None] = [None] * len(labels)
    start = 0
    for i in range(len(labels) + 1):
        joins = (i < len(labels) and i > start and sentence[i] == sentence[i - 1] and not space[i] and not special[i]
                 and labels[i].isalnum() and labels[i - 1].isalnum() and not special[i - 1])
        if joins:
            continue
        if i - start >= 2:
            word = "".join(labels[start:i])
            out[start:i] = [word] * (i - start)
        start = i
    return out


def text_rule_features(tokens: pa.Table) -> RuleFeatures:
    """Tokens (rows of tokens.parquet, sentences contiguous): the token, the word it is part of,
    the preceding token, first / last token of its text, after punctuation."""
    texts = tokens.column("text").to_pylist()
    special = tokens.column("is_special").to_numpy(zero_copy_only=False).astype(bool)
    space = tokens.column("space_before").to_numpy(zero_copy_only=False).astype(bool)
    sentence = tokens.column("sentence_id").to_numpy().astype(np.int64)
    n = len(texts)
    labels = [token_label(t, s) for t, s in zip(texts, special)]
    same_as_previous = np.zeros(n, bool)
    same_as_previous[1:] = sentence[1:] == sentence[:-1]
    # after a special token is "the first token" (or a decoder's BOS): said once, by first
    previous = [labels[i - 1] if same_as_previous[i] and not special[i - 1] else None for i in range(n)]

    plain = np.flatnonzero(~special)
    first = np.zeros(n, bool)
    last = np.zeros(n, bool)
    if len(plain):
        s = sentence[plain]
        first[plain[np.r_[True, s[1:] != s[:-1]]]] = True
        last[plain[np.r_[s[1:] != s[:-1], True]]] = True
    after_punct = np.array([same_as_previous[i] and not special[i - 1] and _is_punctuation(labels[i - 1]) for i in range(n)], bool)

    token_codes, token_labels = _encode(labels)
    word_codes, word_labels = _encode(_words(labels, special, space, sentence))
    prev_codes, prev_labels = _encode(previous)
    text_spec = {"kind": "text", "column": "text", "trim": True, "lowercase": True, "special_as_written": True}
    return RuleFeatures([
        Feature("token", token_codes, token_labels, [_quoted(x) for x in token_labels], "the token {}", "the token {}", True,
                {**text_spec, "offset": 0, "label": "the token's text, trimmed and lowercased (special tokens as written)"},
                can_set=True),
        Feature("word", word_codes, word_labels, [_quoted(x) for x in word_labels], "a token of the word {}", "in the word {}", False,
                {"kind": "word", "column": "text", "lowercase": True,
                 "label": "the word the token is part of, for words of two or more tokens: a run of consecutive non-special "
                 "tokens whose trimmed texts are letters and digits only, with space_before false inside the run, joined and "
                 "lowercased"}),
        Feature("previous", prev_codes, prev_labels, [_quoted(x) for x in prev_labels], "a token after {}", "after {}", False,
                {**text_spec, "offset": -1, "none_if_special": True, "label": "the token label of the unit before it in the same text; none when there is none or it is a special token"}),
        Feature("first", _yes(first), ["yes"], [""], "the first token", "as the first token", False,
                {"kind": "first", "label": "yes for the first non-special token of its text"}),
        Feature("last", _yes(last), ["yes"], [""], "the last token", "as the last token", False,
                {"kind": "last", "label": "yes for the last non-special token of its text"}),
        Feature("after_punctuation", _yes(after_punct), ["yes"], [""], "a token after punctuation", "after punctuation", False,
                {"kind": "after_punctuation", "label": "yes when the token before it in the same text is not special and its "
                 "trimmed text is non-empty without letters or digits"}),
    ])


# ----------------------------------------------------------------------------- images

HUES = ("red", "yellow", "green", "cyan", "blue", "magenta")
#: Mean HSV saturation below which a patch counts as grey (its hue says little).
GREY_BELOW = 0.15
ROW_NAMES = {1: ("all",), 2: ("top", "bottom"), 3: ("top", "middle", "bottom"), 4: ("top", "upper middle", "lower middle", "bottom")}
COL_NAMES = {1: ("all",), 2: ("left", "right"), 3: ("left", "centre", "right"), 4: ("left", "centre-left", "centre-right", "right")}
QUARTERS = ("lowest quarter", "second quarter", "third quarter", "highest quarter")


def _grid_bands(values: np.ndarray, patch: np.ndarray, size: int, names: dict[int, tuple[str, ...]], noun: str, column: str) -> Feature:
    """Rows or columns of the patch grid in up to 4 bands (prefix tokens: none)."""
    n = min(4, max(size, 1))
    cuts = [int(round(i * size / n)) for i in range(1, n)]
    edges = [0, *cuts, size]
    labels = [f"{noun} {edges[b]}-{edges[b + 1] - 1}" for b in range(n)]
    shown = [f"{names[n][b]} {noun} ({edges[b]}-{edges[b + 1] - 1})" for b in range(n)]
    codes = np.where(patch, np.searchsorted(np.asarray(cuts), values, side="right"), -1).astype(np.int32)
    return Feature(column, codes, labels, shown, "a patch in the {}", "in the {}", True,
                   {"kind": "cuts", "column": column, "cuts": cuts, "labels": labels, "none_when": "is_special",
                    "label": f"labels[number of cuts <= {column}] (the grid's {noun} in up to 4 bands)"})


def _quarters(values: np.ndarray, patch: np.ndarray, column: str, name: str, unit: str) -> Feature:
    """A patch statistic (``column`` of tokens.parquet, ``name`` in words) in quarters of the
    store's patches (prefix tokens: none)."""
    cuts = sorted({round(float(q), 3) for q in np.quantile(values[patch], [0.25, 0.5, 0.75])}) if patch.any() else []
    edges = ["", *(f"{c:g}" for c in cuts), ""]
    n = len(cuts) + 1
    names = QUARTERS if n == 4 else tuple(f"band {b + 1} of {n}" for b in range(n))
    labels = [f"{column} q{b + 1}" for b in range(n)]
    shown = []
    for b in range(n):
        span = f"< {edges[1]}" if b == 0 and n > 1 else f">= {edges[b]}" if b == n - 1 and n > 1 else f"{edges[b]}-{edges[b + 1]}" if n > 1 else "any"
        shown.append(f"{name} {span}{unit} ({names[b]})")
    codes = np.where(patch, np.searchsorted(np.asarray(cuts), values, side="right"), -1).astype(np.int32)
    return Feature(column, codes, labels, shown, "a patch with {}", "with {}", True,
                   {"kind": "cuts", "column": column, "cuts": cuts, "labels": labels, "none_when": "is_special",
                    "label": f"labels[number of cuts <= {column}] (cuts: quartiles of the store's patches, rounded to 3 decimals)"})


def image_rule_features(tokens: pa.Table, grid: tuple[int, int]) -> RuleFeatures:
    """Patches (rows of tokens.parquet of an image store): the unit itself (its patch position,
    or [CLS] / a register), its row and column band, hue, brightness and spatial frequency."""
    texts = tokens.column("text").to_pylist()
    special = tokens.column("is_special").to_numpy(zero_copy_only=False).astype(bool)
    patch = ~special
    column = {name: tokens.column(name).to_numpy(zero_copy_only=False) for name in ("row", "col", "hue", "saturation", "brightness", "frequency")}
    unit_codes, unit_labels = _encode(texts)
    unit_shown = []
    for label in unit_labels:
        if label.startswith("patch ") and "," in label:
            r, c = label[6:].split(",", 1)
            unit_shown.append(f"the patch at row {r}, column {c}")
        else:
            unit_shown.append(f"the {label} token")
    unit = Feature("unit", unit_codes, unit_labels, unit_shown, "{}", "as {}", True,
                   {"kind": "text", "column": "text", "offset": 0, "trim": False, "lowercase": False,
                    "label": "the unit's text as written: \"patch r,c\" or a prefix token's name"})
    rows = _grid_bands(column["row"].astype(np.int64), patch, grid[0], ROW_NAMES, "rows", "row")
    cols = _grid_bands(column["col"].astype(np.int64), patch, grid[1], COL_NAMES, "columns", "col")
    hue = column["hue"].astype(np.float64)
    sector = np.floor(hue * 6 + 0.5).astype(np.int64) % 6
    hue_codes = np.where(column["saturation"] < GREY_BELOW, 6, sector)
    hue_codes = np.where(patch, hue_codes, -1).astype(np.int32)
    hue_labels = [*HUES, "grey"]
    hue_feature = Feature("hue", hue_codes, hue_labels, [f"{h} hue" for h in HUES] + [f"no hue (grey: saturation < {GREY_BELOW:g})"],
                          "a patch with {}", "with {}", True,
                          {"kind": "hue", "column": "hue", "saturation_column": "saturation", "grey_below": GREY_BELOW,
                           "sectors": list(HUES), "none_when": "is_special", "label": "grey when saturation < grey_below, else "
                           "sectors[floor(hue * 6 + 0.5) mod 6] (60 degrees each, centred on red, yellow, ...)"})
    return RuleFeatures([
        unit, rows, cols, hue_feature,
        _quarters(column["brightness"].astype(np.float64), patch, "brightness", "brightness", ""),
        _quarters(column["frequency"].astype(np.float64), patch, "frequency", "spatial frequency", " cycles per patch"),
    ])
