"""Image corpora (folders with every format Pillow reads, broken files, huge images, the built-in
synthetic and natural sets) and the per-patch statistics."""

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

from tfvis_site.corpus import image_files, image_sets, images  # noqa: E402
from tfvis_site.errors import UserError  # noqa: E402
from tfvis_site.corpus.images import (  # noqa: E402
    ImageCorpus,
    load_image_corpus,
    patch_boxes,
    patch_statistics,
)

HOSTILE_NAME = "<img src=x onerror=alert(1)>.png"
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _close(a, b, tol=3):
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b))


def _write_png_1bit(path: Path, width: int, height: int) -> None:
    """A valid single-colour PNG of any size, written row by row (never held in memory)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed 1-bit pixels
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


@pytest.fixture()
def photo_folder(tmp_path) -> Path:
    """Every supported format and mode, nested folders, junk, and broken files."""
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    Image.new("RGB", (30, 20), RED).save(d / "a_rgb.png")
    Image.new("RGB", (30, 20), GREEN).save(d / "b.jpg", quality=95)
    Image.new("RGB", (30, 20), BLUE).save(d / "c.webp", lossless=True)
    frames = [Image.new("RGB", (16, 16), RED), Image.new("RGB", (16, 16), BLUE)]
    frames[0].save(d / "d_anim.gif", save_all=True, append_images=frames[1:], duration=100)
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))  # fully transparent black -> white
    rgba.paste((255, 0, 0, 128), (0, 0, 5, 10))  # half-transparent red -> pink on white
    rgba.save(d / "e_rgba.png")
    Image.new("LA", (10, 10), (0, 0)).save(d / "e_la.png")  # transparent -> white
    pal = Image.new("P", (10, 10), 1)
    pal.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    pal.save(d / "f_p.png")
    pal.save(d / "f_p_transparent.png", transparency=1)
    Image.new("CMYK", (12, 12), (0, 255, 255, 0)).save(d / "g_cmyk.jpg", quality=95)
    Image.new("CMYK", (12, 12), (255, 0, 255, 0)).save(d / "g_cmyk.tif")
    sixteen = np.array([[0, 32768, 65535]], dtype=np.uint16).repeat(4, axis=0)
    Image.fromarray(sixteen).save(d / "h_16bit.png")
    exif_src = Image.new("RGB", (40, 20), RED)
    exif_src.paste(BLUE, (20, 0, 40, 20))  # stored: left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated 90 degrees clockwise
    exif_src.save(d / "i_exif.jpg", exif=exif, quality=95)
    Image.new("L", (8, 8), 200).save(d / "j_grey.bmp")
    Image.new("L", (8, 8), 50).save(d / "sub" / "k_grey.tif")
    Image.new("RGB", (8, 8), GREEN).save(d / HOSTILE_NAME)
    Image.new("RGB", (8, 8), GREEN).save(d / ".hidden.png")
    (d / "notes.txt").write_text("not an image")
    (d / "sub" / "meta.json").write_text("{}")
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    good = d / "b.jpg"
    (d / "truncated.jpg").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    (d / "gone.png").symlink_to(d / "does-not-exist.png")
    return d


def test_folder_reads_every_format_and_warns_once_per_bad_file(photo_folder):
    warnings: list[str] = []
    corpus = load_image_corpus(photo_folder, 0, 0, warn=warnings.append)
    assert isinstance(corpus, ImageCorpus)
    by_name = dict(zip(corpus.names, corpus.images))
    assert corpus.names == sorted(corpus.names)
    assert set(corpus.names) == {
        "a_rgb.png", "b.jpg", "c.webp", "d_anim.gif", "e_rgba.png", "e_la.png", "f_p.png", "f_p_transparent.png",
        "g_cmyk.jpg", "g_cmyk.tif", "h_16bit.png", "i_exif.jpg", "j_grey.bmp", "sub/k_grey.tif", HOSTILE_NAME,
    }
    assert corpus.sources == ["folder"] * len(corpus.names)
    assert all(im.mode == "RGB" for im in corpus.images)
    px = {name: im.getpixel((0, 0)) for name, im in by_name.items()}
    assert px["a_rgb.png"] == RED and px["c.webp"] == BLUE and _close(px["b.jpg"], GREEN, 8)
    assert px["d_anim.gif"] == RED  # first frame
    assert by_name["e_rgba.png"].getpixel((9, 0)) == (255, 255, 255)  # transparent -> white ground
    assert _close(by_name["e_rgba.png"].getpixel((0, 0)), (255, 127, 127), 2)
    assert px["e_la.png"] == (255, 255, 255)
    assert px["f_p.png"] == GREEN and px["f_p_transparent.png"] == (255, 255, 255)
    assert _close(px["g_cmyk.jpg"], RED, 12) and px["g_cmyk.tif"] == GREEN
    assert [by_name["h_16bit.png"].getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]
    rotated = by_name["i_exif.jpg"]
    assert rotated.size == (20, 40)  # orientation applied: portrait
    assert _close(rotated.getpixel((10, 2)), RED, 12) and _close(rotated.getpixel((10, 37)), BLUE, 12)
    assert px["j_grey.bmp"] == (200, 200, 200) and px["sub/k_grey.tif"] == (50, 50, 50)
    assert by_name[HOSTILE_NAME].size == (8, 8)  # kept, name verbatim

    # One line per broken file, naming it; one summary line for the non-image files.
    assert all("\n" not in w for w in warnings)
    for bad in ("broken.png", "truncated.jpg", "gone.png"):
        assert sum(bad in w for w in warnings) == 1, (bad, warnings)
    summary = [w for w in warnings if "not images" in w]
    assert len(summary) == 1 and "2 files" in summary[0] and ".txt" in summary[0] and ".json" in summary[0]
    assert len(warnings) == 4
    assert corpus.stats["files_skipped"] == 3 and corpus.stats["images_used"] == 15
    card = corpus.card()
    assert card["license"] == "as provided by the user" and card["source"] == str(photo_folder)
    assert corpus.credit(0)["license"] == "as provided by the user"


def test_unreadable_file_is_skipped_with_one_warning(tmp_path, monkeypatch):
    for name in ("a.png", "b.png"):
        Image.new("RGB", (4, 4), RED).save(tmp_path / name)
    real_open = open

    def fake_open(path, *args, **kwargs):
        if str(path).endswith("a.png"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(image_files, "open", fake_open, raising=False)  # where files are read
    warnings: list[str] = []
    corpus = load_image_corpus(tmp_path, 0, 0, warn=warnings.append)
    assert corpus.names == ["b.png"]
    assert len(warnings) == 1 and "a.png" in warnings[0] and "Permission denied" in warnings[0]


def test_pillow_warnings_on_damaged_files_stay_off_stderr(tmp_path):
    """Found by tests/test_fuzz_images.py: a TIFF whose EXIF block is cut short made Pillow warn
    (UserWarning), which Python prints as two lines of its own beside our one line per file."""
    import warnings as python_warnings

    Image.new("RGB", (4, 4), RED).save(tmp_path / "a.png")
    (tmp_path / "b.tif").write_bytes(b"II*\x00\x08\x00\x00\x00")  # a TIFF header, its first directory cut off
    warnings: list[str] = []
    with python_warnings.catch_warnings(record=True) as caught:
        python_warnings.simplefilter("always")
        corpus = load_image_corpus(tmp_path, 0, 0, warn=warnings.append)
    assert not caught, [str(w.message) for w in caught]
    assert corpus.names == ["a.png"] and len(warnings) == 1 and "b.tif" in warnings[0]


def test_large_images_are_downscaled_to_1024(tmp_path):
    Image.new("RGB", (3000, 1500), BLUE).save(tmp_path / "wide.png")
    Image.new("RGB", (1200, 2400), RED).save(tmp_path / "tall.jpg")
    corpus = load_image_corpus(tmp_path, 0, 0, warn=lambda m: None)
    sizes = dict(zip(corpus.names, (im.size for im in corpus.images)))
    assert sizes == {"tall.jpg": (512, 1024), "wide.png": (1024, 512)}


def test_empty_and_broken_folders_and_unknown_names(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match=r"empty: folder holds no images"):
        load_image_corpus(empty, 0, 0)
    (empty / "readme.txt").write_text("x")
    with pytest.raises(UserError, match=r"folder holds no images \(1 other file\)"):
        load_image_corpus(empty, 0, 0, warn=lambda m: None)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"nope")
    (broken / "b.jpg").write_bytes(b"\xff\xd8\xff nope")
    warnings: list[str] = []
    with pytest.raises(UserError) as e:
        load_image_corpus(broken, 0, 0, warn=warnings.append)
    assert str(e.value) == f"{broken}: no usable image (2 files skipped)"
    assert len(warnings) == 2
    with pytest.raises(UserError, match=r"no such folder, and not a built-in image set \(built-in: synthetic, natural, default\)"):
        load_image_corpus(tmp_path / "missing", 0, 0)
    with pytest.raises(UserError, match="built-in"):
        load_image_corpus("synthetic,nonsense", 0, 0)


def test_folder_sampling_is_deterministic(tmp_path):
    for i in range(12):
        Image.new("RGB", (4, 4), (i * 20, 0, 0)).save(tmp_path / f"{i:02d}.png")
    a = load_image_corpus(tmp_path, 5, seed=1)
    b = load_image_corpus(tmp_path, 5, seed=1)
    c = load_image_corpus(tmp_path, 5, seed=2)
    assert a.names == b.names and len(a.names) == 5 and a.names == sorted(a.names)
    assert a.names != c.names
    assert len(load_image_corpus(tmp_path, 0, seed=1).names) == 12
    one = load_image_corpus(str(tmp_path / "03.png"), 0, seed=1)  # a single file is a corpus too
    assert one.names == ["03.png"] and one.images[0].getpixel((0, 0)) == (60, 0, 0)


def test_builtin_names_win_over_folders_of_the_same_name(tmp_path, monkeypatch):
    (tmp_path / "synthetic").mkdir()
    Image.new("RGB", (4, 4), RED).save(tmp_path / "synthetic" / "a.png")
    monkeypatch.chdir(tmp_path)
    assert load_image_corpus("synthetic", 3, 0).sources == ["synthetic"] * 3
    assert load_image_corpus("./synthetic", 0, 0).names == ["a.png"]
    assert load_image_corpus(Path("synthetic"), 0, 0).names == ["a.png"]
    mixed = load_image_corpus("synthetic,./synthetic", 4, 0)
    assert mixed.sources == ["synthetic"] * 3 + ["folder"]  # n split 240 : 1, at least one each


MAKE_HUGE_SCRIPT = r"""
import sys
from PIL import Image
big = Image.new("L", (20000, 20000), 90)  # 400 MB, in this throwaway process only
big.save(sys.argv[1] + "/huge.jpg", quality=50)
del big
Image.new("L", (8200, 8200), 90).save(sys.argv[1] + "/huge_progressive.jpg", quality=50, progressive=True)
"""

LOAD_HUGE_SCRIPT = r"""
import json, resource, sys


