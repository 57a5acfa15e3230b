"""``tfvis-site serve``: a static file server on localhost for a built site (its root: the gallery
and every model; ``--model SLUG`` prints that model's address).

Threaded, with HEAD and single-range ``Range`` requests (a browser seeking in the 30 MB live-probe
model, or a reader of Parquet row groups, asks for byte ranges) and the MIME types a site's files
need. A reader that leaves while a file streams is normal on a file server: it costs no traceback.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import sys
from pathlib import Path
from typing import BinaryIO

from ..errors import UserError
from .layout import MODELS, pick_model

#: A client that goes away mid-response (a closed tab, a cancelled fetch, a dropped connection).
DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def serve(site_dir: Path, host: str = "127.0.0.1", port: int = 8000, model: str | None = None) -> int:
    server = make_server(site_dir, host, port)
    with server:
        page = f"{MODELS}/{pick_model(Path(site_dir), model)}/index.html" if model is not None else ""
        print(f"Serving {site_dir.resolve()} at http://{host}:{server.server_address[1]}/{page}  (Ctrl+C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopped", flush=True)
    return 0


def make_server(site_dir: Path, host: str = "127.0.0.1", port: int = 8000) -> SiteServer:
    """A server for ``site_dir`` bound to ``host:port`` (0: a free port), not yet serving."""
    site_dir = Path(site_dir)
    if not (site_dir / "index.html").is_file():
        raise UserError(f"{site_dir}: not a built site (no index.html); run tfvis-site build first")
    handler = functools.partial(SiteHandler, directory=str(site_dir))
    try:
        return SiteServer((host, port), handler)
    except OSError as e:
        raise UserError(f"{host}:{port}: cannot listen ({e.strerror})") from None


class SiteServer(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a reader that never finishes does not keep Ctrl+C from stopping the server

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 (socketserver's signature)
        """A disconnect is silent; anything else is one line on stderr, never a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, DISCONNECTS):
            return
        print(f"tfvis-site serve: {client_address[0]}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".json": "application/json",
        ".wasm": "application/wasm",  # browsers compile streamed WebAssembly only with this type
        ".onnx": "application/octet-stream",
        ".parquet": "application/vnd.apache.parquet",
        ".f32": "application/octet-stream",
        ".u16": "application/octet-stream",
        ".bin": "application/octet-stream",
    }
    timeout = 60  # seconds a silent client may hold its thread

    def send_head(self) -> BinaryIO | None:
        """As SimpleHTTPRequestHandler, plus ``Range: bytes=a-b`` on files: 206 with that slice,
        416 when it lies past the end. A malformed or multi-range header is ignored (the whole
        file, 200), as RFC 9110 allows."""
        self._remaining: int | None = None
        path = self.translate_path(self.path)
        wanted = self.headers.get("Range")
        if not wanted or not os.path.isfile(path) or self.path.endswith("/"):
            return super().send_head()
        size = os.path.getsize(path)
        span = parse_range(wanted, size)
        if span is None:
            return super().send_head()
        if span == (-1, -1):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        start, end = span
        file = open(path, "rb")
        try:
            file.seek(start)
            self.send_response(206)
            self.send_header("Content-Type", self.guess_type(path))
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Last-Modified", self.date_time_string(int(os.path.getmtime(path))))
            self.end_headers()
        except BaseException:
            file.close()
            raise
        self._remaining = end - start + 1
        return file

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def copyfile(self, source: BinaryIO, outputfile: BinaryIO) -> None:
        if self._remaining is None:
            shutil.copyfileobj(source, outputfile, 1 << 16)
            return
        left = self._remaining
        while left > 0:
            chunk = source.read(min(left, 1 << 16))
            if not chunk:
                break
            outputfile.write(chunk)
            left -= len(chunk)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except DISCONNECTS:
            self.close_connection = True  # the reader left: nothing to answer, nothing to report

    def log_message(self, format: str, *args) -> None:  # one line per request is noise here
        pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` -> (first, last) byte, inclusive; (-1, -1) when
    unsatisfiable (past the end of a ``size``-byte file); None when malformed or multi-range."""
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last n bytes
        n = int(last)
        return (max(size - n, 0), size - 1) if n > 0 and size > 0 else (-1, -1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None
    if start >= size:
        return (-1, -1)
    return start, end
