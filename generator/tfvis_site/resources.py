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


def package_data_dir(module: str, distribution: str, role: str, alternative: str) -> Path:
    """Folder of an installed package that ships data (default model, default corpus), found
    without importing it (importing some such packages drags in heavy dependencies)."""
    import importlib.util

    from .errors import UserError

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"{role} package {distribution!r} is not installed (pip install {distribution}), or pass {alternative}")
    return Path(spec.submodule_search_locations[0])
