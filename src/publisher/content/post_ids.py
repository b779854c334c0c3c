"""A post's stable id, written into its front matter on the publish that first records it, so that the post
keeps its identity when its slug or file name changes.

The id is one line, `id: <uuid>`, added at the end of the front matter; every other byte of the file stays as
it was. The file is replaced atomically (a temporary file beside it, renamed over it, with the same mode), and
only while it still holds the bytes the post was read from: an author saving the file meanwhile wins, and the
id is written by a later publish instead.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ContentError

if TYPE_CHECKING:
    from .posts import Post

POST_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")  # a UUID, as written


def new_post_id() -> str:
    """A fresh id, random (UUID 4) so two sites or two machines never make the same one."""
    return str(uuid.uuid4())


def id_problem(value: object) -> str:
    """What is wrong with a front matter `id:` value, with the fix; '' when it is absent or well formed."""
    if value is None or isinstance(value, str) and POST_ID.match(value):
        return ""
    return (f"expected an id like 3f2b8c1e-7d4a-4c1b-9e2f-0a1b2c3d4e5f as publish writes it, got {value!r}; "
            "delete the line and the next publish writes it again")


def check_unique_ids(posts: list[Post]) -> None:
    """Two posts may not share an id: a post file copied as a template keeps the original's id, and then
    publish could not tell the two apart."""
    seen: dict[str, Post] = {}
    for post in posts:
        if post.id and post.id in seen:
            raise ContentError(
                f"id: '{post.id}' is already the id of {seen[post.id].source}; a copied post keeps the original's "
                f"id: delete the 'id:' line from the copy (the next publish writes a new one)", post.source)
        seen.setdefault(post.id, post)


def with_id(raw: bytes, post_id: str) -> bytes:
    """The post file's bytes with `id: <post_id>` as the last line of its front matter, in the file's own line
    ending; ValueError when the front matter has no closing '---' line."""
    lines = raw.splitlines(keepends=True)
    closing = next((n for n, line in enumerate(lines[1:], start=1) if line.strip() == b"---"), None)
    if closing is None:
        raise ValueError("the front matter is not closed")
    ending = lines[0][len(lines[0].rstrip(b"\r\n")):] or b"\n"
    return b"".join([*lines[:closing], f"id: {post_id}".encode() + ending, *lines[closing:]])


def write_id(file: Path, post: Post, post_id: str, parse: Callable[[bytes], Post]) -> None:
    """Write the id into `post`'s file if the file still reads as `post` and, with the id, reads as `post` with
    that id (`parse` reads a file's bytes as a post); ContentError saying why not otherwise."""
    try:
        current = file.read_bytes()
        if _read(parse, current) != post:
            raise ContentError("changed while publishing, so its id was not written; the next publish writes it",
                               post.source)
        updated = with_id(current, post_id)
        if _read(parse, updated) != dataclasses.replace(post, id=post_id):
            raise ValueError("its front matter would read differently with the id added")
        _replace(file, updated)
    except (OSError, ValueError) as exc:
        raise ContentError(f"its id could not be written ({_reason(exc)}); until it is, publish knows the post by "
                           f"its slug: add the line 'id: {post_id}' to its front matter", post.source) from None


def _read(parse: Callable[[bytes], Post], raw: bytes) -> Post | None:
    """The post these bytes hold; None when they hold none."""
    try:
        return parse(raw)
    except ContentError:
        return None


def _replace(file: Path, data: bytes) -> None:
    """Replace the file with `data` atomically, keeping its permissions."""
    mode = file.stat().st_mode & 0o7777
    fd, temp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        os.replace(temp, file)
    except BaseException:
        os.unlink(temp)
        raise


def _reason(exc: Exception) -> str:
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
