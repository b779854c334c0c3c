"""One sender (`send` or `publish`) at a time per site: an exclusive lock on a file beside the database.

The operating system drops the lock when the process ends, however it ends, so a crash never leaves a
stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import Busy


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold the lock on `path` for the duration of the block; raise Busy at once if another process has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"another publisher process is sending for this site (it holds {path})") from None
        yield
    finally:
        os.close(fd)
