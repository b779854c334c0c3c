"""A folder nobody can write into for the length of a block, root included (an immutable folder for root, who
ignores permissions), for tests of what happens when a file cannot be written."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """No file can be created, replaced or removed in `folder` until the block ends."""
    mode = folder.stat().st_mode
    immutable = os.geteuid() == 0
    if immutable:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        _check_read_only(folder)
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(mode)


def _check_read_only(folder: Path) -> None:
    """Fail the test, rather than pass it for the wrong reason, if the folder can still be written."""
    try:
        (folder / ".probe").touch()
    except OSError:
        return
    (folder / ".probe").unlink()
    raise AssertionError(f"{folder} could not be made read-only here")
