"""The suppression rule for adding a list of subscribers, the same for every backend: which entries are new,
which make a known address stricter, which the rule keeps off. The backends' modules do the SQL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .records import (
    SUBSCRIBER_STATUSES,
    SUPPRESSED_STATUSES,
    Moment,
    NewSubscriber,
    check_value,
    fold_email,
    strictness,
)


@dataclass(frozen=True)
class Origin:
    """Where a list of subscribers comes from, for their consent history: how (import, cli, ...) and the
    detail (the file and service of an import)."""

    how: str
    detail: str
    now: Moment


def one_per_mailbox(entries: Iterable[NewSubscriber]) -> dict[str, NewSubscriber]:
    """The entries checked, by folded address: of two for one mailbox the stricter is kept, as a file's reader does."""
    kept: dict[str, NewSubscriber] = {}
    for entry in entries:
        check_value(entry.status, SUBSCRIBER_STATUSES)
        key = fold_email(entry.email)
        if key not in kept or strictness(entry.status) > strictness(kept[key].status):
            kept[key] = entry
    return kept


def is_stricter(entry: NewSubscriber, current: str) -> bool:
    """Whether the file makes a known address stricter: only ever to unsubscribed, bounced or complained."""
    return entry.status in SUPPRESSED_STATUSES and strictness(entry.status) > strictness(current)


def is_kept_off(entry: NewSubscriber, current: str) -> bool:
    """Whether the file lists a known suppressed address as mailable (active or pending), which the rule refuses."""
    return current in SUPPRESSED_STATUSES and entry.status not in SUPPRESSED_STATUSES
