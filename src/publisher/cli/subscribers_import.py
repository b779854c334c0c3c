"""`publisher subscribers import`: lists exported from another service (or from here), several files or a .zip
at a time, each file's service recognised, every file parsed before anything is written."""

from __future__ import annotations

from pathlib import Path

import click

from .. import clock
from ..store import SUBSCRIBER_STATUSES
from . import Context, open_site_store, pass_context, subscriber_group
from .subscribers import read_bytes
from .words import plural


@subscriber_group.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--status", type=click.Choice(SUBSCRIBER_STATUSES),
              help="The status of rows the file gives none (a plain list of addresses); a suppression "
                   "(unsubscribed, bounced, complained) also overrides a laxer one the file gives.")
@click.option("--dry-run", is_flag=True, help="Show what each file holds and write nothing.")
@pass_context
def import_subscribers(ctx: Context, files: tuple[Path, ...], status: str | None, dry_run: bool) -> None:
    """Add the subscribers in FILES: exports of Mailchimp (its CSVs or its .zip), Substack, Buttondown, Ghost,
    listmonk, Kit or MailerLite, told apart by their columns, or a CSV of `export`.

    Each service's statuses are kept (an unsubscribed or cleaned address never becomes active), with its
    opt-in and confirmation times. A plain list with only email (and name) columns says nothing of consent:
    it imports only with --status, e.g. --status active when all of them asked for the newsletter. Times
    without a zone are read in the site's time zone. Bad rows are listed by line and skipped (the exit code
    is then 1), with every other row for the same address, in any of the files; a file whose rows run together (a quote left open) stops the import before anything is
    written.

    \b
    Example:
        publisher subscribers import mailchimp-export.zip --dry-run
    """
    parsed = _parse_all(files, ctx.config.tz, status)
    if dry_run:
        for report in parsed:
            _describe(report, ctx.config.site.timezone)
        _preview(ctx, parsed)
    else:
        _store(ctx, parsed)
    problems = sum(len(p.problems) for p in parsed)
    if problems:
        skipped = plural(problems, "bad row was", "bad rows were")
        raise click.ClickException(f"{skipped} skipped (listed above); correct them and import the file again")


def _parse_all(files: tuple[Path, ...], tz, status: str | None) -> list:
    """Every file parsed (a ContentError stops the import before anything is written), mailboxes listed by
    several files kept once, with the strictest status."""
    from ..service.list_import import merge_files, parse_export
    parsed = [p for file in files for p in parse_export(str(file), read_bytes(file), tz, status)]
    return merge_files(parsed)


def _describe(report, timezone: str) -> None:
    for problem in report.problems:
        held = f", and so is every other row for {problem.email}" if problem.email else ""
        click.echo(f"{report.name}:{problem.line}: {problem.message}; row skipped{held}", err=True)
    if report.naive_times:
        click.echo(f"{report.name}: times without a zone were read in {timezone}, the site's time zone",
                   err=True)
    found = [plural(n, status, status) for status, n in report.counts().items()] or ["nobody"]
    extra = [plural(len(report.problems), "bad row"), plural(len(report.duplicates), "repeated row")]
    if report.in_other_files:
        extra.append(f"{plural(report.in_other_files, 'address', 'addresses')} left to a stricter file")
    click.echo(f"{report.name}: {report.service}: {', '.join(found)}; {', '.join(extra)}")


def _preview(ctx: Context, parsed: list) -> None:
    """How many addresses are new to the list, read without writing (a database not made yet is an empty list)."""
    known: set[str] = set()
    if ctx.config.path(ctx.config.database.path).is_file():
        with open_site_store(ctx.config) as store:
            known = {s.email.lower() for s in store.list_subscribers()}
    found = [s.email.lower() for report in parsed for s in report.subscribers]
    new = sum(1 for address in found if address not in known)
    click.echo(f"Dry run: {plural(new, 'new address', 'new addresses')}, {len(found) - new:,} already on the "
               "list; nothing was written.")


def _store(ctx: Context, parsed: list) -> None:
    """Each file in a transaction of its own, its source naming the file and the service."""
    from ..service.suppression import hashes_under_every_key
    now = clock.now()
    with open_site_store(ctx.config) as store:
        for report in parsed:
            _describe(report, ctx.config.site.timezone)
            outcome = store.add_subscribers(report.subscribers, f"{Path(report.name).name} "
                                            f"({report.service})", now=now,
                                            address_hashes=hashes_under_every_key(ctx.config.secrets))
            click.echo(f"Imported {Path(report.name).name}: {outcome.added:,} added, {outcome.made_stricter:,} "
                       f"made stricter, {outcome.unchanged:,} unchanged, {outcome.suppressed:,} kept off as "
                       "suppressed.")
