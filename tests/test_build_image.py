"""Vision transformers end to end: extraction of patch units on tiny random ViT / DeiT / DINOv2
(with and without registers), the image site's data, image LIME's patch masking, and bad input."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from conftest import HOSTILE_IMAGE_NAME
from scipy.special import softmax
from sites import assert_ships_once, model_folder, read_manifest
from tiny import IMAGE_ARCHITECTURES, make_image_model, make_image_processor, save_tiny_image_checkpoint

from tfvis_site.cli import main
from tfvis_site.capture.extract import ExtractOptions, extract
from tfvis_site.corpus.images import load_image_corpus
from tfvis_site.modality import IMAGE
from tfvis_site.model.load import wrap_model
from tfvis_site.capture.patches import processed_pixels
from tfvis_site.progress import Reporter
from tfvis_site.site.bundles import read_data_file, read_data_table

#: Units before the patches: [CLS]; DeiT adds its distillation token, the registers model 2 registers.
PREFIX = {"vit": 1, "deit": 2, "dinov2": 1, "dinov2_registers": 3}


@pytest.fixture(scope="module")
def synthetic():
    corpus = load_image_corpus("synthetic", 5, seed=0)
    return corpus.images, corpus.names


@pytest.mark.parametrize("kind", IMAGE_ARCHITECTURES)
def test_patch_units_and_attention_recomputed_from_q_k(kind, synthetic, tmp_path):
    images, names = synthetic
    loaded = wrap_model(make_image_model(kind), None, kind, processor=make_image_processor(kind), modality=IMAGE)
    store = extract(loaded, images, tmp_path, ExtractOptions(batch_size=2, capture_attention=True), Reporter.silent(), names=names, modality=IMAGE)
    rows, cols = store.image["grid"]
    assert (rows, cols) == (4, 4) and store.image["n_prefix_tokens"] == PREFIX[kind]
    n_units = PREFIX[kind] + rows * cols
    assert store.n_tokens == len(images) * n_units
    tokens = store.tokens.to_pydict()
    assert tokens["piece"][0] == "[CLS]" and tokens["piece"][PREFIX[kind]] == "patch 0,0"
    assert tokens["is_special"][: n_units] == [True] * PREFIX[kind] + [False] * rows * cols
    assert tokens["row"][n_units - 1] == rows - 1 and tokens["col"][n_units - 1] == cols - 1
    assert store.sentences.column("text").to_pylist() == names

    # the stored images are what the model saw: re-normalising them gives its input back
    pixel_values, shown = processed_pixels(loaded.processor, images[:2])
    np.testing.assert_array_equal(store.images()[:2], shown)
    with torch.inference_mode():
        out = loaded.model(pixel_values=pixel_values, output_hidden_states=True, output_attentions=False)
    np.testing.assert_allclose(store.hidden(2)[:n_units], out.hidden_states[2][0].numpy(), atol=1e-5)

    # attention recomputed from the captured queries and keys equals the model's own weights
    for layer in range(store.info.n_layers):
        q = store.queries(layer)[n_units : 2 * n_units]  # image 1: (L, H, d)
        k = store.keys(layer)[n_units : 2 * n_units]
        scores = np.einsum("qhd,khd->hqk", q, k) * store.scaling(layer)
        np.testing.assert_allclose(softmax(scores, axis=-1), store.attention(layer, 1), atol=1e-5)


def test_image_site_data(tiny_image_site):
    data = model_folder(tiny_image_site) / "data"
    manifest = read_manifest(tiny_image_site)
    assert manifest["modality"] == "image" and manifest["model"]["modality"] == "image"
    geo = manifest["image"]
    assert geo["grid"] == [6, 6] and geo["n_prefix_tokens"] == 3 and geo["n_images"] == 16
    for name in geo["sheets"]["files"]:
        assert read_data_file(data, name)[:3] == b"\xff\xd8\xff"  # JPEG
        assert name in manifest["files"]
    assert_ships_once(data, manifest["files"])
    assert not manifest["corpus"].get("credits")  # a folder of the user's images: no photographs of ours to credit
    # the attention sample is images: one L x L block per image, key positions fit the unit count
    att = manifest["attention"]
    n_units = 3 + 36
    assert att["max_len"] == n_units and att["total_pairs"] == att["n_sentences"] * n_units**2
    assert att["weights_encoding"] == "sqrt-u8" and att["topk_key_missing"] == 255
    # LIME explains patches only: prefix tokens have no pixels to mask
    lime = manifest["factors"]["lime"]
    assert lime["contexts"] > 0 and "patch masking" in lime["meaning"]

    tokens = read_data_table(data, lime["files"][0]).column("token").to_numpy()
    assert tokens.min() >= 3 and tokens.max() < n_units


def test_image_names_are_data_not_markup(tiny_image_site):
    """The HTML file name reaches the site only inside data files, never inside a page."""

    names = read_data_table(model_folder(tiny_image_site) / "data", "sentences.parquet").column("text").to_pylist()
    assert HOSTILE_IMAGE_NAME in names and "sub/" in " ".join(names)
    for page in tiny_image_site.rglob("*.html"):  # the gallery and every page of the model
        assert "onerror=alert" not in page.read_text()


def test_patch_masking_blanks_exactly_the_dropped_patches(tmp_path, synthetic):
    from tfvis_site.analysis.factors.lime import LimeConfig, PatchMasker

    images, names = synthetic
    loaded = wrap_model(make_image_model("dinov2"), None, "d", processor=make_image_processor("dinov2"), modality=IMAGE)
    store = extract(loaded, images, tmp_path, ExtractOptions(batch_size=4), Reporter.silent(), names=names, modality=IMAGE)
    masker = PatchMasker(loaded, store, LimeConfig())
    lo, hi = (int(x) for x in store.sentence_offsets[1:3])
    free = masker.free_units(lo, hi)
    assert free.tolist() == list(range(16))  # a 4 x 4 grid: blocks of one patch; [CLS] is never masked
    keep = np.ones((2, 16), bool)
    keep[1, [0, 5, 15]] = False
    pixels = masker.perturbed(lo, hi, 1, free, keep)(slice(0, 2))["pixel_values"].numpy()
    original, _ = processed_pixels(loaded.processor, [images[1]])
    np.testing.assert_allclose(pixels[0], original[0].numpy(), atol=0.02)  # uint8 rounding of the stored image
    cells = np.abs(pixels[1]).reshape(3, 4, 8, 4, 8).max(axis=(0, 2, 4))  # (rows, cols) largest |value|
    assert (cells.reshape(-1)[[0, 5, 15]] == 0).all()
    assert (np.delete(cells.reshape(-1), [0, 5, 15]) > 0).all()


def test_model_and_corpus_of_different_kinds_are_refused(tiny_checkpoints, tmp_path, capsys):
    images = tmp_path / "imgs"
    images.mkdir()
    load_image_corpus("synthetic", 1, 0).images[0].save(images / "a.png")
    text = tmp_path / "t.txt"
    text.write_text("A sentence.\n")
    vit = save_tiny_image_checkpoint("vit", tmp_path / "vit")
    base = ["build", "--quiet", "--preset", "quick", "--cache-dir", str(tmp_path / "cache")]
    assert main([*base, "--model", str(tiny_checkpoints["bert"]), "--corpus", str(images), "--out", str(tmp_path / "a")]) == 2
    assert "an image corpus, but the model is a text model" in capsys.readouterr().err
    assert main([*base, "--model", str(vit), "--corpus", str(text), "--out", str(tmp_path / "b")]) == 2
    assert "a text corpus, but the model is a vision transformer" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([*base, "--model", str(vit), "--corpus", str(empty), "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "folder holds no images" in err and err.count("\n") == 1
    assert not any(p.name.startswith(".c-building") for p in tmp_path.iterdir())  # no half-written site
