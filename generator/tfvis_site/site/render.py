"""Jinja environment and one function per page kind. Pages are static HTML; data comes from data/.

Paths in templates: ``root`` leads from a page to the site root (assets/, the gallery),
``model_root`` to its model's folder (the model's pages and data/; body[data-root] for the JS).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from ..version import __version__
from ..resources import resource_dir

# What of assets/vendor ships with a site: the bundles and their licenses, not the build inputs.
_VENDOR_SHIPPED = ("*.min.js", "licenses", "README.md")


def environment(nav: list[tuple[str, str]] | None = None, to_site: str = "", switcher: Callable[..., list[dict[str, Any]]] | None = None,
                n_models: int = 1) -> jinja2.Environment:
    """``nav``: (page file, label) pairs of the model's top navigation; ``to_site``: from the
    folder the pages are written to up to the site root ("../../" for models/<slug>/);
    ``switcher(page, root)``: the model switcher's links of a page (pages/switcher.py)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource_dir("templates")),
        autoescape=True,  # corpus text is untrusted: escape everything, always
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    env.filters["si"] = _si
    env.filters["bytes"] = _bytes
    env.globals["tool_version"] = __version__
    env.globals["nav"] = list(nav or [])
    env.globals["to_site"] = to_site
    env.globals["switch_links"] = switcher or (lambda page, root: [])
    env.globals["n_models"] = n_models
    return env


def _si(n: float) -> str:
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f}{unit}"
    return str(int(n))


def _bytes(n: float) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def copy_assets(site_dir: Path) -> None:
    """assets/css, assets/js and the shipped part of assets/vendor -> site/assets/."""
    src = resource_dir("assets")
    dst = Path(site_dir) / "assets"
    for sub in ("css", "js"):
        if (src / sub).is_dir():
            shutil.copytree(src / sub, dst / sub)
    vendor = src / "vendor"
    (dst / "vendor").mkdir(parents=True, exist_ok=True)
    for pattern in _VENDOR_SHIPPED:
        for item in sorted(vendor.glob(pattern)):
            target = dst / "vendor" / item.name
            shutil.copytree(item, target) if item.is_dir() else shutil.copy2(item, target)


def render_page(env: jinja2.Environment, site_dir: Path, template: str, out_name: str, **context: Any) -> None:
    """Render ``template`` to ``site_dir/out_name`` (``site_dir``: the folder of the environment's
    pages, a model's folder or the site root)."""
    model_root = "../" * out_name.count("/")
    html = env.get_template(template).render(root=model_root + env.globals["to_site"], model_root=model_root, page=out_name, **context)
    path = Path(site_dir) / out_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
