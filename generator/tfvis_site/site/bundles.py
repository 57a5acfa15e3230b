"""The data contract between the Python build and the pages (see docs/data-contract.md).

Every data file ships once: as ``data/NAME.js``, a classic script that assigns its bytes, base64
encoded (deflated first when that saves a tenth), to ``window.TFVIS_DATA[NAME]``. Pages
load it with a ``<script>`` tag from ``file://`` (where Chromium blocks fetch()) and with fetch()
over http; the binary ``data/NAME`` is not written. ``manifest.json`` (and its twin, for the
pages) lists every file with the size and sha256 of its bytes and the size of its twin.
Python reads a file's bytes with ``read_data_file`` (``read_data_table``, ``read_data_array``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

#: A twin holds deflate(bytes) when that is at most this fraction of the bytes: on the default
#: MiniLM site 409 of 422 files, the factor tables and histograms (0.2-0.75 of their size), the
#: token tables, the strongest factors of every token, the attention's norms and most top-key
#: files (0.8-0.9); not the projected points, most attention weights, the encoder or the ONNX
#: model (0.9-0.97). 0.8 left that site at 180.9 MiB, 0.9 at 175.9 MiB, its pages loading as fast
#: within the noise (docs/data-contract.md).
DEFLATE_AT_MOST = 0.9
#: zlib level 1: on the default MiniLM site 0.5 % larger than level 6 at less than half the time.
DEFLATE_LEVEL = 1
#: The twin's string starts with this when its base64 holds zlib-deflated bytes.
DEFLATE_MARK = "deflate:"
TWIN_SUFFIX = ".js"


def encode_twin(payload: bytes) -> tuple[bytes, bool]:
    """What a twin holds for ``payload``: (the bytes to base64, whether they are deflated)."""
    if len(payload) >= 64:
        packed = zlib.compress(payload, DEFLATE_LEVEL)
        if len(packed) <= DEFLATE_AT_MOST * len(payload):
            return packed, True
    return payload, False


def js_twin(name: str, payload: bytes, deflate: bool = False) -> bytes:
    """The classic-script twin of a data file: assigns base64(payload) to TFVIS_DATA[name], or
    "deflate:" + base64(zlib(payload)) with ``deflate``."""
    return twin_text(name, zlib.compress(payload, DEFLATE_LEVEL) if deflate else payload, deflate)


def twin_payload(twin: bytes | str) -> bytes:
    """The bytes a twin's script hands over (its string between the last two quotes, decoded)."""
    text = twin.decode("ascii") if isinstance(twin, bytes) else twin
    end = text.rindex('"')
    value = text[text.rindex('"', 0, end) + 1 : end]
    if value.startswith(DEFLATE_MARK):
        return zlib.decompress(base64.b64decode(value[len(DEFLATE_MARK) :]))
    return base64.b64decode(value)


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
    """Writes data files (each as its .js twin only) and collects the manifest's file list."""

    def __init__(self, site_dir: Path):
        self.data_dir = Path(site_dir) / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, dict[str, Any]] = {}

    def add_bytes(self, name: str, payload: bytes, kind: str, **meta: Any) -> None:
        """data/NAME.js, the twin of ``payload`` (deflated when that pays, ``encode_twin``); the
        manifest entry gives the payload's ``bytes`` and ``sha256`` and the twin's ``twin_bytes``."""
        if name in self.files:
            raise ValueError(f"data file {name!r} written twice")
        twin_path = self.data_dir / f"{name}{TWIN_SUFFIX}"
        twin_path.parent.mkdir(parents=True, exist_ok=True)
        held, deflated = encode_twin(payload)
        twin = twin_text(name, held, deflated)
        twin_path.write_bytes(twin)
        self.files[name] = {
            "kind": kind,
            "bytes": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
            "twin_bytes": len(twin),
            **({"deflate": True} if deflated else {}),
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

    def read(self, name: str) -> bytes:
        """The bytes of a file already written (a stage that derives one file from others)."""
        return read_data_file(self.data_dir, name, self.files)

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        return parquet_from_bytes(self.read(name), columns)

    def write_manifest(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """manifest.json = the given content plus the file list, and its twin (which the pages
        load). The one file that ships twice: the plain JSON is the index for every other
        reader (tfvis-site probe and serve, tools). Returns what was written."""
        full = {**manifest, "files": dict(sorted(self.files.items()))}
        payload = json_bytes(full)
        (self.data_dir / "manifest.json").write_bytes(payload)
        (self.data_dir / f"manifest.json{TWIN_SUFFIX}").write_bytes(twin_text("manifest.json", *encode_twin(payload)))
        return full


def twin_text(name: str, held: bytes, deflated: bool) -> bytes:
    """The twin of data file ``name`` holding ``held`` (already deflated when ``deflated``)."""
    encoded = (DEFLATE_MARK if deflated else "") + base64.b64encode(held).decode("ascii")
    return f'(window.TFVIS_DATA=window.TFVIS_DATA||{{}})[{json.dumps(name)}]="{encoded}";\n'.encode("ascii")


def read_data_file(data_dir: Path, name: str, files: dict[str, Any] | None = None) -> bytes:
    """The bytes of data file ``name`` as a page gets them: decoded from its twin data/NAME.js (a
    site built before files shipped once: the binary data/NAME when it is there); checked against
    the manifest's sha256 when ``files`` (the manifest's file list) is given."""
    binary, twin = Path(data_dir) / name, Path(data_dir) / f"{name}{TWIN_SUFFIX}"
    payload = twin_payload(twin.read_bytes()) if twin.is_file() or not binary.is_file() else binary.read_bytes()
    entry = (files or {}).get(name)
    if entry is not None and hashlib.sha256(payload).hexdigest() != entry["sha256"]:
        raise ValueError(f"{binary}: sha256 differs from the manifest's")
    return payload


def read_data_table(data_dir: Path, name: str, columns: list[str] | None = None) -> pa.Table:
    """A Parquet data file as a pyarrow Table (``columns``: only these)."""
    return parquet_from_bytes(read_data_file(data_dir, name), columns)


def parquet_from_bytes(data: bytes, columns: list[str] | None = None) -> pa.Table:
    """The Parquet file ``data`` read on this thread. pq.read_table's threaded scan can leave
    a buffer of ``data`` (a Python object) to be released by an Arrow thread while the
    interpreter exits; the release needs the GIL, the finalizing interpreter ends the thread
    instead, and the process aborts after its work is done ("terminate called without an
    active exception", apache/arrow#34314): one run in ten of ``tfvis-site probe`` on a busy
    machine."""
    return pq.ParquetFile(pa.BufferReader(data)).read(columns=columns, use_threads=False)


def read_data_array(data_dir: Path, name: str, dtype: Any, shape: Any = None) -> np.ndarray:
    """A raw array data file (little-endian, row-major) as a read-only numpy array."""
    arr = np.frombuffer(read_data_file(data_dir, name), dtype=dtype)
    return arr if shape is None else arr.reshape(shape)


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
