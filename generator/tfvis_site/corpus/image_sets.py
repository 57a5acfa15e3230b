"""The built-in image sets, both deterministic by seed (images.py loads them by name):

* ``synthetic`` (generated here with numpy, 224x224): hue sweeps, brightness ramps, oriented
  sinusoidal gratings, checkerboards and colour blobs, the kinds of input the AttentionViz paper
  used to find hue, brightness and frequency heads.
* ``natural``: the photographs that ship inside the scikit-image wheel (``skimage/data/``, read
  from disk: no download), plus square crops of each, with every photo's source and licence in
  ``stats["credits"]``.
"""

import functools
import importlib.util
import random
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import UserError
from .image_files import INSTALL_HINT, SYNTHETIC_LICENSE, ImageCorpus, _read_image, _require_pillow, _Skip

try:  # Pillow is a dependency of the ``vision`` extra; fail with a clear message when used without it.
    from PIL import Image
except ImportError:  # pragma: no cover - exercised only without Pillow
    Image = None  # type: ignore[assignment]

SYNTHETIC_SIZE = 224
SYNTHETIC_DEFAULT_COUNT = 240
CROPS_PER_PHOTO = 6


# --------------------------------------------------------------------------------------------
# The synthetic set


def hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB; h, s, v broadcastable arrays in [0, 1]; returns (..., 3) float."""
    f32 = np.float32
    h, s, v = np.broadcast_arrays(np.asarray(h, f32) % f32(1), np.asarray(s, f32), np.asarray(v, f32))
    k = (np.array([5, 3, 1], f32) + h[..., None] * f32(6)) % f32(6)
    return v[..., None] - (v * s)[..., None] * np.clip(np.minimum(k, 4 - k), 0, 1)


_HUES = {"red": 0.0, "orange": 30 / 360, "yellow": 60 / 360, "green": 120 / 360, "cyan": 180 / 360, "blue": 240 / 360, "magenta": 300 / 360}
_HUE_DIRECTIONS = ("horizontal", "vertical", "diagonal", "antidiagonal")
_RAMP_HUES = ("red", "yellow", "green", "cyan", "blue", "magenta", "orange", "grey")
_RAMP_DIRECTIONS = ("horizontal", "vertical")
_ORIENTATIONS = (0, 45, 90, 135)
_CYCLES = (4, 8, 16, 32)
_CHECK_SIZES = (8, 16, 28, 56)
_CHECK_PAIRS = (("black", "white"), ("red", "cyan"), ("blue", "yellow"), ("green", "magenta"))
_NAMED = {"black": (0.0, 0.0, 0.0), "white": (1.0, 1.0, 1.0)}
SYNTHETIC_KINDS = ("hue-sweep", "brightness-ramp", "grating", "checker", "blobs")


def _coords(size: int, direction: str) -> np.ndarray:
    """t in [0, 1) along a direction, shape (size, size); y grows downwards."""
    y, x = _grid(size)
    y, x = y / np.float32(size), x / np.float32(size)
    t = {"horizontal": x, "vertical": y, "diagonal": (x + (1 - y)) / 2, "antidiagonal": (x + y) / 2}[direction]
    return np.broadcast_to(t, (size, size))


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel row and column indices as float32 (size, 1) and (1, size), for broadcasting."""
    i = np.arange(size, dtype=np.float32)
    return i[:, None], i[None, :]


def _named_rgb(name: str) -> np.ndarray:
    if name in _NAMED:
        return np.array(_NAMED[name])
    return hsv_to_rgb(_HUES[name], 1.0, 1.0)


