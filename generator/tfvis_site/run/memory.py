"""The memory budget (``--memory-budget 4G``; TOML ``memory_budget = "4G"``) and the sizes it sets.

The budget sizes only what never changes the result, so a site does not depend on the machine
it was built on (the default budget is a fraction of this machine's memory):
- how many rows a store read copies at once (``ActivationStore.take`` windows, chunked reads),
- how many tokens one factor-inference shard covers (a partial result each; resume granularity).
Sizes that change the result (forward-pass batch, SAE training sample, store shard size) are
options of their own; ``check`` compares them with the budget before any work and stops with a
one-line error naming the option to lower.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..errors import UserError

#: The default budget: this share of the machine's memory.
DEFAULT_FRACTION = 0.25
MAX_SIZE = 1 << 60  # bytes: 1048576T
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(text: str | int, where: str = "--memory-budget") -> int:
    """Bytes of "4G", "512M", "1.5GiB", "4gb" or a plain byte count (powers of 1024)."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        match = _SIZE.match(str(text))
        if not match:
            raise UserError(f"{where}: {text!r} is not a size (e.g. 4G, 512M, 1.5G)")
        value = float(match.group(1)) * _UNITS[match.group(2).upper()]  # inf for 400 digits
    if value < 64 << 10:
        raise UserError(f"{where}: {text!r} is too small (at least 64K)")
    if value > MAX_SIZE:  # no machine has it; the sizes computed from it must stay int64
        raise UserError(f"{where}: {text!r} is too large (at most 1048576T)")
    return int(value)


def total_memory() -> int:
    """Bytes of physical memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def format_size(n: int) -> str:
    for unit in ("T", "G", "M", "K"):
        if n >= _UNITS[unit]:
            return f"{n / _UNITS[unit]:.1f}{unit}"
    return f"{n}B"


@dataclass(frozen=True)
class MemoryBudget:
    """``budget``: bytes this build may hold. Sizes derived from it (see the module docstring)."""

    budget: int

    @classmethod
    def from_option(cls, text: str | int | None) -> "MemoryBudget":
        """The budget of ``--memory-budget`` ("" or None: DEFAULT_FRACTION of this machine's memory)."""
        if text in (None, ""):
            return cls(int(total_memory() * DEFAULT_FRACTION))
        return cls(parse_size(text))

    def read_rows(self, row_bytes: int) -> int:
        """Rows one store read copies at once: 1/32 of the budget (float32 rows of ``row_bytes``)."""
        return max(256, self.budget // 32 // max(row_bytes, 1))

    def inference_shard_tokens(self, n_layers: int, d_model: int) -> int:
        """Tokens per factor-inference shard: those whose hidden states at every layer (float32)
        take 1/8 of the budget. A shard reads one batch at a time; its partial result has a size
        fixed by the dictionary (factors x layers x top-k), not by its tokens."""
        return max(1, self.budget // 8 // (n_layers * d_model * 4))

    def check(self, what: dict[str, int], option: dict[str, str]) -> None:
        """Stop with a one-line error when one of ``what`` (name -> bytes it will hold) takes
        more than half the budget; ``option`` names the option that lowers it."""
        for name, size in what.items():
            if size > self.budget // 2:
                raise UserError(
                    f"--memory-budget {format_size(self.budget)}: {name} alone needs {format_size(size)}; "
                    f"lower {option[name]} or raise the budget"
                )

