"""The build: every stage in order, from config to the files of the site. `build`, `preview` and `publish`
all call `build_site`; nothing here touches the disk except reading the posts through `content`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .config import Config
from .content import read_posts
from .errors import ContentError
from .feeds import render_feeds
from .newsletter import compile_newsletter, render_web_version
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
    files.update(render_newsletter_pages(site, env))
    return Build(site=site, files=files, warnings=tuple(warnings))


def render_newsletter_pages(site: Site, env) -> dict[str, bytes]:
    """"View in your browser" pages for the newsletters of the newest posts (those in the feeds, the ones a
    subscriber may still be reading); an older post's newsletter link forwards to the article itself."""
    newest = site.config.site.feed_entries
    files = {}
    for i, post in enumerate(site.posts):
        path = f"newsletter/{post.slug}/index.html"
        if i < newest:
            files[path] = render_web_version(compile_newsletter(post, site.config, env))
        else:
            files[path] = _forward(post.url)
    return files


def _forward(url: str) -> bytes:
    """A page that sends the reader on to `url` (static hosts have no redirects of their own)."""
    from markupsafe import escape
    target = escape(url)
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>Moved</title>'
            f'<link rel="canonical" href="{target}"><meta http-equiv="refresh" content="0; url={target}">'
            f'</head><body><p><a href="{target}">Read the article</a></p></body></html>').encode()
