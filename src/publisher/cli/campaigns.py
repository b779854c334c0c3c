"""Campaign commands: `send` one post's newsletter, `publish` the site and every new post's newsletter."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from collections.abc import Iterator
from contextlib import contextmanager

import click

from .. import clock
from ..errors import Busy, ContentError, DeliveryError, SendingStopped
from . import main, open_site_store, pass_context
from .building import print_warnings, run_build
from .mail import find_post
from .addresses import valid_address
from .words import plural

LOCAL_KEY = "local_secret_key"
BUSY = "Another `publisher send` or `publisher publish` is sending to this site's subscribers"


def signing_secret(config, store=None) -> str:
    """PUBLISHER_SECRET_KEY; without it, a key this site keeps in its database, but only while mail goes to the
    local Maildir outbox: real delivery needs the key from the environment, which `serve` shares."""
    from ..mail.tokens import check_secret
    if config.secrets.secret_key or config.delivery.smtp_url:
        check_secret(config.secrets.secret_key)
        return config.secrets.secret_key
    if store is None:
        with open_site_store(config) as store:
            return signing_secret(config, store)
    if not store.has_setting(LOCAL_KEY):
        click.secho("Note: PUBLISHER_SECRET_KEY is not set, so links in the outbox are signed with a key kept in "
                    f"{config.database.path}; set it before sending over SMTP.", fg="yellow", err=True)
    import secrets
    return store.setting(LOCAL_KEY, lambda: secrets.token_urlsafe(32))


@contextmanager
def sigterm_as_ctrl_c():
    """While sending, treat SIGTERM (`systemctl stop`, `kill`) like Ctrl-C: each worker finishes and records the
    message it is sending, then the command stops with exit code 130, instead of dying with messages in flight
    that the next run would send again. Signal handlers belong to the main thread, so elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def describe_transport(config) -> str:
    from ..sending.transports import parse_smtp_url
    d = config.delivery
    if not d.smtp_url:
        return f"the Maildir outbox {d.maildir}/ (no SMTP server configured)"
    return "SMTP server " + parse_smtp_url(d.smtp_url, allow_plaintext=d.allow_plaintext,
                                           setting=config.smtp_url_setting).where


@contextmanager
def delivering(store) -> Iterator:
    """A Reporter for the campaigns of one send or publish. Ctrl-C (or SIGTERM) during a campaign says how to
    resume and exits 130; a campaign that cannot go on becomes one error saying what is still queued."""
    from .progress import Reporter
    reporter = Reporter()
    try:
        yield reporter
    except KeyboardInterrupt:
        if reporter.sending is None:
            raise
        reporter.close()
        click.secho(f"\nStopped. Every outcome so far is recorded; run the same command again to finish "
                    f"'{reporter.sending}'.", fg="yellow", err=True)
        raise click.exceptions.Exit(130) from None
    except SendingStopped as exc:
        raise _stopped(store, reporter.sending, exc) from None
    finally:
        reporter.close()


def _stopped(store, slug: str, error: SendingStopped) -> DeliveryError:
    """Why sending stopped, and that nothing is lost: the deliveries still queued, and how to resume them."""
    left = store.delivery_counts(store.get_campaign(slug).id).unfinished
    return DeliveryError(f"{error.message}. Sending '{slug}' stopped with {plural(left, 'delivery', 'deliveries')} "
                         "still queued, none lost: run the same command again (or let the next `publisher "
                         "publish` run) to resume.", error.path, error.line)


