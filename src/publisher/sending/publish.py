"""Publishing: the archive (the first publish's, old posts', `email: false` posts'), a campaign per new post,
each post's stable id recorded and written into its file, unfinished campaigns resumed, a post's failed
deliveries queued again. The caller holds the store's lock, so one sender at a time mails a site's list.

Nothing here prints: what is happening is told as it happens through `notify` (one of the event classes
below), and what happened is returned as plain data. The command line words both.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import clock
from ..config import Config
from ..content.post_ids import new_post_id, write_id
from ..content.posts import Post, decode_post, parse_post
from ..content.site import Site
from ..errors import ContentError
from ..mail.newsletter import Newsletter
from ..store import Delivery, DeliveryCounts, Store, Subscriber
from .campaign import CampaignResult, send_campaign
from .due import FIRST_RUN, Archive, Known, PublishPlan, plan_publish
from .transports import Transport, make_transport

FIRST_PUBLISH = "first_publish"


@dataclass(frozen=True)
class Archived:
    """The posts recorded as already published, never to be mailed; `first_run` on a site's first publish."""

    count: int
    first_run: bool


@dataclass(frozen=True)
class ArchivedUnmailed:
    """A post recorded as archive after the first publish, never to be mailed: too old, or `email: false`."""

    archive: Archive
    max_age: dt.timedelta


@dataclass(frozen=True)
class IdsWritten:
    """Post files whose front matter now holds their id."""

    sources: tuple[Path, ...]


@dataclass(frozen=True)
class IdNotWritten:
    """A post whose id could not be written into its file (publish knows it by its slug until it is)."""

    error: ContentError


@dataclass(frozen=True)
class Orphaned:
    """An unfinished campaign whose post is no longer published, so it cannot be finished now."""

    slug: str


@dataclass(frozen=True)
class Compiled:
    """A newsletter compiled for sending, with its warnings."""

    newsletter: Newsletter


@dataclass(frozen=True)
class CampaignProgress:
    """`done` of `total` deliveries made (sent or failed) in this run of the campaign; told once as it starts,
    then after each delivery."""

    slug: str
    done: int
    total: int


@dataclass(frozen=True)
class CampaignReport:
    """One campaign after this run: `result` is None when it had been sent before and nothing was left."""

    slug: str
    result: CampaignResult | None
    counts: DeliveryCounts


Event = (Archived | ArchivedUnmailed | IdsWritten | IdNotWritten | Orphaned | Compiled | CampaignProgress
         | CampaignReport)
Notify = Callable[[Event], None]
Connect = Callable[[], Transport]
TransportFactory = Callable[[Config], Connect]


@dataclass(frozen=True)
class PublishReport:
    """What one publish did: the posts archived, and each campaign it sent or finished (none: nothing to mail)."""

    first_run: bool
    archived: tuple[str, ...]
    orphaned: tuple[str, ...]
    campaigns: tuple[CampaignReport, ...]

    @property
    def failed(self) -> int:
        """Failures an author should look into, a full mailbox not among them."""
        return sum(c.result.failed_for_good for c in self.campaigns if c.result is not None)


def _ignore(event: Event) -> None:
    """The default `notify`: nobody is listening."""


def plan(store: Store, site: Site, send_latest: bool = False) -> PublishPlan:
    """What a publish of `site` would archive and mail now, deciding nothing and writing nothing."""
    return plan_publish(site.posts, store.published_posts(), not store.has_setting(FIRST_PUBLISH), now=site.now,
                        max_age=site.config.newsletter.max_age, send_latest=send_latest)


