"""Reading the bounce mailbox: classify each message, apply what it reports, and file it.

A message whose every event was applied (or had been before) moves to the `processed` folder, an auto-reply
to `ignored`; both stay there as evidence. Anything else stays where it is, never deleted: a message not
understood, too large, or reporting a tag that is not ours or a delivery we do not know, for the author to
look at. Running it twice changes nothing the second time; a dry run reads and reports, and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import TokenError
from ..store import Store
from .classify import AUTO_REPLY, MAX_BYTES, NOT_UNDERSTOOD, Verdict, classify
from .events import FORGED, UNKNOWN, Applied, apply_event, find_recipient
from .mailboxes import IGNORED, PROCESSED, Item, Mailbox

WOULD_APPLY = "would apply"  # a dry run's result for an event that matched a subscriber


@dataclass(frozen=True)
class Handled:
    """One message and what became of it: its verdict, each event's outcome, and the folder it went to ('' when
    it stayed where it was)."""

    item: Item
    verdict: Verdict
    applied: tuple[Applied, ...] = ()
    folder: str = ""


@dataclass(frozen=True)
class InboxSettings:
    """What reading the mailbox needs besides the store: the untagged bounce address, the key that signs the
    tags, the soft-bounce limit, the clock and whether this is a dry run."""

    bounce_address: str
    secret: str | Sequence[str]
    soft_bounce_limit: int
    now: Callable[[], dt.datetime]
    dry_run: bool = False


def process_inbox(box: Mailbox, store: Store, settings: InboxSettings,
                  report: Callable[[Handled], None]) -> list[Handled]:
    """Handle every message in the mailbox, in order, telling `report` about each as it is done."""
    handled = []
    for item in box.items():
        done = handle_message(box, store, settings, item)
        if done is not None:
            report(done)
            handled.append(done)
    return handled


def handle_message(box: Mailbox, store: Store, settings: InboxSettings, item: Item) -> Handled | None:
    """Classify one message, apply its events and file it; None when it vanished (another run took it)."""
    if item.size > MAX_BYTES:
        return Handled(item, Verdict(NOT_UNDERSTOOD, reason=f"{item.size / 1e6:.0f} MB, larger than any report; "
                                                            "left for you"))
    raw = box.read(item)
    if not raw:
        return None
    verdict = classify(raw, settings.bounce_address, settings.now())
    applied = tuple(_apply(store, settings, event) for event in verdict.events)
    folder = _folder(verdict, applied)
    if folder and not settings.dry_run:
        box.move(item, folder)
    return Handled(item, verdict, applied, folder)


def _apply(store: Store, settings: InboxSettings, event) -> Applied:
    if not settings.dry_run:
        return apply_event(store, event, settings.now(), secret=settings.secret,
                           soft_bounce_limit=settings.soft_bounce_limit)
    try:
        found = find_recipient(store, event, settings.secret)
    except TokenError:
        return Applied(event, FORGED)
    return Applied(event, WOULD_APPLY, found[0].email) if found else Applied(event, UNKNOWN)


def _folder(verdict: Verdict, applied: tuple[Applied, ...]) -> str:
    """Where the message goes: processed when every event matched, ignored for an auto-reply, else nowhere."""
    if verdict.kind == AUTO_REPLY:
        return IGNORED
    if verdict.kind == NOT_UNDERSTOOD or not applied or any(a.result in (UNKNOWN, FORGED) for a in applied):
        return ""
    return PROCESSED
