"""Fuzzing the text corpus readers (.txt, .jsonl, .parquet): random bytes and unicode (invalid
UTF-8, NULs, surrogates, empty files, huge lines), JSON lines that are not objects or lack the
text, Parquet files that are not Parquet or lack the column. load_corpus returns clean texts or
refuses in one line naming the file; docs/testing.md lists what these found."""

import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from fuzz import ANY_TEXT, cut, read_or_refuse, utf8_clean
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tfvis_site.corpus.text import load_corpus, normalise

ENCODINGS = st.sampled_from(["utf-8", "latin-1", "utf-16", "cp1252", "ascii", "utf-7", "unicode_escape"])


def load_file(suffix: str, data: bytes, encoding: str = "utf-8"):
    """The corpus in a fresh file of ``data``, or None if refused (in one line naming it)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"corpus{suffix}"
        path.write_bytes(data)
        corpus = read_or_refuse(lambda: load_corpus(path, 0, 0, encoding=encoding), path)
    if corpus is not None:
        assert corpus.texts, "an empty corpus must be refused"
        assert all(t and t == normalise(t) and utf8_clean(t) for t in corpus.texts), corpus.texts[:5]
        assert len(set(corpus.texts)) == len(corpus.texts)
    return corpus


@settings(max_examples=150)
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".txt", ".jsonl"]), encoding=ENCODINGS)
@example(data=b"", suffix=".txt", encoding="utf-8")
@example(data=b"\xed\xa0\x80 lone surrogate in utf-8\n", suffix=".txt", encoding="utf-8")
def test_random_bytes(data, suffix, encoding):
    load_file(suffix, data, encoding)


@settings(max_examples=150)
@given(lines=st.lists(ANY_TEXT, max_size=20), newline=st.sampled_from(["\n", "\r\n", "\r", "\u2028"]))
def test_random_unicode_txt(lines, newline):
    """UTF-8 (a lone surrogate as the bytes surrogatepass writes, which UTF-8 forbids): what
    comes back is the lines' texts, normalised."""
    corpus = load_file(".txt", newline.join(lines).encode("utf-8", "surrogatepass"))
    if corpus is not None:
        assert set(corpus.texts) <= {normalise(t) for line in lines for t in line.splitlines()}


@settings(max_examples=10)
@given(length=st.integers(10_000, 3_000_000), char=st.sampled_from("a \x00é😀"))
def test_huge_lines(length, char):
    load_file(".txt", (char * length).encode("utf-8"))


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3), max_leaves=8)
#: A line of a .jsonl file: an object with or without a "text", any other JSON value, huge
#: numbers, deep nesting, or not JSON at all.
JSONL_LINES = st.one_of(
    st.builds(lambda text, extra: json.dumps({"text": text, **extra}), JSON_VALUES, st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=2)),
    st.builds(lambda text: json.dumps({"text": text}, ensure_ascii=False), ANY_TEXT),
    JSON_VALUES.map(json.dumps),
    st.integers(1, 20_000).map(lambda n: "9" * n),
    st.integers(1, 200_000).map(lambda n: "[" * n + "]" * n),
    ANY_TEXT,
)


@settings(max_examples=250)
@given(lines=st.lists(JSONL_LINES, max_size=8))
def test_random_jsonl(lines):
    load_file(".jsonl", "\n".join(lines).encode("utf-8", "surrogatepass"))


@settings(max_examples=200)
@given(line=JSONL_LINES)
def test_one_random_jsonl_line(line):
    """One line: what the reader makes of each kind, not only of the first bad line of a file."""
    load_file(".jsonl", line.encode("utf-8", "surrogatepass"))


COLUMN_TYPES = {
    "string": (pa.string(), ANY_TEXT.filter(utf8_clean)),
    "large_string": (pa.large_string(), ANY_TEXT.filter(utf8_clean)),
    "binary": (pa.binary(), st.binary(max_size=20)),
    "int": (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    "null": (pa.null(), st.none()),
    "list": (pa.list_(pa.string()), st.lists(st.text(max_size=5), max_size=3)),
}


@st.composite
def parquet_files(draw) -> bytes:
    """A Parquet file of random columns (maybe one named "text", of any type), maybe truncated."""
    names = draw(st.lists(st.sampled_from(["text", "Text", "body"]) | ANY_TEXT.filter(utf8_clean), min_size=1, max_size=3, unique=True))
    columns = {}
    for name in names:
        kind, values = COLUMN_TYPES[draw(st.sampled_from(sorted(COLUMN_TYPES)))]
        columns[name] = pa.array(draw(st.lists(st.none() | values, max_size=6)), type=kind)
    rows = min(len(c) for c in columns.values())
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({k: c[:rows] for k, c in columns.items()}), sink)
    data = sink.getvalue().to_pybytes()
    return cut(data, draw) if draw(st.booleans()) else data


@settings(max_examples=120)
@given(data=parquet_files() | st.binary(max_size=500) | st.builds(lambda b: b"PAR1" + b + b"PAR1", st.binary(max_size=200)))
def test_random_parquet(data):
    load_file(".parquet", data)

