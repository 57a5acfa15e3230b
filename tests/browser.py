"""Shared helpers for browser tests: Debian chromium driven by Playwright for Python.

Usage::

    from playwright.sync_api import sync_playwright
    from browser import launch_browser, serve_dir, console_errors, CHROMIUM

    pytestmark = [pytest.mark.browser, skip_without_chromium]

    with sync_playwright() as p, serve_dir(site_dir) as base_url:
        browser = launch_browser(p)          # fresh temporary profile every launch
        page = browser.new_page()
        errors = console_errors(page)        # list that fills up with console errors
        page.goto(base_url + "index.html")   # or (site_dir / "index.html").as_uri()
        ...
        assert errors == []
        browser.close()

Never run ``playwright install``: we use the system chromium (``apt-get install -y chromium``).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from typing import Iterator

import pytest

#: The system browser (Debian package "chromium"); override with $TFVIS_CHROMIUM.
CHROMIUM = os.environ.get("TFVIS_CHROMIUM", "/usr/bin/chromium")

#: Flags that work here as root, with software WebGL (SwiftShader through ANGLE).
#: Note: --use-gl=swiftshader would disable WebGL; use --use-angle=swiftshader.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


def _playwright_importable() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


#: Put on browser tests next to @pytest.mark.browser: skips with a clear reason, unless
#: TFVIS_REQUIRE_BROWSER=1 (CI), where a missing browser must fail rather than skip.
skip_without_chromium = pytest.mark.skipif(
    (not chromium_available() or not _playwright_importable()) and os.environ.get("TFVIS_REQUIRE_BROWSER") != "1",
    reason=(
        f"browser test needs {CHROMIUM} (apt-get install -y chromium) and the Python "
        "package playwright (pip install playwright; never `playwright install`)"
    ),
)


def launch_browser(playwright, *, headless: bool = True, extra_args: list[str] | None = None):
    """Launch the system chromium with our flags; returns a playwright ``Browser``.

    Playwright gives every plain launch a fresh temporary ``--user-data-dir`` and deletes it on
    ``browser.close()``, so no state leaks between tests. Close the browser when done.
    """
    if not chromium_available():
        if os.environ.get("TFVIS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} not found and TFVIS_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} not found (apt-get install -y chromium)")
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=headless,
        args=CHROMIUM_ARGS + list(extra_args or []),
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        pass

    def end_headers(self):
        # Always revalidate: tests rewrite files between runs.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@contextlib.contextmanager
def serve_dir(path: str | os.PathLike) -> Iterator[str]:
    """Serve ``path`` over HTTP on 127.0.0.1 (free port) in a thread; yields the base URL
    ending in "/", e.g. ``http://127.0.0.1:43125/``. Stops the server on exit."""
    handler = functools.partial(_QuietHandler, directory=os.fspath(path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="serve_dir", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def site_base(site: str | os.PathLike, how: str) -> Iterator[str]:
    """The URL (ending in "/") of a built site's root, the gallery's folder: ``how`` = "file"
    (file://) or "http" (the folder served by ``serve_dir``)."""
    site = Path(site)
    with serve_dir(site) if how == "http" else contextlib.nullcontext(site.as_uri() + "/") as base:
        yield base


@contextlib.contextmanager
def model_base(site: str | os.PathLike, how: str, slug: str | None = None) -> Iterator[str]:
    """The URL (ending in "/") of a model's folder in a built site (its pages: base +
    "factors.html"); ``slug`` None = the site's only model. Over http the site root is served,
    so the shared assets two folders up load too."""
    from tfvis_site.site.layout import MODELS, pick_model

    slug = pick_model(Path(site), slug)
    with site_base(site, how) as base:
        yield f"{base}{MODELS}/{slug}/"


def console_errors(page, ignore=None) -> list[str]:
    """Start collecting console errors and uncaught exceptions of ``page``.

    Returns a list that fills up as the page runs; assert it is empty at the end.
    ``ignore(text, url) -> bool`` can drop expected errors (e.g. a deliberate 404).
    """
    errors: list[str] = []

    def on_console(msg):
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        if ignore and ignore(msg.text, url):
            return
        errors.append(f"console.error: {msg.text} ({url})")

    def on_pageerror(exc):
        errors.append(f"uncaught: {exc}")

    page.on("console", on_console)
    page.on("pageerror", on_pageerror)
    return errors


LOCAL_PREFIXES = ("file://", "http://127.0.0.1", "data:", "blob:", "about:")


def block_external_requests(page) -> list[str]:
    """Abort and record every request that leaves this machine (the site must work offline)."""
    external: list[str] = []

    def check(route):
        url = route.request.url
        if url.startswith(LOCAL_PREFIXES):
            route.continue_()
        else:
            external.append(url)
            route.abort()

    page.route("**/*", check)
    return external
