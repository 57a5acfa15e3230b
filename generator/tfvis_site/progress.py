"""Progress reporting shared by every stage.

Stages take a ``Reporter`` and never import rich themselves, so tests can pass ``Reporter.silent()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


class Task(Protocol):
    def advance(self, n: int = 1) -> None: ...


class _NullTask:
    def advance(self, n: int = 1) -> None:
        pass


@dataclass
class Reporter:
    """Wraps a rich Progress (or nothing). ``task()`` is a context manager yielding a Task."""

    progress: object | None = None
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def silent(cls) -> "Reporter":
        return cls(None)

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        if self.progress is None:
            yield _NullTask()
            return
        task_id = self.progress.add_task(description, total=total)

        class _RichTask:
            def advance(_self, n: int = 1) -> None:
                self.progress.advance(task_id, n)

        try:
            yield _RichTask()
        finally:
            self.progress.update(task_id, completed=total if total is not None else 1, total=total or 1)

    def log(self, message: str) -> None:
        """A one-line status message (e.g. 'extract: reused cache')."""
        self.messages.append(message)
        if self.progress is not None:
            self.progress.console.print(message)

    def warn(self, message: str) -> None:
        """Something the build worked around and the user should know (a stage left out after a
        failure): logged like a message and kept in ``warnings``, which the command line prints
        after a build without progress bars (--quiet) too."""
        self.warnings.append(message)
        self.log(f"warning: {message}")
