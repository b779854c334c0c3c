"""The PostgreSQL store's consent records, as sqlite_consent.py: each subscriber's append-only history of consent
events, the count of confirmation emails that rate-limits sign-ups and invitations, and erasure onto the
suppression list. Erased rows are gone from the tables at once and their space is reused as PostgreSQL
vacuums; what the server's write-ahead log and backups keep is the database administrator's to expire."""

from __future__ import annotations

import psycopg

from .postgres_connection import PostgresConnection
from .records import CONSENT_EVENTS, ConsentEvent, ConsentSummary, Moment, check_value, fold_email, read_time, stamp
from .sqlite_consent import CONFIRMATION_SENT


def write_event(conn: psycopg.Connection, subscriber_id: int, kind: str, how: str, detail: str, at: Moment,
                now: Moment) -> None:
    """Append one event to a subscriber's history, inside the caller's transaction."""
    check_value(kind, CONSENT_EVENTS)
    conn.execute("INSERT INTO consent_events (subscriber_id, kind, how, detail, at, recorded_at)"
                 " VALUES (%s, %s, %s, %s, %s, %s)", (subscriber_id, kind, how, detail, stamp(at), stamp(now)))


def id_of(conn: psycopg.Connection, email: str) -> int | None:
    """The id of the subscriber with this address (in any case), inside the caller's transaction."""
    row = conn.execute("SELECT id FROM subscribers WHERE email_key = %s", (fold_email(email),)).fetchone()
    return row[0] if row else None


class PostgresConsent(PostgresConnection):
    """Consent history, confirmation counts and the suppression list of forgotten addresses."""

    def consent_history(self, email: str) -> list[ConsentEvent]:
        """The subscriber's consent events in the order they were recorded; empty for an unknown address."""
        rows = self._records("SELECT e.kind, e.how, e.detail, e.at, e.recorded_at FROM consent_events e"
                             " JOIN subscribers s ON s.id = e.subscriber_id WHERE s.email_key = %s ORDER BY e.id",
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
                          f" WHERE s.email_key = %s AND e.recorded_at > %s AND ({CONFIRMATION_SENT})",
                          (fold_email(email), stamp(since)))
        return rows[0][0]

    def forget_subscriber(self, email: str, address_hash: str, *, now: Moment) -> bool:
        """Erase the subscriber with this address, their consent history and their deliveries, and put
        `address_hash` on the suppression list (reason 'forgotten'), all at once; returns whether there was
        a subscriber to erase (the hash is listed either way)."""
        with self._write() as conn:
            subscriber_id = id_of(conn, email)
            if subscriber_id is not None:
                conn.execute("DELETE FROM deliveries WHERE subscriber_id = %s", (subscriber_id,))
                conn.execute("DELETE FROM subscribers WHERE id = %s", (subscriber_id,))
            conn.execute("INSERT INTO suppressions (address_hash, reason, recorded_at) VALUES (%s, 'forgotten', %s)"
                         " ON CONFLICT (address_hash) DO NOTHING", (address_hash, stamp(now)))
        return subscriber_id is not None
