"""Writing a build to disk: only the files that changed, each replaced atomically, nothing stale left behind,
and nothing deleted that publisher did not write.

Everything is rendered in memory before the first byte is written, so a build that fails (a bad post, a
template error) leaves the previous output exactly as it was. Then each new or changed file is written (a file
that already exists is written beside it and renamed over it, so a reader never sees half a file), files the
site no longer has are removed, and files whose bytes are the same are not touched at all: their modification
times stay put, so a deploy tool that syncs by time uploads only what really changed.

The output folder keeps a manifest (`.publisher-manifest`) of the files publisher wrote there; only those are
ever removed, so an author's own files in the folder (a CNAME, a verification file) stay. The manifest is
marked unfinished before the first change and finished after the last, so a build killed in between is known
to the next one, which then clears the temporary files it left (named `.<file>.<pid>.tmp`, beside a file of
the site: only those, never anyone else's). A folder that is not empty and has no manifest is used only when
it is a build of this site by an earlier version of publisher (its robots.txt is the one publisher writes for
the site) or when the author asks (`--force`); its other files are then left alone.

The `Record` of each file (its job key, size and mtime as written) is what lets the next build skip rendering
it; without records (the first build, or --clean) every rendered file is compared with what is on disk.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import PublisherError
from .cache import Record

STATIC_KEY = "static"
MANIFEST = ".publisher-manifest"
_TEMPORARY = re.compile(r"\.(.+)\.\d+\.tmp")  # what _replace_if_changed and _copy_static write beside a file


@dataclass(frozen=True)
class Owned:
    """What publisher wrote in an output folder, by its manifest, and whether the build that wrote the manifest
    finished (if not, or when a folder is taken over without one, temporary files may have been left)."""
    files: frozenset[str]
    finished: bool = True
    taken_over: bool = False  # not empty, and no manifest: built by an earlier version, or --force


@dataclass(frozen=True)
class Written:
    records: dict[str, Record]  # every file of the site as it is now on disk
    written: int  # files written (new or changed) in this build
    removed: int
    others: int = 0  # files of someone else's left in a folder taken over (counted only then)


def owned_files(out_dir: Path, force: bool, built_before: Callable[[Path], bool], shown: Path) -> Owned:
    """What publisher may remove from `out_dir`: the files in its manifest. A folder that is missing or empty
    holds nothing; one with other files but no manifest is taken over, removing none of them, only if
    `built_before(out_dir)` says an earlier version built it or `force` is given, and refused otherwise
    (naming the folder as `shown`)."""
    manifest = read_manifest(out_dir)
    if manifest is not None:
        return manifest
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return Owned(frozenset())
    if force or built_before(out_dir):
        return Owned(frozenset(), finished=False, taken_over=True)
    raise PublisherError("the output folder is not empty and publisher did not build it; building would "
                         "overwrite any of its files with the same names as the site's. Choose a new or empty "
                         "folder, or pass --force to build into this one (files publisher did not write are "
                         "never deleted)", shown)


def read_manifest(out_dir: Path) -> Owned | None:
    """The folder's manifest; None when there is none or it cannot be read. Only plain paths inside the
    folder are taken from it, so an edited manifest cannot point a build at files elsewhere."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        files = frozenset(path for path in data["files"] if _inside(path))
        return Owned(files, finished=data["finished"] is True)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _inside(path: object) -> bool:
    """Whether a manifest entry is a relative path that stays inside the output folder."""
    return (isinstance(path, str) and bool(path) and not path.startswith("/")
            and not {"", ".", ".."} & set(path.split("/")))


def write_manifest(folder: Path, files: Iterable[str], finished: bool) -> None:
    """Record the files publisher wrote in `folder` (atomically: a crash leaves the old manifest or the new)."""
    text = json.dumps({"finished": finished, "files": sorted(files)}, indent=0) + "\n"
    temporary = folder / f"{MANIFEST}.{os.getpid()}.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, folder / MANIFEST)


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


