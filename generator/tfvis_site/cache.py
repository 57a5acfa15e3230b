"""Content-hash keyed stage cache.

Each stage result lives in ``<cache_dir>/<stage>/<key>/``, where the key is a hash of everything
the result depends on. A result directory is written under a temporary name and renamed into
place only when complete, so an interrupted build never leaves a half-written entry.

Resumable stages (the sharded ones: extraction, factor inference) build in
``<stage>/.<key>.partial/`` instead, a name that does not change from run to run: a build killed
half-way (even with kill -9) leaves its finished shards there, and the next build with the same
key continues from them. A lock file keeps two builds from working in one partial folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def default_cache_dir() -> Path:
    env = os.environ.get("TFVIS_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "tfvis-site"


def stable_hash(obj: Any) -> str:
    """Hash of a JSON-serialisable object (keys sorted), 20 hex digits."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def file_fingerprint(path: Path) -> str:
    """sha256 of a file's bytes (or of a folder's file names + sizes + mtimes, which is cheap)."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                st = p.stat()
                h.update(f"{p.relative_to(path)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    else:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:20]


class StageCache:
    """``cache.get_or_build(stage, key_parts, build_fn)`` returns the directory holding the result."""

    def __init__(self, root: Path | None, enabled: bool = True):
        self.root = Path(root) if root is not None else default_cache_dir()
        self.enabled = enabled
        self.hits: dict[str, bool] = {}

    def path(self, stage: str, key_parts: Any) -> Path:
        return self.root / stage / stable_hash(key_parts)

    def get_or_build(self, stage: str, key_parts: Any, build: Callable[[Path], None], resumable: bool = False) -> Path:
        """The result folder of ``stage`` for ``key_parts``, built by ``build(folder)`` unless
        cached. ``resumable``: build in the key's fixed partial folder, kept when the build fails
        or is killed, so that a rerun finds what the killed one finished."""
        final = self.path(stage, key_parts)
        if self.enabled and (final / ".complete").exists():
            self.hits[stage] = True
            return final
        self.hits[stage] = False
        final.parent.mkdir(parents=True, exist_ok=True)
        if not resumable:
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
            try:
                self._complete(tmp, final, key_parts, build)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            return final
        with open(final.parent / f".{final.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another build of this key: wait for it, then reuse its result
            if self.enabled and (final / ".complete").exists():
                self.hits[stage] = True
                return final
            work = self.partial_path(stage, key_parts)
            if not self.enabled:
                shutil.rmtree(work, ignore_errors=True)
            work.mkdir(exist_ok=True)
            self._complete(work, final, key_parts, build)
        return final

    def partial_path(self, stage: str, key_parts: Any) -> Path:
        """Where a resumable stage builds (and keeps what it finished until it completes)."""
        final = self.path(stage, key_parts)
        return final.parent / f".{final.name}.partial"

    @staticmethod
    def _complete(work: Path, final: Path, key_parts: Any, build: Callable[[Path], None]) -> None:
        build(work)
        (work / "key.json").write_text(json.dumps(key_parts, sort_keys=True, indent=1, default=str))
        (work / ".complete").write_text("")
        if final.exists():
            shutil.rmtree(final)
        os.replace(work, final)


def converted_checkpoint(final: Path, convert: Callable[[Path], Any]) -> Path:
    """A converted model checkpoint folder (DINOv2 from ONNX, a GGUF file dequantised), made
    once: ``convert(tmp)`` writes into a temporary folder beside ``final``, renamed into place
    when complete, so an interrupted conversion never leaves a half-written checkpoint."""
    from .errors import UserError

    final = Path(final)
    if (final / "config.json").is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-partial-", dir=final.parent))
    try:
        convert(tmp)
        try:
            os.rename(tmp, final)
        except OSError:  # another process finished first: keep its folder
            if not (final / "config.json").is_file():
                raise UserError(f"{final} exists but holds no checkpoint: delete it and run again") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
