"""Model folders the fuzzer (tests/test_fuzz_models.py) found wanting: each is refused in one
line naming the folder or its file, before any stage runs."""

import shutil

import pytest

from tfvis_site.errors import UserError
from tfvis_site.run.build import ModelSource
from tfvis_site.run.config import resolve


def refusal(tiny_checkpoints, tmp_path, config_json: bytes, kind: str = "bert") -> str:
    folder = tmp_path / "model"
    shutil.copytree(tiny_checkpoints[kind], folder)
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


@pytest.mark.parametrize("kind, key, value, message", [
    ("bert", "model_type", "nope", "not a configuration transformers can load (The checkpoint you are trying to load has model type `nope`"),
    ("bert", "model_type", [], "not a configuration transformers can load (unhashable type: 'list')"),
    ("bert", "attention_probs_dropout_prob", "high", "not a configuration transformers can load (Validation error for field 'attention_probs_dropout_prob':)"),
    ("gpt2", "hidden_size", [64], "hidden_size must be a positive integer, got [64]"),  # its alias of n_embd goes unchecked
    ("bert", "num_attention_heads", 0, "num_attention_heads must be a positive integer, got 0"),
    ("gpt2", "architectures", True, "architectures must be a list of class names, got True"),  # found in a CI run: TypeError at load
    ("bert", "architectures", [1], "architectures must be a list of class names, got [1]"),
])
def test_a_config_json_transformers_cannot_use(tiny_checkpoints, tmp_path, kind, key, value, message):
    """Found by the fuzzer: these failed after the model was resolved, where the presets are
    sized by transformers' config (AutoConfig's ValueError / TypeError, int() of a list, a
    division by zero heads): internal errors."""
    import json

    config = json.loads((tiny_checkpoints[kind] / "config.json").read_text())
    got = refusal(tiny_checkpoints, tmp_path, json.dumps({**config, key: value}).encode(), kind)
    assert got.startswith(f"MODEL/config.json: {message}") and len(got.splitlines()) == 1, got
