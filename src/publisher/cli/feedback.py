"""`publisher inbox`: read the bounce mailbox and act on what came back after a send."""

from __future__ import annotations

import click

from .. import clock
from . import main, open_site_store, pass_context
from .campaigns import signing_secret
from .words import plural

_SAID = {"bounced": "now bounced", "complained": "now complained (kept from mail for good)",
         "unsubscribed": "now unsubscribed", "counted": "soft bounce counted", "unchanged": "already kept from mail",
         "repeat": "already applied before", "unknown": "names no delivery of ours; left for you",
         "forged": "its tag is not signed by this site (altered or forged); left for you",
         "would apply": "would be applied"}


@main.command()
@click.option("--dry-run", is_flag=True, help="Read and report what would be done; change and move nothing.")
@pass_context
def inbox(ctx, dry_run: bool) -> None:
    """Read the bounce mailbox ([inbox] in publisher.toml: a Maildir folder or IMAP over TLS) and act on it.

    Bounces (5.x.x at once, 4.x.x after [delivery] soft_bounce_limit in a row), complaints and mail to a
    subscriber's own unsubscribe address change that subscriber; auto-replies never count. Handled messages
    move to a 'processed' folder, auto-replies to 'ignored'; anything else is left where it is. Running it
    again changes nothing twice, so it is safe from cron.

    \b
    Example:
        publisher inbox --dry-run
    """
    from ..feedback.inbox import InboxSettings, process_inbox
    from ..feedback.mailboxes import open_mailbox, parse_imap_url
    config = ctx.config
    i = config.inbox
    imap = parse_imap_url(i.imap_url, config.secrets.imap_password, i.timeout) if i.imap_url else None
    box = open_mailbox(config.path(i.maildir) if i.maildir else None, imap)
    try:
        with open_site_store(config) as store:
            keys = (signing_secret(config, store), *config.secrets.old_secret_keys)
            settings = InboxSettings(config.delivery.bounce_address, keys, config.delivery.soft_bounce_limit,
                                     clock.now, dry_run)
            handled = process_inbox(box, store, settings, _report)
    finally:
        box.close()
    _summarise(handled, dry_run)


def _report(done) -> None:
    """One line per message: where it is, what it is, and what became of each thing it reported."""
    outcomes = "; ".join(f"{a.email or a.event.address or 'nobody'}: {_SAID[a.result]}" for a in done.applied)
    moved = f" -> {done.folder}" if done.folder else ""
    line = f"{done.item.label}: {done.verdict.reason}{': ' + outcomes if outcomes else ''}{moved}"
    forged = any(a.result == "forged" for a in done.applied)
    click.secho(line, fg="yellow" if forged else None)


def _summarise(handled: list, dry_run: bool) -> None:
    results = [a.result for done in handled for a in done.applied]
    moved = sum(1 for done in handled if done.folder)
    counts = [plural(results.count(r), "subscriber", "subscribers") + f" {r}" for r in
              ("bounced", "complained", "unsubscribed") if results.count(r)]
    if results.count("counted"):
        counts.append(plural(results.count("counted"), "soft bounce") + " counted")
    left = len(handled) - moved
    summary = ", ".join(counts) or "nobody changed"
    prefix = "Dry run, nothing changed or moved: would file" if dry_run else "Filed"
    click.echo(f"Read {plural(len(handled), 'message')}: {summary}. {prefix} {moved}; left {left} for you.")
