"""The Python API: tfvis_site.build with in-memory models, tokenizers / processors and lists of
texts or images, the same options as the CLI, and the same one-line errors."""


import pytest
from conftest import HOSTILE_TEXTS
from sites import model_folder, read_manifest
from tiny import make_image_model, make_image_processor, make_model, make_tokenizer

import tfvis_site
from tfvis_site.cache import StageCache
from tfvis_site.errors import UserError
from tfvis_site.corpus.images import load_image_corpus
from tfvis_site.probe import probe


def test_text_model_object_and_list_of_texts(tmp_path):
    tokenizer = make_tokenizer("bert")
    model = make_model("bert", vocab_size=len(tokenizer))
    kwargs = dict(tokenizer=tokenizer, out=tmp_path / "site", preset="quick", cache_dir=tmp_path / "cache", title="notebook")
    result = tfvis_site.build(model, HOSTILE_TEXTS + ["", HOSTILE_TEXTS[0]], **kwargs)
    manifest = read_manifest(tmp_path / "site")
    assert result.model_dir() == model_folder(tmp_path / "site") == tmp_path / "site/models/bertmodel"  # no checkpoint name: the class's
    assert result.manifest["title"] == manifest["title"] == "notebook"
    assert manifest["model"]["source"] == "a Python object (BertModel)"
    assert manifest["corpus"]["sentences"] == len(HOSTILE_TEXTS)  # the blank and the duplicate dropped
    assert manifest["corpus"]["name"] == "texts given in Python"
    again = tfvis_site.build(model, HOSTILE_TEXTS, **kwargs)  # same weights, same texts: cached
    assert again.cache_hits["extract"] and again.cache_hits["factors"]
    with pytest.raises(UserError, match="built from a model object in Python"):
        probe(tmp_path / "site", "The cat.", StageCache(tmp_path / "cache"), 0, 0, None)


def test_vision_model_object_and_list_of_images(tmp_path):
    images = load_image_corpus("synthetic", 6, seed=0).images
    result = tfvis_site.build(make_image_model("vit"), images, processor=make_image_processor("vit"), out=tmp_path / "site",
                              preset="quick", cache_dir=tmp_path / "cache")
    assert result.manifest["modality"] == "image" and result.manifest["image"]["n_images"] == 6
    assert result.manifest["corpus"]["name"] == "images given in Python"


def test_same_options_and_errors_as_the_cli(tiny_checkpoints, tmp_path):
    out = tmp_path / "site"
    result = tfvis_site.build(str(tiny_checkpoints["gpt2"]), HOSTILE_TEXTS, out=out, preset="quick", cache_dir=tmp_path / "c", max_tokens=12)
    assert result.manifest["build"]["max_tokens"] == 12 and result.manifest["model"]["architecture"] == "GPT2Model"
    with pytest.raises(UserError, match="unknown option 'n_sentence'"):
        tfvis_site.build(str(tiny_checkpoints["gpt2"]), HOSTILE_TEXTS, out=out, n_sentence=3)
    with pytest.raises(UserError, match="tokenizer="):
        tfvis_site.build(make_model("bert", vocab_size=50), HOSTILE_TEXTS, out=out)
    with pytest.raises(UserError, match="texts, but the model is a vision transformer"):
        tfvis_site.build(make_image_model("vit"), HOSTILE_TEXTS, processor=make_image_processor("vit"), out=out, cache_dir=tmp_path / "c")
