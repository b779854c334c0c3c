"""The `Store` protocol: every operation the campaign runner, the subscription service and the commands ask of
the database, whichever database it is, and the site's sending lock, which belongs to the store too.

Times are passed in (aware datetimes or ISO strings), never read by a store; naive times are refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Protocol

from .records import (
    AddressHashes,
    Campaign,
    ConsentEvent,
    ConsentSummary,
    Delivery,
    DeliveryCounts,
    FeedbackOutcome,
    ImportOutcome,
    Moment,
    NewSubscriber,
    PublishedPost,
    Subscriber,
    no_hashes,
)


class Store(Protocol):
    """Subscribers, campaigns with their deliveries, published posts and settings; use it in a `with` block."""

    def __enter__(self) -> Store:
        """The store itself, closed when the block ends."""

    def __exit__(self, *exc_info) -> None:
        """Close the store."""

    def close(self) -> None:
        """Let go of the database; the store cannot be used afterwards."""

    def lock(self) -> AbstractContextManager[None]:
        """The site's sending lock, held for the block: with SQLite one `send` or `publish` at a time, Busy at
        once when another process holds it; with PostgreSQL shared by every sender (they share the work), Busy
        while the database is being migrated or copied."""

    @property
    def schema_version(self) -> int:
        """How far the database's schema has been brought, for the health check."""

    def check_writable(self) -> None:
        """Start a write and end it, writing nothing: DatabaseBusy when the database is held past the busy
        timeout, ConfigError when it cannot be written at all."""

    def add_subscriber(self, email: str, name: str = "", status: str = "active", source: str = "",
                       *, now: Moment, how: str = "cli",
                       address_hashes: AddressHashes = no_hashes) -> tuple[Subscriber | None, bool]:
        """Add one subscriber unless the address is already known; returns (subscriber, whether it was added),
        the subscriber None when the address is forgotten."""

    def add_subscribers(self, entries: Iterable[NewSubscriber], source: str, *, now: Moment, how: str = "import",
                        address_hashes: AddressHashes = no_hashes) -> ImportOutcome:
        """Add every new address in one transaction, under the suppression rule: a known address is only ever
        made stricter (unsubscribed, bounced, complained), never more mailable; an address whose hash under
        `address_hashes` is on the suppression list is not added (the function is called only when the list
        is not empty). Each change is recorded in the consent history (how, detail = `source`)."""

    def get_subscriber(self, email: str) -> Subscriber | None:
        """The subscriber with this address, in whatever case it is written; None when unknown."""

    def get_subscriber_by_public_id(self, public_id: str) -> Subscriber | None:
        """The subscriber whose links carry this opaque id (Subscriber.public_id); None when nobody's do."""

    def set_subscriber_status(self, email: str, status: str, *, now: Moment, how: str = "cli",
                              detail: str = "") -> Subscriber | None:
        """Make a subscriber unsubscribed, bounced or complained (a stricter status stays), recording the event;
        None when the address is unknown."""

    def list_subscribers(self, status: str | None = None) -> list[Subscriber]:
        """Subscribers in the order they were added, optionally only those with one status."""

    def count_subscribers(self) -> dict[str, int]:
        """How many subscribers have each status (every status present, zero included)."""

    def request_subscription(self, email: str, name: str = "", *, now: Moment, kind: str = "subscribed",
                             how: str = "form", detail: str = "") -> Subscriber:
        """A sign-up or invitation (`kind`), recorded: a new address becomes pending, others keep their status."""

    def confirm_subscriber(self, email: str, pending_by: Moment, *, now: Moment, left_by: Moment | None = None,
                           how: str = "link", detail: str = "") -> bool:
        """Activate a subscriber pending since `pending_by`, or one who left before `left_by` (default
        `pending_by`), recording 'confirmed'; True only for the call that did."""

    def unsubscribe(self, email: str, *, now: Moment, how: str = "link", detail: str = "") -> bool:
        """Unsubscribe an active or pending subscriber, recording how; returns whether anything changed."""

    def consent_history(self, email: str) -> list[ConsentEvent]:
        """The subscriber's consent events, oldest recorded first; empty for an unknown address."""

    def consent_summaries(self) -> dict[int, ConsentSummary]:
        """Every subscriber's consent evidence in brief, by subscriber id (those with no events are absent)."""

    def confirmations_since(self, email: str, since: Moment) -> int:
        """How many confirmation emails (form sign-ups and invitations) the address was sent since `since`."""

    def forget_subscriber(self, email: str, address_hash: str, *, now: Moment) -> bool:
        """Erase the subscriber, their history and deliveries, listing `address_hash` as suppressed; returns
        whether there was a subscriber to erase."""

    def create_campaign(self, slug: str, subject: str, *, now: Moment) -> Campaign:
        """The campaign for a post, queuing one delivery per active subscriber; the existing one if already made."""

    def get_campaign(self, slug: str) -> Campaign | None:
        """The campaign for the post `slug`; None when it has none."""

    def list_campaigns(self) -> list[Campaign]:
        """Every campaign, newest first."""

    def unfinished_campaigns(self) -> list[Campaign]:
        """Campaigns with deliveries still to make (e.g. after a crash), oldest first."""

    def delivery_counts(self, campaign_id: int) -> DeliveryCounts:
        """How many of the campaign's deliveries have each status."""

    def list_deliveries(self, campaign_id: int, status: str | None = None) -> list[Delivery]:
        """The campaign's deliveries in the order they were queued, optionally only those with one status."""

    def left_since(self, campaign_id: int) -> dict[str, int]:
        """How many of the campaign's recipients have bounced, complained or unsubscribed since it started."""

    def finish_campaign(self, campaign_id: int, *, now: Moment) -> bool:
        """Mark the campaign done if no delivery is queued or in flight; returns whether it is done."""

    def requeue_failed(self, campaign_id: int, *, now: Moment) -> int:
        """Queue the failed deliveries to people still active again and reopen the campaign; returns how many."""

    def claim_next(self, campaign_id: int, now: Moment) -> Delivery | None:
        """Atomically move the next due queued delivery to 'sending' (counting the attempt) and return it."""

    def next_due(self, campaign_id: int) -> dt.datetime | None:
        """When the earliest queued delivery may be tried; None when nothing is queued."""

    def mark_sent_and_claim_next(self, delivery: Delivery, reply: str, message_id: str, *,
                                 now: Moment) -> Delivery | None:
        """Record the delivery sent and claim the campaign's next one, both at once."""

    def mark_retry(self, delivery: Delivery, reply: str, next_attempt_at: Moment, *, possible_duplicate: bool = False,
                   now: Moment) -> None:
        """Queue the delivery again, not before `next_attempt_at`; `possible_duplicate` if it may have arrived."""

    def mark_failed(self, delivery: Delivery, reply: str, bounce: bool, *, now: Moment) -> None:
        """Record a failed delivery; `bounce` (mailbox unknown) also marks the subscriber bounced."""

    def release(self, delivery: Delivery, *, now: Moment) -> None:
        """Return a claimed delivery that was certainly not sent to the queue, uncounting the attempt."""

    def recover_in_flight(self, campaign_id: int) -> int:
        """After a crash: queue again, as possible duplicates, deliveries left in 'sending'; returns how many."""

    def skip_inactive(self, campaign_id: int, *, now: Moment) -> int:
        """Mark queued deliveries to people no longer active as skipped; returns how many."""

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        """The delivery with this id; None when there is none."""

    def find_delivery(self, message_id: str) -> Delivery | None:
        """The delivery whose message carried this Message-ID (angle brackets included); None when unknown."""

    def last_delivery_to(self, email: str) -> Delivery | None:
        """The newest delivery sent to this address; None when nothing was ever sent to it."""

    def get_subscriber_by_id(self, subscriber_id: int) -> Subscriber | None:
        """The subscriber with this id; None when there is none."""

    def record_feedback(self, subscriber_id: int, kind: str, how: str, detail: str, *, key: str,
                        delivery_id: int | None = None, soft_bounce_limit: int = 3, at: Moment,
                        now: Moment) -> FeedbackOutcome:
        """Keep one report of a bounce, complaint or emailed unsubscribe (once per `key` and kind) and, in the
        same transaction, make the subscriber's status stricter if it calls for it (a soft bounce only at
        `soft_bounce_limit` in a row), with a line in their consent history. Never makes anyone more mailable."""

    def call_seen(self, provider: str, call_id: str, *, since: Moment) -> bool:
        """Whether a webhook call with this id (a provider's one-time token or message id) was handled at or
        after `since`."""

    def note_call(self, provider: str, call_id: str, *, forget_before: Moment, now: Moment) -> None:
        """Remember a handled webhook call; forget the provider's calls older than `forget_before`."""

    def record_links(self, campaign_id: int, urls: Iterable[str]) -> dict[str, int]:
        """Number the campaign's links (keeping numbers given before); every recorded link's number by URL."""

    def click_target(self, campaign_id: int, link: int) -> str | None:
        """The URL of the campaign's link number `link`; None when the campaign carried no such link."""

    def count_click(self, campaign_id: int, link: int) -> None:
        """One more click on the campaign's link `link` (never who clicked)."""

    def list_clicks(self, campaign_id: int) -> list[tuple[str, int]]:
        """(URL, clicks) of each of the campaign's links, in the order they appear in the newsletter."""

    def record_post(self, slug: str, state: str, *, post_id: str | None = None, now: Moment) -> None:
        """Remember that a post was archived (never to be mailed) or sent, and its stable id (kept once set)."""

    def published_posts(self) -> list[PublishedPost]:
        """Every remembered post: its slug, state and id."""

    def move_post(self, slug: str, new_slug: str) -> bool:
        """Move a post's record and campaign to its new slug unless that slug has either; whether it moved."""

    def setting(self, name: str, make: Callable[[], str]) -> str:
        """The stored value of `name`, storing `make()` first if there is none, the same for every process."""

    def has_setting(self, name: str) -> bool:
        """Whether a value is stored for `name`."""

    def allow_request(self, key: str, limit: int, window: float, *, now: Moment) -> bool:
        """Record a request under `key` (a client's address, say) if fewer than `limit` were recorded in the
        `window` seconds before `now`; returns whether it was. Kept in the database, so a rate limit holds across
        every process and host that shares it."""
