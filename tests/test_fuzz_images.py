"""Fuzzing the image folder reader: images in every Pillow mode and odd sizes, saved in every
format, then truncated at random offsets or with random bytes flipped; random bytes and
zero-byte files with an image extension. load_image_corpus returns RGB images no bigger than
MAX_SIDE with one warning line per skipped file, or refuses the folder in one line naming it;
docs/testing.md lists what these found."""

import io
import tempfile
import warnings as warnings_module
from pathlib import Path

import numpy as np
from fuzz import cut, read_or_refuse
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from tfvis_site.corpus.image_files import MAX_SIDE
from tfvis_site.corpus.images import load_image_corpus

MODES = ["1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "CMYK", "YCbCr", "LAB", "HSV", "I", "I;16", "I;16B", "F"]
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp"}


@st.composite
def image_files(draw) -> tuple[str, bytes]:
    """(suffix, bytes) of an image in a random mode, size and format: whole, truncated, or with
    a few bytes flipped."""
    mode, fmt = draw(st.sampled_from(MODES)), draw(st.sampled_from(sorted(FORMATS)))
    size = (draw(st.integers(1, 48)), draw(st.integers(1, 48)))
    pixels = np.random.default_rng(draw(st.integers(0, 2**16))).integers(0, 256, (size[1], size[0], 4), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGBA").convert(mode) if mode not in ("I;16", "I;16B", "La", "RGBa") else Image.new(mode, size)
    sink = io.BytesIO()
    try:
        image.save(sink, fmt)
    except (OSError, ValueError, KeyError):
        assume(False)  # Pillow writes no such file
    data = sink.getvalue()
    damage = draw(st.sampled_from(["none", "truncate", "flip"]))
    if damage == "truncate":
        data = cut(data, draw)
    elif damage == "flip":
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        data = bytes(data)
    return FORMATS[fmt], data


FILES = image_files() | st.tuples(st.sampled_from(sorted(set(FORMATS.values()) | {".jpeg", ".tiff"})), st.binary(max_size=200))


def check_folder(files: list[tuple[str, bytes]], n_images: int) -> None:
    warnings: list[str] = []
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root) / "images"
        folder.mkdir()
        for i, (suffix, data) in enumerate(files):
            (folder / f"{i}{suffix}").write_bytes(data)
        with warnings_module.catch_warnings(record=True) as python_warnings:
            warnings_module.simplefilter("always")
            corpus = read_or_refuse(lambda: load_image_corpus(folder, n_images, 0, warn=warnings.append), folder)
    assert not python_warnings, [str(w.message) for w in python_warnings]  # two lines each on stderr, outside the one-line report
    for line in warnings:
        assert len(line.splitlines()) == 1 and str(folder) in line, line
    if corpus is None:
        return
    assert corpus.images and len(corpus.images) == len(corpus.names)
    assert n_images <= 0 or len(corpus.images) <= n_images
    for image in corpus.images:
        assert image.mode == "RGB" and 1 <= min(image.size) and max(image.size) <= MAX_SIDE, (image.mode, image.size)
        np.asarray(image)  # decoded, not a lazy file that is gone


@settings(max_examples=300)
@given(file=FILES)
def test_one_random_image_file(file):
    check_folder([file], 0)


@settings(max_examples=60)
@given(files=st.lists(FILES, max_size=6), n_images=st.integers(0, 4))
def test_a_folder_of_random_image_files(files, n_images):
    check_folder(files, n_images)
