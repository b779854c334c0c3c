"""Which posts `publish` mails: a pure decision over the site's posts and what the store remembers.

The first publish of a site records every post that already exists as the archive and mails none of them
(or only the newest, when asked), so importing years of articles never floods anyone. After that, every
published post the store has not seen is mailed once, oldest first. Drafts and future-dated posts are not
in the site yet, so they wait: a scheduled post is mailed by the first publish at or after its date.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..content.posts import Post


@dataclass(frozen=True)
class PublishPlan:
    archive: tuple[Post, ...] = ()
    send: tuple[Post, ...] = ()


def plan_publish(posts: tuple[Post, ...], known: dict[str, str], first_run: bool,
                 send_latest: bool = False) -> PublishPlan:
    """`posts` are the published posts, newest first; `known` maps slugs already archived or sent to that state."""
    new = [post for post in posts if post.slug not in known]
    if not first_run:
        return PublishPlan(send=tuple(reversed(new)))
    mailed = new[:1] if send_latest else []
    return PublishPlan(archive=tuple(reversed(new[len(mailed):])), send=tuple(mailed))
