"""``tfvis-site serve`` as a browser uses it: MIME types, HEAD, byte ranges, and readers that leave
mid-file without a traceback on the server's stderr.

The server runs as the real command in a subprocess (its stderr is what a user sees); the
expected bytes are read from the files on disk, never from the server.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tfvis_site.site.serve import parse_range

SIZE = 3 * 2**20 + 17  # bigger than the kernel's socket buffers: a reader that leaves interrupts the copy


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(site folder, port, server process) of a small site: an index and files of every kind."""
    site = tmp_path_factory.mktemp("served")
    (site / "index.html").write_text("<!doctype html><title>t</title>", encoding="utf-8")
    data = site / "models" / "m" / "data"
    data.mkdir(parents=True)
    payload = os.urandom(SIZE)
    for name in ("model.onnx", "tokens.parquet", "runtime.wasm", "points.f32"):
        (data / name).write_bytes(payload)
    (data / "manifest.json").write_text("{}", encoding="utf-8")
    (data / "manifest.json.js").write_text("window.x=1;", encoding="utf-8")
    server = subprocess.Popen([sys.executable, "-m", "tfvis_site", "serve", str(site), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line).group(1))
    yield site, port, server
    server.terminate()
    server.wait(timeout=10)


def request(port: int, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(("name", "mime"), [
    ("model.onnx", "application/octet-stream"),
    ("tokens.parquet", "application/vnd.apache.parquet"),
    ("runtime.wasm", "application/wasm"),
    ("manifest.json", "application/json"),
    ("manifest.json.js", "text/javascript"),
])
def test_mime_types(served, name, mime):
    site, port, _ = served
    status, headers, body = request(port, "GET", f"/models/m/data/{name}")
    assert status == 200
    assert headers["content-type"] == mime
    assert body == (site / "models/m/data" / name).read_bytes()
    assert headers["accept-ranges"] == "bytes"


def test_head_sends_headers_only(served):
    site, port, _ = served
    status, headers, body = request(port, "HEAD", "/models/m/data/model.onnx")
    assert (status, body) == (200, b"")
    assert int(headers["content-length"]) == SIZE


@pytest.mark.parametrize(("header", "first", "last"), [
    ("bytes=0-99", 0, 99),
    ("bytes=1000-", 1000, SIZE - 1),
    ("bytes=-4096", SIZE - 4096, SIZE - 1),
    (f"bytes=5-{SIZE + 1000}", 5, SIZE - 1),  # a last byte past the end is cut to the end
])
def test_range_requests(served, header, first, last):
    site, port, _ = served
    expected = (site / "models/m/data/model.onnx").read_bytes()[first:last + 1]
    status, headers, body = request(port, "GET", "/models/m/data/model.onnx", {"Range": header})
    assert status == 206
    assert headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert int(headers["content-length"]) == len(expected)
    assert body == expected


def test_unsatisfiable_and_malformed_ranges(served):
    site, port, _ = served
    status, headers, body = request(port, "GET", "/models/m/data/model.onnx", {"Range": f"bytes={SIZE}-"})
    assert status == 416 and headers["content-range"] == f"bytes */{SIZE}" and body == b""
    for ignored in ("bytes=0-1,5-9", "lines=1-2", "bytes=9-3"):  # served whole, as RFC 9110 allows
        status, _, body = request(port, "GET", "/models/m/data/model.onnx", {"Range": ignored})
        assert status == 200 and len(body) == SIZE


def test_parse_range_edges():
    assert parse_range("bytes=0-0", 10) == (0, 0)
    assert parse_range("bytes=-20", 10) == (0, 9)  # more than the file: the whole file
    assert parse_range("bytes=-0", 10) == (-1, -1)
    assert parse_range("bytes=0-", 0) == (-1, -1)
    assert parse_range("bytes=-", 10) is None


def test_readers_that_leave_cost_no_traceback(served):
    """Clients that close (or reset) the connection mid-file: the server keeps serving and its
    stderr stays empty."""
    site, port, server = served
    for i in range(20):
        sock = socket.create_connection(("127.0.0.1", port))
        range_header = "Range: bytes=100-\r\n" if i % 2 else ""
        sock.sendall(f"GET /models/m/data/model.onnx HTTP/1.1\r\nHost: x\r\n{range_header}\r\n".encode())
        sock.recv(1024)  # the response has started
        if i % 3 == 0:  # a reset (RST) rather than a close (FIN)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    status, _, body = request(port, "GET", "/models/m/data/tokens.parquet")
    assert status == 200 and body == (site / "models/m/data/tokens.parquet").read_bytes()
    time.sleep(0.5)  # the handler threads notice the closed sockets
    server.terminate()
    _, stderr = server.communicate(timeout=10)
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
