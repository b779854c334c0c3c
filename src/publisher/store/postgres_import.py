"""Adding a list of subscribers to the PostgreSQL store in one transaction, under the suppression rule of
import_rules.py, as sqlite_import.py does for SQLite. Rows go to the server as arrays, thousands to a
statement; new subscribers take their ids from the table's sequence (another process may be adding some at the
same time), and one added meanwhile by someone else is left to them."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence

import psycopg

from .import_rules import Origin, is_kept_off, is_stricter, one_per_mailbox
from .postgres_schema import NEW_PUBLIC_ID
from .records import SUPPRESSED_STATUSES, AddressHashes, ImportOutcome, Moment, NewSubscriber, normalize_email, stamp

CHUNK = 5_000  # rows per statement


def import_entries(conn: psycopg.Connection, entries: Iterable[NewSubscriber], origin: Origin,
                   address_hashes: AddressHashes) -> ImportOutcome:
    """Add, make stricter or leave each entry, inside the caller's transaction, and say how many of each."""
    rows = one_per_mailbox(entries)
    known = _known(conn, list(rows))
    unknown = {key: entry for key, entry in rows.items() if key not in known}
    forgotten = _forgotten(conn, unknown, address_hashes)
    new = {key: entry for key, entry in unknown.items() if key not in forgotten}
    stricter = [(known[key][0], e) for key, e in rows.items() if key in known and is_stricter(e, known[key][1])]
    kept_off = sum(1 for key, e in rows.items() if key in known and is_kept_off(e, known[key][1]))
    stamp_once = functools.cache(stamp)
    added = _insert(conn, new, origin, stamp_once)
    _make_stricter(conn, stricter, origin, stamp_once)
    return ImportOutcome(added=added, made_stricter=len(stricter), suppressed=len(forgotten) + kept_off,
                         unchanged=len(known) - len(stricter) - kept_off + len(new) - added)


def _known(conn: psycopg.Connection, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    """The id and status of each of `keys` already on the list, looked up a chunk at a time."""
    found: dict[str, tuple[int, str]] = {}
    for start in range(0, len(keys), CHUNK):
        for key, subscriber_id, status in conn.execute(
                "SELECT email_key, id, status FROM subscribers WHERE email_key = ANY(%s)",
                (list(keys[start:start + CHUNK]),)):
            found[key] = (subscriber_id, status)
    return found


def _forgotten(conn: psycopg.Connection, entries: dict[str, NewSubscriber], address_hashes: AddressHashes) -> set[str]:
    """The folded addresses among `entries` whose hash (under any key in use) is on the suppression list;
    `address_hashes` is not called at all while the list is empty."""
    listed = {row[0] for row in conn.execute("SELECT address_hash FROM suppressions")}
    if not listed:
        return set()
    return {key for key in entries if listed.intersection(address_hashes(key))}


def _insert(conn: psycopg.Connection, entries: dict[str, NewSubscriber], origin: Origin,
            stamp_once: Callable[[Moment], str]) -> int:
    """Add the new subscribers, in the file's order, and their first events: subscribed, confirmed if the file
    says when, and the status they left with, if they did; returns how many were added."""
    now, items = stamp_once(origin.now), list(entries.items())
    ids: dict[str, int] = {}
    for start in range(0, len(items), CHUNK):
        chunk = items[start:start + CHUNK]
        columns = [[normalize_email(e.email) for _, e in chunk], [k for k, _ in chunk], [e.name for _, e in chunk],
                   [e.status for _, e in chunk], [stamp_once(e.created_at or origin.now) for _, e in chunk]]
        ids.update((key, i) for i, key in conn.execute(
            "INSERT INTO subscribers (email, email_key, name, status, source, created_at, updated_at, public_id)"
            f" SELECT email, key, name, status, %s, created, %s, {NEW_PUBLIC_ID} FROM unnest(%s::text[],"
            " %s::text[], %s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS t (email, key, name, status,"
            " created, n) ORDER BY n ON CONFLICT (email_key) DO NOTHING RETURNING id, email_key",
            (origin.detail, now, *columns)))
    added = [(ids[key], e) for key, e in items if key in ids]
    events = [(i, "subscribed", e.created_at) for i, e in added]
    events += [(i, "confirmed", e.confirmed_at) for i, e in added if e.confirmed_at]
    events += [(i, e.status, e.status_at) for i, e in added if e.status in SUPPRESSED_STATUSES]
    _write_events(conn, [(i, kind, stamp_once(at or origin.now)) for i, kind, at in events], origin, now)
    return len(added)


def _make_stricter(conn: psycopg.Connection, changes: list[tuple[int, NewSubscriber]], origin: Origin,
                   stamp_once: Callable[[Moment], str]) -> None:
    """Give known subscribers the file's stricter status, each with its event, the change dated now."""
    now = stamp_once(origin.now)
    conn.cursor().executemany("UPDATE subscribers SET status = %s, updated_at = %s WHERE id = %s",
                              [(e.status, now, subscriber_id) for subscriber_id, e in changes])
    _write_events(conn, [(i, e.status, stamp_once(e.status_at or origin.now)) for i, e in changes], origin, now)


def _write_events(conn: psycopg.Connection, events: list[tuple[int, str, str]], origin: Origin, now: str) -> None:
    """Append (subscriber id, kind, at) events with the origin's how and detail, a chunk to a statement."""
    for start in range(0, len(events), CHUNK):
        chunk = events[start:start + CHUNK]
        conn.execute("INSERT INTO consent_events (subscriber_id, kind, how, detail, at, recorded_at)"
                     " SELECT i, kind, %s, %s, at, %s FROM unnest(%s::bigint[], %s::text[], %s::text[])"
                     " AS t (i, kind, at)", (origin.how, origin.detail, now, *map(list, zip(*chunk))))
