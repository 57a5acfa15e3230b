"""The version of tfvis-site, in one module that imports nothing (the pages and the manifest print it)."""

__version__ = "0.1.0"
