"""``tfvis-site serve``: a static file server on localhost for a built site (its root: the gallery
and every model; ``--model SLUG`` prints that model's address)."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

from .errors import UserError
from .layout import MODELS, pick_model


def serve(site_dir: Path, host: str = "127.0.0.1", port: int = 8000, model: str | None = None) -> int:
    site_dir = Path(site_dir)
    if not (site_dir / "index.html").is_file():
        raise UserError(f"{site_dir}: not a built site (no index.html); run tfvis-site build first")
    page = f"{MODELS}/{pick_model(site_dir, model)}/index.html" if model is not None else ""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise UserError(f"{host}:{port}: cannot listen ({e.strerror})") from None
    with server:
        print(f"Serving {site_dir.resolve()} at http://{host}:{server.server_address[1]}/{page}  (Ctrl+C to stop)", flush=True)
        server.serve_forever()
    return 0


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript", ".parquet": "application/octet-stream", ".f32": "application/octet-stream"}

    def log_message(self, format: str, *args) -> None:  # one line per request is noise here
        pass