def publish(config: Config, store: Store, site: Site, secret: Callable[[], str], *, send_latest: bool = False,
            transport_factory: TransportFactory = make_transport, now: Callable[[], dt.datetime] = clock.now,
            notify: Notify = _ignore) -> PublishReport:
    """Mail every post of the built `site` not mailed yet, once, and finish campaigns an earlier run left
    unfinished. The first publish records the existing posts as the archive instead (mailing only the newest
    with `send_latest`); later ones archive new posts that are too old or say `email: false`. Each post's id is
    recorded with it, then written into its file. `secret()` gives the link-signing key; it is asked for only
    when there is mail to send. Raises SendingStopped or KeyboardInterrupt with every outcome so far recorded,
    ready to resume."""
    first_run = not store.has_setting(FIRST_PUBLISH)
    due = plan(store, site, send_latest)
    ids = {post.slug: post.id or new_post_id() for post in due.first_seen}
    for known in due.moved:
        store.move_post(known.record.slug, known.post.slug)
    unwritten = [*_record_ids(store, due.by_slug, now), *_record_archive(store, due.archive, ids, now)]
    _tell_archive(config, due.archive, first_run, notify)
    _write_ids(config, unwritten, notify)
    posts = {post.slug: post for post in due.send}
    orphaned = _add_unfinished(store, site, posts)
    for slug in orphaned:
        notify(Orphaned(slug))
    newsletters = [_compile(config, post, notify) for post in posts.values()]
    key = secret() if newsletters else ""
    campaigns = tuple(_send_new(config, store, newsletter, key, posts[newsletter.slug], ids.get(newsletter.slug),
                                transport_factory=transport_factory, now=now, notify=notify)
                      for newsletter in newsletters)
    return PublishReport(first_run, tuple(a.post.slug for a in due.archive), orphaned, campaigns)


def _record_ids(store: Store, by_slug: tuple[Known, ...], now: Callable[[], dt.datetime]) -> list[tuple[Post, str]]:
    """Give posts known only by their slug an id in the store (theirs, the store's or a new one); return those
    whose files lack it."""
    unwritten = []
    for known in by_slug:
        post_id = known.post.id or known.record.post_id or new_post_id()
        store.record_post(known.record.slug, known.record.state, post_id=post_id, now=now())
        if not known.post.id:
            unwritten.append((known.post, post_id))
    return unwritten


def _record_archive(store: Store, archive: tuple[Archive, ...], ids: dict[str, str],
                    now: Callable[[], dt.datetime]) -> list[tuple[Post, str]]:
    """Remember the archived posts (never mailed) with their ids, and that the site has had its first publish;
    return those whose files lack their id."""
    for entry in archive:
        store.record_post(entry.post.slug, "archived", post_id=ids[entry.post.slug], now=now())
    store.setting(FIRST_PUBLISH, lambda: now().isoformat())
    return [(entry.post, ids[entry.post.slug]) for entry in archive if not entry.post.id]


def _tell_archive(config: Config, archive: tuple[Archive, ...], first_run: bool, notify: Notify) -> None:
    """The first publish's archive as a count; after that, each post archived without mailing, and why."""
    notify(Archived(sum(1 for entry in archive if entry.reason == FIRST_RUN), first_run))
    for entry in archive:
        if entry.reason != FIRST_RUN:
            notify(ArchivedUnmailed(entry, config.newsletter.max_age))


def _write_ids(config: Config, unwritten: list[tuple[Post, str]], notify: Notify) -> None:
    """Write each post's id into its file; a file that cannot take it is told, and known by its slug meanwhile."""
    written = []
    for post, post_id in unwritten:
        try:
            write_id(config.root / post.source, post, post_id, functools.partial(_parse, config, post.source))
            written.append(post.source)
        except ContentError as error:
            notify(IdNotWritten(error))
    if written:
        notify(IdsWritten(tuple(written)))


def _parse(config: Config, source: Path, raw: bytes) -> Post:
    """The post that a file's bytes hold, read as the build reads it."""
    return parse_post(source, decode_post(source, raw), config.site.url, config.tz, config.content.raw_html).post


def follow(store: Store, post: Post) -> None:
    """Move the store's record and campaign of a post known by its id under an older slug to its slug now."""
    record = next((r for r in store.published_posts() if post.id and r.post_id == post.id), None)
    if record is not None and record.slug != post.slug:
        store.move_post(record.slug, post.slug)


def _send_new(config: Config, store: Store, newsletter: Newsletter, key: str, post: Post, post_id: str | None,
              **options) -> CampaignReport:
    """Send a post's newsletter, recording its id with it; then write a new post's id into its file."""
    report = send_newsletter(config, store, newsletter, key, post_id=post_id, **options)
    if post_id and not post.id:
        _write_ids(config, [(post, post_id)], options["notify"])
    return report


