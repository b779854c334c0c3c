"""Feedback events: a bounce, a complaint or an unsubscribe that came back after a send, whatever brought it
(a delivery status notification, an abuse report, an email to the unsubscribe address, a provider's webhook),
and applying them to the list.

An event is matched to the delivery it is about by the signed tag of our return address, else by the original
message's Message-ID, else, as a last resort, by the address the report names, and then only if that address
was sent to. An unsubscribe request is matched by its tag alone: its sender's address proves nothing. A tag
that was altered, or names no delivery, changes nothing. Applying the same event twice changes nothing the
second time, and applying never makes anyone more mailable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import TokenError
from ..mail.verp import BOUNCE, UNSUBSCRIBE, read_tag
from ..store import Delivery, Store, Subscriber

HARD_BOUNCE, SOFT_BOUNCE, COMPLAINT, UNSUBSCRIBE_REQUEST = "hard_bounce", "soft_bounce", "complaint", "unsubscribe"
# What applying an event can come to, as `Applied.result`:
BOUNCED, COMPLAINED, UNSUBSCRIBED = "bounced", "complained", "unsubscribed"  # the subscriber's new status
COUNTED = "counted"        # a soft bounce, counted towards [delivery] soft_bounce_limit
UNCHANGED = "unchanged"    # recorded; the subscriber was already kept from mail at least as firmly
REPEAT = "repeat"          # this very report was applied before
UNKNOWN = "unknown"        # it names no delivery of ours
FORGED = "forged"          # its tag does not carry our signature


@dataclass(frozen=True)
class FeedbackEvent:
    """One report about one recipient. `key` names the report itself (the Message-ID of the bounce, a
    provider's event id), so the same report seen again is recognised; `how` says what brought it (dsn, arf,
    mailto, or a provider's name); `detail` is the evidence (the server's diagnostic, the report's type).
    `tag`, `message_id` and `address` are what it says about whom, most trustworthy first."""

    kind: str
    key: str
    how: str
    detail: str
    at: dt.datetime
    tag: str = ""
    message_id: str = ""
    address: str = ""


@dataclass(frozen=True)
class Applied:
    """What one event did: its result (see the constants above) and, when it was matched, to whom."""

    event: FeedbackEvent
    result: str
    email: str = ""
    soft_bounces: int = 0


@dataclass(frozen=True)
class FeedbackSummary:
    """Every event's outcome, in order."""

    applied: tuple[Applied, ...]

    def count(self, result: str) -> int:
        return sum(1 for a in self.applied if a.result == result)


def apply_events(store: Store, events: Iterable[FeedbackEvent], now: dt.datetime, *, secret: str | Sequence[str],
                 soft_bounce_limit: int = 3) -> FeedbackSummary:
    """Apply each event to the subscriber it is about (see the module's docstring for how it is found)."""
    return FeedbackSummary(tuple(apply_event(store, event, now, secret=secret, soft_bounce_limit=soft_bounce_limit)
                                 for event in events))


def apply_event(store: Store, event: FeedbackEvent, now: dt.datetime, *, secret: str | Sequence[str],
                soft_bounce_limit: int = 3) -> Applied:
    """Apply one event: a hard bounce, a complaint or an unsubscribe at once, a soft bounce when it is the
    `soft_bounce_limit`th in a row; nothing at all when it cannot be matched to a delivery of ours."""
    try:
        found = find_recipient(store, event, secret)
    except TokenError:
        return Applied(event, FORGED)
    if found is None:
        return Applied(event, UNKNOWN)
    subscriber, delivery, note = found
    outcome = store.record_feedback(
        subscriber.id, event.kind, event.how, f"{event.detail}{note}", key=event.key,
        delivery_id=delivery.id if delivery else None, soft_bounce_limit=soft_bounce_limit, at=event.at, now=now)
    if not outcome.new:
        result = REPEAT
    elif outcome.changed:
        result = outcome.status_after
    else:
        result = COUNTED if event.kind == SOFT_BOUNCE and outcome.status_after in ("active", "pending") else UNCHANGED
    return Applied(event, result, subscriber.email, outcome.soft_bounces)


def find_recipient(store: Store, event: FeedbackEvent,
                   secret: str | Sequence[str]) -> tuple[Subscriber, Delivery | None, str] | None:
    """The subscriber the event is about, the delivery if known, and a note for the record when the match was
    only by address; None when it matches nothing of ours; TokenError for a tag that is not genuine."""
    if event.tag:
        return _by_tag(store, event, secret)
    if event.kind == UNSUBSCRIBE_REQUEST:
        return None  # whoever sends a request may claim any address: only the signed tag says whose it is
    delivery = store.find_delivery(_bracketed(event.message_id)) if event.message_id.strip("<> ") else None
    if delivery is not None:
        return delivery.subscriber, delivery, ""
    delivery = store.last_delivery_to(event.address) if event.address else None
    if delivery is not None:
        return delivery.subscriber, delivery, " (matched by the address the report names)"
    return None


def _bracketed(message_id: str) -> str:
    """A Message-ID as the store keeps it, in angle brackets, however the report quoted it."""
    return f"<{message_id.strip().strip('<>').strip()}>"


def _by_tag(store: Store, event: FeedbackEvent, secret: str | Sequence[str]) -> tuple[Subscriber, Delivery | None, str] | None:
    """An unsubscribe request's tag names a subscriber; every other report's names a delivery."""
    if event.kind == UNSUBSCRIBE_REQUEST:
        subscriber = store.get_subscriber_by_id(read_tag(secret, event.tag, UNSUBSCRIBE).number)
        return (subscriber, None, "") if subscriber else None
    delivery = store.get_delivery(read_tag(secret, event.tag, BOUNCE).number)
    return (delivery.subscriber, delivery, "") if delivery else None