def write_site(files: Mapping[str, bytes], out_dir: Path, keys: Mapping[str, str], owned: Owned,
               records: Mapping[str, Record] | None = None, static_dirs: tuple[Path, ...] = ()) -> Written:
    """Bring `out_dir` up to date: `files` (the rendered ones) written where changed, static files copied where
    changed, and the files publisher wrote there before (`owned`) that are neither a job in `keys` nor a static
    file removed. `records` are those of the last build into this folder (None when unknown)."""
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    statics = [item for static in static_dirs for item in _static_files(static, keys)]
    planned = keys.keys() | {path for _, path in statics}
    if not owned.finished:
        _clear_temporary(out_dir, owned.files | planned)
    begin = _Starter(out_dir, owned.files | planned)
    new: dict[str, Record] = {path: records[path] for path in keys.keys() - files.keys()} if records else {}
    written = 0
    if files:  # rendered because something changed: most likely some of them will be written
        begin()
    for path, data in files.items():
        target = out_dir / path
        if _write_if_changed(target, data):
            written += 1
        new[path] = _record(target, keys[path])
    written += _copy_static(statics, out_dir, new, begin)
    removed = _remove(out_dir, sorted(owned.files - new.keys()), begin)
    if begin.started or new.keys() != owned.files or not owned.finished:
        write_manifest(out_dir, new.keys(), finished=True)
    others = len(set(_all_files(out_dir)) - new.keys() - {MANIFEST}) if owned.taken_over else 0
    return Written(records=new, written=written, removed=removed, others=others)


class _Starter:
    """Called before the first change to the folder: marks the manifest unfinished, listing every file the
    build may leave there, so that a build killed midway is known to the next one."""

    def __init__(self, out_dir: Path, files: frozenset[str] | set[str]):
        self.out_dir, self.files, self.started = out_dir, files, False

    def __call__(self) -> None:
        if not self.started:
            write_manifest(self.out_dir, self.files, finished=False)
            self.started = True


def _clear_temporary(out_dir: Path, paths: Iterable[str]) -> None:
    """Remove the temporary files a killed build left: `.<name>.<pid>.tmp` beside a file of the site (or the
    manifest) called <name>; nothing else, whatever its name."""
    names: dict[str, set[str]] = {}
    for path in [*paths, MANIFEST]:
        folder, _, name = path.rpartition("/")
        names.setdefault(folder, set()).add(name)
    for folder, wanted in names.items():
        try:
            entries = list(os.scandir(out_dir / folder))
        except OSError:
            continue
        for entry in entries:
            match = _TEMPORARY.fullmatch(entry.name)
            if match and match[1] in wanted and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)


def write_new_site(out_dir: Path, write_all: Callable[[Path], dict[str, Record]],
                   keys: Mapping[str, str], static_dirs: tuple[Path, ...] = ()) -> Written:
    """Make `out_dir`, which does not exist yet, all at once: `write_all(folder)` fills a staging folder (with
    `write_new`, from as many processes as it likes), static files and the manifest join it, and it is renamed
    into place. If anything fails, the staging folder is removed and there is still no `out_dir`."""
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new.", dir=out_dir.parent))  # ours alone to delete
    staging.chmod(0o755)
    try:
        records = write_all(staging)
        statics = [item for static in static_dirs for item in _static_files(static, keys)]
        copied = _copy_static(statics, staging, records, lambda: None)
        write_manifest(staging, records.keys(), finished=True)
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


def _static_files(static: Path, keys: Mapping[str, str]) -> list[tuple[Path, str]]:
    """The files of a static folder with their paths in the site, but those a rendered file takes (which win)."""
    found = []
    for source in sorted(static.rglob("*")) if static.is_dir() else ():
        path = source.relative_to(static).as_posix()
        if source.is_file() and path not in keys:
            found.append((source, path))
    return found


def _copy_static(statics: list[tuple[Path, str]], out_dir: Path, records: dict[str, Record],
                 begin: Callable[[], None]) -> int:
    """Copy the static files that are missing or differ (by size and time), calling `begin` first."""
    copied = 0
    for source, path in statics:
        target = out_dir / path
        src, dst = source.stat(), _stat(target)
        if dst is None or (dst.st_size, dst.st_mtime_ns) != (src.st_size, src.st_mtime_ns):
            begin()
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


def _remove(out_dir: Path, paths: list[str], begin: Callable[[], None]) -> int:
    """Delete these files and any folders they leave empty, calling `begin` first."""
    if paths:
        begin()
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
