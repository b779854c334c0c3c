"""The build cache (paths.cache, .publisher-cache/ by default): what the last build parsed and wrote.

Two files, each rewritten only when it changes:
  posts.pickle    every post's parse, by the digest of its file's path and bytes;
  outputs.pickle  for each output folder, every file written there: its job key and its size and mtime.

Each is tied to fingerprints of everything else that shapes the output: the publisher code, the libraries it
renders with, the config and, for outputs, the templates and the build mode. Any change to those and the cache
is ignored, so a rebuild is always what a clean build would give. The cache holds nothing but the site's own
text, so deleting the folder (or `publisher build --clean`) is always safe.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .content import ParsedPost

CACHE_VERSION = 1
PACKAGE = Path(__file__).parent
LIBRARIES = ("jinja2", "markupsafe", "yaml", "frontmatter", "cmarkgfm", "feedgen", "lxml", "mjml", "css_inline")
POSTS_FILE = "posts.pickle"
OUTPUTS_FILE = "outputs.pickle"


@dataclass(frozen=True)
class Record:
    """A file as the last build wrote it: the key of its job, and its size and mtime just after writing."""
    key: str
    size: int
    mtime_ns: int


@dataclass
class BuildCache:
    posts: dict[str, ParsedPost] = field(default_factory=dict)
    outputs: dict[str, Record] = field(default_factory=dict)


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


def render_print(parse: str, templates: Path, drafts: bool) -> str:
    """What every file depends on besides its job: the parse fingerprint, the site's templates, the mode."""
    digest = hashlib.blake2b(f"{parse}\0{drafts}".encode(), digest_size=16)
    if templates.is_dir():
        for path in sorted(templates.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(templates).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def load_cache(folder: Path, parse: str, render: str, out_dir: Path) -> BuildCache:
    """The cache for these fingerprints and output folder; empty parts where missing, stale or unreadable."""
    posts = _load(folder / POSTS_FILE, parse) or {}
    outputs = (_load(folder / OUTPUTS_FILE, render) or {}).get(str(out_dir), {})
    return BuildCache(posts=posts, outputs=outputs)


def save_cache(folder: Path, parse: str, render: str, out_dir: Path, old: BuildCache, new: BuildCache) -> None:
    """Write the parts of the cache that changed (each atomically: a crash leaves the old one or the new one)."""
    if new.posts.keys() != old.posts.keys():
        _save(folder / POSTS_FILE, parse, new.posts)
    if new.outputs != old.outputs:
        _save(folder / OUTPUTS_FILE, render, {str(out_dir): new.outputs})


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
