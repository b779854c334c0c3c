"""The SQLite store's consent records: each subscriber's append-only history of consent events, the count of
confirmation emails that rate-limits sign-ups and invitations, and erasure onto the suppression list.

Nothing here updates or deletes an event, except `forget_subscriber`, which erases the person altogether and
keeps only a keyed hash of the address (made by the caller: the store never holds the key).
"""

from __future__ import annotations

import sqlite3

from .records import CONSENT_EVENTS, ConsentEvent, ConsentSummary, Moment, check_value, fold_email
from .sqlite_connection import SqliteConnection, read_time, stamp

# The events that each stand for one confirmation email sent: a form sign-up and an invitation.
CONFIRMATION_SENT = "(kind = 'subscribed' AND how = 'form') OR kind = 'invited'"


def write_event(conn: sqlite3.Connection, subscriber_id: int, kind: str, how: str, detail: str, at: Moment,
                now: Moment) -> None:
    """Append one event to a subscriber's history, inside the caller's transaction."""
    check_value(kind, CONSENT_EVENTS)
    conn.execute("INSERT INTO consent_events (subscriber_id, kind, how, detail, at, recorded_at)"
                 " VALUES (?, ?, ?, ?, ?, ?)", (subscriber_id, kind, how, detail, stamp(at), stamp(now)))


def id_of(conn: sqlite3.Connection, email: str) -> int | None:
    """The id of the subscriber with this address (in any case), inside the caller's transaction."""
    row = conn.execute("SELECT id FROM subscribers WHERE email_key = ?", (fold_email(email),)).fetchone()
    return row[0] if row else None


class SqliteConsent(SqliteConnection):
    """Consent history, confirmation counts and the suppression list of forgotten addresses."""

    def consent_history(self, email: str) -> list[ConsentEvent]:
        """The subscriber's consent events in the order they were recorded; empty for an unknown address."""
        rows = self._rows("SELECT e.kind, e.how, e.detail, e.at, e.recorded_at FROM consent_events e"
                          " JOIN subscribers s ON s.id = e.subscriber_id WHERE s.email_key = ? ORDER BY e.id",
                          (fold_email(email),))
        return [ConsentEvent(kind=r["kind"], how=r["how"], detail=r["detail"], at=read_time(r["at"]),
                             recorded_at=read_time(r["recorded_at"])) for r in rows]

    def consent_summaries(self) -> dict[int, ConsentSummary]:
        """Every subscriber's consent evidence in brief, by subscriber id: the first sign-up, invitation or
        import (when, and its how and detail as the source) and the last confirmation."""
        rows = self._rows(
            "SELECT f.subscriber_id, e.at, e.how, e.detail, f.confirmed_at FROM (SELECT subscriber_id,"
            " MIN(CASE WHEN kind IN ('subscribed', 'invited') THEN id END) AS first_id,"
            " MAX(CASE WHEN kind = 'confirmed' THEN at END) AS confirmed_at FROM consent_events"
            " GROUP BY subscriber_id) f LEFT JOIN consent_events e ON e.id = f.first_id")
        return {r[0]: ConsentSummary(read_time(r[1]), " ".join(filter(None, (r[2], r[3]))), read_time(r[4]))
                for r in rows}

    def confirmations_since(self, email: str, since: Moment) -> int:
        """How many confirmation emails (form sign-ups and invitations) the address was sent since `since`:
        counted from the records, so a limit on it holds across every process that shares the database."""
        rows = self._rows(f"SELECT COUNT(*) FROM consent_events e JOIN subscribers s ON s.id = e.subscriber_id"
                          f" WHERE s.email_key = ? AND e.recorded_at > ? AND ({CONFIRMATION_SENT})",
                          (fold_email(email), stamp(since)))
        return rows[0][0]

    def forget_subscriber(self, email: str, address_hash: str, *, now: Moment) -> bool:
        """Erase the subscriber with this address, their consent history and their deliveries, and put
        `address_hash` on the suppression list (reason 'forgotten'), all at once; returns whether there was
        a subscriber to erase (the hash is listed either way). Erased means erased: SQLite overwrites the
        deleted rows with zeros (secure_delete) and the write-ahead log is emptied into the database file, so
        the address is left in neither file."""
        with self._lock:
            self._conn.execute("PRAGMA secure_delete = ON")
        with self._write() as conn:
            subscriber_id = id_of(conn, email)
            if subscriber_id is not None:
                _erase(conn, subscriber_id)
            conn.execute("INSERT INTO suppressions (address_hash, reason, recorded_at) VALUES (?, 'forgotten', ?)"
                         " ON CONFLICT (address_hash) DO NOTHING", (address_hash, stamp(now)))
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return subscriber_id is not None


def _erase(conn: sqlite3.Connection, subscriber_id: int) -> None:
    """Delete a subscriber's deliveries and then the subscriber, whose consent events go with them (cascade)."""
    conn.execute("DELETE FROM deliveries WHERE subscriber_id = ?", (subscriber_id,))
    conn.execute("DELETE FROM subscribers WHERE id = ?", (subscriber_id,))
