"""Labelled examples of the concept probes: the JSONL files of ``[[probes]]`` (concepts/__init__.py
says what they hold), read and checked into ``LabelledSet``s."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import UserError

#: Usable examples a label needs: 2 folds of at least 5 to fit on and to score.
MIN_PER_LABEL = 10


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
