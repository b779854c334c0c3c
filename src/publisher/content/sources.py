"""Post files before they are parsed: finding them, knowing each by a digest of its name and bytes, and telling
from a stat alone, where that is safe, that a file is the one the last build read.

This is the hot path of a rebuild with nothing changed (one stat per post file and nothing else), so it works on
plain strings and `os.scandir` entries and imports nothing heavy; `Path` objects are made only for the files that
are read.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ContentError, Problems

Signature = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
Signatures = Mapping[str, tuple[Signature, str]]  # shown name -> (stat signature, digest)
WHOLE_SECONDS_TICK = 2_000_000_000  # FAT keeps times to 2 s; other file systems without sub-second times to 1 s
# The kernel's coarse clock, which stamps file times (Python names it only from 3.13; 5 is its id on Linux)
COARSE_CLOCK = getattr(time, "CLOCK_REALTIME_COARSE", 5 if sys.platform.startswith("linux") else None)


@dataclass(frozen=True)
class Source:
    """A post file: its name as messages show it (relative to the site's folder when inside it), where it is, a
    digest of that name and its bytes, the bytes when they were read, and its stat signature."""
    name: str
    file: str
    digest: str | None  # None until read (see `read_sources`)
    raw: bytes | None = None
    signature: Signature | None = None

    @property
    def path(self) -> Path:
        """The name as a path, for messages and the post it becomes."""
        return Path(self.name)


def find_posts(posts_dir: Path | str) -> list[tuple[str, os.stat_result]]:
    """Every Markdown file under posts/ with its stat, sorted by path for a stable build."""
    found, folders = [], [str(posts_dir)]
    while folders:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir():
                folders.append(entry.path)
            elif entry.name.endswith(".md") and entry.is_file():
                found.append((entry.path, entry.stat()))
    found.sort(key=lambda item: item[0].split(os.sep))  # the order of the paths' parts, as Path objects sort
    return found


def scan_clock_ns() -> int:
    """Now, by the clock the kernel stamps file times with (its coarse clock, one tick behind at most), so that a
    file changed after this moment has a time no earlier than it."""
    if COARSE_CLOCK is None:  # elsewhere, allow the largest tick
        return time.time_ns() - WHOLE_SECONDS_TICK
    return time.clock_gettime_ns(COARSE_CLOCK)


def settled(signature: Signature, scanned_ns: int) -> bool:
    """Whether a file with this stat signature, seen by a scan that began at `scanned_ns`, had stopped changing
    before the scan began: only then does an unchanged signature prove unchanged bytes. A file changed within
    the same timestamp tick as the scan could change again in that tick without its size or times changing
    (git calls such an entry "racily clean"), so it is read again until a later scan sees it settled. The tick
    is the file system's: whole-second times mean a tick of up to 2 s."""
    changed = max(signature[1], signature[2])
    tick = WHOLE_SECONDS_TICK if changed % 1_000_000_000 == 0 else 1
    return changed + tick <= scanned_ns


def read_sources(posts_dir: Path, root: Path, known: Signatures | None = None, read: bool = True,
                 max_bytes: int | None = None, scanned_ns: int = 0) -> list[Source]:
    """Every post file with a digest of its name and bytes (what the build cache knows it by); a file larger
    than `max_bytes` is refused by its size before anything is read (a huge file would take minutes and
    gigabytes to parse), every such file at once.

    A file whose signature (size, times, inode) is the one in `known`, remembered by a scan that began at
    `scanned_ns`, is not read again if it had settled before that scan (see `settled`), as make and git
    decide. With `read` False the other files are not read here either: `parse_sources` reads them, and works
    out their digests, on every core. Whoever remembers the signatures returned remembers with them the
    `scan_clock_ns()` taken before this call.
    """
    known = known or {}
    found = find_posts(posts_dir)
    if max_bytes is not None:
        _refuse_too_big(found, root, max_bytes)
    prefix = str(root) + os.sep
    sources = []
    for file, st in found:
        name = file[len(prefix):] if file.startswith(prefix) else file
        signature = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        remembered = known.get(name)
        if remembered and remembered[0] == signature and settled(signature, scanned_ns):
            sources.append(Source(name, file, remembered[1], signature=signature))
        elif read:
            with open(file, "rb") as f:
                raw = f.read()
            sources.append(Source(name, file, source_digest(name, raw), raw, signature))
        else:
            sources.append(Source(name, file, None, signature=signature))
    return sources


def _refuse_too_big(found: list[tuple[str, os.stat_result]], root: Path, max_bytes: int) -> None:
    """Every post file over the size limit, refused together, by its size."""
    errors = [ContentError(f"{st.st_size:,} bytes is more than a post may be ({max_bytes:,}); split it into "
                           f"several posts, or raise max_post_bytes under [content] in publisher.toml",
                           display_path(Path(file), root))
              for file, st in found if st.st_size > max_bytes]
    if errors:
        raise Problems(errors)


def source_digest(name: str, raw: bytes) -> str:
    return hashlib.blake2b(name.encode() + b"\0" + raw, digest_size=16).hexdigest()


def display_path(path: Path, root: Path) -> Path:
    """A path as messages show it: relative to the site's folder when inside it."""
    try:
        return path.relative_to(root)
    except ValueError:
        return path
