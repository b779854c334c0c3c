"""The build's output on disk (`pipeline.plan_build` loads and plans; this renders and writes) with the least
work: parse only the posts whose files changed, render only the files
whose inputs changed, write only the files whose bytes changed. The result is byte for byte what a clean build
gives (tests/build/test_incremental.py holds it to that); `clean=True` ignores the cache and renders everything.

A file's inputs are its job's `depends` plus the site's fingerprint (code, libraries, config, templates, mode).
With the default templates each page's `depends` is exact. A site's own page templates may show more (say,
the latest posts in every page's sidebar); when they use the site's post or tag lists, every post's
fingerprint joins the site's, so a change to any post re-renders every page.

When no post file changed, no post's visibility changed with the time, and every file of the last build is
still on disk as written, there is nothing to render: the posts are not even loaded unless asked for, nor the
modules that parse and render them (the page, feed and Markdown libraries are imported only when needed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from ..content.schedule import Schedule, is_published
from ..content.sources import Source, display_path, read_sources, scan_clock_ns
from ..errors import ContentError, PublisherError
from .cache import (
    BuildCache,
    Record,
    Summary,
    load_cache,
    load_parsed,
    parse_print,
    render_print,
    save_cache,
    save_parsed,
)
from .images import prepare_images
from .output import (
    STATIC_KEY,
    Owned,
    owned_files,
    unchanged,
    write_new,
    write_new_site,
    write_site,
)

if TYPE_CHECKING:
    from .jobs import Job
    from .pipeline import Loaded


@dataclass(frozen=True)
class Update:
    posts: int  # posts in the site
    warnings: tuple[ContentError, ...]
    files: int  # files in the site, static ones included
    pages: int  # HTML pages in the site
    rendered: int  # files rendered in this build
    written: int  # files written (new or changed)
    removed: int  # files removed (no longer part of the site)
    load: Callable[[], Loaded]
    others: int = 0  # files publisher did not write, left in a folder it took over
    resized: int = 0  # image copies made by this build (those in the cache were reused)

    @functools.cached_property
    def site(self):
        """The site that was built (loaded from the cache on first use when nothing had to be rendered)."""
        return self.load().site


def update_site(config: Config, now: dt.datetime, out_dir: Path, drafts: bool = False,
                clean: bool = False, force: bool = False) -> Update:
    """Build the site into `out_dir`, reusing the cache in paths.cache unless `clean`; the cache is then saved.
    `force` builds into a folder that is not empty though publisher did not build it (see `owned_files`)."""
    out_dir = out_dir.resolve()
    refuse_unsafe_output(config, out_dir)
    built_before = functools.partial(_built_before, config)
    owned = owned_files(out_dir, force, built_before, display_path(out_dir, config.path(".")))
    folder, templates = config.path(config.paths.cache), config.path(config.paths.templates)
    parse = parse_print(config)
    images = prepare_images(config, verify=clean)
    render = render_print(parse, templates, drafts, config.path(config.paths.pages)) + images.fingerprint
    old = BuildCache() if clean else load_cache(folder, parse, render, out_dir)
    read_here = bool(old.signatures) or old.summary is not None  # with no cache at all, the parse workers read
    scanned = scan_clock_ns()
    sources = read_sources(config.path(config.paths.posts), config.root, old.signatures, read=read_here,
                           max_bytes=config.content.max_post_bytes, scanned_ns=old.scanned_ns)
    # Every file known by its signature: what the last scan saw still holds, and the cache stays as it is
    if all(source.raw is None and source.digest for source in sources):
        scanned = old.scanned_ns
    statics = (config.path(config.paths.static), images.folder)
    if old.summary and sources and _same_sources(old.summary, sources, now, drafts):  # (no posts: feeds show now)
        keys = {path: record.key for path, record in old.outputs.items() if record.key != STATIC_KEY}
        if len(unchanged(out_dir, old.outputs, keys)) == len(keys):
            new = BuildCache(_signatures(sources), scanned)
            return dataclasses.replace(_nothing_to_render(config, now, drafts, (out_dir, owned),
                                                          (folder, parse, render), (old, new), keys, statics),
                                       resized=images.made)
    from .pipeline import plan_build, render_jobs  # the parsing and rendering libraries, only now
    known = load_parsed(folder, parse) if not clean else {}
    plan = plan_build(config, now, drafts, render, known, sources, images)
    loaded, jobs, keys = plan.loaded, plan.jobs, plan.keys
    sources = [dataclasses.replace(source, digest=digest, raw=None)  # parsed: the bytes can go
               for source, digest in zip(sources, loaded.parsed)]
    cache_parses = functools.partial(save_parsed, folder, parse, loaded.parsed, known)
    if out_dir.exists():
        kept = unchanged(out_dir, old.outputs, keys) if not clean else set()
        files = render_jobs([job for job in jobs if job.path not in kept], meanwhile=cache_parses)
        result = write_site(files, out_dir, keys, owned, None if clean else old.outputs or None, statics)
        rendered = len(files)
    else:
        result = write_new_site(out_dir, functools.partial(_render_into, jobs, keys, cache_parses), keys, statics)
        rendered = len(jobs)
    new = BuildCache(_signatures(sources), scanned, result.records, _summary(loaded, sources))
    save_cache(folder, parse, render, out_dir, old, new)
    return Update(len(loaded.site.posts), loaded.warnings, len(result.records), _pages(keys), rendered,
                  result.written, result.removed, lambda: loaded, result.others, images.made)


def refuse_unsafe_output(config: Config, out_dir: Path) -> None:
    """Refuse an output folder that holds (or is) the site's own files, or that lies inside static/ (which is
    copied into it): a build writes there, and later builds remove from there what they wrote."""
    paths, root = config.paths, config.path(".")
    own = {"posts": config.path(paths.posts), "templates": config.path(paths.templates),
           "static files": config.path(paths.static), "database": config.path(config.database.path),
           "build cache": config.path(paths.cache), "outbox": config.path(config.delivery.maildir)}
    if config.dkim.key_file:
        own["DKIM key"] = config.path(config.dkim.key_file)
    where = display_path(out_dir, root)
    if out_dir.exists() and not out_dir.is_dir():
        raise PublisherError("the output folder is a file; name a folder (publisher makes it if it does not "
                             "exist), such as _site", where)
    if root.is_relative_to(out_dir):
        raise PublisherError("the output folder holds the site's own files (publisher.toml, posts, the "
                             "database); choose a folder of its own, such as _site", where)
    for what, path in own.items():
        if path.is_relative_to(out_dir):
            raise PublisherError(f"the output folder holds the site's own {what} ({display_path(path, root)}); "
                                 f"choose a folder of its own, such as _site", where)
    if out_dir.is_relative_to(own["static files"]):
        raise PublisherError("the output folder is inside the site's static folder, which is copied into it; "
                             "choose a folder outside it, such as _site", where)


def _built_before(config: Config, out_dir: Path) -> bool:
    """Whether an earlier version of publisher built this folder for this site: its robots.txt is the one
    publisher writes for the site's URL (earlier versions kept no manifest)."""
    from .pages import robots_txt
    try:
        return (out_dir / "robots.txt").read_bytes() == robots_txt(config.site.url)
    except OSError:
        return False