def peak_mb():
    # VmHWM: this process's own peak RSS (ru_maxrss on Linux also counts the parent's pages at fork).
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


from tfvis_site.corpus.images import load_image_corpus
before = peak_mb()
warnings = []
corpus = load_image_corpus(sys.argv[1], 0, 0, warn=warnings.append)
print(json.dumps({"names": corpus.names, "sizes": [im.size for im in corpus.images], "warnings": warnings,
                  "peak_before_mb": before, "peak_after_mb": peak_mb()}))
"""


def test_huge_images_never_decode_at_full_size(tmp_path):
    """A 20000x20000 PNG is refused from its header; a 20000x20000 baseline JPEG is decoded at 1/8
    scale (2500 px) and downscaled; a progressive JPEG over the limit is refused (libjpeg would
    hold all its coefficients). Measured in a fresh process: peak RSS stays far below the 1.2 GB
    a full RGB decode of 20000x20000 takes."""
    d = tmp_path / "huge"
    d.mkdir()
    _write_png_1bit(d / "huge.png", 20000, 20000)
    Image.new("RGB", (10, 10), RED).save(d / "small.png")
    made = subprocess.run([sys.executable, "-c", MAKE_HUGE_SCRIPT, str(d)], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    env = {**os.environ, "PYTHONPATH": str(Path(images.__file__).parents[1]) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", LOAD_HUGE_SCRIPT, str(d)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    print(result)
    assert result["names"] == ["huge.jpg", "small.png"]
    assert result["sizes"] == [[1024, 1024], [10, 10]]
    assert len(result["warnings"]) == 2
    assert any("huge.png" in w and "too large: 20000×20000 px over the 64 MP limit" in w for w in result["warnings"])
    assert any("huge_progressive.jpg" in w and "progressive" in w for w in result["warnings"])
    assert result["peak_after_mb"] < 500, result
    assert result["peak_after_mb"] - result["peak_before_mb"] < 150, result


def test_synthetic_set_is_deterministic_and_balanced():
    a = load_image_corpus("synthetic", 30, seed=0)
    b = load_image_corpus("synthetic", 30, seed=0)
    c = load_image_corpus("synthetic", 30, seed=1)
    arrays = lambda corpus: [np.asarray(im) for im in corpus.images]  # noqa: E731
    assert all(np.array_equal(x, y) for x, y in zip(arrays(a), arrays(b)))
    assert a.names == b.names == c.names  # same variants in the same order, drawn differently
    assert sum(not np.array_equal(x, y) for x, y in zip(arrays(a), arrays(c))) >= 20
    assert all(im.size == (224, 224) and im.mode == "RGB" for im in a.images)
    assert len(set(a.names)) == 30 and a.sources == ["synthetic"] * 30
    assert a.stats["kinds"] == {k: 6 for k in images.SYNTHETIC_KINDS}
    assert a.license == "public domain (generated by tfvis-site)"
    for prefix in ("hue-sweep-", "brightness-ramp-", "grating-", "checker-", "blobs-"):
        assert any(n.startswith(prefix) for n in a.names)
    # The first 4 gratings cover every orientation and frequency; image i does not depend on n.
    many = load_image_corpus("synthetic", 60, seed=0)
    gratings = [n for n in many.names if n.startswith("grating-")]
    assert {n.split("-")[1] for n in gratings} == {"000deg", "045deg", "090deg", "135deg"}
    assert {n.split("-")[2] for n in gratings} == {"04cyc", "08cyc", "16cyc", "32cyc"}
    assert np.array_equal(np.asarray(many.images[7]), np.asarray(a.images[7]))
    assert len(load_image_corpus("synthetic", 0, seed=0).images) == 240


def test_synthetic_patterns_have_the_statistics_their_names_promise():
    corpus = load_image_corpus("synthetic", 20, seed=3)
    by_name = {n: np.asarray(im, dtype=np.float32) / 255 for n, im in zip(corpus.names, corpus.images)}
    grating_freq = {}
    for name, px in by_name.items():
        if name.startswith("grating-"):
            grating_freq[int(name.split("-")[2][:2])] = patch_statistics(px, (14, 14))["frequency"].mean()
        if name.startswith("brightness-ramp-") and "-horizontal-0" in name:
            b = patch_statistics(px, (1, 14))["brightness"]
            assert np.all(np.diff(b) > 0), name
    assert sorted(grating_freq) == [4, 8, 16, 32]
    freqs = [grating_freq[k] for k in (4, 8, 16, 32)]
    assert freqs == sorted(freqs) and freqs[-1] > 1.8  # 32 cycles / 14 patches = 2.3 cycles per patch


def _skimage_data_present() -> bool:
    import importlib.util

    return importlib.util.find_spec("skimage") is not None


@pytest.mark.skipif(not _skimage_data_present(), reason="scikit-image is not installed")
def test_natural_set_is_offline_with_credits(monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("the natural set must not touch the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    corpus = load_image_corpus("natural", 0, seed=0)
    photos = [n for n in corpus.names if "-crop" not in n]
    assert {"astronaut", "coffee", "chelsea", "rocket", "camera"} <= set(photos)
    assert len(corpus.names) == len(photos) * (1 + images.CROPS_PER_PHOTO) >= 90
    assert "coffee-crop2" in corpus.names and corpus.sources == ["natural"] * len(corpus.names)
    assert all(im.mode == "RGB" and max(im.size) <= 1024 for im in corpus.images)
    credits = corpus.stats["credits"]
    assert [c["name"] for c in credits] == photos
    assert all(c["license"] and c["source"] for c in credits)
    crop = corpus.names.index("coffee-crop2")
    assert corpus.credit(crop)["name"] == "coffee" and corpus.credit(crop)["license"] == "CC0"
    again = load_image_corpus("natural", 0, seed=0)
    assert np.array_equal(np.asarray(again.images[crop]), np.asarray(corpus.images[crop]))
    small = load_image_corpus("natural", 20, seed=0)
    assert small.names[:len(photos)] == photos and len(small.names) == 20  # every photo, then crops
    few = [load_image_corpus("natural", 4, seed=s).names for s in (0, 0, 1)]
    assert few[0] == few[1] != few[2] and all(len(f) == 4 and "-crop" not in "".join(f) for f in few)
    assert len(load_image_corpus("natural", 4, seed=0).stats["credits"]) == 4


def test_natural_set_without_scikit_image_says_how_to_install(monkeypatch):
    monkeypatch.setattr(image_sets.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match=r"pip install -e '\.\[vision\]'"):
        load_image_corpus("natural", 0, 0)


@pytest.mark.skipif(not _skimage_data_present(), reason="scikit-image is not installed")
def test_default_is_synthetic_plus_natural():
    corpus = load_image_corpus(None, 30, seed=0)
    assert corpus.stats["sets"] == ["synthetic", "natural"]
    assert len(corpus.images) == 30 and set(corpus.sources) == {"synthetic", "natural"}
    assert corpus.sources.count("synthetic") == 21  # 240 : 105 of 30
    assert load_image_corpus("default", 30, seed=0).names == corpus.names
    assert load_image_corpus("synthetic,natural", 30, seed=0).names == corpus.names
    card = corpus.card()
    assert {"name", "source", "license", "attribution", "credits"} <= set(card)
    json.dumps(card)


def _solid(colour, size=(16, 16)):
    return np.broadcast_to(np.asarray(colour, np.float32), (*size, 3)).copy()


def test_patch_statistics_known_answers():
    # 2x2 grid: red, blue / grey, a half-and-half red-green patch.
    img = np.zeros((32, 32, 3), np.float32)
    img[:16, :16] = (1, 0, 0)
    img[:16, 16:] = (0, 0, 1)
    img[16:, :16] = (0.5, 0.5, 0.5)
    img[16:, 16:] = (0, 1, 0)
    img[16:, 24:] = (1, 1, 0)
    st = patch_statistics(img, (2, 2))
    assert set(st) == {"hue", "saturation", "brightness", "contrast", "frequency", "colour"}
    assert all(v.shape == (4,) and v.dtype == np.float32 for k, v in st.items() if k != "colour")
    assert st["colour"].shape == (4, 3) and st["colour"].dtype == np.uint8
    assert st["hue"][0] == pytest.approx(0.0, abs=1e-6)
    assert st["hue"][1] == pytest.approx(2 / 3, abs=1e-6)
    assert st["hue"][2] == 0.0 and st["saturation"][2] == 0.0  # grey: no hue, no NaN
    assert st["hue"][3] == pytest.approx(1 / 4, abs=1e-3)  # between green (1/3) and yellow (1/6)
    assert st["saturation"][0] == 1.0 and st["saturation"][1] == 1.0
    assert st["brightness"][0] == pytest.approx(0.299) and st["brightness"][2] == pytest.approx(0.5)
    assert st["frequency"][0] == 0.0 and st["frequency"][2] == 0.0  # flat
    assert st["contrast"][0] == 0.0 and st["contrast"][3] > 0
    assert st["colour"].tolist()[:3] == [[255, 0, 0], [0, 0, 255], [128, 128, 128]]
    assert not any(np.isnan(v).any() for k, v in st.items() if k != "colour")

    # Hue wraps around: magenta-red and orange-red average to red, not to cyan.
    wrap = np.concatenate([_solid((1, 0, 0.2), (8, 16)), _solid((1, 0.2, 0), (8, 16))])
    assert min(patch_statistics(wrap, (1, 1))["hue"][0], 1 - patch_statistics(wrap, (1, 1))["hue"][0]) < 1e-3
    # uint8 input is accepted; a black patch is flat, hueless and dark.
    black = patch_statistics(np.zeros((16, 16, 3), np.uint8), (1, 1))
    assert black["hue"][0] == 0 and black["brightness"][0] == 0 and black["frequency"][0] == 0


def test_patch_statistics_frequency_and_brightness_order():
    size, grid = 224, (14, 14)
    y, x = np.mgrid[0:size, 0:size] / size
    freqs = []
    for cycles_per_patch in (1, 2, 4, 6):
        g = 0.5 + 0.5 * np.sin(2 * np.pi * cycles_per_patch * grid[1] * x + 0.4)
        freqs.append(float(patch_statistics(np.repeat(g[..., None], 3, axis=2), grid)["frequency"].mean()))
    assert freqs == sorted(freqs)
    assert freqs[1:] == pytest.approx([2, 4, 6], rel=0.1)  # about k cycles per patch
    ramp = np.repeat(np.repeat(np.linspace(0, 1, size)[None, :, None], size, axis=0), 3, axis=2)
    st = patch_statistics(ramp, grid)
    b = st["brightness"].reshape(grid)
    assert np.all(np.diff(b, axis=1) > 0) and np.allclose(b, b[0])  # monotone across columns, equal down rows
    with pytest.raises(ValueError):
        patch_statistics(np.zeros((4, 4, 3)), (8, 8))


def test_patch_boxes_row_major():
    boxes = patch_boxes((224, 224), (16, 16))
    assert boxes.shape == (256, 4) and boxes.dtype.kind == "i"
    assert boxes[0].tolist() == [0, 0, 14, 14] and boxes[1].tolist() == [14, 0, 28, 14]
    assert boxes[16].tolist() == [0, 14, 14, 28] and boxes[-1].tolist() == [210, 210, 224, 224]
    assert patch_boxes((20, 40), (2, 4)).tolist()[5] == [10, 10, 20, 20]  # (height, width)
