"""Writing a build to disk: only the files that changed, each replaced atomically, nothing stale left behind.

Everything is rendered in memory before the first byte is written, so a build that fails (a bad post, a
template error) leaves the previous output exactly as it was. Then each new or changed file is written (a file
that already exists is written beside it and renamed over it, so a reader never sees half a file), files the
site no longer has are removed, and files whose bytes are the same are not touched at all: their modification
times stay put, so a deploy tool that syncs by time uploads only what really changed.

The `Record` of each file (its job key, size and mtime as written) is what lets the next build skip rendering
it; without records (the first build, or --clean) every rendered file is compared with what is on disk.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .cache import Record

STATIC_KEY = "static"


@dataclass(frozen=True)
class Written:
    records: dict[str, Record]  # every file of the site as it is now on disk
    written: int  # files written (new or changed) in this build
    removed: int


def unchanged(out_dir: Path, records: Mapping[str, Record], keys: Mapping[str, str]) -> set[str]:
    """The paths whose job key is the one they were last written with, and whose file is still as written."""
    kept, folder = set(), str(out_dir)
    for path, key in keys.items():
        record = records.get(path)
        if record is None or record.key != key:
            continue
        try:
            st = os.stat(f"{folder}/{path}")
        except OSError:
            continue
        if st.st_size == record.size and st.st_mtime_ns == record.mtime_ns:
            kept.add(path)
    return kept


def write_site(files: Mapping[str, bytes], out_dir: Path, keys: Mapping[str, str],
               records: Mapping[str, Record] | None = None, static_dirs: tuple[Path, ...] = ()) -> Written:
    """Bring `out_dir` up to date: `files` (the rendered ones) written where changed, static files copied where
    changed, and anything that is neither a job in `keys` nor a static file removed. `records` are those of the
    last build into this folder (None when unknown: then the folder is searched for stale files)."""
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    new: dict[str, Record] = {path: records[path] for path in keys.keys() - files.keys()} if records else {}
    written = 0
    for path, data in files.items():
        target = out_dir / path
        if _write_if_changed(target, data):
            written += 1
        new[path] = _record(target, keys[path])
    for static in static_dirs:
        written += _copy_static(static, out_dir, keys, new)
    on_disk = records.keys() if records is not None else _all_files(out_dir)
    removed = _remove(out_dir, [p for p in on_disk if p not in new])
    return Written(records=new, written=written, removed=removed)


def write_new_site(out_dir: Path, write_all: Callable[[Path], dict[str, Record]],
                   keys: Mapping[str, str], static_dirs: tuple[Path, ...] = ()) -> Written:
    """Make `out_dir`, which does not exist yet, all at once: `write_all(folder)` fills a staging folder (with
    `write_new`, from as many processes as it likes), static files join it, and it is renamed into place. If
    anything fails, the staging folder is removed and there is still no `out_dir`."""
    out_dir = out_dir.resolve()
    staging = out_dir.with_name(f".{out_dir.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        records = write_all(staging)
        copied = sum(_copy_static(static, staging, keys, records) for static in static_dirs)
        os.rename(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Written(records=records, written=len(keys) + copied, removed=0)


def write_new(folder: Path, path: str, data: bytes, key: str) -> Record:
    """Write one file of a new site into `folder` (see `write_new_site`)."""
    target = f"{folder}/{path}"
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        st = os.fstat(fd)
    return Record(key, st.st_size, st.st_mtime_ns)


def _write_if_changed(target: Path, data: bytes) -> bool:
    """Write `data` to `target` unless it already holds exactly that; True when written."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return _replace_if_changed(target, data)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return True


def _replace_if_changed(target: Path, data: bytes) -> bool:
    if target.stat().st_size == len(data) and target.read_bytes() == data:
        return False
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)
    return True


def _record(target: Path, key: str) -> Record:
    st = target.stat()
    return Record(key, st.st_size, st.st_mtime_ns)


def _copy_static(static: Path, out_dir: Path, keys: Mapping[str, str], records: dict[str, Record]) -> int:
    """Copy the files of a static folder that are missing or differ (by size and time); rendered files win."""
    copied = 0
    for source in sorted(static.rglob("*")) if static.is_dir() else ():
        path = source.relative_to(static).as_posix()
        if not source.is_file() or path in keys:
            continue
        target = out_dir / path
        src, dst = source.stat(), _stat(target)
        if dst is None or (dst.st_size, dst.st_mtime_ns) != (src.st_size, src.st_mtime_ns):
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            shutil.copy2(source, temporary)
            os.replace(temporary, target)
            copied += 1
        records[path] = _record(target, STATIC_KEY)
    return copied


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _all_files(out_dir: Path) -> list[str]:
    return [p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if not p.is_dir()]


def _remove(out_dir: Path, paths: list[str]) -> int:
    """Delete these files and any folders they leave empty."""
    for path in paths:
        target = out_dir / path
        try:
            target.unlink()
        except FileNotFoundError:
            continue
        for folder in target.parents:
            if folder == out_dir or any(folder.iterdir()):
                break
            folder.rmdir()
    return len(paths)
