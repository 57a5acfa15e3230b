"""Config files the fuzzer (tests/test_fuzz_config.py) found wanting: each is refused in one
line naming the file or the table, before any work."""

import pytest

from tfvis_site.errors import UserError
from tfvis_site.run.config import resolve


def refusal(tmp_path, body: bytes | str) -> str:
    path = tmp_path / "site.toml"
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    with pytest.raises(UserError) as err:
        resolve(path, {})
    return str(err.value).replace(str(path), "FILE")


def test_a_config_file_that_is_not_utf8(tmp_path):
    assert refusal(tmp_path, b'title = "caf\xe9"\n') == "FILE: invalid TOML (not UTF-8: byte 0xe9 at offset 12)"