def _add_unfinished(store: Store, site: Site, posts: dict[str, Post]) -> tuple[str, ...]:
    """Add the posts of campaigns left unfinished to `posts`; return the slugs of those no longer published."""
    orphaned = []
    for slug in [c.slug for c in store.unfinished_campaigns()]:
        post = next((p for p in site.posts if p.slug == slug), None)
        if post is None:
            orphaned.append(slug)
        else:
            posts.setdefault(slug, post)
    return tuple(orphaned)


def _compile(config: Config, post: Post, notify: Notify) -> Newsletter:
    """The post's newsletter, compiled once for all its recipients."""
    newsletter = compile_for(config, post)
    notify(Compiled(newsletter))
    return newsletter


def compile_for(config: Config, post: Post) -> Newsletter:
    """The post's newsletter with the site's theme."""
    from ..build.theme import make_env
    from ..mail.newsletter import compile_newsletter
    return compile_newsletter(post, config, make_env(config.path(config.paths.templates)))


def send_newsletter(config: Config, store: Store, newsletter: Newsletter, secret: str, *,
                    transport_factory: TransportFactory = make_transport, now: Callable[[], dt.datetime] = clock.now,
                    notify: Notify = _ignore, post_id: str | None = None) -> CampaignReport:
    """Create the post's campaign (or resume it), recording the post (and its id) as sent, and send what is
    left of it over connections from `transport_factory(config)`, each message DKIM-signed when [dkim] is set
    up; a campaign finished before sends nothing. Raises as `publish` does."""
    from ..mail.dkim import load_signer
    from ..mail.newsletter import make_renderer
    campaign = store.create_campaign(newsletter.slug, newsletter.subject, now=now())
    store.record_post(newsletter.slug, "sent", post_id=post_id, now=now())
    if config.newsletter.track_clicks:
        newsletter = _track_clicks(config, store, campaign.id, newsletter, secret)
    signer = load_signer(config)
    return_path, mailto = _return_addresses(config, secret)
    render = make_renderer(newsletter, secret, now, signer.sign if signer else None, mailto)
    counts = store.delivery_counts(campaign.id)
    result = None
    if campaign.status != "done" or counts.unfinished:
        d, slug = config.delivery, newsletter.slug
        notify(CampaignProgress(slug, 0, counts.unfinished))
        result = send_campaign(store, campaign, render, transport_factory(config), connections=d.connections,
                               rate=d.rate, max_attempts=d.max_attempts, retry_delay=d.retry_delay, now=now,
                               progress=lambda done, total: notify(CampaignProgress(slug, done, total)),
                               return_path=return_path)
    report = CampaignReport(newsletter.slug, result, store.delivery_counts(campaign.id))
    notify(report)
    return report


def _track_clicks(config: Config, store: Store, campaign_id: int, newsletter: Newsletter, secret: str) -> Newsletter:
    """The newsletter whose HTML links go through the service's counting redirect, each link recorded for the
    campaign (a resumed campaign gets the same links)."""
    from ..mail.clicks import click_url
    from ..mail.newsletter import track_links, web_links
    numbers = store.record_links(campaign_id, web_links(newsletter))
    base = config.subscribe_base
    return track_links(newsletter, {url: click_url(base, secret, campaign_id, n, url) for url, n in numbers.items()})


def _return_addresses(config: Config, secret: str) -> tuple[Callable[[Delivery], str],
                                                             Callable[[Subscriber], str] | None]:
    """With [delivery] bounce_address: each delivery's tagged envelope sender and each subscriber's tagged
    unsubscribe mailto:, so what comes back says whom it is about; without: the From, and the From's mailto:."""
    from ..mail.verp import bounce_address, unsubscribe_mailto
    base = config.delivery.bounce_address
    if not base:
        return (lambda delivery: ""), None
    return (lambda delivery: bounce_address(base, secret, delivery.id),
            lambda subscriber: unsubscribe_mailto(base, secret, subscriber.id))


def requeue_failed(store: Store, slug: str, now: Callable[[], dt.datetime] = clock.now) -> int | None:
    """Queue the post's failed deliveries again (never to people who have left since, nor any the server may
    have taken), for `send_newsletter` to send; None when the post has no campaign yet (it is then simply sent)."""
    campaign = store.get_campaign(slug)
    return None if campaign is None else store.requeue_failed(campaign.id, now=now())
