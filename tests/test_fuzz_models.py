"""Fuzzing model folders: a tiny checkpoint (BERT, GPT-2, ViT) with its config.json missing,
not JSON, not an object, or with a key set to a random value (unknown model_type or
architectures, sizes of the wrong type or range), its weights or tokenizer missing, truncated
or random, and paths that are files. What a build does with --model before its first stage
(resolve it, read its config, size the presets to it) and its model loading give a loaded
model or a one-line error naming the folder; docs/testing.md lists what these found."""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from fuzz import ANY_TEXT, cut, read_or_refuse
from hypothesis import given, settings
from hypothesis import strategies as st
from tiny import save_tiny_image_checkpoint

from tfvis_site.cache import StageCache
from tfvis_site.progress import Reporter
from tfvis_site.run.build import ModelSource, model_run
from tfvis_site.run.config import resolve

KINDS = ("bert", "gpt2", "vit")
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.sampled_from([0, -1, 1, 2, 3]) | st.floats() | ANY_TEXT,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=2), max_leaves=5)
NAMES = st.sampled_from(["bert", "gpt2", "llama", "vit", "t5", "nope", "", "BertModel", "GPT2Model", "LlamaForCausalLM", "AutoModel", "T5EncoderModel"])


@pytest.fixture(scope="module")
def checkpoints(tiny_checkpoints, tmp_path_factory) -> dict[str, Path]:
    return {"bert": tiny_checkpoints["bert"], "gpt2": tiny_checkpoints["gpt2"],
            "vit": save_tiny_image_checkpoint("vit", tmp_path_factory.mktemp("vit") / "vit")}


FOLDER = "a folder"  # a damage: a folder where the file was


@st.composite
def damaged(draw, source: Path) -> tuple[str, bytes | str | None]:
    """One change to a checkpoint folder: (a file's name, its new bytes, None to delete it, or
    FOLDER to put a folder in its place)."""
    name = draw(st.sampled_from(sorted(p.name for p in source.iterdir())))
    original = (source / name).read_bytes()
    kind = draw(st.sampled_from(["delete", "folder", "truncate", "random"] + ["config key"] * 4 * (name == "config.json")))
    if kind == "config key":
        config = json.loads(original)
        key = draw(st.sampled_from(sorted(config)) | st.sampled_from(["model_type", "architectures", "num_attention_heads", "hidden_size"]))
        value = draw(NAMES | st.lists(NAMES, max_size=2) | JSON_VALUES)
        return name, json.dumps({**config, key: value}).encode("utf-8", "surrogatepass")
    if kind == "random":
        return name, draw(st.binary(max_size=200) | JSON_VALUES.map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass")))
    if kind == "truncate":
        return name, cut(original, draw)
    return name, FOLDER if kind == "folder" else None


def prepare(source: Path, folder: Path, change: tuple[str, bytes | str | None]) -> None:
    shutil.copytree(source, folder)
    name, data = change
    if data is None or data == FOLDER:
        (folder / name).unlink()
        if data == FOLDER:
            (folder / name).mkdir()
    else:
        (folder / name).write_bytes(data)


def check_model(folder: Path, root: Path) -> None:
    """The build's steps with --model before its first stage, then the model's loading."""
    config = resolve(None, {"model": folder, "preset": "quick", "out": root / "site", "cache_dir": root / "cache"})
    cache = StageCache(config.cache_dir)

    def load():
        source = ModelSource(config, cache.root)
        model_run(config, source, cache, Reporter.silent(), root / "site", "m")
        return source.get()

    loaded = read_or_refuse(load, folder)
    if loaded is not None:
        assert loaded.info.n_layers >= 1 and loaded.info.n_heads >= 1


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=60)
@given(data=st.data())
def test_a_damaged_checkpoint_folder(checkpoints, kind, data):
    source = checkpoints[kind]
    change = data.draw(damaged(source))
    with tempfile.TemporaryDirectory() as root:
        prepare(source, Path(root) / "model", change)
        check_model(Path(root) / "model", Path(root))


@settings(max_examples=20)
@given(suffix=st.sampled_from(["", ".gguf", ".bin", ".safetensors", ".json"]), data=st.binary(max_size=300))
def test_a_file_as_the_model(suffix, data):
    with tempfile.TemporaryDirectory() as root:
        path = Path(root) / f"model{suffix}"
        path.write_bytes(data)
        check_model(path, Path(root))
