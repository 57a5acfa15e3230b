"""Patches of images as units: the image side of extraction (capture/extract.py holds the shared loop).

A vision transformer sees an image as ``n_prefix`` tokens (CLS, then any register tokens)
followed by a ``rows x cols`` grid of patches in row-major order. Each becomes one unit row:

  sentence_id (the image), position, token_id (= position: the same patch place in every image),
  piece / text ("[CLS]", "[REG1]", "patch 3,4"), space_before (False), is_special (prefix tokens),
  row, col (-1 for prefix tokens), x0, y0, x1, y1 (pixel box in the processed image; the whole
  image for prefix tokens), hue, saturation, brightness, contrast, frequency (float32, see
  images.patch_statistics; image means for prefix tokens), colour_r, colour_g, colour_b (uint8
  mean colour).

The processed images (what the model saw after its image processor) go into ``images.npy``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TYPE_CHECKING

import numpy as np
import pyarrow as pa

from ..errors import UserError
from ..model.load import LoadedModel

if TYPE_CHECKING:
    from ..site.bundles import BundleWriter
    from .extract import ActivationStore

STAT_COLUMNS = ("hue", "saturation", "brightness", "contrast", "frequency")


def processed_pixels(processor: Any, images: list[Any]) -> tuple[Any, np.ndarray]:
    """Run the model's image processor. Returns (pixel_values (n, 3, H, W) torch float32, the same
    images as the model sees them, (n, H, W, 3) uint8: normalisation undone)."""
    pixel_values = processor(images=images, return_tensors="pt")["pixel_values"]
    x = pixel_values.float().numpy()
    if getattr(processor, "do_normalize", False):
        mean = np.asarray(processor.image_mean, np.float32).reshape(1, 3, 1, 1)
        std = np.asarray(processor.image_std, np.float32).reshape(1, 3, 1, 1)
        x = x * std + mean
    if getattr(processor, "do_rescale", False):
        x = x / (float(processor.rescale_factor) * 255.0)
    shown = np.clip(np.round(x.transpose(0, 2, 3, 1) * 255.0), 0, 255).astype(np.uint8)
    return pixel_values, shown


class ImageUnits:
    """The unit source of ``extract.extract`` for an image model: every image has the same
    number of units (prefix tokens + patch grid), so batches need no padding."""

    def __init__(self, loaded: LoadedModel, images: list[Any], names: list[str], batch_size: int):
        self.loaded = loaded
        self.batch_size = batch_size
        self.images = images
        self.names = names
        patch = loaded.info.patch_size or 1
        _, first = processed_pixels(loaded.processor, images[:1])
        height, width = first.shape[1:3]
        if height % patch or width % patch:
            raise UserError(f"{loaded.info.name}: processed images are {height}x{width} px, not a multiple of the {patch} px patch")
        self.size = (int(height), int(width))
        self.grid = (height // patch, width // patch)
        n_units = self.count_units(images[0])
        # CLS, then DeiT's distillation token or DINOv2's registers: whatever precedes the patches.
        self.n_prefix = n_units - self.grid[0] * self.grid[1]
        if self.n_prefix < 0:
            raise UserError(f"{loaded.info.name}: {n_units} hidden states per image, fewer than its {self.grid[0]}x{self.grid[1]} patches")
        self.lengths = np.full(len(images), n_units, dtype=np.int64)
        self._shown: np.ndarray | None = None

    @property
    def shown(self) -> np.ndarray:
        """(n_images, H, W, 3) uint8: every image as the model sees it (after its processor),
        processed in batches on first use (the tables and images.npy need it, forward passes not)."""
        if self._shown is None:
            parts = [processed_pixels(self.loaded.processor, self.images[i : i + self.batch_size])[1] for i in range(0, len(self.images), self.batch_size)]
            self._shown = np.concatenate(parts) if parts else np.zeros((0, *self.size, 3), np.uint8)
        return self._shown

    def count_units(self, image: Any) -> int:
        import torch

        with torch.inference_mode():
            out = self.loaded.model(pixel_values=processed_pixels(self.loaded.processor, [image])[0].to(self.loaded.device), output_hidden_states=True)
        return int(out.hidden_states[0].shape[1])

    def model_inputs(self, batch: np.ndarray) -> dict[str, Any]:
        return {"pixel_values": processed_pixels(self.loaded.processor, [self.images[i] for i in batch])[0]}

    def tables(self) -> tuple[pa.Table, dict[str, Any]]:
        from ..corpus.images import patch_boxes, patch_statistics

        rows, cols = self.grid
        height, width = self.size
        n_images, n_units, k = len(self.images), int(self.lengths[0]), self.n_prefix
        boxes = np.vstack([np.tile([[0, 0, width, height]], (k, 1)), patch_boxes((height, width), self.grid)])
        grid_row = np.concatenate([np.full(k, -1), np.repeat(np.arange(rows), cols)])
        grid_col = np.concatenate([np.full(k, -1), np.tile(np.arange(cols), rows)])
        prefix_names = ["[CLS]", "[DIST]"] if self.loaded.info.model_type == "deit" else ["[CLS]"]
        prefix_names = (prefix_names + [f"[REG{i}]" for i in range(1, k)])[:k]
        pieces = prefix_names + [f"patch {r},{c}" for r in range(rows) for c in range(cols)]
        stats = {name: np.zeros((n_images, n_units), np.float32) for name in STAT_COLUMNS}
        colour = np.zeros((n_images, n_units, 3), np.uint8)
        for i in range(n_images):
            pixels = np.asarray(self.shown[i], np.float32) / 255.0
            per_patch = patch_statistics(pixels, self.grid)
            whole = patch_statistics(pixels, (1, 1))
            for name in STAT_COLUMNS:
                stats[name][i] = np.concatenate([np.repeat(whole[name], k), per_patch[name]])
            colour[i] = np.vstack([np.repeat(whole["colour"], k, axis=0), per_patch["colour"]])
        position = np.tile(np.arange(n_units, dtype=np.int32), n_images)
        tokens = pa.table(
            {
                "sentence_id": pa.array(np.repeat(np.arange(n_images, dtype=np.int32), n_units)),
                "position": pa.array(position),
                "token_id": pa.array(position),
                "piece": pa.array(pieces * n_images, pa.string()),
                "text": pa.array(pieces * n_images, pa.string()),
                "space_before": pa.array(np.zeros(n_images * n_units, bool)),
                "is_special": pa.array(np.tile(np.arange(n_units) < k, n_images)),
                "row": pa.array(np.tile(grid_row, n_images).astype(np.int16)),
                "col": pa.array(np.tile(grid_col, n_images).astype(np.int16)),
                **{name: pa.array(np.tile(boxes[:, j], n_images).astype(np.int16)) for j, name in enumerate(("x0", "y0", "x1", "y1"))},
                **{name: pa.array(stats[name].reshape(-1)) for name in STAT_COLUMNS},
                **{f"colour_{c}": pa.array(colour[..., j].reshape(-1)) for j, c in enumerate("rgb")},
            }
        )
        return tokens, {"text": pa.array(self.names, pa.string())}

    def write_extra(self, out_dir: Path) -> dict[str, Any]:
        np.save(Path(out_dir) / "images.npy", self.shown)
        return {
            "image": {
                "size": list(self.size),
                "patch_size": self.loaded.info.patch_size,
                "grid": list(self.grid),
                "n_prefix_tokens": self.n_prefix,
            }
        }


#: Images per sprite sheet and per sheet row. 64 tiles of 224 px make a 1792 px square JPEG of
#: about 1 MB: few files to load, none too large to decode at once.
SHEET_IMAGES = 64
SHEET_COLUMNS = 8
SHEET_QUALITY = 92


def write_image_bundle(store: ActivationStore, bundle: BundleWriter) -> dict[str, Any]:
    """The processed images as JPEG sprite sheets (``images/sheet_<k>.jpg``; image i is tile
    ``i % SHEET_IMAGES`` of sheet ``i // SHEET_IMAGES``, tiles row-major, ``columns`` per row).
    Patch thumbnails, crops around a patch and the image view all cut from these tiles.
    Returns ``manifest["image"]``: the geometry and the sheet files."""
    import io

    from PIL import Image

    images = store.images()
    n, height, width, _ = images.shape
    files = []
    for k, start in enumerate(range(0, n, SHEET_IMAGES)):
        tiles = images[start : start + SHEET_IMAGES]
        columns = min(SHEET_COLUMNS, len(tiles))
        sheet_rows = -(-len(tiles) // columns)
        sheet = np.zeros((sheet_rows * height, columns * width, 3), np.uint8)
        for j, tile in enumerate(tiles):
            r, c = divmod(j, columns)
            sheet[r * height : (r + 1) * height, c * width : (c + 1) * width] = tile
        buffer = io.BytesIO()
        Image.fromarray(sheet).save(buffer, format="JPEG", quality=SHEET_QUALITY, subsampling=0, optimize=True)
        name = f"images/sheet_{k}.jpg"
        bundle.add_bytes(name, buffer.getvalue(), "jpeg", images=[start, start + len(tiles)], columns=columns)
        files.append(name)
    return {
        **store.image,
        "n_images": int(n),
        "sheets": {"files": files, "per_sheet": SHEET_IMAGES, "columns": SHEET_COLUMNS, "tile": [int(height), int(width)], "format": "jpeg"},
        "unit_columns": ["row", "col", "x0", "y0", "x1", "y1", *STAT_COLUMNS, "colour_r", "colour_g", "colour_b"],
    }
