"""Load ``tfvis-site serve`` with many concurrent readers of large files, some of which leave mid-file.

    python bench/serve_load.py [--site DIR] [--requests 600] [--concurrency 64] [--file-mb 32]

Starts the real command (``python -m tfvis_site serve``) on a free loopback port, over a built site
(--site) or a generated one holding a --file-mb file of random bytes (the size of the live probe's
model), then sends --requests requests from --concurrency threads, in four kinds mixed evenly:
a whole GET, a Range GET of a random slice, a HEAD, and a reader that closes (or resets) its
connection after the first bytes. Every body is checked against the file on disk. Prints one
table (per kind: requests, failures, median and 95th-percentile seconds, MB received) and the server's
stderr lines; exits 1 on any failure or any stderr output. Bounded: loopback only, a fixed
number of requests, each with a 60 s timeout.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

KINDS = ("whole", "range", "head", "leaves")


def generated_site(root: Path, megabytes: int) -> Path:
    (root / "index.html").write_text("<!doctype html><title>load</title>", encoding="utf-8")
    (root / "big.onnx").write_bytes(os.urandom(megabytes * 2**20))
    return root


def biggest_files(site: Path, n: int = 8) -> list[Path]:
    return sorted((p for p in site.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size, reverse=True)[:n]


def one_request(port: int, kind: str, path: str, content: bytes, rng: random.Random) -> tuple[str, bool, float, int]:
    """(kind, ok, seconds, bytes received)."""
    start = time.perf_counter()
    if kind == "leaves":
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        got = sock.recv(4096)
        if rng.random() < 0.5:  # reset instead of close
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
        return kind, got.startswith(b"HTTP/1.0 200") or got.startswith(b"HTTP/1.1 200"), time.perf_counter() - start, len(got)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {}
        expected, status = content, 200
        if kind == "range":
            first = rng.randrange(len(content))
            last = min(len(content) - 1, first + rng.randrange(1, 2**20))
            headers["Range"] = f"bytes={first}-{last}"
            expected, status = content[first:last + 1], 206
        connection.request("HEAD" if kind == "head" else "GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if kind == "head":
            ok = response.status == 200 and body == b"" and int(response.getheader("Content-Length")) == len(content)
        else:
            ok = response.status == status and body == expected
        return kind, ok, time.perf_counter() - start, len(body)
    except OSError:
        return kind, False, time.perf_counter() - start, 0
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", type=Path, help="a built site (default: a generated one)")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--file-mb", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        site = args.site or generated_site(Path(tmp), args.file_mb)
        files = biggest_files(site)
        contents = {f"/{p.relative_to(site).as_posix()}": p.read_bytes() for p in files}
        server = subprocess.Popen([sys.executable, "-m", "tfvis_site", "serve", str(site), "--port", "0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            port = int(re.search(r":(\d+)/", server.stdout.readline()).group(1))
            rng = random.Random(args.seed)
            jobs = [(KINDS[i % len(KINDS)], rng.choice(list(contents))) for i in range(args.requests)]
            start = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                results = list(pool.map(lambda job: one_request(port, job[0], job[1], contents[job[1]], random.Random(hash(job))), jobs))
            wall = time.perf_counter() - start
            time.sleep(1.0)  # let the handlers of the readers that left notice it
        finally:
            server.terminate()
            _, stderr = server.communicate(timeout=20)

    by_kind: dict[str, list[tuple[bool, float, int]]] = defaultdict(list)
    for kind, ok, seconds, size in results:
        by_kind[kind].append((ok, seconds, size))
    table = Table(title=f"tfvis-site serve: {args.requests} requests, {args.concurrency} at a time, {len(contents)} files up to "
                        f"{max(map(len, contents.values())) / 2**20:.1f} MB ({wall:.1f} s wall)")
    for column in ("kind", "requests", "failures", "median s", "p95 s", "MB received"):
        table.add_column(column, justify="right" if column != "kind" else "left")
    failures = 0
    for kind in KINDS:
        rows = by_kind[kind]
        seconds = np.array([r[1] for r in rows])
        failed = sum(not r[0] for r in rows)
        failures += failed
        received = sum(r[2] for r in rows) / 2**20
        table.add_row(kind, str(len(rows)), str(failed), f"{np.median(seconds):.3f}", f"{np.percentile(seconds, 95):.3f}", f"{received:,.1f}")
    Console().print(table)
    lines = [line for line in stderr.splitlines() if line.strip()]
    print(f"server stderr: {len(lines)} lines" + "".join(f"\n  {line}" for line in lines[:10]))
    return 1 if failures or lines else 0


if __name__ == "__main__":
    sys.exit(main())
