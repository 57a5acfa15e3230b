"""Image corpora: a user's folder of pictures, or the built-in sets ``synthetic`` and ``natural``.

Every image ends up as an RGB Pillow image, EXIF orientation applied, at most ``MAX_SIDE`` pixels
on its long side (the model's image processor resizes it again later). A folder is read in sorted
order; files Pillow cannot read are skipped with one warning line each, and nothing is ever
decoded at a size that could exhaust memory (see ``_read_image``).

Built-in sets, both deterministic by seed:

* ``synthetic`` (generated here with numpy, 224x224): hue sweeps, brightness ramps, oriented
  sinusoidal gratings, checkerboards and colour blobs, the kinds of input the AttentionViz paper
  used to find hue, brightness and frequency heads.
* ``natural``: the photographs that ship inside the scikit-image wheel (``skimage/data/``, read
  from disk: no download), plus square crops of each, with every photo's source and licence in
  ``stats["credits"]``.

``patch_statistics`` and ``patch_boxes`` describe the patches of an image as the model sees it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import UserError

from .image_files import ImageCorpus, _list_folder, _load_folder, _stderr
# the built-in sets' names and sizes are part of this module's interface (tests, bench)
from .image_sets import CROPS_PER_PHOTO, NATURAL_PHOTOS, SYNTHETIC_DEFAULT_COUNT, SYNTHETIC_KINDS, _load_natural, _load_synthetic, skimage_data_dir

__all__ = ["CROPS_PER_PHOTO", "SYNTHETIC_KINDS", "ImageCorpus", "load_image_corpus", "patch_boxes", "patch_statistics"]

BUILTIN_SETS = ("synthetic", "natural")
DEFAULT_SETS = ("synthetic", "natural")  # spec None or "default"


# --------------------------------------------------------------------------------------------
# Entry point


def _split_count(n: int, weights: list[int]) -> list[int]:
    """n split proportionally to weights (largest remainder), at least 1 each when n allows."""
    total = sum(weights)
    raw = [n * w / total for w in weights]
    counts = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: n - sum(counts)]:
        counts[i] += 1
    for i, c in enumerate(counts):
        if c == 0 and n >= len(weights):
            j = max(range(len(counts)), key=lambda j: counts[j])
            counts[j] -= 1
            counts[i] = 1
    return counts


def _merge(parts: list[ImageCorpus]) -> ImageCorpus:
    if len(parts) == 1:
        return parts[0]
    stats: dict[str, Any] = {"sets": [s for p in parts for s in p.stats.get("sets", [])], "images_used": sum(len(p.images) for p in parts)}
    stats["credits"] = [c for p in parts for c in p.stats.get("credits", [])]
    for p in parts:
        if "kinds" in p.stats:
            stats["kinds"] = p.stats["kinds"]
        if "files_skipped" in p.stats:
            stats["files_skipped"] = stats.get("files_skipped", 0) + p.stats["files_skipped"]
    return ImageCorpus(
        name=" + ".join(p.name for p in parts),
        source="; ".join(p.source for p in parts),
        license="; ".join(dict.fromkeys(p.license for p in parts)),
        attribution=" ".join(p.attribution for p in parts if p.attribution),
        images=[im for p in parts for im in p.images],
        names=[n for p in parts for n in p.names],
        sources=[s for p in parts for s in p.sources],
        stats=stats,
    )


def load_image_corpus(spec: str | Path | None, n_images: int, seed: int, warn: Callable[[str], None] = _stderr) -> ImageCorpus:
    """Load an image corpus. ``spec``: a folder (or one image file), a built-in set name
    (``synthetic``, ``natural``), several comma-separated names or folders, or None / "default"
    for synthetic + natural. ``n_images <= 0`` keeps everything (a built-in set's default size:
    240 synthetic, all natural photos and crops). Otherwise a folder is sampled by seed, and
    built-in sets take a balanced prefix; several parts share n in proportion to their sizes.
    Problems with single files go to ``warn`` (one line each); unusable input raises UserError."""
    # Built-in names win over folders of the same name in the working directory (write
    # ./synthetic for such a folder); a whole spec that exists is a folder even with commas in it.
    names = [] if spec is None or isinstance(spec, Path) else [s.strip() for s in spec.split(",") if s.strip()]
    if spec is None:
        parts_spec: list[str | Path] = list(DEFAULT_SETS)
    elif isinstance(spec, Path):
        parts_spec = [spec]
    elif not names:
        raise UserError(f"{spec!r}: empty image corpus name (built-in sets: {', '.join(BUILTIN_SETS)}, default)")
    elif all(n.lower() in (*BUILTIN_SETS, "default") for n in names):
        parts_spec = names
    elif Path(spec).exists():
        parts_spec = [Path(spec)]
    else:
        parts_spec = names
    resolved: list[str | Path] = []
    for part in parts_spec:
        if isinstance(part, str) and part.lower() in BUILTIN_SETS:
            resolved.append(part.lower())
        elif isinstance(part, str) and part.lower() == "default":
            resolved.extend(DEFAULT_SETS)
        elif Path(part).exists():
            resolved.append(Path(part))
        else:
            raise UserError(f"{part}: no such folder, and not a built-in image set (built-in: {', '.join(BUILTIN_SETS)}, default)")
    resolved = list(dict.fromkeys(resolved))

    def load(part: str | Path, n: int) -> ImageCorpus:
        if part == "synthetic":
            return _load_synthetic(n, seed)
        if part == "natural":
            return _load_natural(n, seed, warn)
        return _load_folder(Path(part), n, seed, warn)

    if len(resolved) == 1 or n_images <= 0:
        return _merge([load(p, n_images) for p in resolved])
    counts = _split_count(n_images, [_available(p) for p in resolved])
    return _merge([load(p, c) for p, c in zip(resolved, counts) if c > 0])


def _available(part: str | Path) -> int:
    """How many images a part holds at most, without decoding any (for splitting n between parts)."""
    if part == "synthetic":
        return SYNTHETIC_DEFAULT_COUNT
    if part == "natural":
        folder = skimage_data_dir()
        return max(1, sum((folder / file).is_file() for _, file, *_ in NATURAL_PHOTOS)) * (1 + CROPS_PER_PHOTO)
    path = Path(part)
    if path.is_file():
        return 1
    return max(1, len(_list_folder(path, lambda message: None)[0]))


# --------------------------------------------------------------------------------------------
# Patches


def _patch_view(a: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """(H, W, ...) -> (rows*cols, ph, pw, ...) in row-major patch order (remainder pixels dropped)."""
    rows, cols = grid
    if rows < 1 or cols < 1 or a.shape[0] < rows or a.shape[1] < cols:
        raise ValueError(f"grid {grid} does not fit an image of {a.shape[1]}×{a.shape[0]} px")
    ph, pw = a.shape[0] // rows, a.shape[1] // cols
    a = a[: rows * ph, : cols * pw]
    a = a.reshape(rows, ph, cols, pw, *a.shape[2:]).swapaxes(1, 2)
    return a.reshape(rows * cols, ph, pw, *a.shape[4:])


def rgb_to_hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised RGB (..., 3) in [0, 1] -> (hue in [0, 1), saturation, value); grey hue is 0."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    mx, mn = rgb.max(axis=-1), rgb.min(axis=-1)
    c = mx - mn
    safe = np.where(c > 0, c, 1)
    h = np.where(mx == r, ((g - b) / safe) % 6, np.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    h = np.where(c > 0, h, 0) % 1.0
    s = np.where(mx > 0, c / np.where(mx > 0, mx, 1), 0)
    return h, s, mx


LUMA = np.array([0.299, 0.587, 0.114])  # Rec. 601 on gamma-encoded RGB, as Pillow's "L" mode


def patch_statistics(pixels: np.ndarray, grid: tuple[int, int]) -> dict[str, np.ndarray]:
    """Colour and texture statistics of every patch of an image as the model sees it.

    ``pixels``: (H, W, 3) float in [0, 1] (uint8 is accepted and divided by 255), the image after
    the model's processor (resized / cropped, before normalisation). ``grid``: (rows, cols); patches
    are (H // rows) x (W // cols) pixels, remainder pixels at the right and bottom are ignored.
    Returns, for n = rows * cols patches in row-major order (patch k is row k // cols, column
    k % cols):

    - ``hue`` (n,) float32 in [0, 1): circular mean of HSV hue weighted by each pixel's chroma
      (max - min = saturation x value), so grey pixels and near-black noise do not vote; a patch
      without colour gets 0. Red 0, green 1/3, blue 2/3.
    - ``saturation`` (n,) float32: mean HSV saturation.
    - ``brightness`` (n,) float32: mean luma Y' = 0.299 R + 0.587 G + 0.114 B (not HSV value: pure
      blue is dark here, as it looks).
    - ``contrast`` (n,) float32: standard deviation of luma within the patch (RMS contrast).
    - ``frequency`` (n,) float32: spectral centroid of the patch's luma: mean radial frequency of
      the 2D FFT (mean removed, Hann-windowed) weighted by power, in cycles per patch (sqrt of the
      squares of cycles per patch height and per patch width). 0 for a patch whose luma varies by
      less than a quarter grey level (flat). A grating with k cycles per patch scores about k; a
      smooth gradient about 1; pixel noise up to ~patch_size/2.
    - ``colour`` (n, 3) uint8: mean RGB, for thumbnails and legends.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels must be (H, W, 3), not {pixels.shape}")
    rgb = pixels.astype(np.float32) / 255 if pixels.dtype == np.uint8 else np.clip(pixels.astype(np.float32), 0, 1)
    patches = _patch_view(rgb, grid)  # (n, ph, pw, 3)
    n, ph, pw = patches.shape[:3]
    h, s, _ = rgb_to_hsv(patches)
    weight = patches.max(axis=-1) - patches.min(axis=-1)
    angle = 2 * np.pi * h
    cx = (weight * np.cos(angle)).sum(axis=(1, 2))
    sy = (weight * np.sin(angle)).sum(axis=(1, 2))
    coloured = np.hypot(cx, sy) > 1e-6 * ph * pw
    hue = np.where(coloured, (np.arctan2(sy, cx) / (2 * np.pi)) % 1.0, 0.0)
    hue = np.where(hue >= 1.0, 0.0, hue)  # float rounding of tiny negative angles

    luma = patches @ LUMA.astype(np.float32)  # (n, ph, pw)
    centred = luma - luma.mean(axis=(1, 2), keepdims=True)
    window = np.outer(np.hanning(ph + 2)[1:-1], np.hanning(pw + 2)[1:-1]).astype(np.float32)
    power = np.abs(np.fft.fft2(centred * window, axes=(1, 2))) ** 2
    fy = np.fft.fftfreq(ph) * ph
    fx = np.fft.fftfreq(pw) * pw
    radius = np.hypot(fy[:, None], fx[None, :])
    radius[0, 0] = 0.0  # DC carries no frequency (and is ~0 after centring)
    power[:, 0, 0] = 0.0
    total = power.sum(axis=(1, 2))
    contrast = luma.std(axis=(1, 2))
    flat = contrast < 0.25 / 255
    frequency = np.where(flat | (total <= 0), 0.0, (power * radius).sum(axis=(1, 2)) / np.where(total > 0, total, 1))

    colour = np.clip(np.round(patches.mean(axis=(1, 2)) * 255), 0, 255).astype(np.uint8)
    return {
        "hue": hue.astype(np.float32),
        "saturation": s.mean(axis=(1, 2)).astype(np.float32),
        "brightness": luma.mean(axis=(1, 2)).astype(np.float32),
        "contrast": np.where(flat, 0.0, contrast).astype(np.float32),
        "frequency": frequency.astype(np.float32),
        "colour": colour,
    }


def patch_boxes(image_size: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """Pixel boxes of the patches, (rows*cols, 4) int64 rows of x0, y0, x1, y1 (x1, y1 exclusive),
    row-major like ``patch_statistics``. ``image_size`` is (height, width), as ``pixels.shape[:2]``
    (not Pillow's (width, height)); the processed image the model saw."""
    height, width = image_size
    rows, cols = grid
    if rows < 1 or cols < 1 or height < rows or width < cols:
        raise ValueError(f"grid {grid} does not fit an image of {width}×{height} px")
    ph, pw = height // rows, width // cols
    r, c = np.divmod(np.arange(rows * cols), cols)
    return np.stack([c * pw, r * ph, (c + 1) * pw, (r + 1) * ph], axis=1).astype(np.int64)
