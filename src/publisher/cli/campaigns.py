"""Campaign commands: `send` one post's newsletter, `publish` the site and every new post's newsletter, `status`."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click

from .. import clock
from ..errors import Busy, ContentError, DeliveryError, SendingStopped
from . import main, open_site_store, pass_context
from .building import print_warnings, run_build
from .mail import find_post
from .subscribers import valid_address
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
@click.option("--dry-run", is_flag=True, help="Say who would get the newsletter; send and record nothing.")
@click.option("--test-to", metavar="ADDRESS", help="Send one copy to ADDRESS only, recording nothing.")
@click.option("--retry-failed", is_flag=True,
              help="Queue the post's failed deliveries again and send them (not to people who have left since, "
                   "nor any the server may have taken).")
@pass_context
def send(ctx, slug: str, dry_run: bool, test_to: str | None, retry_failed: bool) -> None:
    """Send the newsletter of post SLUG to every active subscriber, once each.

    Running it again after a crash, an outage or Ctrl-C resumes where it stopped; a finished campaign sends
    nothing, unless --retry-failed queues its failed deliveries again. While another send or publish is
    sending for the site, it sends nothing, says so and exits 0.

    \b
    Example:
        publisher send sciatica-and-lower-back-pain --test-to me@example.com
    """
    from ..sending.publish import compile_for, follow
    config = ctx.config
    post = _publishable(config, slug)
    newsletter = compile_for(config, post)
    print_warnings(newsletter.warnings)
    with open_site_store(config) as store:
        if dry_run:
            return _dry_run_send(config, store, newsletter)
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
    from ..content.posts import is_published
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


def _dry_run_send(config, store, newsletter) -> None:
    campaign = store.get_campaign(newsletter.slug)
    if campaign is None:
        count = store.count_subscribers()["active"]
        click.echo(f"Would send '{newsletter.subject}' to {plural(count, 'active subscriber')} via "
                   f"{describe_transport(config)}.")
        return
    left = store.delivery_counts(campaign.id).unfinished
    click.echo(f"'{newsletter.slug}' was already sent ({campaign.status}); {plural(left, 'delivery', 'deliveries')} "
               f"left to make via {describe_transport(config)}.")


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
@click.option("--dry-run", is_flag=True, help="Read the posts and say what would be mailed; write and send nothing.")
@pass_context
def publish(ctx, send_latest: bool, dry_run: bool) -> None:
    """Build the site, then mail every post new to the site, once.

    The first publish of a site records the posts that exist as its archive and mails none of them; later, a
    new post dated more than [newsletter] max_age ago, or saying `email: false`, is archived too. Each post's
    id is written into its front matter when it is first recorded, so a renamed post is never mailed again.
    Safe to run from cron: started while another publish or send is sending, it says so and exits 0.

    \b
    Example:
        publisher publish --dry-run
    """
    config = ctx.config
    with open_site_store(config) as store:
        try:
            with store.lock(), sigterm_as_ctrl_c():
                failed = _publish(config, store, send_latest, dry_run)
        except Busy:
            click.echo(f"{BUSY}; leaving the work to it (the next publish picks up whatever is left).")
            return
    if failed:
        exit_failed()


def _publish(config, store, send_latest: bool, dry_run: bool) -> int:
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
        return _show_plan(config, store, plan(store, site, send_latest))
    with delivering(store) as reporter:
        report = publish(config, store, site, lambda: signing_secret(config, store), send_latest=send_latest,
                         notify=reporter)
    if not report.campaigns:
        click.echo("No new posts to mail.")
    return report.failed


def _show_plan(config, store, plan) -> int:
    from ..sending.due import FIRST_RUN
    from .progress import unmailed_reason
    active = store.count_subscribers()["active"]
    existing = [entry for entry in plan.archive if entry.reason == FIRST_RUN]
    if existing:
        click.echo(f"Would record {plural(len(existing), 'existing post')} as the archive, mailing none of them.")
    for entry in plan.archive:
        if entry.reason != FIRST_RUN:
            click.echo(f"Would archive without mailing ({unmailed_reason(entry, config.newsletter.max_age)}): "
                       f"{entry.post.source}")
    for post in plan.send:
        click.echo(f"Would mail '{post.slug}' to {plural(active, 'active subscriber')} via "
                   f"{describe_transport(config)}.")
    if not plan.send:
        click.echo("No new posts to mail.")
    return 0


@main.command()
@pass_context
def status(ctx) -> None:
    """List the subscribers by status and every campaign with its delivery counts.

    \b
    Example:
        publisher status
    """
    config = ctx.config
    with open_site_store(config) as store:
        counts = store.count_subscribers()
        click.echo("Subscribers: " + ", ".join(f"{n} {state}" for state, n in counts.items()))
        campaigns = store.list_campaigns()
        if not campaigns:
            click.echo("No campaigns yet: `publisher publish` mails each new post.")
            return
        click.echo(f"{'campaign':<40} {'status':<8} {'sent':>6} {'failed':>6} {'queued':>6} {'skipped':>7}  started")
        for campaign in campaigns:
            c = store.delivery_counts(campaign.id)
            started = campaign.created_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
            click.echo(f"{campaign.slug[:40]:<40} {campaign.status:<8} {c.sent:>6} {c.failed:>6} "
                       f"{c.unfinished:>6} {c.skipped:>7}  {started}")
