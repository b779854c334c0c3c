"""Which posts `publish` mails: a pure decision over the site's posts and what the store remembers.

A post is mailed only when it is new to the site. The first publish of a site records every post that already
exists as the archive and mails none of them (or only the newest, when asked), so importing years of articles
never floods anyone. After that, a post the store has not seen is mailed once, oldest first, unless its date
is more than `max_age` before now (an old article added later) or its front matter says `email: false`: those
are recorded as archive instead. Drafts and future-dated posts are not in the site yet, so they wait: a
scheduled post is mailed by the first publish at or after its date.

The store knows a post by its id (written into its front matter on first publish), so a new slug or file name
never makes it new again; a post recorded before it had an id is known by its slug until its id is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from ..content.posts import Post
from ..store import PublishedPost

FIRST_RUN = "first publish"
TOO_OLD = "too old"
NOT_EMAILED = "email: false"


@dataclass(frozen=True)
class Archive:
    """A post recorded as published without being mailed, and why (FIRST_RUN, TOO_OLD or NOT_EMAILED)."""

    post: Post
    reason: str


@dataclass(frozen=True)
class Known:
    """A post the store has a record of, where the two disagree: known by its slug while the record or the file
    lacks the id (`by_slug`), or known by its id under another slug (`moved`)."""

    post: Post
    record: PublishedPost


@dataclass(frozen=True)
class PublishPlan:
    archive: tuple[Archive, ...] = ()
    send: tuple[Post, ...] = ()
    by_slug: tuple[Known, ...] = ()
    moved: tuple[Known, ...] = ()

    @property
    def first_seen(self) -> tuple[Post, ...]:
        """The posts this publish records for the first time, archived or mailed, oldest first."""
        return tuple(sorted([a.post for a in self.archive] + list(self.send), key=lambda p: (p.date, p.slug)))


def plan_publish(posts: tuple[Post, ...], known: Iterable[PublishedPost], first_run: bool, *, now: dt.datetime,
                 max_age: dt.timedelta, send_latest: bool = False) -> PublishPlan:
    """`posts` are the published posts, newest first; `known` what the store has recorded of earlier publishes."""
    new, by_slug, moved = _match(posts, tuple(known))
    if first_run:
        return _first_run(new, send_latest, by_slug, moved)
    archive, send = [], []
    for post in reversed(new):
        reason = NOT_EMAILED if not post.email else TOO_OLD if now - post.date > max_age else ""
        if reason:
            archive.append(Archive(post, reason))
        else:
            send.append(post)
    return PublishPlan(tuple(archive), tuple(send), by_slug, moved)


def _first_run(new: list[Post], send_latest: bool, by_slug: tuple[Known, ...],
               moved: tuple[Known, ...]) -> PublishPlan:
    """Everything is archive, but for the newest post that may be mailed when `send_latest` asks for it."""
    latest = next((post for post in new if post.email), None) if send_latest else None
    archive = tuple(Archive(post, FIRST_RUN if post.email else NOT_EMAILED)
                    for post in reversed(new) if post is not latest)
    return PublishPlan(archive, (latest,) if latest else (), by_slug, moved)


def _match(posts: tuple[Post, ...],
           records: tuple[PublishedPost, ...]) -> tuple[list[Post], tuple[Known, ...], tuple[Known, ...]]:
    """The posts the store has never seen (newest first), those it knows by slug but not by id, and those it
    knows by id under another slug.

    A post is known by its id first. Failing that, by a record of its slug, unless that record has an id of
    its own which another post carries (the record followed that post to its new slug) or which differs from
    this post's id (another post once had this slug)."""
    ids = {r.post_id: r for r in records if r.post_id}
    slugs = {r.slug: r for r in records}
    carried = {post.id for post in posts if post.id}
    new, by_slug, moved = [], [], []
    for post in posts:
        if post.id in ids:
            if ids[post.id].slug != post.slug:
                moved.append(Known(post, ids[post.id]))
            continue
        record = slugs.get(post.slug)
        if record is None or record.post_id and (post.id or record.post_id in carried):
            new.append(post)
        else:
            by_slug.append(Known(post, record))
    return new, tuple(by_slug), tuple(moved)
