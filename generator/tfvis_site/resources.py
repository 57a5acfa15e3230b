"""Where templates/ and assets/ live: inside the installed wheel, or at the top of a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent  # generator/tfvis_site -> repository root


def resource_dir(name: str) -> Path:
    """``name`` is "templates" or "assets"."""
    for candidate in (_PACKAGE / name, _CHECKOUT / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"tfvis-site installation is incomplete: no {name}/ folder found")