def _render_into(jobs: list[Job], keys: dict[str, str], meanwhile: Callable[[], None],
                 folder: Path) -> dict[str, Record]:
    """Render every job straight into a new site's staging folder, on every core: nothing to compare, and no
    page has to travel back from the worker that rendered it."""
    from ..parallel import MIN_PAGES, map_parallel
    write = functools.partial(_render_and_write, folder, keys)
    return dict(zip((job.path for job in jobs), map_parallel(write, jobs, MIN_PAGES, meanwhile)))


def _render_and_write(folder: Path, keys: dict[str, str], job: Job) -> Record:
    return write_new(folder, job.path, job.render(), keys[job.path])


def _nothing_to_render(config: Config, now: dt.datetime, drafts: bool, output: tuple[Path, Owned], where: tuple,
                       caches: tuple[BuildCache, BuildCache], keys: dict[str, str],
                       statics: tuple[Path, ...]) -> Update:
    """The site is as the last build left it: only static files may need copying. The posts' parses are loaded
    only if the caller asks for the site."""
    (out_dir, owned), (folder, parse, render), (old, remembered) = output, where, caches
    result = write_site({}, out_dir, keys, owned, old.outputs, statics)
    new = BuildCache(remembered.signatures, remembered.scanned_ns, result.records, old.summary)
    save_cache(folder, parse, render, out_dir, old, new)
    return Update(old.summary.posts, old.summary.warnings, len(result.records), _pages(keys), 0, result.written,
                  result.removed, functools.partial(_load_cached, config, now, drafts, folder, parse), result.others)


def _load_cached(config: Config, now: dt.datetime, drafts: bool, folder: Path, parse: str) -> Loaded:
    from .pipeline import load_posts
    return load_posts(config, now, drafts, load_parsed(folder, parse))


def _same_sources(summary: Summary, sources: list[Source], now: dt.datetime, drafts: bool) -> bool:
    """Whether the post files are those of the last build and each post is still shown (or not) as it was."""
    if summary.digests != tuple(source.digest for source in sources):
        return False
    return all(_shown(state, now, drafts) == _shown(state, summary.built_at, drafts) for state in summary.states)


def _shown(state: Schedule, now: dt.datetime, drafts: bool) -> tuple[bool, bool]:
    """(in the site, marked unpublished): what a post's date and draft flag mean at `now`."""
    unpublished = not is_published(state, now)
    return (drafts or not unpublished, drafts and unpublished)


def _summary(loaded: Loaded, sources: list[Source]) -> Summary:
    posts = {str(parsed.post.source): parsed.post for parsed in loaded.parsed.values()}
    states = tuple(Schedule(posts[s.name].date, posts[s.name].draft) for s in sources)
    return Summary(tuple(s.digest for s in sources), states, loaded.site.now, len(loaded.site.posts),
                   loaded.warnings)


def _signatures(sources: list[Source]) -> dict[str, tuple]:
    """What to remember of each post file, as of the scan that saw it (see `content.sources.settled`)."""
    return {s.name: (s.signature, s.digest) for s in sources}


def _pages(keys: dict[str, str]) -> int:
    return sum(path.endswith(".html") for path in keys)
