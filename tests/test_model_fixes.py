"""Model folders the fuzzer (tests/test_fuzz_models.py) found wanting: each is refused in one
line naming the folder or its file, before any stage runs."""

import shutil

import pytest

from tfvis_site.errors import UserError
from tfvis_site.run.build import ModelSource
from tfvis_site.run.config import resolve


def refusal(tiny_checkpoints, tmp_path, config_json: bytes) -> str:
    folder = tmp_path / "model"
    shutil.copytree(tiny_checkpoints["bert"], folder)
    (folder / "config.json").write_bytes(config_json)
    with pytest.raises(UserError) as err:
        ModelSource(resolve(None, {"model": folder}), tmp_path / "cache")
    return str(err.value).replace(str(folder), "MODEL")


@pytest.mark.parametrize("config_json, message", [
    (b"[]", "MODEL/config.json: must hold a JSON object (the model's configuration), not list"),
    (b"null", "MODEL/config.json: must hold a JSON object (the model's configuration), not NoneType"),
    (b'{"model_type": "bert\xff"}', "MODEL/config.json: invalid JSON ('utf-8' codec can't decode byte 0xff in position 20: invalid start byte)"),
])
def test_a_config_json_that_is_no_json_object(tiny_checkpoints, tmp_path, config_json, message):
    """Found by the fuzzer: a list or null failed in the modality's claims_config (TypeError),
    bytes that are not UTF-8 in read_text (UnicodeDecodeError): internal errors."""
    assert refusal(tiny_checkpoints, tmp_path, config_json) == message
