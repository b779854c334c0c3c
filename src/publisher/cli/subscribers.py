"""Subscriber commands: add, remove, list, count, import and export (the `publisher subscribers` group)."""

from __future__ import annotations

from pathlib import Path

import click

from .. import clock
from ..store import SUBSCRIBER_STATUSES
from . import Context, main, open_site_store, pass_context
from .words import plural


@main.group()
def subscribers() -> None:
    """Manage who receives the newsletter: add, remove, list, count, import and export.

    \b
    Example:
        publisher subscribers import mailchimp-export.csv && publisher subscribers count
    """


def valid_address(address: str) -> str:
    from ..service.subscriber_csv import validate_address
    try:
        return validate_address(address)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def valid_name(name: str) -> str:
    from ..service.subscriber_csv import validate_name
    try:
        return validate_name(name)
    except ValueError as exc:
        raise click.ClickException(f"--name: {exc}") from None


@subscribers.command()
@click.argument("address")
@click.option("--name", default="", help="The subscriber's name, for greetings.")
@pass_context
def add(ctx: Context, address: str, name: str) -> None:
    """Add ADDRESS as an active subscriber, without a confirmation email.

    An address that had unsubscribed or bounced becomes active again.

    \b
    Example:
        publisher subscribers add ann@example.com --name "Ann Lee"
    """
    email, name, now = valid_address(address), valid_name(name), clock.now()
    with open_site_store(ctx.config) as store:
        subscriber, added = store.add_subscriber(email, name, "active", "cli", now=now)
        if not added and subscriber.status != "active":
            store.set_subscriber_status(email, "active", now=now)
    if added:
        click.echo(f"Added {subscriber.email}.")
    elif subscriber.status == "active":
        click.echo(f"{subscriber.email} is already subscribed.")
    else:
        click.echo(f"{subscriber.email} was {subscriber.status}; it is active again.")


@subscribers.command()
@click.argument("address")
@pass_context
def remove(ctx: Context, address: str) -> None:
    """Unsubscribe ADDRESS: it gets no more newsletters.

    The address stays on the list, marked unsubscribed, so that importing an old export
    does not add it back.

    \b
    Example:
        publisher subscribers remove ann@example.com
    """
    with open_site_store(ctx.config) as store:
        subscriber = store.set_subscriber_status(address, "unsubscribed", now=clock.now())
    if subscriber is None:
        raise click.ClickException(f"{address} is not a subscriber; `publisher subscribers list` shows who is")
    click.echo(f"Unsubscribed {subscriber.email}.")


@subscribers.command("list")
@click.option("--status", type=click.Choice(SUBSCRIBER_STATUSES), help="Only subscribers with this status.")
@pass_context
def list_subscribers(ctx: Context, status: str | None) -> None:
    """Print subscribers, oldest first: address, status and name, separated by tabs.

    \b
    Example:
        publisher subscribers list --status bounced
    """
    with open_site_store(ctx.config) as store:
        for s in store.list_subscribers(status):
            click.echo(f"{s.email}\t{s.status}\t{s.name}".rstrip())


@subscribers.command()
@pass_context
def count(ctx: Context) -> None:
    """Print how many subscribers have each status, and the total.

    \b
    Example:
        publisher subscribers count
    """
    with open_site_store(ctx.config) as store:
        counts = store.count_subscribers()
    for status, number in [*counts.items(), ("total", sum(counts.values()))]:
        click.echo(f"{status:<13}{number:>8}")


@subscribers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def import_subscribers(ctx: Context, file: Path) -> None:
    """Add the subscribers in FILE.csv, as exported by Mailchimp, Substack, a spreadsheet or `export`.

    The file needs a column named email, Email or Email Address; a name (or First Name and
    Last Name) and a status column are optional. Bad rows are listed by line number and
    skipped (the exit code is then 1); a file whose rows run together (a quote left open)
    imports nothing and names the line. Addresses already on the list (in capitals or not)
    are left as they are, so importing the same file again changes nothing.

    \b
    Example:
        publisher subscribers import subscribers.csv
    """
    from ..service.subscriber_csv import decode_csv, parse_csv
    parsed = parse_csv(decode_csv(read_bytes(file), file), file)
    with open_site_store(ctx.config) as store:
        added = store.add_subscribers(parsed.subscribers, f"import:{file.name}", now=clock.now()).added
    for problem in parsed.problems:
        click.echo(f"{file}:{problem.line}: {problem.message}; row skipped", err=True)
    click.echo(f"Imported {plural(added, 'new subscriber')} from {file.name} ({len(parsed.subscribers) - added:,} "
               f"already on the list, {plural(len(parsed.duplicates), 'repeated row')} ignored, "
               f"{plural(len(parsed.problems), 'bad row')}).")
    if parsed.problems:
        skipped = plural(len(parsed.problems), "bad row was", "bad rows were")
        raise click.ClickException(f"{skipped} skipped (listed above); correct them and import the file again")


@subscribers.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@pass_context
def export(ctx: Context, file: Path | None) -> None:
    """Write every subscriber as CSV to FILE.csv, or to standard output without FILE.

    The columns are email, name, status and created_at; `import` reads the file back unchanged.

    \b
    Example:
        publisher subscribers export backup.csv
    """
    from ..service.subscriber_csv import write_csv
    with open_site_store(ctx.config) as store:
        people = store.list_subscribers()
    if file is None:
        click.echo(write_csv(people), nl=False)
        return
    try:
        file.write_text(write_csv(people), encoding="utf-8", newline="")
    except OSError as exc:
        raise click.ClickException(f"cannot write {file}: {exc.strerror}") from None
    click.echo(f"Exported {plural(len(people), 'subscriber')} to {file}.", err=True)


def read_bytes(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror}") from None
