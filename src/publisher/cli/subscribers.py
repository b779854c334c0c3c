"""Subscriber commands: add, remove, list, count, import and export (the `publisher subscribers` group; the
consent commands invite, show and forget are in consent.py)."""

from __future__ import annotations

from pathlib import Path

import click

from .. import clock
from ..store import SUBSCRIBER_STATUSES
from . import Context, open_site_store, pass_context, subscriber_group
from .addresses import valid_address, valid_name
from .words import plural


# Why `add` refuses an address, by its status; None is a forgotten address, which is not on the list at all.
REFUSALS = {
    "pending": "has not confirmed the sign-up yet",
    "unsubscribed": "unsubscribed",
    "bounced": "bounced (the mailbox does not exist)",
    "complained": "complained (marked an email as spam)",
    None: "was forgotten (erased at their request)",
}


@subscriber_group.command()
@click.argument("address")
@click.option("--name", default="", help="The subscriber's name, for greetings.")
@pass_context
def add(ctx: Context, address: str, name: str) -> None:
    """Add ADDRESS as an active subscriber, without a confirmation email: you vouch for their consent.

    An address that unsubscribed, bounced, complained or was forgotten, or that has not
    confirmed a sign-up yet, is refused: only the reader's own confirmation makes it active.
    `publisher subscribers invite ADDRESS` sends them the confirmation email.

    \b
    Example:
        publisher subscribers add ann@example.com --name "Ann Lee"
    """
    from ..service.suppression import hashes_under_every_key
    email, name, now = valid_address(address), valid_name(name), clock.now()
    with open_site_store(ctx.config) as store:
        subscriber, added = store.add_subscriber(email, name, "active", "cli", now=now,
                                                 address_hashes=hashes_under_every_key(ctx.config.secrets))
    if added:
        click.echo(f"Added {subscriber.email}.")
    elif subscriber is not None and subscriber.status == "active":
        click.echo(f"{subscriber.email} is already subscribed.")
    else:
        email, why = (subscriber.email, REFUSALS[subscriber.status]) if subscriber else (email, REFUSALS[None])
        raise click.ClickException(f"{email} {why}, so only their own confirmation can subscribe them: run "
                                   f"`publisher subscribers invite {email}` to send them a confirmation email")


@subscriber_group.command()
@click.argument("address")
@pass_context
def remove(ctx: Context, address: str) -> None:
    """Unsubscribe ADDRESS: it gets no more newsletters.

    The address stays on the list, marked unsubscribed (with the change in its consent
    history), so that importing an old export does not add it back.

    \b
    Example:
        publisher subscribers remove ann@example.com
    """
    with open_site_store(ctx.config) as store:
        subscriber = store.set_subscriber_status(address, "unsubscribed", now=clock.now(), how="cli")
    if subscriber is None:
        raise click.ClickException(f"{address} is not a subscriber; `publisher subscribers list` shows who is")
    if subscriber.status == "unsubscribed":
        click.echo(f"Unsubscribed {subscriber.email}.")
    else:
        click.echo(f"{subscriber.email} stays {subscriber.status}: it gets no more newsletters.")


@subscriber_group.command("list")
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


@subscriber_group.command()
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


@subscriber_group.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@pass_context
def export(ctx: Context, file: Path | None) -> None:
    """Write every subscriber as CSV to FILE.csv, or to standard output without FILE.

    The columns are email, name, status and created_at, which `import` reads back, then the
    consent evidence: subscribed_at and source (when and how they first signed up, were
    invited or imported, with the form's IP address or the file), confirmed_at (their last
    confirmation) and status_changed_at.

    \b
    Example:
        publisher subscribers export backup.csv
    """
    from ..service.subscriber_csv import write_csv
    with open_site_store(ctx.config) as store:
        people, evidence = store.list_subscribers(), store.consent_summaries()
    if file is None:
        click.echo(write_csv(people, evidence), nl=False)
        return
    try:
        file.write_text(write_csv(people, evidence), encoding="utf-8", newline="")
    except OSError as exc:
        raise click.ClickException(f"cannot write {file}: {exc.strerror}") from None
    click.echo(f"Exported {plural(len(people), 'subscriber')} to {file}.", err=True)


def read_bytes(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror}") from None
