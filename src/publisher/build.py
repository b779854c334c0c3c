"""The build: every stage in order, from config to the files of the site. `build`, `preview` and `publish`
all call `build_site`; nothing here touches the disk except reading the posts through `content`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .config import Config
from .content import read_posts
from .errors import ContentError
from .feeds import render_feeds
from .pages import render_pages
from .site import Site, make_site
from .theme import make_env


@dataclass(frozen=True)
class Build:
    site: Site
    files: dict[str, bytes]
    warnings: tuple[ContentError, ...]

    @property
    def page_count(self) -> int:
        return sum(1 for path in self.files if path.endswith(".html"))


def load_site(config: Config, now: dt.datetime, drafts: bool = False) -> tuple[Site, list[ContentError]]:
    """Parse and validate every post (phase one); nothing is rendered until all of them are good."""
    posts, warnings = read_posts(config.path(config.paths.posts), config.root, config.site.url, config.tz,
                                 config.content.raw_html)
    return make_site(config, posts, now.astimezone(config.tz), drafts), warnings


def build_site(config: Config, now: dt.datetime, drafts: bool = False) -> Build:
    """Render the whole site in memory (phase two): pages, feeds and sitemap as {path: bytes}."""
    site, warnings = load_site(config, now, drafts)
    env = make_env(config.path(config.paths.templates))
    files = render_pages(site, env)
    files.update(render_feeds(site))
    return Build(site=site, files=files, warnings=tuple(warnings))
