"""Writing a build to disk atomically: everything goes to a temporary folder that then replaces the old one.

A build that fails before the swap leaves the previous output exactly as it was.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def write_site(files: dict[str, bytes], out_dir: Path, static_dirs: tuple[Path, ...] = ()) -> int:
    """Write `files` (and copies of `static_dirs`) as the new `out_dir`; returns the number of files."""
    out_dir = out_dir.resolve()
    staging = out_dir.with_name(f".{out_dir.name}.new")
    retired = out_dir.with_name(f".{out_dir.name}.old")
    for leftover in (staging, retired):
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir(parents=True)
    copied = sum(_copy_tree(src, staging) for src in static_dirs if src.is_dir())
    for relative, data in files.items():
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    _swap(staging, out_dir, retired)
    return copied + len(files)


def _copy_tree(src: Path, dest: Path) -> int:
    shutil.copytree(src, dest, dirs_exist_ok=True)
    return sum(1 for p in src.rglob("*") if p.is_file())


def _swap(staging: Path, out_dir: Path, retired: Path) -> None:
    if out_dir.exists():
        os.rename(out_dir, retired)
    os.rename(staging, out_dir)
    shutil.rmtree(retired, ignore_errors=True)
