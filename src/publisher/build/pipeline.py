"""The build: every stage in order, from config to the files of the site. `build`, `preview` and `publish`
all call `build_site` (or, writing to disk, `plan_site` and `render_jobs`); nothing here touches the disk
except reading the posts through `content`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jinja2

from ..config import Config
from ..content.posts import ParsedPost, Post, Source, parse_sources, read_sources
from ..content.site import Site, make_site
from ..errors import ContentError
from ..parallel import map_parallel
from .feeds import feed_jobs
from .jobs import Job, PostPrint
from .pages import page_jobs
from .theme import make_env, render_guarded


@dataclass(frozen=True)
class Build:
    site: Site
    files: dict[str, bytes]
    warnings: tuple[ContentError, ...]


@dataclass(frozen=True)
class Loaded:
    """Phase one: the site, the warnings, and every post's parse by the digest of its file (for the cache)."""
    site: Site
    warnings: tuple[ContentError, ...]
    parsed: dict[str, ParsedPost]


def load_site(config: Config, now: dt.datetime, drafts: bool = False) -> tuple[Site, list[ContentError]]:
    """Parse and validate every post (phase one); nothing is rendered until all of them are good."""
    loaded = load_posts(config, now, drafts)
    return loaded.site, list(loaded.warnings)


def load_posts(config: Config, now: dt.datetime, drafts: bool = False,
               known: Mapping[str, ParsedPost] | None = None, sources: list[Source] | None = None) -> Loaded:
    """Phase one, reusing the parse of every post file whose digest is in `known`."""
    if sources is None:
        sources = read_sources(config.path(config.paths.posts), config.root,
                               max_bytes=config.content.max_post_bytes)
    parsed = parse_sources(sources, config.site.url, config.tz, config.content.raw_html, known)
    site = make_site(config, [p.post for p in parsed.values()], now.astimezone(config.tz), drafts)
    return Loaded(site, tuple(w for p in parsed.values() for w in p.warnings), parsed)


def build_site(config: Config, now: dt.datetime, drafts: bool = False) -> Build:
    """Render the whole site in memory (phase two): pages, feeds and sitemap as {path: bytes}."""
    loaded = load_posts(config, now, drafts)
    jobs = plan_site(loaded, make_env(config.path(config.paths.templates)))
    return Build(site=loaded.site, files=render_jobs(jobs), warnings=loaded.warnings)


def plan_site(loaded: Loaded, env: jinja2.Environment, own_pages: bool = True) -> list[Job]:
    """Every file of the site as a job: pages, feeds, sitemap and the newsletters' web versions, each naming
    the template file and line when a template fails as it renders.

    With the default page templates (`own_pages` False) a listing of posts depends only on what lists show of
    them, not on their bodies; a site's own templates might show anything, so there every post counts whole.
    """
    fp = post_prints(loaded)
    lp = fp if own_pages else listing_prints(fp)
    site = loaded.site
    root = site.config.path(".")
    jobs = [*page_jobs(site, env, fp, lp), *feed_jobs(site, fp), *newsletter_jobs(site, env, fp)]
    return [dataclasses.replace(job, render=functools.partial(render_guarded, job.render, root)) for job in jobs]


def render_jobs(jobs: list[Job], meanwhile: Callable[[], None] | None = None) -> dict[str, bytes]:
    """Render the jobs (on every core when there are many), keyed by path in plan order; `meanwhile` as for
    `map_parallel`."""
    return dict(zip((job.path for job in jobs), map_parallel(_render, jobs, meanwhile=meanwhile)))


def _render(job: Job) -> bytes:
    return job.render()


def post_prints(loaded: Loaded) -> PostPrint:
    """A post's fingerprint: the digest of its file, marked when a --drafts build shows it as unpublished."""
    digests = {id(parsed.post): digest for digest, parsed in loaded.parsed.items()}
    site = loaded.site

    def fingerprint(post: Post) -> str:
        unpublished = site.show_unpublished and site.is_unpublished(post)
        return digests[id(post)] + ("-unpublished" if unpublished else "")
    return fingerprint


def listing_prints(fp: PostPrint) -> PostPrint:
    """A post's fingerprint as the default templates' lists (home, tags, archive, neighbours) see it: everything
    about the post but its body."""
    known: dict[int, str] = {}  # by id: hashing a Post hashes its whole text

    def fingerprint(post: Post) -> str:
        if id(post) not in known:
            shown = (post.title, post.date.isoformat(), post.updated and post.updated.isoformat(), post.summary,
                     post.tags, post.draft, post.url, post.image, post.image_alt, fp(post).endswith("-unpublished"))
            known[id(post)] = hashlib.blake2b(repr(shown).encode(), digest_size=16).hexdigest()
        return known[id(post)]
    return fingerprint


def newsletter_jobs(site: Site, env: jinja2.Environment, fp: PostPrint) -> list[Job]:
    """"View in your browser" pages for the newsletters of the newest posts (those in the feeds, the ones a
    subscriber may still be reading). An older newsletter's link lands on 404.html, which forwards the reader
    to the article: one page for the whole archive rather than one file per old post."""
    return [Job(f"newsletter/{post.slug}/index.html", (fp(post),),
                functools.partial(_web_version, post, site.config, env))
            for post in site.posts[:site.config.site.feed_entries]]


def _web_version(post: Post, config: Config, env: jinja2.Environment) -> bytes:
    from ..mail.newsletter import (  # MJML and CSS inlining, only when needed
        compile_newsletter,
        render_web_version,
    )
    return render_web_version(compile_newsletter(post, config, env))
