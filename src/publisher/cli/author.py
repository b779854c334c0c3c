"""Author commands: `preview` (the site live, drafts included) and `check` (everything that would go wrong)."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import click

from .. import clock
from ..errors import PublisherError
from . import main, pass_context
from .words import plural


@main.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="The port on 127.0.0.1 (0 picks a free one).")
@pass_context
def preview(ctx, port: int) -> None:
    """Serve the site on 127.0.0.1, rebuilt and reloaded in the browser on every save.

    Drafts and scheduled posts are shown, marked as such. /newsletter/SLUG/ shows a post's newsletter as a
    subscriber gets it, at phone or desktop width, with its plain-text part. A mistake shows on the page and
    here; the preview keeps running and recovers when the file is fixed. Nothing is written to _site/.

    \b
    Example:
        publisher preview --port 8000
    """
    from ..authoring.preview import Preview
    from ..config import find_config

    config_file = find_config(ctx.config_path)
    report = functools.partial(_report, root=config_file.parent.resolve(),
                               debug=bool(click.get_current_context().meta.get("publisher.debug")))
    try:
        server = Preview(config_file, port, clock=clock.now, report=report)
    except OSError as exc:
        raise PublisherError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); "
                             f"pass another port, e.g. --port {port + 1 if port else 8000}") from None
    with server:
        try:  # Ctrl+C as soon as the address is shown stops the preview as cleanly as later
            click.echo(f"Previewing at {server.url}/ (newsletters at {server.url}/newsletter/); press Ctrl+C to stop")
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("Stopped")


def _report(rebuilt, root: Path, debug: bool) -> None:
    """One rebuild in the terminal: its problems, or its warnings and what it took."""
    for problem in rebuilt.problems:
        click.secho(f"Error: {_located(problem)}", fg="red", err=True)
    if rebuilt.bug is not None:
        if debug:
            import traceback
            traceback.print_exception(rebuilt.bug)
        else:
            click.echo("This is a bug in publisher; run with --debug for a traceback", err=True)
    for warning in rebuilt.warnings:
        click.secho(f"Warning: {_located(warning)}", fg="yellow", err=True)
    changed = ", ".join(_relative(path, root) for path in rebuilt.changed)
    verb = "Rebuild failed" if rebuilt.problems else "Rebuilt" if rebuilt.changed else "Built"
    click.echo(f"{verb} in {rebuilt.seconds:.2f} s" + (f" ({changed})" if changed else "")
               + ("" if rebuilt.problems else f": {plural(rebuilt.rendered, 'file')} rendered, {plural(rebuilt.pages, 'page')} in all"))


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _located(problem) -> str:
    return f"{problem.where}: {problem.message}" if problem.where else problem.message


@main.command()
@click.option("--strict", is_flag=True, help="Fail on warnings too, not only on errors.")
@click.option("--drafts", is_flag=True, help="Check drafts and scheduled posts too, as if published.")
@pass_context
def check(ctx, strict: bool, drafts: bool) -> None:
    """Report everything the build would refuse or warn about, without writing anything.

    Also finds internal links and images that point nowhere, posts without a summary, newsletters near
    Gmail's 102 KB clipping limit, a missing booking block and feeds that would not validate. Each problem
    names its file and line. Exit code 1 when there are errors; with --strict, warnings fail too.

    \b
    Example:
        publisher check --strict
    """
    from ..authoring.check import ERROR

    problems, checked = _find_problems(ctx, drafts)
    for problem in problems:
        click.secho(str(problem), fg="red" if problem.severity == ERROR else "yellow")
    errors = sum(p.severity == ERROR for p in problems)
    warnings = len(problems) - errors
    counts = f"{plural(errors, 'error')}, {plural(warnings, 'warning')}" if problems else "no problems"
    click.echo(f"Checked {plural(checked, 'post')}: {counts}" if checked is not None else
               f"The site does not build: {counts}")
    if errors or (strict and warnings):
        click.get_current_context().exit(1)


def _find_problems(ctx, drafts: bool):
    """(problems, posts checked); posts checked is None when the build itself fails."""
    import jinja2

    from ..authoring.check import check_build, problems_from_error
    from ..build.images import measure_images
    from ..build.pictures import check_pictures
    from ..build.pipeline import build_site
    from ..build.theme import make_env
    from ..config import find_config

    config_file = find_config(ctx.config_path)
    try:
        config = ctx.config
        result = build_site(config, clock.now(), drafts=drafts)
        check_pictures(result.site, measure_images(config), config.paths.static)  # as the build to disk does
    except (PublisherError, jinja2.TemplateError) as exc:
        return problems_from_error(exc, config_file.parent.resolve()), None
    env = make_env(config.path(config.paths.templates))
    return check_build(result, env, _read_sources(config, config_file, result.site)), len(result.site.posts)


def _read_sources(config, config_file: Path, site):
    """The texts the checks point into: publisher.toml, every post's and page's file, and the names of the static
    files (with the newsletter's copies of images, which the build writes beside them; a post's missing image
    counts as having one, so it is reported once, as itself)."""
    from ..authoring.check import Sources
    from ..build.pictures import post_images
    from ..mail.images import RESIZED_SUFFIXES, email_copy_path

    posts = {item.source: (config.root / item.source).read_text(encoding="utf-8-sig")
             for item in (*site.posts, *site.pages)}
    static = config.path(config.paths.static)
    static_files = frozenset(p.relative_to(static).as_posix() for p in static.rglob("*") if p.is_file()) \
        if static.is_dir() else frozenset()
    shown = static_files | {path for post in site.posts for path in post_images(post, site.url)}
    static_files |= {email_copy_path(p) for p in shown if p.lower().endswith(RESIZED_SUFFIXES)}
    return Sources(Path(config_file.name), config_file.read_text(encoding="utf-8"), posts, static_files)