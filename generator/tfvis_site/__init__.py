"""tfvis-site: a static-site generator that opens up transformer models."""

from .version import __version__

__all__ = ["__version__", "build"]


def build(*args, **kwargs):
    """Build a site from Python: see tfvis_site.api.build (same options as ``tfvis-site build``,
    plus in-memory models, tokenizers and lists of texts or images)."""
    from .api import build as _build

    return _build(*args, **kwargs)
