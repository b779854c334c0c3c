"""The build, one routine for every command: load the posts (phase one), plan every file of the site as a job
with its key, render. `build_site` keeps the files in memory ({path: bytes}) for `check` and the preview, which
hands it the last build so that only files whose key changed are rendered again; `incremental.update_site`
writes them to disk for `build` and `publish`, with the manifest and the build cache. Nothing here touches the
disk except reading the posts through `content` and the templates.

The plan (`plan_site`) lives here rather than with `Job` in jobs.py: pages.py and feeds.py make jobs, so jobs.py
sits below them, while the plan gathers their jobs and so sits above them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import jinja2

from ..config import Config
from ..content.pages import read_pages
from ..content.posts import ParsedPost, Post, parse_sources
from ..content.site import Site, make_site
from ..content.sources import Source, read_sources
from ..errors import ContentError
from ..parallel import MIN_PAGES, map_parallel
from .cache import parse_print, render_print
from .feeds import feed_jobs
from .images import Images
from .jobs import Job, PostPrint, job_key
from .pages import page_jobs
from .pictures import check_pictures, fit_pictures
from .theme import has_own_pages, make_env, render_guarded, shows_whole_site


@dataclass(frozen=True)
class Build:
    """A site built in memory, and what the next build of it may reuse: every post's parse by the digest of its
    file (valid while the parse fingerprint holds) and every file's job key."""
    site: Site
    files: dict[str, bytes]
    warnings: tuple[ContentError, ...]
    parse_print: str = ""
    parsed: Mapping[str, ParsedPost] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)
    rendered: int = 0  # files rendered by this build (the others were the last build's)


@dataclass(frozen=True)
class Loaded:
    """Phase one: the site, the warnings, and every post's parse by the digest of its file (for the cache)."""
    site: Site
    warnings: tuple[ContentError, ...]
    parsed: dict[str, ParsedPost]


@dataclass(frozen=True)
class Plan:
    """Phase two's list: the loaded site, every file as a job, and each job's key (same key, same bytes)."""
    loaded: Loaded
    jobs: list[Job]
    keys: dict[str, str]


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
    pages = read_pages(config.path(config.paths.pages), config.root, config.site.url, config.content.raw_html)
    site = make_site(config, [p.post for p in parsed.values()], now.astimezone(config.tz), drafts,
                     tuple(p.page for p in pages))
    warnings = tuple(w for p in parsed.values() for w in p.warnings) + tuple(w for p in pages for w in p.warnings)
    return Loaded(site, warnings, parsed)


def build_site(config: Config, now: dt.datetime, drafts: bool = False, last: Build | None = None) -> Build:
    """The whole site in memory: pages, feeds and sitemap as {path: bytes}. With `last` (an earlier build of this
    site) only the files whose job key changed are rendered; the rest are the last build's, byte for byte."""
    parse = parse_print(config)
    reuse = last is not None and last.parse_print == parse
    templates = config.path(config.paths.templates)
    render = render_print(parse, templates, drafts, config.path(config.paths.pages))
    plan = plan_build(config, now, drafts, render, last.parsed if reuse else None)
    kept = {path for path, key in plan.keys.items() if reuse and last.keys.get(path) == key}
    fresh = render_jobs([job for job in plan.jobs if job.path not in kept])
    files = {job.path: last.files[job.path] if job.path in kept else fresh[job.path] for job in plan.jobs}
    loaded = plan.loaded
    return Build(loaded.site, files, loaded.warnings, parse, dict(loaded.parsed), plan.keys, len(fresh))


def plan_build(config: Config, now: dt.datetime, drafts: bool, render: str,
               known: Mapping[str, ParsedPost] | None = None, sources: list[Source] | None = None,
               images: Images | None = None) -> Plan:
    """Load the site (reusing the parses in `known`) and plan its files, each keyed by `render` (the render
    fingerprint, see `cache.render_print`) and what it depends on. With `images` (resized by the caller, and
    in `render`) the pages' images get their sizes and resized copies; a post showing a broken one fails.

    When the site's own templates use the whole site (say, recent posts in a sidebar), every post's
    fingerprint joins every key, so a change to any post re-renders every page.
    """
    loaded = load_posts(config, now, drafts, known, sources)
    templates = config.path(config.paths.templates)
    env = make_env(templates)
    jobs = plan_site(loaded, env, has_own_pages(templates))
    if images is not None:
        check_pictures(loaded.site, images.pictures, config.paths.static)
        jobs = [_fitted(job, images, config.site.url) for job in jobs]
    site_print = render + (_all_posts_print(loaded) if shows_whole_site(env, templates) else "")
    return Plan(loaded, jobs, {job.path: job_key(site_print, job) for job in jobs})


def plan_site(loaded: Loaded, env: jinja2.Environment, own_pages: bool) -> list[Job]:
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
    return [Job(job.path, job.depends, functools.partial(render_guarded, job.render, root)) for job in jobs]


def _fitted(job: Job, images: Images, site_url: str) -> Job:
    """A page's job whose images fit the screen; the newsletters' web versions keep the email's images."""
    if not job.path.endswith(".html") or job.path.startswith("newsletter/"):
        return job
    return Job(job.path, job.depends, functools.partial(_render_fitted, job.render, images, site_url))


def _render_fitted(render: Callable[[], bytes], images: Images, site_url: str) -> bytes:
    return fit_pictures(render().decode("utf-8"), images.pictures, site_url).encode("utf-8")


def render_jobs(jobs: list[Job], meanwhile: Callable[[], None] | None = None) -> dict[str, bytes]:
    """Render the jobs (on every core when there are many), keyed by path in plan order; `meanwhile` as for
    `map_parallel`."""
    return dict(zip((job.path for job in jobs), map_parallel(_render, jobs, MIN_PAGES, meanwhile)))


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


def _all_posts_print(loaded: Loaded) -> str:
    fp = post_prints(loaded)
    return hashlib.blake2b("\0".join(map(fp, loaded.site.posts)).encode(), digest_size=16).hexdigest()
