"""The one base of every stage's settings (FactorConfig, LimeConfig, AttentionConfig, CircuitsConfig,
ExplanationConfig): a frozen dataclass that can be copied with changes (``replace``), written out
(``to_dict``) and hashed into the stage's cache key (``cache_key``). docs/architecture.md, "The stage list"."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

C = TypeVar("C", bound="StageConfig")


@dataclass(frozen=True)
class StageConfig:
    """Base of the stage settings. ``RUNTIME_ONLY``: fields that change how fast a stage runs,
    never what it writes (left out of the cache key); ``KEY_EXTRA``: entries the key adds (a
    result version)."""

    RUNTIME_ONLY: ClassVar[tuple[str, ...]] = ()
    KEY_EXTRA: ClassVar[dict[str, Any]] = {}

    def replace(self: C, **changes: Any) -> C:
        """A copy with ``changes`` (checked again by ``__post_init__``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every field, as JSON-ready values (written into the stage's folder and the manifest)."""
        return dataclasses.asdict(self)

    def cache_key(self) -> dict[str, Any]:
        """What of the settings can change the stage's result: its part of the cache key."""
        return {**{k: v for k, v in self.to_dict().items() if k not in self.RUNTIME_ONLY}, **self.KEY_EXTRA}