@main.command()
@click.argument("slug")
@click.option("--dry-run", is_flag=True, help="List who would get the newsletter; send and record nothing.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="With --dry-run: write the recipients to this CSV file instead of listing them.")
@click.option("--test-to", metavar="ADDRESS", help="Send one copy to ADDRESS only, recording nothing.")
@click.option("--retry-failed", is_flag=True,
              help="Queue the post's failed deliveries again and send them (not to people who have left since, "
                   "nor any the server may have taken).")
@pass_context
def send(ctx, slug: str, dry_run: bool, output: Path | None, test_to: str | None, retry_failed: bool) -> None:
    """Send the newsletter of post SLUG to every active subscriber, once each.

    Running it again after a crash, an outage or Ctrl-C resumes where it stopped; a finished campaign sends
    nothing, unless --retry-failed queues its failed deliveries again. While another send or publish is
    sending for the site, it sends nothing, says so and exits 0.

    \b
    Example:
        publisher send sciatica-and-lower-back-pain --test-to me@example.com
    """
    from ..sending.publish import compile_for, follow
    check_output(output, dry_run)
    config = ctx.config
    post = _publishable(config, slug)
    newsletter = compile_for(config, post)
    print_warnings(newsletter.warnings)
    with open_site_store(config) as store:
        if dry_run:
            return _dry_run_send(config, store, newsletter, output)
        secret = signing_secret(config, store)
        if test_to:
            return _send_test(config, store, newsletter, secret, test_to)
        try:
            with store.lock(), sigterm_as_ctrl_c():
                follow(store, post)
                failed = _send_campaign(config, store, newsletter, secret, retry_failed, post.id or None)
        except Busy:
            click.echo(f"{BUSY}; nothing was sent. Run `publisher send {slug}` again once it has finished.")
            return
    if failed:
        exit_failed()


def _send_campaign(config, store, newsletter, secret: str, retry_failed: bool, post_id: str | None) -> int:
    """The campaign part of `send`, under the sending lock; returns how many deliveries failed (a full mailbox
    aside: that is a warning)."""
    from ..sending.publish import requeue_failed, send_newsletter
    if retry_failed:
        count = requeue_failed(store, newsletter.slug)
        if count is not None:
            click.echo(f"Queued {plural(count, 'failed delivery', 'failed deliveries')} of '{newsletter.slug}' "
                       "again (never to people who have left since).")
    with delivering(store) as reporter:
        report = send_newsletter(config, store, newsletter, secret, notify=reporter, post_id=post_id)
    return report.result.failed_for_good if report.result else 0


def _publishable(config, slug: str):
    """The post SLUG, if it may be mailed now: published, neither a draft nor dated in the future."""
    from ..build.pipeline import load_site
    from ..content.schedule import is_published
    site, warnings = load_site(config, clock.now(), drafts=True)
    post = find_post(site.posts, slug, config.path(config.paths.posts))
    print_warnings([w for w in warnings if w.path == post.source])
    if is_published(post, site.now):
        return post
    if post.draft:
        raise ContentError("is a draft, and drafts are never mailed; remove 'draft: true' to publish it",
                           post.source)
    raise ContentError(f"is dated {post.date:%Y-%m-%d %H:%M}, in the future; the first `publisher publish` "
                       "at or after that time mails it", post.source)


def _dry_run_send(config, store, newsletter, output: Path | None) -> None:
    """Who `send` would mail now: every active subscriber, or those a started campaign has still to reach."""
    campaign = store.get_campaign(newsletter.slug)
    if campaign is None:
        people = store.list_subscribers("active")
        click.echo(f"Would send '{newsletter.subject}' to {plural(len(people), 'active subscriber')} via "
                   f"{describe_transport(config)}.")
    else:
        people = still_queued(store, campaign)
        click.echo(f"'{newsletter.slug}' was already sent ({campaign.status}); "
                   f"{plural(len(people), 'delivery', 'deliveries')} left to make via {describe_transport(config)}.")
    list_recipients(("email", "name"), [(p.email, p.name) for p in people], output)


def check_output(output: Path | None, dry_run: bool) -> None:
    if output is not None and not dry_run:
        raise click.UsageError("-o/--output writes the list of a --dry-run; add --dry-run, or leave -o out to send")


def still_queued(store, campaign) -> list:
    """The subscribers a started campaign would still mail: queued (or left in flight) and still active."""
    deliveries = store.list_deliveries(campaign.id, "sending") + store.list_deliveries(campaign.id, "queued")
    return [d.subscriber for d in sorted(deliveries, key=lambda d: d.id) if d.subscriber.status == "active"]


def list_recipients(header: tuple[str, ...], rows: list[tuple[str, ...]], output: Path | None) -> None:
    """A dry run's recipients: one address a line, indented, or every row as CSV into `output`."""
    if output is None:
        for row in rows:
            click.echo(f"  {row[header.index('email')]}")
        return
    from ..service.subscriber_csv import write_rows
    try:
        output.write_text(write_rows(header, rows), encoding="utf-8", newline="")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"Wrote {plural(len(rows), 'recipient')} to {output}.")


def _send_test(config, store, newsletter, secret: str, address: str) -> None:
    """One copy to `address`; its unsubscribe link works if the address is a subscriber, as in the real thing."""
    from ..mail.newsletter import Addressee, make_renderer
    from ..sending.single import single_sender
    from ..sending.transports import make_transport
    address = valid_address(address)
    recipient = store.get_subscriber(address) or Addressee(address)
    single_sender(config, make_transport(config))(make_renderer(newsletter, secret, clock.now)(recipient))
    click.echo(f"Sent a test copy of '{newsletter.slug}' to {recipient.email} via {describe_transport(config)}; "
               "nothing was recorded against the campaign.")


