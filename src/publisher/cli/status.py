"""`publisher status`: the list by status and every campaign's counts; for one campaign, what became of it
(sent, failed, and who has bounced, complained or unsubscribed since), and with --failed each failed address
with the server's reply."""

from __future__ import annotations

import difflib

import click

from . import main, open_site_store, pass_context
from .words import plural


@main.command()
@click.argument("slug", required=False)
@click.option("--failed", "show_failed", is_flag=True,
              help="List each failed address of campaign SLUG with the server's reply.")
@pass_context
def status(ctx, slug: str | None, show_failed: bool) -> None:
    """List the subscribers by status and every campaign with its delivery counts; with SLUG, that
    campaign's sent, failed, bounced, complained and unsubscribed.

    \b
    Example:
        publisher status sciatica-and-lower-back-pain --failed
    """
    if show_failed and slug is None:
        raise click.UsageError("--failed needs a campaign: `publisher status SLUG --failed` (plain `publisher "
                               "status` lists the campaigns)")
    config = ctx.config
    with open_site_store(config) as store:
        if slug is None:
            return _overview(config, store)
        campaign = _find_campaign(store, slug)
        if show_failed:
            return _failed(store, campaign)
        _campaign(config, store, campaign)


def _overview(config, store) -> None:
    """The subscribers by status, and one line per campaign."""
    counts = store.count_subscribers()
    click.echo("Subscribers: " + ", ".join(f"{n} {state}" for state, n in counts.items()))
    campaigns = store.list_campaigns()
    if not campaigns:
        click.echo("No campaigns yet: `publisher publish` mails each new post.")
        return
    click.echo(f"{'campaign':<40} {'status':<8} {'sent':>6} {'failed':>6} {'queued':>6} {'skipped':>7}  started")
    for campaign in campaigns:
        c = store.delivery_counts(campaign.id)
        click.echo(f"{campaign.slug[:40]:<40} {campaign.status:<8} {c.sent:>6} {c.failed:>6} "
                   f"{c.unfinished:>6} {c.skipped:>7}  {_started(config, campaign)}")


def _find_campaign(store, slug: str):
    """The campaign of post SLUG, or an error naming the nearest slugs."""
    campaign = store.get_campaign(slug)
    if campaign is not None:
        return campaign
    close = difflib.get_close_matches(slug, [c.slug for c in store.list_campaigns()], n=3)
    hint = f"did you mean {', '.join(close)}?" if close else "`publisher status` lists the campaigns"
    raise click.ClickException(f"no campaign '{slug}' (a post gets one when it is mailed); {hint}")


def _campaign(config, store, campaign) -> None:
    """What became of one campaign."""
    from ..sending.transports import mailbox_full
    c = store.delivery_counts(campaign.id)
    full = sum(mailbox_full(d.last_reply) for d in store.list_deliveries(campaign.id, "failed"))
    left = store.left_since(campaign.id)
    click.echo(f"'{campaign.slug}' ({campaign.subject}): {campaign.status}, started {_started(config, campaign)}")
    full_note = f" ({plural(full, 'full mailbox', 'full mailboxes')})" if full else ""
    click.echo(f"  sent {c.sent}, failed {c.failed}{full_note}, queued {c.unfinished}, skipped {c.skipped}")
    click.echo(f"  Since it went out: {left['bounced']} bounced, {left['complained']} complained, "
               f"{left['unsubscribed']} unsubscribed.")
    if c.failed:
        click.echo(f"  `publisher status {campaign.slug} --failed` lists the failed addresses and replies.")
    _clicks(config, store.list_clicks(campaign.id))


def _clicks(config, clicks: list[tuple[str, int]]) -> None:
    """Each tracked link's clicks, the booking button's first (counts only: who clicked is never recorded)."""
    if not clicks:
        return
    booking = config.booking.url
    click.echo("  Clicks (counted, never who clicked):")
    for url, count in sorted(clicks, key=lambda link: link[0] != booking):
        click.echo(f"  {count:>6}  {'booking button: ' if url == booking else ''}{url}")


def _failed(store, campaign) -> None:
    """Each failed address with the server's reply, and what became of its reader."""
    from ..sending.transports import mailbox_full
    failed = store.list_deliveries(campaign.id, "failed")
    if not failed:
        click.echo(f"No failed deliveries in '{campaign.slug}'.")
    for delivery in failed:
        reader = delivery.subscriber
        note = " (full mailbox: the next campaign tries again)" if mailbox_full(delivery.last_reply) else \
            f" ({reader.status})" if reader.status != "active" else ""
        click.echo(f"{reader.email}  {delivery.last_reply}{note}")


def _started(config, campaign) -> str:
    return campaign.created_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
