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


def test_an_attention_option_out_of_range_names_its_table(tmp_path):
    """AttentionConfig raises its own UserErrors; the other tables' errors already said where."""
    from tfvis_site.analysis.attention import AttentionConfig
    from tfvis_site.run.build import analysis_config

    path = tmp_path / "site.toml"
    path.write_text("[attention]\nn_sentences = 0\n")
    with pytest.raises(UserError) as err:
        analysis_config(AttentionConfig, "attention", resolve(path, {}))
    assert str(err.value) == "[attention]: attention n_sentences must be at least 1"