def _synthetic_image(i: int, seed: int, size: int = SYNTHETIC_SIZE) -> tuple[np.ndarray, str, str]:
    """Image ``i`` of the synthetic set: (uint8 (size, size, 3), name, kind). Kinds cycle, and
    within a kind the variants cycle so that any count gives a balanced mix; each image has its
    own generator seeded by (seed, i), so image i does not depend on how many are made."""
    kind = SYNTHETIC_KINDS[i % len(SYNTHETIC_KINDS)]
    j = i // len(SYNTHETIC_KINDS)  # index within the kind
    rng = np.random.default_rng([seed, i])
    if kind == "hue-sweep":
        direction = _HUE_DIRECTIONS[j % len(_HUE_DIRECTIONS)]
        rep = j // len(_HUE_DIRECTIONS)
        cycles = (1, 2)[rep % 2]  # one or two full hue circles across the image
        rgb = hsv_to_rgb(cycles * _coords(size, direction) + rng.random(), 1.0, 1.0)
        name = f"hue-sweep-{direction}-{cycles}x-{rep}"
    elif kind == "brightness-ramp":
        hue = _RAMP_HUES[j % len(_RAMP_HUES)]
        direction = _RAMP_DIRECTIONS[(j // len(_RAMP_HUES)) % len(_RAMP_DIRECTIONS)]
        rep = j // (len(_RAMP_HUES) * len(_RAMP_DIRECTIONS))
        t = _coords(size, direction)
        if rep % 2:
            t = 1 - t  # dark to light, then light to dark
        h = 0.0 if hue == "grey" else _HUES[hue] + rng.uniform(-10, 10) / 360
        rgb = hsv_to_rgb(h, 0.0 if hue == "grey" else 1.0, t)
        name = f"brightness-ramp-{hue}-{direction}-{rep}"
    elif kind == "grating":
        # Latin-square walk: the first four gratings already cover all orientations and frequencies.
        orientation = _ORIENTATIONS[j % 4]
        cycles = _CYCLES[(j + j // 4) % 4]
        rep = j // 16
        theta = np.deg2rad(orientation)  # direction of the wave vector, counter-clockwise from +x
        y, x = _grid(size)
        k = np.float32(2 * np.pi * cycles / size)
        phase = k * (x * np.float32(np.cos(theta)) - y * np.float32(np.sin(theta))) + np.float32(rng.uniform(0, 2 * np.pi))
        grey = 0.5 + 0.5 * np.sin(phase)
        rgb = np.repeat(grey[..., None], 3, axis=2)
        name = f"grating-{orientation:03d}deg-{cycles:02d}cyc-{rep}"
    elif kind == "checker":
        cell = _CHECK_SIZES[j % len(_CHECK_SIZES)]
        pair = _CHECK_PAIRS[(j + j // len(_CHECK_SIZES)) % len(_CHECK_PAIRS)]
        rep = j // 16
        dy, dx = rng.integers(0, cell, size=2)
        y, x = np.arange(size)[:, None], np.arange(size)[None, :]
        odd = (((y + dy) // cell + (x + dx) // cell) % 2).astype(bool)
        rgb = np.where(odd[..., None], _named_rgb(pair[1]), _named_rgb(pair[0]))
        name = f"checker-{cell:02d}px-{pair[0]}-{pair[1]}-{rep}"
    else:  # blobs
        shape = ("gauss", "disc")[j % 2]
        count = 1 + (j // 2) % 5
        rep = j // 10
        ground = int(rng.integers(0, 4))  # white, black, mid grey, pale random hue
        base = [np.ones(3), np.zeros(3), np.full(3, 0.5), hsv_to_rgb(rng.random(), 0.15, 0.95)][ground]
        rgb = np.broadcast_to(np.asarray(base, np.float32), (size, size, 3)).copy()
        y, x = _grid(size)
        y, x = y + np.float32(0.5), x + np.float32(0.5)
        for _ in range(count):
            colour = hsv_to_rgb(rng.random(), rng.uniform(0.7, 1.0), rng.uniform(0.7, 1.0))
            cy, cx = rng.uniform(0.15, 0.85, size=2) * size
            radius = rng.uniform(0.06, 0.2) * size
            d2 = (y - cy) ** 2 + (x - cx) ** 2
            alpha = np.exp(-d2 / (2 * (radius / 1.5) ** 2)) if shape == "gauss" else (d2 <= radius**2).astype(np.float32)
            rgb = rgb * (1 - alpha[..., None]) + colour * alpha[..., None]
        name = f"blobs-{shape}-{count}-{rep}"
    pixels = np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)
    return pixels, name, kind


def _load_synthetic(n: int, seed: int) -> ImageCorpus:
    _require_pillow()
    n = n if n > 0 else SYNTHETIC_DEFAULT_COUNT
    images, names, kinds = [], [], {k: 0 for k in SYNTHETIC_KINDS}
    for i in range(n):
        pixels, name, kind = _synthetic_image(i, seed)
        images.append(Image.fromarray(pixels, "RGB"))
        names.append(name)
        kinds[kind] += 1
    return ImageCorpus(
        name="synthetic patterns",
        source="generated by tfvis-site (hue sweeps, brightness ramps, gratings, checkerboards, colour blobs)",
        license=SYNTHETIC_LICENSE,
        attribution="",
        images=images,
        names=names,
        sources=["synthetic"] * n,
        stats={"sets": ["synthetic"], "images_used": n, "kinds": kinds},
    )


# --------------------------------------------------------------------------------------------
# The natural set: photographs shipped inside the scikit-image wheel

# name, file in skimage/data/, description and source, url, licence: transcribed from the
# docstrings of the skimage.data functions (scikit-image 0.26). Only photos whose docstring states
# a licence are used (moon, page, logo, colorwheel do not; eagle and others need a download).
NATURAL_PHOTOS: tuple[tuple[str, str, str, str, str], ...] = (
    ("astronaut", "astronaut.png", "Eileen Collins, NASA astronaut; NASA Great Images database", "https://flic.kr/p/r9qvLn", "public domain (no known copyright restrictions)"),
    ("brick", "brick.png", "brick wall, CC0Textures Bricks25 (perspective-corrected by scikit-image)", "https://cc0textures.com/view.php?tex=Bricks25", "CC0"),
    ("camera", "camera.png", "cameraman photograph by Lav Varshney", "", "CC0"),
    ("cell", "cell.png", "cell floating in saline, quantitative phase image (Müller et al., Optics Express 26(8), 2018)", "https://doi.org/10.1364/OE.26.010729", "CC0"),
    ("chelsea", "chelsea.png", "Chelsea the cat, photograph by Stefan van der Walt", "", "CC0"),
    ("clock", "clock_motion.png", "motion-blurred wall clock, photograph by Stefan van der Walt", "", "public domain"),
    ("coffee", "coffee.png", "coffee cup, photograph by Rachel Michetti, courtesy of Pikolo Espresso Bar", "", "CC0"),
    ("coins", "coins.png", "Greek coins from Pompeii, Brooklyn Museum Collection", "https://www.brooklynmuseum.org/opencollection/archives/image/51611", "no known copyright restrictions"),
    ("grass", "grass.png", "grass, Grass 01 by linolafett on DeviantArt (cropped, greyscale)", "https://www.deviantart.com/linolafett/art/Grass-01-434853879", "CC0"),
    ("gravel", "gravel.png", "gravel, CC0Textures Gravel04 (cropped, greyscale)", "https://cc0textures.com/view.php?tex=Gravel04", "CC0"),
    ("hubble-deep-field", "hubble_deep_field.jpg", "Hubble eXtreme Deep Field, NASA", "http://hubblesite.org/newscenter/archive/releases/2012/37/image/a/", "public domain (NASA)"),
    ("immunohistochemistry", "ihc.png", "colonic glands, IHC staining; Center for Microscopy And Molecular Imaging (CMMI)", "", "no known copyright restrictions"),
    ("retina", "retina.jpg", "fundus photograph of a normal left eye, Mikael Häggström, Wikimedia Commons", "https://commons.wikimedia.org/wiki/File:Fundus_photograph_of_normal_left_eye.jpg", "CC0 1.0"),
    ("rocket", "rocket.jpg", "launch of DSCOVR on a Falcon 9, SpaceX", "https://www.flickr.com/photos/spacexphotos/16511594820/", "public domain (released by SpaceX)"),
    ("text", "text.png", "text and corners (Corner.png), Wikipedia", "https://en.wikipedia.org/wiki/File:Corner.png", "public domain (no known copyright restrictions)"),
)


def skimage_data_dir() -> Path:
    """scikit-image's bundled data folder, found without importing scikit-image."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the built-in image set 'natural' needs scikit-image: {INSTALL_HINT}")
    return Path(spec.submodule_search_locations[0]) / "data"


def _crop_box(size: tuple[int, int], rng: random.Random) -> tuple[int, int, int, int]:
    w, h = size
    side = max(1, round(min(w, h) * rng.uniform(0.5, 0.8)))
    x0, y0 = rng.randint(0, w - side), rng.randint(0, h - side)
    return x0, y0, x0 + side, y0 + side


@functools.lru_cache(maxsize=2)
def _natural_photos(folder: Path) -> tuple[tuple[tuple[str, Any], ...], tuple[dict[str, str], ...], tuple[str, ...]]:
    """The bundled photos, decoded once per process: (name, image) pairs, credits, problems."""
    photos, credits, problems = [], [], []
    for name, file, source, url, license_ in NATURAL_PHOTOS:
        try:
            photos.append((name, _read_image(folder / file)))
        except (_Skip, OSError) as e:
            problems.append(f"{folder / file}: {e}; skipped")
            continue
        credits.append({"name": name, "source": f"{source} (scikit-image skimage.data, {file})", "url": url, "license": license_})
    return tuple(photos), tuple(credits), tuple(problems)


def _load_natural(n: int, seed: int, warn: Callable[[str], None]) -> ImageCorpus:
    _require_pillow()
    folder = skimage_data_dir()
    cached, cached_credits, problems = _natural_photos(folder)
    for problem in problems:
        warn(problem)
    photos = [(name, im.copy()) for name, im in cached]  # callers may change their images
    credits = [dict(c) for c in cached_credits]
    if not photos:
        raise UserError(f"{folder}: none of scikit-image's bundled photographs could be read (reinstall it: {INSTALL_HINT})")
    # Full photos first, then crop 1 of every photo, crop 2, ...: any n covers the photos evenly;
    # within a round the photos are taken in a seeded order, so a small n varies with the seed.
    entries: list[tuple[str, Any]] = [(name, im) for name, im in photos]
    priority = [(0, p) for p in range(len(photos))]
    rank = {p: r for r, p in enumerate(random.Random(seed).sample(range(len(photos)), len(photos)))}
    for c in range(1, CROPS_PER_PHOTO + 1):
        for p, (name, im) in enumerate(photos):
            rng = random.Random(f"{seed}/{name}/{c}")
            entries.append((f"{name}-crop{c}", im.crop(_crop_box(im.size, rng))))
            priority.append((c, p))
    available = len(entries)
    if 0 < n < available:
        keep = sorted(sorted(range(available), key=lambda i: (priority[i][0], rank[priority[i][1]]))[:n])
        entries = [entries[i] for i in keep]
    used = {e[0].split("-crop", 1)[0] for e in entries}
    credits = [c for c in credits if c["name"] in used]
    return ImageCorpus(
        name="natural photographs",
        source="scikit-image skimage.data (bundled photographs) and square crops of them",
        license="public domain, CC0 or no known copyright restrictions (per photo: see credits)",
        attribution="Photographs bundled with scikit-image (skimage.data); each photo's author, source and licence are listed in the credits.",
        images=[e[1] for e in entries],
        names=[e[0] for e in entries],
        sources=["natural"] * len(entries),
        stats={"sets": ["natural"], "photos": len(photos), "images_available": available, "images_used": len(entries), "credits": credits},
    )
