"""Handing the C heap's freed pages back to the system, between the steps of a build."""

from __future__ import annotations


def release_freed_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's malloc_trim). Large temporaries,
    once freed, otherwise stay in the process's resident set (glibc keeps them for reuse), and
    the next step's peak stacks on them: a stage's on the one before it (run/runner.py), the
    factor inference's on the SAE training (0.5 GB on SmolLM2). Nothing happens where the C
    library is not glibc."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
