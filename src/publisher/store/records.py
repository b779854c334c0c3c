"""What the store keeps, as plain frozen dataclasses every backend returns, and the rules for addresses.

An address is kept as given (domain lower-cased) for sending, and compared ignoring case: one mailbox is one
subscriber.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

SUBSCRIBER_STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")
# Statuses that keep mail away for good: only the reader's own confirmation (a double opt-in) undoes them.
SUPPRESSED_STATUSES = ("unsubscribed", "bounced", "complained")
CONSENT_EVENTS = ("subscribed", "confirmed", "unsubscribed", "bounced", "complained", "invited")
DELIVERY_STATUSES = ("queued", "sending", "sent", "failed", "skipped")
# What flows back after a send, and the status each makes a subscriber (a soft bounce only once it repeats).
FEEDBACK_KINDS = ("hard_bounce", "soft_bounce", "complaint", "unsubscribe")
FEEDBACK_STATUS = {"hard_bounce": "bounced", "soft_bounce": "bounced", "complaint": "complained",
                   "unsubscribe": "unsubscribed"}
POST_STATES = ("archived", "sent")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

Moment = dt.datetime | str
# A folded address -> its keyed hashes, one per key in use: how a store checks its suppression list of forgotten
# addresses without ever holding the key.
AddressHashes = Callable[[str], Iterable[str]]


def no_hashes(folded: str) -> tuple[str, ...]:
    """For callers without a suppression key: enough while the suppression list is empty, when it is never called."""
    return ()


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    name: str
    status: str
    source: str
    created_at: dt.datetime
    updated_at: dt.datetime
    public_id: str = ""  # opaque and random: what links carry instead of the address


@dataclass(frozen=True)
class NewSubscriber:
    """A subscriber to add, e.g. one row of an imported CSV. The times are consent evidence kept from the
    source: when they opted in (None means 'now'), when they confirmed, and when their status last changed
    there (an unsubscribe, say)."""

    email: str
    name: str = ""
    status: str = "active"
    created_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None
    status_at: dt.datetime | None = None


@dataclass(frozen=True)
class ConsentEvent:
    """One line of a subscriber's consent history, which is only ever appended to.

    `kind` is one of CONSENT_EVENTS; `how` says by what means (form, import, cli, invite, one-click, link,
    mailto, complaint, smtp, dsn); `detail` the evidence (the file and service of an import, the IP address
    of a form, a server's reply); `at` when it happened (at the source, for an import), `recorded_at` when
    this store learnt of it."""

    kind: str
    how: str
    detail: str
    at: dt.datetime
    recorded_at: dt.datetime


@dataclass(frozen=True)
class ConsentSummary:
    """A subscriber's consent evidence in brief, for an export: when and how they first signed up (or were
    invited, or imported: `source` is the event's how and detail) and when they last confirmed."""

    subscribed_at: dt.datetime | None = None
    source: str = ""
    confirmed_at: dt.datetime | None = None


@dataclass(frozen=True)
class ImportOutcome:
    """What adding a list of subscribers did: new addresses added, known ones whose status the file made
    stricter (an unsubscribe learnt from the other service), known ones left as they were, and addresses
    kept off the list because they are suppressed (unsubscribed, bounced, complained or forgotten here)."""

    added: int = 0
    made_stricter: int = 0
    unchanged: int = 0
    suppressed: int = 0


@dataclass(frozen=True)
class PublishedPost:
    """A post `publish` has recorded, by the slug it had then: archived (never to be mailed) or sent, and its
    stable id (None for a post recorded before posts had ids)."""

    slug: str
    state: str
    post_id: str | None = None


@dataclass(frozen=True)
class FeedbackOutcome:
    """What recording one piece of feedback did: whether it was new (the same report twice is recorded once),
    the subscriber's status before and after, and for a soft bounce how many in a row the subscriber has."""

    new: bool
    status_before: str
    status_after: str
    soft_bounces: int = 0

    @property
    def changed(self) -> bool:
        return self.status_after != self.status_before


@dataclass(frozen=True)
class Campaign:
    id: int
    slug: str
    subject: str
    status: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(frozen=True)
class Delivery:
    id: int
    campaign_id: int
    subscriber: Subscriber
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_reply: str
    message_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    possible_duplicate: bool = False  # it may have reached the reader before it was sent again


@dataclass(frozen=True)
class DeliveryCounts:
    queued: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.queued + self.sending + self.sent + self.failed + self.skipped

    @property
    def unfinished(self) -> int:
        return self.queued + self.sending


def normalize_email(email: str) -> str:
    """The address as stored: trimmed, domain lower-cased, local part as given ('Bo@EX.com' -> 'Bo@ex.com')."""
    local, _, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def fold_email(email: str) -> str:
    """The address as compared: one mailbox whatever the case it is written in ('Bo@EX.com' -> 'bo@ex.com')."""
    return normalize_email(email).lower()


def check_value(value: str, allowed: tuple[str, ...]) -> None:
    """ValueError for a status or state the store does not know, before anything is written."""
    if value not in allowed:
        raise ValueError(f"unknown value {value!r}; expected one of {', '.join(allowed)}")


# Two records of one mailbox become one with the stricter status: nobody who left is made mailable again, and a
# reader who confirmed stays confirmed beside an unconfirmed twin.
STRICTNESS = ("pending", "active", "bounced", "unsubscribed", "complained")


def strictness(status: str) -> int:
    """How firmly a status keeps mail away, for merging two records of one mailbox; unknown counts as firmest."""
    return STRICTNESS.index(status) if status in STRICTNESS else len(STRICTNESS)


def stamp(when: Moment) -> str:
    """An aware datetime or ISO string as fixed-width UTC ISO text, the stored form in every backend (so that
    comparing the text compares the times, and a copy between backends is exact); naive times are refused."""
    moment = dt.datetime.fromisoformat(when) if isinstance(when, str) else when
    if moment.tzinfo is None:
        raise ValueError(f"time {when!r} has no time zone; pass an aware datetime such as datetime.now(UTC)")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def read_time(text: str | None) -> dt.datetime | None:
    """A stored time back as an aware datetime; None for none."""
    return dt.datetime.fromisoformat(text) if text else None
