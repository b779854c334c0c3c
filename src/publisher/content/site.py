"""The Site: config plus the posts that will be published, newest first, and their tags."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from ..config import CONFIG_NAME, Config
from ..errors import ConfigError
from .pages import Page
from .posts import Post, slugify
from .schedule import is_published


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
    pages: tuple[Page, ...] = ()
    nav: tuple[tuple[str, str], ...] = ()  # the header's links: (label, path inside the site)

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


def make_site(config: Config, posts: list[Post], now: dt.datetime, drafts: bool = False,
              pages: tuple[Page, ...] = ()) -> Site:
    """Keep what is published (everything with `drafts`), newest first, and index the tags; pages as given."""
    kept = [p for p in posts if drafts or is_published(p, now)]
    kept.sort(key=lambda p: (p.date, p.slug), reverse=True)
    return Site(config=config, posts=tuple(kept), now=now, tags=_index_tags(kept), show_unpublished=drafts,
                pages=pages, nav=nav_links(config, pages))


BUILT_IN_LINKS = {"articles": ("Articles", ""), "archive": ("Archive", "archive/"), "topics": ("Topics", "tags/")}


def nav_links(config: Config, pages: tuple[Page, ...]) -> tuple[tuple[str, str], ...]:
    """The header's navigation: `[site] nav` when set (page slugs and the built-in pages, in that order), else
    the pages that have a `nav:` number (smallest first), then the articles, the archive and the topics."""
    by_slug = {page.slug: (page.title, page.path) for page in pages}
    if not config.site.nav:
        listed = sorted((p for p in pages if p.nav is not None), key=lambda p: (p.nav, p.title))
        return tuple((p.title, p.path) for p in listed) + tuple(BUILT_IN_LINKS.values())
    unknown = [name for name in config.site.nav if name not in by_slug and name not in BUILT_IN_LINKS]
    if unknown:
        known = ", ".join([*by_slug, *BUILT_IN_LINKS])
        raise ConfigError(f"site.nav: {unknown[0]!r} is neither a page in {config.paths.pages}/ nor a built-in "
                          f"page; use one of {known}", Path(CONFIG_NAME))
    return tuple(by_slug.get(name) or BUILT_IN_LINKS[name] for name in config.site.nav)


def _index_tags(posts: list[Post]) -> tuple[Tag, ...]:
    by_slug: dict[str, tuple[str, list[Post]]] = {}
    for post in posts:
        for name in post.tags:
            by_slug.setdefault(slugify(name), (name, []))[1].append(post)
    return tuple(Tag(name, slug, tuple(ps)) for slug, (name, ps) in sorted(by_slug.items()))
