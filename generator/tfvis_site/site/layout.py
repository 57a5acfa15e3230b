"""The built site's layout (docs/architecture.md), one place for every module that finds things in it:

    site/index.html                 the gallery: every model side by side
    site/assets/                    CSS, JS and vendored bundles, once for all models
    site/models/<slug>/*.html       one model's pages
    site/models/<slug>/data/        its manifest.json and data files (each once, as its .js twin)

A single-model site has the same layout, with one model.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError

MODELS = "models"
MANIFEST = "data/manifest.json"
#: From a model's pages to the site root (assets/, the gallery).
MODEL_TO_SITE = "../../"


def model_dir(site_dir: Path, slug: str) -> Path:
    return Path(site_dir) / MODELS / slug


def site_models(site_dir: Path) -> list[str]:
    """Slugs of the models a built site holds (sorted)."""
    folder = Path(site_dir) / MODELS
    return sorted(p.parent.parent.name for p in folder.glob(f"*/{MANIFEST}")) if folder.is_dir() else []


def is_site(folder: Path) -> bool:
    """A tfvis site: this layout, or the one-folder layout of versions before the gallery."""
    return bool(site_models(folder)) or (Path(folder) / MANIFEST).is_file()


def pick_model(site_dir: Path, slug: str | None) -> str:
    """The slug of the model ``--model SLUG`` names, or of the site's only model; UserError when
    the site holds no model, several and none was named, or not the one named."""
    slugs = site_models(site_dir)
    if not slugs:
        raise UserError(f"{site_dir}: not a built site (no {MODELS}/<slug>/{MANIFEST}); run tfvis-site build first")
    if slug is None:
        if len(slugs) > 1:
            raise UserError(f"{site_dir}: the site holds {len(slugs)} models ({', '.join(slugs)}); pick one with --model SLUG")
        return slugs[0]
    if slug not in slugs:
        raise UserError(f"--model {slug}: {site_dir} holds no such model (its models: {', '.join(slugs)})")
    return slug