def exit_failed() -> None:
    click.secho("Some deliveries failed; `publisher status` lists the campaign, and the replies are in the "
                "database. `publisher send SLUG --retry-failed` tries them again.", fg="red", err=True)
    raise click.exceptions.Exit(1)


@main.command()
@click.option("--send-latest", is_flag=True, help="On a site's first publish, mail the newest post too.")
@click.option("--dry-run", is_flag=True,
              help="Read the posts and list what would be mailed to whom; write and send nothing.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="With --dry-run: write the recipients to this CSV file (post, email, name) instead.")
@pass_context
def publish(ctx, send_latest: bool, dry_run: bool, output: Path | None) -> None:
    """Build the site, then mail every post new to the site, once.

    The first publish of a site records the posts that exist as its archive and mails none of them; later, a
    new post dated more than [newsletter] max_age ago, or saying `email: false`, is archived too. Each post's
    id is written into its front matter when it is first recorded, so a renamed post is never mailed again.
    Safe to run from cron: started while another publish or send is sending, it says so and exits 0.

    \b
    Example:
        publisher publish --dry-run
    """
    check_output(output, dry_run)
    config = ctx.config
    with open_site_store(config) as store:
        try:
            with store.lock(), sigterm_as_ctrl_c():
                failed = _publish(config, store, send_latest, dry_run, output)
        except Busy:
            click.echo(f"{BUSY}; leaving the work to it (the next publish picks up whatever is left).")
            return
    if failed:
        exit_failed()


def _publish(config, store, send_latest: bool, dry_run: bool, output: Path | None) -> int:
    """The whole publish under the lock: build, then mail (or, dry, say what would be mailed); returns how many
    deliveries failed."""
    from ..build.pipeline import load_site
    from ..sending.publish import plan, publish
    if dry_run:  # the posts are all a plan needs: nothing is rendered or written
        site, warnings = load_site(config, clock.now())
        print_warnings(warnings)
    else:
        site = run_build(config).site
    if dry_run:
        return _show_plan(config, store, site, plan(store, site, send_latest), output)
    with delivering(store) as reporter:
        report = publish(config, store, site, lambda: signing_secret(config, store), send_latest=send_latest,
                         notify=reporter)
    if not report.campaigns:
        click.echo("No new posts to mail.")
    return report.failed


def _show_plan(config, store, site, plan, output: Path | None) -> int:
    """What a publish would do, in the order it would: the archive, each new post's recipients, then what is
    left of campaigns an earlier run did not finish."""
    from ..sending.due import FIRST_RUN
    from .progress import unmailed_reason
    existing = [entry for entry in plan.archive if entry.reason == FIRST_RUN]
    if existing:
        click.echo(f"Would record {plural(len(existing), 'existing post')} as the archive, mailing none of them.")
    for entry in plan.archive:
        if entry.reason != FIRST_RUN:
            click.echo(f"Would archive without mailing ({unmailed_reason(entry, config.newsletter.max_age)}): "
                       f"{entry.post.source}")
    active = store.list_subscribers("active")
    rows = []
    for post in plan.send:
        click.echo(f"Would mail '{post.slug}' to {plural(len(active), 'active subscriber')} via "
                   f"{describe_transport(config)}.")
        rows += _rows_of(post.slug, active, output)
    published = {post.slug for post in site.posts} - {post.slug for post in plan.send}
    unfinished = [c for c in store.unfinished_campaigns() if c.slug in published]
    for campaign in unfinished:
        left = still_queued(store, campaign)
        click.echo(f"Would finish mailing '{campaign.slug}' to {plural(len(left), 'subscriber')} still queued via "
                   f"{describe_transport(config)}.")
        rows += _rows_of(campaign.slug, left, output)
    if not plan.send and not unfinished:
        click.echo("No new posts to mail.")
    if output is not None:
        list_recipients(("post", "email", "name"), rows, output)
    return 0


def _rows_of(slug: str, people: list, output: Path | None) -> list[tuple[str, str, str]]:
    """One post's recipients as CSV rows, listed at once (indented under its line) when there is no `output`."""
    rows = [(slug, p.email, p.name) for p in people]
    if output is None:
        list_recipients(("post", "email", "name"), rows, None)
    return rows
