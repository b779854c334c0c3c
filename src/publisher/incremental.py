"""A build written to disk with the least work: parse only the posts whose files changed, render only the files
whose inputs changed, write only the files whose bytes changed. The result is byte for byte what a clean build
gives (tests/test_incremental.py holds it to that); `clean=True` ignores the cache and renders everything.

A file's inputs are its job's `depends` plus the site's fingerprint (code, libraries, config, templates, mode).
With the default templates each page's `depends` is exact. A site's own page templates may show more (say,
the latest posts in every page's sidebar); when they use the site's post or tag lists, every post's
fingerprint joins the site's, so a change to any post re-renders every page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from . import cache as build_cache
from .build import Loaded, load_posts, plan_site, post_prints, render_jobs
from .config import Config
from .output import unchanged, write_site
from .plan import job_key
from .theme import make_env, shows_whole_site


@dataclass(frozen=True)
class Update:
    loaded: Loaded
    files: int  # files in the site
    pages: int  # HTML pages in the site
    rendered: int  # files rendered in this build
    written: int  # files written (new or changed)
    removed: int  # files removed (no longer part of the site)

    @property
    def site(self):
        return self.loaded.site

    @property
    def warnings(self):
        return self.loaded.warnings


def update_site(config: Config, now: dt.datetime, out_dir: Path, drafts: bool = False,
                clean: bool = False) -> Update:
    """Build the site into `out_dir`, reusing the cache in paths.cache unless `clean`; the cache is then saved."""
    out_dir = out_dir.resolve()
    folder, templates = config.path(config.paths.cache), config.path(config.paths.templates)
    parse = build_cache.parse_print(config)
    render = build_cache.render_print(parse, templates, drafts)
    old = build_cache.BuildCache() if clean else build_cache.load_cache(folder, parse, render, out_dir)
    loaded = load_posts(config, now, drafts, known=old.posts)
    env = make_env(templates)
    jobs = plan_site(loaded, env)
    site_print = render + (_all_posts_print(loaded) if shows_whole_site(env, templates) else "")
    keys = {job.path: job_key(site_print, job) for job in jobs}
    kept = unchanged(out_dir, old.outputs, keys) if not clean else set()
    files = render_jobs([job for job in jobs if job.path not in kept])
    result = write_site(files, out_dir, keys, None if clean else old.outputs or None,
                        (config.path(config.paths.static),))
    new = build_cache.BuildCache(posts=dict(loaded.parsed), outputs=result.records)
    build_cache.save_cache(folder, parse, render, out_dir, old, new)
    return Update(loaded, files=len(keys), pages=sum(p.endswith(".html") for p in keys), rendered=len(files),
                  written=result.written, removed=result.removed)


def _all_posts_print(loaded: Loaded) -> str:
    fp = post_prints(loaded)
    return hashlib.blake2b("\0".join(map(fp, loaded.site.posts)).encode(), digest_size=16).hexdigest()
