"""Text corpora in other encodings (issue 12, item 5): a corpus that is not valid UTF-8 is refused
with one line naming the file, the byte, its offset and the --encoding option; --encoding decodes
.txt and .jsonl files; an unknown encoding name is refused before anything runs."""

import json

import pytest

from tfvis_site.cli import main
from tfvis_site.run.config import resolve
from tfvis_site.corpus.text import load_corpus
from tfvis_site.errors import UserError

TEXTS = ["Café au lait.", "Naïve art, déjà vu.", "Plain ASCII text."]


def test_non_utf8_corpus_is_refused_naming_byte_offset_and_option(tmp_path):
    txt = tmp_path / "latin.txt"
    txt.write_bytes("\n".join(TEXTS).encode("latin-1"))
    with pytest.raises(UserError) as err:
        load_corpus(txt, 0, 0)
    assert str(err.value) == f"{txt}: is not valid utf-8 (byte 0xe9 at offset 3); pass --encoding latin-1 (or the file's encoding)"
    # .jsonl: the offset is the byte's place in the file, not in a line or a read buffer
    jsonl = tmp_path / "latin.jsonl"
    lines = [json.dumps({"text": "x" * 9000}), json.dumps({"text": TEXTS[1]}, ensure_ascii=False)]
    jsonl.write_bytes("\n".join(lines).encode("latin-1"))
    offset = len(lines[0]) + 1 + lines[1].index("ï")
    with pytest.raises(UserError, match=rf"is not valid utf-8 \(byte 0xef at offset {offset}\); pass --encoding latin-1"):
        load_corpus(jsonl, 0, 0)
    # a wrong non-default encoding: the hint asks for the file's encoding
    utf16 = tmp_path / "u16.txt"
    utf16.write_bytes("\n".join(TEXTS).encode("utf-16-le") + b"\x00")
    with pytest.raises(UserError, match=r"is not valid utf-16-le \(byte 0x00 at offset \d+\); pass --encoding NAME with the file's encoding"):
        load_corpus(utf16, 0, 0, encoding="utf-16-le")


@pytest.mark.parametrize("suffix, encoding", [(".txt", "latin-1"), (".jsonl", "cp1252"), (".txt", "utf-16")])
def test_encoding_option_decodes_the_corpus(tmp_path, suffix, encoding):
    path = tmp_path / f"corpus{suffix}"
    lines = TEXTS + ["Curly “quotes” – and a dash."] if encoding == "cp1252" else TEXTS
    body = "\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in lines) if suffix == ".jsonl" else "\n".join(lines)
    path.write_bytes(body.encode(encoding))
    assert load_corpus(path, 0, 0, encoding=encoding).texts == lines
    assert resolve(None, {"encoding": encoding}).encoding == encoding
    assert resolve(None, {}).encoding == "utf-8"


def test_cli_encoding_errors_are_one_line_exit_2(tiny_checkpoints, tmp_path, capsys):
    corpus = tmp_path / "latin.txt"
    corpus.write_bytes("\n".join(TEXTS).encode("latin-1"))
    args = ["build", "--quiet", "--model", str(tiny_checkpoints["bert"]), "--corpus", str(corpus), "--out", str(tmp_path / "site"),
            "--cache-dir", str(tmp_path / "cache")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert f"{corpus}: is not valid utf-8 (byte 0xe9 at offset 3); pass --encoding latin-1" in err and len(err.splitlines()) == 1
    assert main([*args, "--encoding", "klingon"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown text encoding 'klingon'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "site").exists()  # never a half-written site


@pytest.mark.parametrize("line, problem", [
    ("9" * 5000, "a number too long to read"),  # ValueError from int(), not a JSONDecodeError
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),  # RecursionError
])
def test_jsonl_lines_json_cannot_read_are_one_line_errors(tmp_path, line, problem):
    """Found by tests/test_fuzz_text.py: both escaped the reader as an internal error."""
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps({"text": "fine"}) + "\n" + line + "\n")
    with pytest.raises(UserError) as err:
        load_corpus(path, 0, 0)
    assert str(err.value) == f"{path}:2: invalid JSON ({problem})"


def test_jsonl_text_with_an_unpaired_surrogate_is_a_one_line_error(tmp_path):
    """Found by tests/test_fuzz_text.py: JSON may escape half a surrogate pair ("\\udc80"); the
    text then reached the tokenizer, which refuses it (an internal error deep in the build)."""
    path = tmp_path / "odd.jsonl"
    path.write_text('{"text": "paired \\ud83d\\ude00 is fine"}\n{"text": "half \\udc80 is not"}\n')
    with pytest.raises(UserError) as err:
        load_corpus(path, 0, 0)
    assert str(err.value) == f"{path}:2: field 'text' holds an unpaired surrogate (\\udc80), which is not a character"


def test_an_encoding_that_decodes_half_a_surrogate_pair_is_a_one_line_error(tmp_path):
    """Found by tests/test_fuzz_text.py: utf-7 (and unicode_escape) decode "+2AA-" to a lone
    surrogate, which went on to the tokenizer (an internal error deep in the build)."""
    path = tmp_path / "odd.txt"
    path.write_bytes(b"fine\n+2AA- not fine\n")
    with pytest.raises(UserError) as err:
        load_corpus(path, 0, 0, encoding="utf-7")
    assert str(err.value) == (f"{path}: decoded as utf-7, holds an unpaired surrogate (\\ud800 at character 5), which is not a character; "
                              "pass --encoding NAME with the file's encoding")


def test_parquet_column_names_in_the_error_stay_on_one_line(tmp_path):
    """Found by tests/test_fuzz_text.py: a column named "\\r" broke the one-line error in two."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "odd.parquet"
    pq.write_table(pa.table({"body": ["a"], "\r": ["b"]}), path)
    with pytest.raises(UserError) as err:
        load_corpus(path, 0, 0)
    assert str(err.value) == f"{path}: no 'text' column (columns: 'body', '\\r')"


@pytest.mark.parametrize("suffix", [".txt", ".jsonl", ".parquet"])
def test_a_folder_named_like_a_corpus_file_is_a_one_line_error(tmp_path, suffix):
    """Found by tests/test_fuzz_text.py: a folder "corpus.txt" reached read_bytes
    (IsADirectoryError, an internal error)."""
    folder = tmp_path / f"corpus{suffix}"
    folder.mkdir()
    with pytest.raises(UserError) as err:
        load_corpus(folder, 0, 0)
    assert str(err.value) == f"{folder}: is a folder, not a corpus file (a text model reads a .txt, .jsonl or .parquet file)"
