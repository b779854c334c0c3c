"""Adding a list of subscribers to the SQLite store in one transaction, under the suppression rule.

A new address is added with its status. A known address is never made more mailable: a file can only make it
stricter (an unsubscribe, bounce or complaint learnt from another service), and only the reader's own
confirmation brings back someone who left. A forgotten address, whose keyed hash is on the suppression list,
is not added at all. Every change is written to the consent history with the evidence the file gave. The
statements are batched (executemany, lookups by chunks of addresses), so 100,000 rows take a second or two.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .records import (
    SUBSCRIBER_STATUSES,
    AddressHashes,
    SUPPRESSED_STATUSES,
    ImportOutcome,
    Moment,
    NewSubscriber,
    check_value,
    fold_email,
    normalize_email,
    strictness,
)
from .sqlite_connection import stamp

NEW_PUBLIC_ID = "lower(hex(randomblob(16)))"  # 128 random bits, made by SQLite as the row is written
CHUNK = 500  # addresses per lookup, well under SQLite's limit on parameters


@dataclass(frozen=True)
class Origin:
    """Where a list of subscribers comes from, for their consent history: how (import, cli, ...) and the
    detail (the file and service of an import)."""

    how: str
    detail: str
    now: Moment


def import_entries(conn: sqlite3.Connection, entries: Iterable[NewSubscriber], origin: Origin,
                   address_hashes: AddressHashes) -> ImportOutcome:
    """Add, make stricter or leave each entry, inside the caller's transaction, and say how many of each."""
    rows = _one_per_mailbox(entries)
    known = _known(conn, [fold_email(entry.email) for entry in rows])
    unknown = [entry for entry in rows if fold_email(entry.email) not in known]
    forgotten = _forgotten(conn, unknown, address_hashes)
    new = [entry for entry in unknown if fold_email(entry.email) not in forgotten]
    stricter = [(known[fold_email(e.email)][0], e) for e in rows if _stricter(e, known)]
    kept_off = sum(1 for e in rows if _kept_off(e, known))
    _insert(conn, new, origin)
    _make_stricter(conn, stricter, origin)
    return ImportOutcome(added=len(new), made_stricter=len(stricter), suppressed=len(forgotten) + kept_off,
                         unchanged=len(rows) - len(unknown) - len(stricter) - kept_off)


def _one_per_mailbox(entries: Iterable[NewSubscriber]) -> list[NewSubscriber]:
    """The entries checked, one per mailbox: of two for one address the stricter is kept, as a file's reader does."""
    kept: dict[str, NewSubscriber] = {}
    for entry in entries:
        check_value(entry.status, SUBSCRIBER_STATUSES)
        key = fold_email(entry.email)
        if key not in kept or strictness(entry.status) > strictness(kept[key].status):
            kept[key] = entry
    return list(kept.values())


def _known(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    """The id and status of each of `keys` already on the list, looked up a chunk at a time."""
    found: dict[str, tuple[int, str]] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT email_key, id, status FROM subscribers WHERE email_key IN ({marks})", chunk):
            found[row[0]] = (row[1], row[2])
    return found


def _forgotten(conn: sqlite3.Connection, entries: list[NewSubscriber], address_hashes: AddressHashes) -> set[str]:
    """The folded addresses among `entries` whose hash (under any key in use) is on the suppression list.
    `address_hashes` is not called at all while the list is empty, so no key is needed then."""
    listed = {row[0] for row in conn.execute("SELECT address_hash FROM suppressions")}
    if not listed:
        return set()
    keys = {fold_email(entry.email) for entry in entries}
    return {key for key in keys if listed.intersection(address_hashes(key))}


def _stricter(entry: NewSubscriber, known: dict[str, tuple[int, str]]) -> bool:
    """Whether the file makes a known address stricter: only ever to unsubscribed, bounced or complained."""
    current = known.get(fold_email(entry.email))
    return (current is not None and entry.status in SUPPRESSED_STATUSES
            and strictness(entry.status) > strictness(current[1]))


def _kept_off(entry: NewSubscriber, known: dict[str, tuple[int, str]]) -> bool:
    """Whether the file lists a known suppressed address as mailable (active or pending), which the rule refuses."""
    current = known.get(fold_email(entry.email))
    return current is not None and current[1] in SUPPRESSED_STATUSES and entry.status not in SUPPRESSED_STATUSES


def _insert(conn: sqlite3.Connection, entries: list[NewSubscriber], origin: Origin) -> None:
    """Add the new subscribers and their first events: subscribed, confirmed if the file says when, and the
    status they left with, if they did."""
    now = stamp(origin.now)
    conn.executemany(
        "INSERT INTO subscribers (email, email_key, name, status, source, created_at, updated_at, public_id)"
        f" VALUES (?, ?, ?, ?, ?, ?, ?, {NEW_PUBLIC_ID})",
        [(normalize_email(e.email), fold_email(e.email), e.name, e.status, origin.detail,
          stamp(e.created_at or origin.now), now) for e in entries])
    events = [("subscribed", e, e.created_at) for e in entries]
    events += [("confirmed", e, e.confirmed_at) for e in entries if e.confirmed_at]
    events += [(e.status, e, e.status_at) for e in entries if e.status in SUPPRESSED_STATUSES]
    conn.executemany(
        "INSERT INTO consent_events (subscriber_id, kind, how, detail, at, recorded_at)"
        " VALUES ((SELECT id FROM subscribers WHERE email_key = ?), ?, ?, ?, ?, ?)",
        [(fold_email(e.email), kind, origin.how, origin.detail, stamp(at or origin.now), now)
         for kind, e, at in events])


def _make_stricter(conn: sqlite3.Connection, changes: list[tuple[int, NewSubscriber]], origin: Origin) -> None:
    """Give known subscribers the file's stricter status, each with its event. The last change is dated now,
    when this list learnt of it, so no confirm link sent before the import can undo it."""
    now = stamp(origin.now)
    conn.executemany("UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ?",
                     [(e.status, now, subscriber_id) for subscriber_id, e in changes])
    conn.executemany(
        "INSERT INTO consent_events (subscriber_id, kind, how, detail, at, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(subscriber_id, e.status, origin.how, origin.detail, stamp(e.status_at or origin.now), now)
         for subscriber_id, e in changes])
