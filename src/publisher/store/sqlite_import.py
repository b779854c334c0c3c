"""Adding a list of subscribers to the SQLite store in one transaction, under the suppression rule.

A new address is added with its status. A known address is never made more mailable: a file can only make it
stricter (an unsubscribe, bounce or complaint learnt from another service), and only the reader's own
confirmation brings back someone who left. A forgotten address, whose keyed hash is on the suppression list,
is not added at all. Every change is written to the consent history with the evidence the file gave. The
statements are batched (executemany, lookups by chunks of addresses), so 100,000 rows take a second or two.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable, Sequence

from .import_rules import Origin, is_kept_off, is_stricter, one_per_mailbox
from .records import (
    AddressHashes,
    SUPPRESSED_STATUSES,
    ImportOutcome,
    Moment,
    NewSubscriber,
    normalize_email,
)
from .sqlite_connection import stamp

NEW_PUBLIC_ID = "lower(hex(randomblob(16)))"  # 128 random bits, made by SQLite as the row is written
CHUNK = 500  # addresses per lookup, well under SQLite's limit on parameters
# The number SQLite would give the next subscriber: past every number ever given, even to one since erased.
NEXT_SUBSCRIBER_ID = ("SELECT MAX((SELECT COALESCE(MAX(id), 0) FROM subscribers),"
                      " COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'subscribers'), 0)) + 1")


def import_entries(conn: sqlite3.Connection, entries: Iterable[NewSubscriber], origin: Origin,
                   address_hashes: AddressHashes) -> ImportOutcome:
    """Add, make stricter or leave each entry, inside the caller's transaction, and say how many of each."""
    rows = one_per_mailbox(entries)
    known = _known(conn, list(rows))
    unknown = {key: entry for key, entry in rows.items() if key not in known}
    forgotten = _forgotten(conn, unknown, address_hashes)
    new = {key: entry for key, entry in unknown.items() if key not in forgotten}
    stricter = [(known[key][0], e) for key, e in rows.items() if key in known and is_stricter(e, known[key][1])]
    kept_off = sum(1 for key, e in rows.items() if key in known and is_kept_off(e, known[key][1]))
    stamp_once = functools.cache(stamp)  # an import's rows share few distinct times
    _insert(conn, new, origin, stamp_once)
    _make_stricter(conn, stricter, origin, stamp_once)
    return ImportOutcome(added=len(new), made_stricter=len(stricter), suppressed=len(forgotten) + kept_off,
                         unchanged=len(known) - len(stricter) - kept_off)


def _known(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    """The id and status of each of `keys` already on the list, looked up a chunk at a time."""
    found: dict[str, tuple[int, str]] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT email_key, id, status FROM subscribers WHERE email_key IN ({marks})", chunk):
            found[row[0]] = (row[1], row[2])
    return found


def _forgotten(conn: sqlite3.Connection, entries: dict[str, NewSubscriber], address_hashes: AddressHashes) -> set[str]:
    """The folded addresses among `entries` whose hash (under any key in use) is on the suppression list.
    `address_hashes` is not called at all while the list is empty, so no key is needed then."""
    listed = {row[0] for row in conn.execute("SELECT address_hash FROM suppressions")}
    if not listed:
        return set()
    return {key for key in entries if listed.intersection(address_hashes(key))}


def _insert(conn: sqlite3.Connection, entries: dict[str, NewSubscriber], origin: Origin,
            stamp_once: Callable[[Moment], str]) -> None:
    """Add the new subscribers and their first events: subscribed, confirmed if the file says when, and the
    status they left with, if they did. Their numbers follow the largest ever given."""
    now = stamp_once(origin.now)
    first_id = conn.execute(NEXT_SUBSCRIBER_ID).fetchone()[0]
    conn.executemany(
        "INSERT INTO subscribers (id, email, email_key, name, status, source, created_at, updated_at, public_id)"
        f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, {NEW_PUBLIC_ID})",
        [(first_id + n, normalize_email(e.email), key, e.name, e.status, origin.detail,
          stamp_once(e.created_at or origin.now), now) for n, (key, e) in enumerate(entries.items())])
    ids = list(enumerate(entries.values(), start=first_id))
    events = [(i, "subscribed", e.created_at) for i, e in ids]
    events += [(i, "confirmed", e.confirmed_at) for i, e in ids if e.confirmed_at]
    events += [(i, e.status, e.status_at) for i, e in ids if e.status in SUPPRESSED_STATUSES]
    conn.executemany(
        "INSERT INTO consent_events (subscriber_id, kind, how, detail, at, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(i, kind, origin.how, origin.detail, stamp_once(at or origin.now), now) for i, kind, at in events])


def _make_stricter(conn: sqlite3.Connection, changes: list[tuple[int, NewSubscriber]], origin: Origin,
                   stamp_once: Callable[[Moment], str]) -> None:
    """Give known subscribers the file's stricter status, each with its event. The last change is dated now,
    when this list learnt of it, so no confirm link sent before the import can undo it."""
    now = stamp_once(origin.now)
    conn.executemany("UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ?",
                     [(e.status, now, subscriber_id) for subscriber_id, e in changes])
    conn.executemany(
        "INSERT INTO consent_events (subscriber_id, kind, how, detail, at, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(subscriber_id, e.status, origin.how, origin.detail, stamp_once(e.status_at or origin.now), now)
         for subscriber_id, e in changes])
