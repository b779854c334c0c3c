"""The Site: config plus the posts that will be published, newest first, and their tags."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ..config import Config
from .posts import Post, is_published, slugify


@dataclass(frozen=True)
class Tag:
    name: str
    slug: str
    posts: tuple[Post, ...]

    @property
    def path(self) -> str:
        return f"tags/{self.slug}/"


@dataclass(frozen=True)
class Site:
    config: Config
    posts: tuple[Post, ...]
    now: dt.datetime
    tags: tuple[Tag, ...] = field(default=())
    show_unpublished: bool = False

    @property
    def url(self) -> str:
        return self.config.site.url

    def absolute(self, path: str) -> str:
        """An absolute URL for a path inside the site ('' is the home page)."""
        return f"{self.url}/{path.lstrip('/')}"

    def tag_slug(self, name: str) -> str:
        return slugify(name)

    def is_unpublished(self, post: Post) -> bool:
        """Shown only in a --drafts build: a draft, or dated in the future."""
        return not is_published(post, self.now)


def make_site(config: Config, posts: list[Post], now: dt.datetime, drafts: bool = False) -> Site:
    """Keep what is published (everything with `drafts`), newest first, and index the tags."""
    kept = [p for p in posts if drafts or is_published(p, now)]
    kept.sort(key=lambda p: (p.date, p.slug), reverse=True)
    return Site(config=config, posts=tuple(kept), now=now, tags=_index_tags(kept), show_unpublished=drafts)


def _index_tags(posts: list[Post]) -> tuple[Tag, ...]:
    by_slug: dict[str, tuple[str, list[Post]]] = {}
    for post in posts:
        for name in post.tags:
            by_slug.setdefault(slugify(name), (name, []))[1].append(post)
    return tuple(Tag(name, slug, tuple(ps)) for slug, (name, ps) in sorted(by_slug.items()))
