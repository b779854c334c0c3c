"""Site commands: build, new, init."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click

from .. import clock
from ..errors import ConfigError, PublisherError
from . import main, pass_context


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
        click.secho(f"Warning: {_shown(out_dir)}: {result.others} file(s) there were not written by publisher and "
                    f"are left as they are; delete any that are stale by hand", fg="yellow", err=True)
    seconds = time.perf_counter() - started
    click.echo(f"Built {result.posts} posts, {result.pages} pages and 3 feeds "
               f"({result.files} files, {result.written} written) into {_shown(out_dir)} in {seconds:.2f} s")
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
    from ..content.posts import slugify
    config = ctx.config
    today = clock.now().astimezone(config.tz)
    path = config.path(config.paths.posts) / f"{today:%Y-%m-%d}-{slugify(title)}.md"
    if path.exists():
        raise PublisherError("a post with this title already exists today; choose another title", path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new_post_text(title, today), encoding="utf-8")
    click.echo(f"Created {_shown(path).rstrip('/')}; remove 'draft: true' when it is ready to publish")


def new_post_text(title: str, date: dt.datetime) -> str:
    """Front matter for a fresh post, the title quoted safely for YAML."""
    import json
    return (f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\ndate: {date:%Y-%m-%d %H:%M}\n"
            f"summary: \"\"\ntags: []\ndraft: true\n---\n\nWrite your article here.\n")


INIT_CONFIG = """\
# publisher.toml: the site's settings. Only title and url are required.
[site]
title = {title}
url = "https://example.com"
language = "en"
timezone = "UTC"

# [booking]            # a call-to-action box under every post and in every newsletter
# heading = "Book an appointment"
# phone = "01234 567890"
# email = "you@example.com"
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
    import json
    config_file = directory / "publisher.toml"
    if config_file.exists():
        raise ConfigError("a site already exists here; edit it, or choose another folder", config_file)
    (directory / "posts").mkdir(parents=True, exist_ok=True)
    config_file.write_text(INIT_CONFIG.format(title=json.dumps(title, ensure_ascii=False)), encoding="utf-8")
    today = clock.now()
    (directory / "posts" / f"{today:%Y-%m-%d}-hello.md").write_text(
        new_post_text("Hello", today).replace("draft: true\n", ""), encoding="utf-8")
    click.echo(f"Created a site in {directory}/. Next: cd {directory} && publisher build")
