"""Peak RSS of reading a store shard layer by layer: a memory map vs explicit reads.

    python bench/store_reads.py STORE_DIR      # e.g. a cache's extract/<hash>/

Reads every layer of shard 0's hidden.npy in chunks of 32,768 rows (as the factor stage does),
once through ``np.load(mmap_mode="r")`` and once with plain file reads (what
``ActivationStore`` does), each in a fresh process, and prints the peak RSS of each: touched
pages of a memory map stay resident while it is mapped, page-cache pages of plain reads do not.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import numpy as np

CHUNK = 32768


def read_all(path: str, how: str) -> float:
    """Checksum of the whole file, read layer by layer in chunks ``how`` = memmap | read."""
    total = 0.0
    if how == "memmap":
        h = np.load(path, mmap_mode="r")
        for layer in range(h.shape[0]):
            for lo in range(0, h.shape[1], CHUNK):
                total += float(np.asarray(h[layer, lo : lo + CHUNK], np.float64).sum())
        return total
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        offset, row = f.tell(), shape[2] * dtype.itemsize
        for layer in range(shape[0]):
            for lo in range(0, shape[1], CHUNK):
                buf = np.empty((min(CHUNK, shape[1] - lo), shape[2]), dtype)
                f.seek(offset + (layer * shape[1] + lo) * row)
                f.readinto(memoryview(buf.reshape(-1).view(np.uint8)))
                total += float(buf.astype(np.float64).sum())
    return total


def main() -> None:
    if sys.argv[1] == "--child":
        checksum = read_all(sys.argv[2], sys.argv[3])
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, checksum)
        return
    path = str(Path(sys.argv[1]) / "shards" / "00000" / "hidden.npy")
    size = Path(path).stat().st_size
    print(f"reading {path} ({size / 2**30:.2f} GiB) layer by layer, {CHUNK} rows at a time")
    print(f"{'method':<16} {'peak RSS GB':>12}")
    for how in ("memmap", "read"):
        out = subprocess.run([sys.executable, __file__, "--child", path, how], capture_output=True, text=True, check=True).stdout.split()
        print(f"{how:<16} {int(out[0]) / 2**30:>12.2f}")


if __name__ == "__main__":
    main()
