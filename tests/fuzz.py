"""What every fuzz test (tests/test_fuzz_*.py) asks of a reader given bad input: it returns what
it reads, or refuses with a UserError of one line that names the file; any other exception is a
bug (the CLI would print "internal error", exit 1). Strategies shared by several fuzz modules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import strategies as st

from tfvis_site.errors import UserError

T = TypeVar("T")

#: Text with everything a file may hold: NULs, lone surrogates, line and paragraph separators.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=200)


def read_or_refuse(read: Callable[[], T], path: Path | str) -> T | None:
    """``read()``'s result, or None when it refused with a one-line UserError naming ``path``."""
    try:
        return read()
    except UserError as e:
        assert_one_line_naming(str(e), path)
        return None


def assert_one_line_naming(message: str, path: Path | str) -> None:
    assert len(message.splitlines()) == 1 and message == message.strip(), f"not one line: {message!r}"
    assert str(path) in message, f"the message does not name {path}: {message!r}"


def utf8_clean(text: str) -> bool:
    """Text the tokenizer, the JSON bundles and the pages can take: it encodes as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def cut(data: bytes, draw: Callable[[Any], Any]) -> bytes:
    """``data`` truncated at a drawn offset (0: an empty file)."""
    return data[: draw(st.integers(0, max(0, len(data) - 1)))]
