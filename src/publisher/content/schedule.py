"""Whether a post is published at a given moment: decided here once, for the site, the feeds, the build cache
and email alike."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple, Protocol


class Scheduled(Protocol):
    """Anything with a post's date and draft flag: a Post, or a Schedule."""
    date: dt.datetime
    draft: bool


class Schedule(NamedTuple):
    """What decides whether a post is published, without the rest of it (the build cache keeps these)."""
    date: dt.datetime
    draft: bool


def is_published(post: Scheduled, at: dt.datetime) -> bool:
    """Whether readers see the post at `at`: a draft never; any other post from its date on, so one dated
    later is scheduled and appears when its time comes."""
    return not post.draft and post.date <= at
