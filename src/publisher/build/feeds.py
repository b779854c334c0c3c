"""RSS 2.0, Atom (RFC 4287) and JSON Feed 1.1 from a Site: pure, returns {path: bytes}.

Every URL is absolute (post bodies are made absolute when parsed), and timestamps come from the posts,
never from the clock, so the same site always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import TYPE_CHECKING

from ..content.posts import Post
from ..content.site import Site
from .jobs import Job, PostPrint

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

FEED_PATHS = {"rss": "feed.xml", "atom": "atom.xml", "json": "feed.json"}
# Screen-reader labels (cmark-gfm puts one on each footnote's back link) mean nothing in a feed reader, and the
# W3C Feed Validation Service warns about every attribute it does not know; the pages keep them.
_ARIA = re.compile(r' aria-[a-z]+="[^"]*"')


def feed_html(post: Post) -> str:
    """The post's HTML as feeds carry it."""
    return _ARIA.sub("", post.html)


def feed_jobs(site: Site, fp: PostPrint) -> list[Job]:
    """The three feeds with the newest `feed_entries` posts (the clock only matters when there are none)."""
    posts = site.posts[: site.config.site.feed_entries]
    depends = tuple(map(fp, posts)) or (_build_second(site).isoformat(),)
    return [
        Job(FEED_PATHS["rss"], depends, lambda: _generator(site, posts, "rss").rss_str(pretty=True)),
        Job(FEED_PATHS["atom"], depends, lambda: _generator(site, posts, "atom").atom_str(pretty=True)),
        Job(FEED_PATHS["json"], depends, lambda: render_json_feed(site, posts)),
    ]


def _generator(site: Site, posts: tuple[Post, ...], kind: str):
    from feedgen.feed import FeedGenerator  # lxml: loaded only when a feed is rendered
    cfg = site.config.site
    fg = FeedGenerator()
    fg.load_extension("dc")
    fg.id(site.absolute(""))
    fg.title(cfg.title)
    fg.subtitle(cfg.description or cfg.title)
    fg.language(cfg.language)
    fg.author({"name": cfg.author or cfg.title})
    fg.generator("publisher")
    # feedgen emits links in call order; RSS takes the last non-self link as <link>.
    fg.link(href=site.absolute(FEED_PATHS[kind]), rel="self")
    fg.link(href=site.absolute(""), rel="alternate")
    newest = max((p.updated or p.date for p in posts), default=_build_second(site))
    fg.updated(newest)
    fg.lastBuildDate(newest)
    for post in reversed(posts):
        _add_entry(fg, site, post)
    return fg


def _build_second(site: Site) -> dt.datetime:
    """What dates the feeds of a site without posts: the build's time to the second, as feeds give times, so
    that two builds at the same time (an incremental and a clean one) give the same bytes."""
    return site.now.replace(microsecond=0)


def _add_entry(fg: FeedGenerator, site: Site, post: Post) -> None:
    entry = fg.add_entry()
    entry.id(post.url)
    entry.guid(post.url, permalink=True)
    entry.title(post.title)
    entry.link(href=post.url, rel="alternate")
    entry.published(post.date)
    entry.updated(post.updated or post.date)
    entry.description(post.summary)
    entry.content(feed_html(post), type="html")
    entry.dc.dc_creator(site.config.site.author or site.config.site.title)
    for tag in post.tags:
        entry.category(term=tag, label=tag)


def render_json_feed(site: Site, posts: tuple[Post, ...]) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    cfg = site.config.site
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": cfg.title,
        "home_page_url": site.absolute(""),
        "feed_url": site.absolute(FEED_PATHS["json"]),
        "description": cfg.description or cfg.title,
        "language": cfg.language,
        "authors": [{"name": cfg.author or cfg.title}],
        "items": [_json_item(post) for post in posts],
    }
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode()


def _json_item(post: Post) -> dict:
    item = {
        "id": post.url,
        "url": post.url,
        "title": post.title,
        "content_html": feed_html(post),
        "summary": post.summary,
        "date_published": post.date.isoformat(timespec="seconds"),
        "date_modified": (post.updated or post.date).isoformat(timespec="seconds"),
        "tags": list(post.tags),
    }
    if post.image:
        item["image"] = post.image
    return item
