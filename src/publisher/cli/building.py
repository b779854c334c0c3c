"""Site commands: build, new, init."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import time
from pathlib import Path

import click

from .. import clock
from ..errors import ConfigError, PublisherError
from . import main, pass_context
from .words import plural

_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}-")


def print_warnings(warnings) -> None:
    for warning in warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)


def run_build(config, out: Path | None = None, drafts: bool = False, clean: bool = False, force: bool = False):
    """Build the site and write what changed; returns the Update (its site and warnings). Shared by build and
    publish. `clean` ignores the build cache and renders everything; `force` builds into a folder that is not
    empty though publisher did not build it."""
    from ..build.incremental import update_site
    started = time.perf_counter()
    out_dir = out or config.path(config.paths.output)
    result = update_site(config, clock.now(), out_dir, drafts=drafts, clean=clean, force=force)
    print_warnings(result.warnings)
    if result.others:
        click.secho(f"Warning: {_shown(out_dir)}: {plural(result.others, 'file')} there were not written by publisher and "
                    f"are left as they are; delete any that are stale by hand", fg="yellow", err=True)
    seconds = time.perf_counter() - started
    click.echo(f"Built {plural(result.posts, 'post')}, {plural(result.pages, 'page')} and 3 feeds "
               f"({plural(result.files, 'file')}, {result.written:,} written) into {_shown(out_dir)} in {seconds:.2f} s")
    if result.resized:
        click.echo(f"Resized images into {plural(result.resized, 'new file')} (kept in {config.paths.cache} for "
                   "the next build)")
    return result


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd())) + "/"
    except ValueError:
        return str(path) + "/"


@main.command()
@click.option("--out", type=click.Path(path_type=Path), help="Output folder (default: _site/ beside publisher.toml).")
@click.option("--drafts", is_flag=True, help="Include drafts and future-dated posts, marked as such.")
@click.option("--clean", is_flag=True, help="Ignore the build cache (paths.cache) and render everything.")
@click.option("--force", is_flag=True, help="Build into a folder that is not empty though publisher did not build "
                                            "it; its other files are left alone.")
@pass_context
def build(ctx, out: Path | None, drafts: bool, clean: bool, force: bool) -> None:
    """Build the site: pages, feeds and sitemap. Only what changed since the last build is rendered and
    written; every file is replaced atomically, and a failed build writes nothing. Only files publisher
    wrote are ever removed from the output folder.

    \b
    Example:
        publisher build --out public
    """
    run_build(ctx.config, out, drafts, clean, force)


@main.command()
@click.argument("title")
@pass_context
def new(ctx, title: str) -> None:
    """Start a new post as a draft in posts/, with its front matter filled in.

    \b
    Example:
        publisher new "Five stretches for desk workers"
    """
    config = ctx.config
    if not title.strip():
        raise PublisherError('the title is blank; give the post a title, e.g. publisher new "Five stretches for '
                             'desk workers"')
    today = clock.now().astimezone(config.tz)
    path = _new_post_path(config.path(config.paths.posts), today, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new_post_text(title, today), encoding="utf-8")
    click.echo(f"Created {_shown(path).rstrip('/')}; remove 'draft: true' when it is ready to publish")


def _new_post_path(posts: Path, today: dt.datetime, title: str) -> Path:
    """posts/DATE-SLUG.md for a new post. Another post file with the slug (two titles without Latin letters both
    make 'post') gets this one a suffix -2, -3…, since the build refuses two posts with one URL; refused only when
    today's file already has this very title."""
    from ..content.posts import slugify
    slug = slugify(title)
    path = posts / f"{today:%Y-%m-%d}-{slug}.md"
    if path.exists() and _title_line(title) in path.read_text(encoding="utf-8", errors="replace").splitlines():
        raise PublisherError("a post with this title already exists today; edit it, or choose another title", path)
    taken = {_DATE_PREFIX.sub("", p.stem) for p in posts.glob("*.md")}
    free = slug
    for n in itertools.count(2):
        if free not in taken:
            return posts / f"{today:%Y-%m-%d}-{free}.md"
        free = f"{slug}-{n}"


def _title_line(title: str) -> str:
    """The front matter line of a title, quoted safely for YAML."""
    return f"title: {_quoted(title)}"


def _quoted(text: str) -> str:
    """The text as a double-quoted YAML (and JSON) string."""
    import json
    return json.dumps(text, ensure_ascii=False)


def new_post_text(title: str, date: dt.datetime, summary: str = "", draft: bool = True) -> str:
    """Front matter for a fresh post, with its stable id already in place (so `publish` need not write into a
    file that may be open in an editor)."""
    from ..content.post_ids import new_post_id
    return (f"---\n{_title_line(title)}\ndate: {date:%Y-%m-%d %H:%M}\nsummary: {_quoted(summary)}"
            f"\ntags: []\n{'draft: true' + chr(10) if draft else ''}id: {new_post_id()}\n---\n\nWrite your article here.\n")


INIT_CONFIG = """\
# publisher.toml: the site's settings. Only title and url are required.
[site]
title = {title}
url = "https://example.com"
language = "en"
timezone = "UTC"

[booking]              # the call-to-action box under every post and in every newsletter: make it yours
heading = "Get in touch"
email = "you@example.com"
# phone = "01234 567890"

[newsletter]
# max_age = 7          # days (or "36 hours"): a post that first appears dated longer ago is archived, not mailed
"""

INIT_PAGE = """\
---
title: About
summary: Who writes this site, and how to get in touch.
nav: 1
---

Write about yourself here. Pages like this one live in pages/; `nav: 1` puts this one first in the header.
"""


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--title", default="My site", show_default=True, help="The site's title.")
def init(directory: Path, title: str) -> None:
    """Create a new site in DIRECTORY that builds at once.

    \b
    Example:
        publisher init my-blog && cd my-blog && publisher build
    """
    config_file = directory / "publisher.toml"
    if config_file.exists():
        raise ConfigError("a site already exists here; edit it, or choose another folder", config_file)
    (directory / "posts").mkdir(parents=True, exist_ok=True)
    config_file.write_text(INIT_CONFIG.format(title=_quoted(title)), encoding="utf-8")
    today = clock.now()
    (directory / "posts" / f"{today:%Y-%m-%d}-hello.md").write_text(
        new_post_text("Hello", today, summary="The first post of this site.", draft=False), encoding="utf-8")
    (directory / "pages").mkdir(exist_ok=True)
    (directory / "pages" / "about.md").write_text(INIT_PAGE, encoding="utf-8")
    click.echo(f"Created a site in {directory}/. Next: cd {directory} && publisher build")
