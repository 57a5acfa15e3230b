"""The data contract between the Python build and the pages (see docs/data-contract.md).

Every file written into ``<site>/data/`` gets a ``NAME.js`` twin that assigns its bytes, base64
encoded, to ``window.TFVIS_DATA[NAME]``; pages load twins with classic ``<script>`` tags so the
site also works from ``file://`` where Chromium blocks fetch(). ``manifest.json`` lists every
file with its size and sha256.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def js_twin(name: str, payload: bytes) -> bytes:
    """The classic-script twin of a data file: assigns base64(payload) to TFVIS_DATA[name]."""
    encoded = base64.b64encode(payload).decode("ascii")
    return f'(window.TFVIS_DATA=window.TFVIS_DATA||{{}})[{json.dumps(name)}]="{encoded}";\n'.encode("ascii")


def parquet_bytes(table: pa.Table) -> bytes:
    """Snappy Parquet; dictionary encoding only for string columns (floats stay plain)."""
    string_cols = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        compression="snappy",
        use_dictionary=string_cols or False,
        write_statistics=False,
        store_schema=False,
    )
    return sink.getvalue()


class BundleWriter:
    """Writes data files (each with its .js twin) and collects the manifest's file list."""

    def __init__(self, site_dir: Path):
        self.data_dir = Path(site_dir) / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, dict[str, Any]] = {}

    def add_bytes(self, name: str, payload: bytes, kind: str, twin_only: bool = False, **meta: Any) -> None:
        """``twin_only``: write only the .js twin (big files that pages always load through it,
        e.g. the live probe's model); the manifest entry says so and gives the twin's size."""
        if name in self.files:
            raise ValueError(f"data file {name!r} written twice")
        path = self.data_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        twin = js_twin(name, payload)
        if not twin_only:
            path.write_bytes(payload)
        (self.data_dir / f"{name}.js").write_bytes(twin)
        self.files[name] = {
            "kind": kind,
            "bytes": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
            **({"twin_only": True, "twin_bytes": len(twin)} if twin_only else {}),
            **meta,
        }

    def add_table(self, name: str, table: pa.Table) -> None:
        """A Parquet table; ``name`` ends with .parquet."""
        self.add_bytes(name, parquet_bytes(table), "parquet", rows=table.num_rows, columns=table.column_names)

    def add_float32(self, name: str, array: np.ndarray) -> None:
        """Raw little-endian float32, row-major; the manifest records the shape."""
        arr = np.ascontiguousarray(array, dtype="<f4")
        self.add_bytes(name, arr.tobytes(), "float32", shape=list(arr.shape))

    def add_json(self, name: str, obj: Any) -> None:
        self.add_bytes(name, json_bytes(obj), "json")

    def write_manifest(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """manifest.json (+ twin) = the given content plus the file list. Returns what was written."""
        full = {**manifest, "files": dict(sorted(self.files.items()))}
        payload = json_bytes(full)
        (self.data_dir / "manifest.json").write_bytes(payload)
        (self.data_dir / "manifest.json.js").write_bytes(js_twin("manifest.json", payload))
        return full


def read_data_file(data_dir: Path, name: str, files: dict[str, Any]) -> bytes:
    """The bytes of data file ``name`` as a page gets them: the binary file, or for a twin-only
    file the base64 its .js twin holds; checked against the manifest's sha256."""
    entry = files[name]
    if entry.get("twin_only"):
        text = (Path(data_dir) / f"{name}.js").read_text(encoding="ascii")
        payload = base64.b64decode(text[text.index(']="') + 3 : text.rindex('";')])
    else:
        payload = (Path(data_dir) / name).read_bytes()
    if hashlib.sha256(payload).hexdigest() != entry["sha256"]:
        raise ValueError(f"{Path(data_dir) / name}: sha256 differs from the manifest's")
    return payload


def json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=False, allow_nan=False, default=_json_default) + "\n").encode()


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
