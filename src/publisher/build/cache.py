"""The build cache (paths.cache, .publisher-cache/ by default): what the last build parsed and wrote.

Three kinds of file, each rewritten only when it changes:
  posts-*.pickle  every post's parse, by the digest of its file's path and bytes (read only when needed);
  sources.pickle  the post files' stat signatures and digests, and when the scan that saw them began, so
                  that files unchanged (and settled before that scan) need not be read;
  outputs.pickle  for the output folder, every file written there (its job key, size and mtime) and a
                  summary of what that build was made from, to tell at once that nothing has changed.

Each is tied to fingerprints of everything else that shapes the output: the publisher code, the libraries it
renders with, the config and, for outputs, the templates and the build mode. Any change to those and the cache
is ignored, so a rebuild is always what a clean build would give. The cache holds nothing but the site's own
text, so deleting the folder (or `publisher build --clean`) is always safe.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import os
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from ..content.schedule import Schedule
from ..errors import ContentError

if TYPE_CHECKING:  # the posts module imports the Markdown and YAML libraries: not needed to read the cache
    from ..content.posts import ParsedPost

CACHE_VERSION = 1
PACKAGE = Path(__file__).parents[1]
LIBRARIES = ("jinja2", "markupsafe", "yaml", "frontmatter", "cmarkgfm", "feedgen", "lxml", "mjml", "css_inline")
POSTS_FILE = "posts-{}.pickle"
SHARDS = "0123456789abcdef"  # posts are kept in 16 files by the first digit of their digest: an edit rewrites one
SOURCES_FILE = "sources.pickle"
OUTPUTS_FILE = "outputs.pickle"


@dataclass(frozen=True)
class Record:
    """A file as the last build wrote it: the key of its job, and its size and mtime just after writing."""
    key: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Summary:
    """What the last build into a folder was made from: its post files (by digest, in order), each post's date
    and draft flag and the build's time (which posts show depends on it), and what it reported."""
    digests: tuple[str, ...]
    states: tuple[Schedule, ...]
    built_at: dt.datetime
    posts: int
    warnings: tuple[ContentError, ...] = field(compare=False)  # follow from the posts and config


@dataclass
class BuildCache:
    signatures: dict[str, tuple] = field(default_factory=dict)  # post file -> (stat signature, digest)
    scanned_ns: int = 0  # when the scan that saw those signatures began (see content.sources.settled)
    outputs: dict[str, Record] = field(default_factory=dict)
    summary: Summary | None = None


def parse_print(config: Config) -> str:
    """What every post's parse depends on besides its file: the code, the libraries, the Python and the config."""
    digest = hashlib.blake2b(repr((CACHE_VERSION, sys.version, config)).encode(), digest_size=16)
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    for name in LIBRARIES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec and spec.origin else ""
        digest.update(f"{name}={origin}:{_mtime(origin)}".encode())
    return digest.hexdigest()


def render_print(parse: str, templates: Path, drafts: bool, pages: Path | None = None) -> str:
    """What every file depends on besides its job: the parse fingerprint, the site's templates, its pages (every
    page shows the navigation, which they make) and the mode."""
    digest = hashlib.blake2b(f"{parse}\0{drafts}".encode(), digest_size=16)
    for folder, label in ((templates, "templates"), (pages, "pages")):
        if folder is not None and folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    name = f"{label}/{path.relative_to(folder).as_posix()}"
                    digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def load_cache(folder: Path, parse: str, render: str, out_dir: Path) -> BuildCache:
    """The cache for these fingerprints and output folder; empty parts where missing, stale or unreadable."""
    scanned_ns, signatures = _load(folder / SOURCES_FILE, parse) or (0, {})
    outputs, summary = (_load(folder / OUTPUTS_FILE, render) or {}).get(str(out_dir), ({}, None))
    return BuildCache(signatures=signatures, scanned_ns=scanned_ns, outputs=outputs, summary=summary)


def load_parsed(folder: Path, parse: str) -> dict[str, ParsedPost]:
    """The cached parse of every post, by digest (the big part of the cache, so read only when needed)."""
    posts: dict[str, ParsedPost] = {}
    for shard in SHARDS:
        posts.update(_load(folder / POSTS_FILE.format(shard), parse) or {})
    return posts


def save_parsed(folder: Path, parse: str, posts: dict[str, ParsedPost], old_posts: dict[str, ParsedPost]) -> None:
    """Write the shards of the posts' cache whose posts differ from `old_posts` (each atomically)."""
    parts: dict[str, dict[str, ParsedPost]] = {shard: {} for shard in SHARDS}
    for digest, parsed in posts.items():
        parts[digest[0]][digest] = parsed
    before: dict[str, set[str]] = {shard: set() for shard in SHARDS}
    for digest in old_posts:
        before[digest[0]].add(digest)
    for shard, part in parts.items():
        if part.keys() != before[shard]:
            _save(folder / POSTS_FILE.format(shard), parse, part)


def save_cache(folder: Path, parse: str, render: str, out_dir: Path, old: BuildCache, new: BuildCache) -> None:
    """Write the parts of the cache that changed (each atomically: a crash leaves the old one or the new one)."""
    if (new.signatures, new.scanned_ns) != (old.signatures, old.scanned_ns):
        _save(folder / SOURCES_FILE, parse, (new.scanned_ns, new.signatures))
    if new.outputs != old.outputs or new.summary != old.summary:
        _save(folder / OUTPUTS_FILE, render, {str(out_dir): (new.outputs, new.summary)})


def _load(path: Path, fingerprint: str):
    try:
        with path.open("rb") as f:
            stored, value = pickle.load(f)
    except Exception:  # a cache that cannot be read, for whatever reason, is simply not used
        return None
    return value if stored == fingerprint else None


def _save(path: Path, fingerprint: str, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as f:
        pickle.dump((fingerprint, value), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0
