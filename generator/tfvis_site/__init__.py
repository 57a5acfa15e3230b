"""tfvis-site: a static-site generator that opens up transformer models."""

__version__ = "0.1.0"
