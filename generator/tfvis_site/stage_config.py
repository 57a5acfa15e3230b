"""The one base of every stage's settings (FactorConfig, LimeConfig, AttentionConfig, CircuitsConfig,
ExplanationConfig): a frozen dataclass that can be copied with changes (``replace``), written out
(``to_dict``) and hashed into the stage's cache key (``cache_key``). docs/architecture.md, "The stage list"."""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
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

    def require_at_least(self, minimum: float, names: tuple[str, ...], prefix: str = "") -> None:
        """ValueError naming the first of the fields ``names`` below ``minimum`` (the option's
        name is ``prefix`` + field): the bound check every stage's ``__post_init__`` makes."""
        for name in names:
            if getattr(self, name) < minimum:
                raise ValueError(f"{prefix}{name} must be at least {minimum}, got {getattr(self, name)}")


_KINDS = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}


def check_types(cls: type, table: dict[str, Any]) -> None:
    """ValueError when a value of a config file's table for ``cls`` (a StageConfig, or a
    dataclass inside one) does not have its field's type: an integer where an int is declared
    (not a bool), a finite number for a float, a list for a tuple, a table for a dataclass. The
    checks of ``__post_init__`` compare numbers and would otherwise pass a string on, or fail
    with TypeError's words. Unknown keys are the constructor's to refuse."""
    hints = typing.get_type_hints(cls)
    for name, value in table.items():
        if name in hints and not _fits(hints[name], value):
            raise ValueError(f"{name!r} must be {_describe(hints[name])}, got {value!r}")
        if name in hints and dataclasses.is_dataclass(hints[name]) and isinstance(value, dict):
            check_types(hints[name], value)


def _fits(hint: Any, value: Any) -> bool:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_fits(a, value) for a in args)
    if typing.get_origin(hint) is tuple:
        return isinstance(value, (list, tuple)) and all(_fits(args[0], v) for v in value)
    if dataclasses.is_dataclass(hint):
        return isinstance(value, (dict, hint))
    if hint is float:  # numbers.Real and Integral: numpy's scalars too (the Python API)
        return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    return value is None if hint is type(None) else isinstance(value, hint)


def _describe(hint: Any) -> str:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if typing.get_origin(hint) is tuple:
        return f"a list ({_describe(args[0])} each)"
    return _KINDS.get(hint, "a table" if dataclasses.is_dataclass(hint) else getattr(hint, "__name__", str(hint)))
