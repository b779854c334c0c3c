"""Publishing: the first publish's archive, a campaign per new post, unfinished campaigns resumed, a post's failed
deliveries queued again. The caller holds the store's lock, so one sender at a time mails a site's list.

Nothing here prints: what is happening is told as it happens through `notify` (one of the event classes
below), and what happened is returned as plain data. The command line words both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from .. import clock
from ..config import Config
from ..content.posts import Post
from ..content.site import Site
from ..mail.newsletter import Newsletter
from ..store import DeliveryCounts, Store
from .campaign import CampaignResult, send_campaign
from .due import PublishPlan, plan_publish
from .transports import Transport, make_transport

FIRST_PUBLISH = "first_publish"


@dataclass(frozen=True)
class Archived:
    """The posts recorded as already published, never to be mailed; `first_run` on a site's first publish."""

    count: int
    first_run: bool


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


Event = Archived | Orphaned | Compiled | CampaignProgress | CampaignReport
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
        return sum(c.result.failed for c in self.campaigns if c.result is not None)


def _ignore(event: Event) -> None:
    """The default `notify`: nobody is listening."""


def plan(store: Store, site: Site, send_latest: bool = False) -> PublishPlan:
    """What a publish of `site` would archive and mail now, deciding nothing and writing nothing."""
    return plan_publish(site.posts, store.post_states(), not store.has_setting(FIRST_PUBLISH), send_latest)


def publish(config: Config, store: Store, site: Site, secret: Callable[[], str], *, send_latest: bool = False,
            transport_factory: TransportFactory = make_transport, now: Callable[[], dt.datetime] = clock.now,
            notify: Notify = _ignore) -> PublishReport:
    """Mail every post of the built `site` not mailed yet, once, and finish campaigns an earlier run left
    unfinished. The first publish records the existing posts as the archive instead (mailing only the newest
    with `send_latest`). `secret()` gives the link-signing key; it is asked for only when there is mail to send.
    Raises SendingStopped or KeyboardInterrupt with every outcome so far recorded, ready to resume."""
    first_run = not store.has_setting(FIRST_PUBLISH)
    due = plan(store, site, send_latest)
    _record_archive(store, due.archive, now)
    notify(Archived(len(due.archive), first_run))
    posts = {post.slug: post for post in due.send}
    orphaned = _add_unfinished(store, site, posts)
    for slug in orphaned:
        notify(Orphaned(slug))
    newsletters = [_compile(config, post, notify) for post in posts.values()]
    key = secret() if newsletters else ""
    campaigns = tuple(send_newsletter(config, store, newsletter, key, transport_factory=transport_factory, now=now,
                                      notify=notify) for newsletter in newsletters)
    return PublishReport(first_run, tuple(p.slug for p in due.archive), orphaned, campaigns)


def _record_archive(store: Store, archive: tuple[Post, ...], now: Callable[[], dt.datetime]) -> None:
    """Remember the archived posts (never mailed) and that the site has had its first publish."""
    for post in archive:
        store.record_post(post.slug, "archived", now=now())
    store.setting(FIRST_PUBLISH, lambda: now().isoformat())


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
                    notify: Notify = _ignore) -> CampaignReport:
    """Create the post's campaign (or resume it) and send what is left of it over connections from
    `transport_factory(config)`, each message DKIM-signed when [dkim] is set up; a campaign finished before sends
    nothing. Raises as `publish` does."""
    from ..mail.dkim import load_signer
    from ..mail.newsletter import make_renderer
    campaign = store.create_campaign(newsletter.slug, newsletter.subject, now=now())
    store.record_post(newsletter.slug, "sent", now=now())
    signer = load_signer(config)
    render = make_renderer(newsletter, secret, now, signer.sign if signer else None)
    counts = store.delivery_counts(campaign.id)
    result = None
    if campaign.status != "done" or counts.unfinished:
        d, slug = config.delivery, newsletter.slug
        notify(CampaignProgress(slug, 0, counts.unfinished))
        result = send_campaign(store, campaign, render, transport_factory(config), connections=d.connections,
                               rate=d.rate, max_attempts=d.max_attempts, retry_delay=d.retry_delay, now=now,
                               progress=lambda done, total: notify(CampaignProgress(slug, done, total)))
    report = CampaignReport(newsletter.slug, result, store.delivery_counts(campaign.id))
    notify(report)
    return report


def requeue_failed(store: Store, slug: str, now: Callable[[], dt.datetime] = clock.now) -> int | None:
    """Queue the post's failed deliveries again (never to people who have left since, nor any the server may
    have taken), for `send_newsletter` to send; None when the post has no campaign yet (it is then simply sent)."""
    campaign = store.get_campaign(slug)
    return None if campaign is None else store.requeue_failed(campaign.id, now=now())
