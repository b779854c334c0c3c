"""The SQLite store's subscribers table: adding, finding, listing and changing subscribers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from .records import (
    SUBSCRIBER_STATUSES,
    ImportOutcome,
    Moment,
    NewSubscriber,
    Subscriber,
    check_value,
    fold_email,
    normalize_email,
)
from .sqlite_connection import SqliteConnection, read_time, stamp

NEW_PUBLIC_ID = "lower(hex(randomblob(16)))"  # 128 random bits, made by SQLite as the row is written
SUBSCRIBER_COLUMNS = "s.id, s.email, s.name, s.status, s.source, s.created_at, s.updated_at, s.public_id"


class SqliteSubscribers(SqliteConnection):
    """Subscribers, one per mailbox: an address is looked up by its folded form, `email_key`."""

    def add_subscriber(self, email: str, name: str = "", status: str = "active", source: str = "",
                       *, now: Moment) -> tuple[Subscriber, bool]:
        """Add one subscriber unless the address is already known; returns (subscriber, whether it was added)."""
        outcome = self.add_subscribers([NewSubscriber(email, name, status)], source, now=now)
        return self.get_subscriber(email), bool(outcome.added)

    def add_subscribers(self, entries: Iterable[NewSubscriber], source: str, *, now: Moment) -> ImportOutcome:
        """Add every new address in one transaction, leaving known ones untouched."""
        added = seen = 0
        with self._write() as conn:
            for seen, entry in enumerate(entries, start=1):
                check_value(entry.status, SUBSCRIBER_STATUSES)
                created = stamp(entry.created_at or now)
                added += conn.execute(
                    "INSERT INTO subscribers (email, email_key, name, status, source, created_at, updated_at, public_id)"
                    f" VALUES (?, ?, ?, ?, ?, ?, ?, {NEW_PUBLIC_ID}) ON CONFLICT DO NOTHING",
                    (normalize_email(entry.email), fold_email(entry.email), entry.name, entry.status, source,
                     created, stamp(now)),
                ).rowcount
        return ImportOutcome(added=added, unchanged=seen - added)

    def get_subscriber(self, email: str) -> Subscriber | None:
        rows = self._rows(f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers s WHERE email_key = ?",
                          (fold_email(email),))
        return subscriber_from(rows[0]) if rows else None

    def set_subscriber_status(self, email: str, status: str, *, now: Moment) -> Subscriber | None:
        """Change a subscriber's status; None when the address is unknown."""
        check_value(status, SUBSCRIBER_STATUSES)
        with self._write() as conn:
            conn.execute("UPDATE subscribers SET status = ?, updated_at = ? WHERE email_key = ?",
                         (status, stamp(now), fold_email(email)))
        return self.get_subscriber(email)

    def list_subscribers(self, status: str | None = None) -> list[Subscriber]:
        """Subscribers in the order they were added, optionally only those with one status."""
        if status is not None:
            check_value(status, SUBSCRIBER_STATUSES)
        rows = self._rows(f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers s WHERE ?1 IS NULL OR status = ?1"
                          " ORDER BY id", (status,))
        return [subscriber_from(row) for row in rows]

    def count_subscribers(self) -> dict[str, int]:
        """How many subscribers have each status (every status present, zero included)."""
        counts = dict.fromkeys(SUBSCRIBER_STATUSES, 0)
        counts.update(self._rows("SELECT status, COUNT(*) FROM subscribers GROUP BY status"))
        return counts

    def request_subscription(self, email: str, name: str = "", *, now: Moment) -> Subscriber:
        """A sign-up from the web form: a new address becomes pending, as does one that had unsubscribed or
        bounced (taking the new name, if given); a pending or active subscriber stays as they are."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO subscribers (email, email_key, name, status, source, created_at, updated_at, public_id)"
                f" VALUES (?1, ?4, ?2, 'pending', 'web', ?3, ?3, {NEW_PUBLIC_ID}) ON CONFLICT (email_key) DO UPDATE SET status = 'pending',"
                " name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END,"
                " updated_at = excluded.updated_at WHERE status IN ('unsubscribed', 'bounced')",
                (normalize_email(email), name, stamp(now), fold_email(email)))
        return self.get_subscriber(email)

    def confirm_subscriber(self, email: str, pending_by: Moment, *, now: Moment) -> bool:
        """Activate a subscriber who has been pending since `pending_by` or earlier (a confirm link made before
        they last unsubscribed confirms nothing). True only for the one call that activated them."""
        with self._write() as conn:
            return bool(conn.execute(
                "UPDATE subscribers SET status = 'active', updated_at = ? WHERE email_key = ? AND status = 'pending'"
                " AND updated_at <= ?", (stamp(now), fold_email(email), stamp(pending_by))).rowcount)

    def unsubscribe(self, email: str, *, now: Moment) -> bool:
        """Unsubscribe an active or pending subscriber; returns whether anything changed."""
        with self._write() as conn:
            return bool(conn.execute(
                "UPDATE subscribers SET status = 'unsubscribed', updated_at = ? WHERE email_key = ?"
                " AND status IN ('active', 'pending')", (stamp(now), fold_email(email))).rowcount)


def subscriber_from(row: sqlite3.Row) -> Subscriber:
    """A row holding SUBSCRIBER_COLUMNS as a Subscriber."""
    return Subscriber(id=row["id"], email=row["email"], name=row["name"], status=row["status"],
                      source=row["source"], created_at=read_time(row["created_at"]),
                      updated_at=read_time(row["updated_at"]), public_id=row["public_id"])
