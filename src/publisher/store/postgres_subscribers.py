"""The PostgreSQL store's subscribers table: the same operations and rules as sqlite_subscribers.py."""

from __future__ import annotations

from collections.abc import Iterable

from .postgres_connection import PostgresConnection
from .postgres_schema import NEW_PUBLIC_ID
from .records import (
    SUBSCRIBER_STATUSES,
    ImportOutcome,
    Moment,
    NewSubscriber,
    Subscriber,
    check_value,
    fold_email,
    normalize_email,
    read_time,
    stamp,
)

SUBSCRIBER_COLUMNS = "s.id, s.email, s.name, s.status, s.source, s.created_at, s.updated_at, s.public_id"
BATCH = 1000


class PostgresSubscribers(PostgresConnection):
    """Subscribers, one per mailbox: an address is looked up by its folded form, `email_key`."""

    def add_subscriber(self, email: str, name: str = "", status: str = "active", source: str = "",
                       *, now: Moment) -> tuple[Subscriber, bool]:
        """Add one subscriber unless the address is already known; returns (subscriber, whether it was added)."""
        outcome = self.add_subscribers([NewSubscriber(email, name, status)], source, now=now)
        return self.get_subscriber(email), bool(outcome.added)

    def add_subscribers(self, entries: Iterable[NewSubscriber], source: str, *, now: Moment) -> ImportOutcome:
        """Add every new address in one transaction, leaving known ones untouched; rows go to the server a
        thousand at a time (one round trip each), which is what makes a large import fast."""
        added = seen = 0
        with self._write() as conn:
            batch: list[NewSubscriber] = []
            for seen, entry in enumerate(entries, start=1):
                check_value(entry.status, SUBSCRIBER_STATUSES)
                batch.append(entry)
                if len(batch) == BATCH:
                    added += _insert(conn, batch, source, now)
                    batch = []
            added += _insert(conn, batch, source, now) if batch else 0
        return ImportOutcome(added=added, unchanged=seen - added)

    def get_subscriber(self, email: str) -> Subscriber | None:
        rows = self._records(f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers s WHERE email_key = %s",
                             (fold_email(email),))
        return subscriber_from(rows[0]) if rows else None

    def set_subscriber_status(self, email: str, status: str, *, now: Moment) -> Subscriber | None:
        """Change a subscriber's status; None when the address is unknown."""
        check_value(status, SUBSCRIBER_STATUSES)
        with self._write() as conn:
            conn.execute("UPDATE subscribers SET status = %s, updated_at = %s WHERE email_key = %s",
                         (status, stamp(now), fold_email(email)))
        return self.get_subscriber(email)

    def list_subscribers(self, status: str | None = None) -> list[Subscriber]:
        """Subscribers in the order they were added, optionally only those with one status."""
        if status is not None:
            check_value(status, SUBSCRIBER_STATUSES)
        rows = self._records(f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers s"
                             " WHERE %(status)s::text IS NULL OR status = %(status)s ORDER BY id", {"status": status})
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
                "INSERT INTO subscribers AS s (email, email_key, name, status, source, created_at, updated_at,"
                f" public_id) VALUES (%(email)s, %(key)s, %(name)s, 'pending', 'web', %(now)s, %(now)s, {NEW_PUBLIC_ID})"
                " ON CONFLICT (email_key) DO UPDATE SET status = 'pending',"
                " name = CASE WHEN excluded.name != '' THEN excluded.name ELSE s.name END,"
                " updated_at = excluded.updated_at WHERE s.status IN ('unsubscribed', 'bounced')",
                {"email": normalize_email(email), "name": name, "now": stamp(now), "key": fold_email(email)})
        return self.get_subscriber(email)

    def confirm_subscriber(self, email: str, pending_by: Moment, *, now: Moment) -> bool:
        """Activate a subscriber who has been pending since `pending_by` or earlier (a confirm link made before
        they last unsubscribed confirms nothing). True only for the one call that activated them."""
        with self._write() as conn:
            return bool(conn.execute(
                "UPDATE subscribers SET status = 'active', updated_at = %s WHERE email_key = %s"
                " AND status = 'pending' AND updated_at <= %s",
                (stamp(now), fold_email(email), stamp(pending_by))).rowcount)

    def unsubscribe(self, email: str, *, now: Moment) -> bool:
        """Unsubscribe an active or pending subscriber; returns whether anything changed."""
        with self._write() as conn:
            return bool(conn.execute(
                "UPDATE subscribers SET status = 'unsubscribed', updated_at = %s WHERE email_key = %s"
                " AND status IN ('active', 'pending')", (stamp(now), fold_email(email))).rowcount)


def _insert(conn, batch: list[NewSubscriber], source: str, now: Moment) -> int:
    """Insert one batch of new subscribers in one statement (a later twin of an address in the batch, or a known
    address, is left out); returns how many were added."""
    rows = [(normalize_email(e.email), fold_email(e.email), e.name, e.status, stamp(e.created_at or now))
            for e in batch]
    return conn.execute(
        "INSERT INTO subscribers (email, email_key, name, status, source, created_at, updated_at, public_id)"
        f" SELECT email, key, name, status, %s, created, %s, {NEW_PUBLIC_ID}"
        " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) WITH ORDINALITY"
        " AS t (email, key, name, status, created, n) ORDER BY n ON CONFLICT DO NOTHING",
        (source, stamp(now), *map(list, zip(*rows)))).rowcount


def subscriber_from(row: dict) -> Subscriber:
    """A row holding SUBSCRIBER_COLUMNS as a Subscriber."""
    return Subscriber(id=row["id"], email=row["email"], name=row["name"], status=row["status"],
                      source=row["source"], created_at=read_time(row["created_at"]),
                      updated_at=read_time(row["updated_at"]), public_id=row["public_id"])
