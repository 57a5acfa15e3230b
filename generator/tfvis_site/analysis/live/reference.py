"""What the browser computes for the live probe, in Python, from a built site's files alone
(onnxruntime on live/model.onnx, the tokenizer from live/tokenizer.json, the numpy encoder on
live/encoder.bin): the reference the browser's numbers are tested against.

    ref = LiveReference(site / "models" / slug)
    ref.activations("The cat sat.", factor=12)   # (T, L+1), like `tfvis-site probe --factor 12 --json`
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ...site.bundles import read_data_file
from ...site.layout import MANIFEST
from .encoder import unpack
from .runtime import onnx_session, run_live


class LiveReference:
    """The live probe of one model folder of a site (``site/models/<slug>``)."""

    def __init__(self, model_folder: Path):
        self.data = Path(model_folder) / "data"
        manifest = json.loads((Path(model_folder) / MANIFEST).read_text())
        if "live" not in manifest:
            raise ValueError(f"{model_folder}: no live probe ({manifest.get('live_unavailable', 'built with --no-live-probe')})")
        self.live: dict[str, Any] = manifest["live"]
        self.files: dict[str, Any] = manifest["files"]
        enc = self.live["encoder"]
        self.k = int(enc["k"])
        self.arrays = unpack(self._read(enc["file"]), enc["arrays"])

    def _read(self, name: str) -> bytes:
        return read_data_file(self.data, name, self.files)

    @cached_property
    def session(self) -> Any:
        return onnx_session(self._read(self.live["model"]))

    @cached_property
    def tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        return Tokenizer.from_str(self._read(self.live["tokenizer"]).decode("utf-8"))

    def token_ids(self, text: str) -> list[int]:
        """The ids the site's model reads: the pieces, truncated, between the special tokens."""
        special = self.live["special_tokens"]
        keep = self.live["max_tokens"] - len(special["prefix"]) - len(special["suffix"])
        pieces = self.tokenizer.encode(text, add_special_tokens=False).ids[: max(keep, 0)]
        return [*special["prefix"], *pieces, *special["suffix"]]

    def tokens(self, text: str) -> list[str]:
        return [self.tokenizer.id_to_token(i) for i in self.token_ids(text)]

    def run(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(activations (T, L+1, m) in reported units, attentions (L, H, T, T))."""
        return run_live(self.session, self.arrays, self.k, self.token_ids(text))

    def activations(self, text: str, factor: int | None = None) -> np.ndarray:
        """(T, L+1) activations of ``factor`` (as probe --factor --json), or (T, L+1, m) of all."""
        acts = self.run(text)[0]
        return acts if factor is None else acts[:, :, factor]

    def attentions(self, text: str) -> np.ndarray:
        """(L, H, T, T) attention weights, rows = queries."""
        return self.run(text)[1]
