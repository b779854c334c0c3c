"""Errors a user can act on. Each carries where the problem is and how to fix it."""

from __future__ import annotations

from pathlib import Path


class PublisherError(Exception):
    """Base class: an error the CLI prints as one clear line, without a traceback."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


class ConfigError(PublisherError):
    """publisher.toml or the environment holds a value that cannot be used."""


class ContentError(PublisherError):
    """A post cannot be read or parsed."""


class DeliveryError(PublisherError):
    """A message could not be handed to the mail transport."""


class DatabaseBusy(PublisherError):
    """Another process held the database's write lock for longer than the busy timeout: nothing was written."""

    def __init__(self, path: Path, timeout: float):
        super().__init__(f"the database {path} is busy: another publisher process (or another program) has held "
                         f"it for more than {timeout:g} s; try again when it has finished")


class Problems(PublisherError):
    """Several problems found in one pass, reported together (every one of them, then fail once)."""

    def __init__(self, problems: list[PublisherError]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
