"""The PostgreSQL store's subscribers table: the same operations and rules as sqlite_subscribers.py."""

from __future__ import annotations

from collections.abc import Iterable

from .import_rules import Origin
from .postgres_consent import PostgresConsent, id_of, write_event
from .postgres_import import import_entries
from .postgres_schema import NEW_PUBLIC_ID
from .records import (
    SUBSCRIBER_STATUSES,
    SUPPRESSED_STATUSES,
    AddressHashes,
    ImportOutcome,
    Moment,
    NewSubscriber,
    Subscriber,
    check_value,
    fold_email,
    no_hashes,
    normalize_email,
    read_time,
    stamp,
    strictness,
)

SUBSCRIBER_COLUMNS = "s.id, s.email, s.name, s.status, s.source, s.created_at, s.updated_at, s.public_id"


class PostgresSubscribers(PostgresConsent):
    """Subscribers, one per mailbox: an address is looked up by its folded form, `email_key`. Every change of
    status is written to the subscriber's consent history in the same transaction."""

    def add_subscriber(self, email: str, name: str = "", status: str = "active", source: str = "",
                       *, now: Moment, how: str = "cli",
                       address_hashes: AddressHashes = no_hashes) -> tuple[Subscriber | None, bool]:
        """Add one subscriber unless the address is already known; returns (subscriber, whether it was added),
        the subscriber None when the address is forgotten (on the suppression list)."""
        outcome = self.add_subscribers([NewSubscriber(email, name, status)], source, now=now, how=how,
                                       address_hashes=address_hashes)
        return self.get_subscriber(email), bool(outcome.added)

    def add_subscribers(self, entries: Iterable[NewSubscriber], source: str, *, now: Moment, how: str = "import",
                        address_hashes: AddressHashes = no_hashes) -> ImportOutcome:
        """Add every new address in one transaction; a known one is only ever made stricter, a forgotten one
        (whose hash under `address_hashes` is on the suppression list) is not added. See postgres_import.py."""
        with self._write() as conn:
            return import_entries(conn, entries, Origin(how, "" if source == how else source, now), address_hashes)

    def get_subscriber(self, email: str) -> Subscriber | None:
        rows = self._records(f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers s WHERE email_key = %s",
                             (fold_email(email),))
        return subscriber_from(rows[0]) if rows else None

    def get_subscriber_by_public_id(self, public_id: str) -> Subscriber | None:
        """The subscriber whose links carry `public_id` (exactly as made); None when nobody's do."""
        rows = self._records(f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers s WHERE public_id = %s", (public_id,))
        return subscriber_from(rows[0]) if rows else None

    def set_subscriber_status(self, email: str, status: str, *, now: Moment, how: str = "cli",
                              detail: str = "") -> Subscriber | None:
        """Make a subscriber unsubscribed, bounced or complained (never more mailable: a stricter status stays),
        recording the event; None when the address is unknown. ValueError for any other status."""
        check_value(status, SUPPRESSED_STATUSES)
        with self._write() as conn:
            row = conn.execute("SELECT id, status FROM subscribers WHERE email_key = %s FOR UPDATE",
                               (fold_email(email),)).fetchone()
            if row is not None and strictness(status) > strictness(row[1]):
                conn.execute("UPDATE subscribers SET status = %s, updated_at = %s WHERE id = %s",
                             (status, stamp(now), row[0]))
                write_event(conn, row[0], status, how, detail, now, now)
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

    def request_subscription(self, email: str, name: str = "", *, now: Moment, kind: str = "subscribed",
                             how: str = "form", detail: str = "") -> Subscriber:
        """A sign-up (or, as kind 'invited', an invitation), recorded as an event: a new address becomes pending
        (source 'web' or 'invite'); every other keeps its status, taking the new name, if given, unless active."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO subscribers AS s (email, email_key, name, status, source, created_at, updated_at,"
                " public_id) VALUES (%(email)s, %(key)s, %(name)s, 'pending', %(source)s, %(now)s, %(now)s,"
                f" {NEW_PUBLIC_ID}) ON CONFLICT (email_key) DO UPDATE SET name = excluded.name"
                " WHERE excluded.name != '' AND s.status != 'active'",
                {"email": normalize_email(email), "name": name, "now": stamp(now), "key": fold_email(email),
                 "source": "web" if kind == "subscribed" else "invite"})
            write_event(conn, id_of(conn, email), kind, how, detail, now, now)
        return self.get_subscriber(email)

    def confirm_subscriber(self, email: str, pending_by: Moment, *, now: Moment, left_by: Moment | None = None,
                           how: str = "link", detail: str = "") -> bool:
        """Activate a subscriber pending since `pending_by` or earlier, or one who left before `left_by` (default
        `pending_by`) and signed up again; records 'confirmed'; True only for the one call that activated them."""
        with self._write() as conn:
            subscriber_id = id_of(conn, email)
            done = conn.execute(
                "UPDATE subscribers SET status = 'active', updated_at = %s WHERE id = %s AND ((status = 'pending'"
                f" AND updated_at <= %s) OR (status IN {SUPPRESSED_STATUSES} AND updated_at < %s))",
                (stamp(now), subscriber_id, stamp(pending_by), stamp(left_by or pending_by))).rowcount
            if done:
                write_event(conn, subscriber_id, "confirmed", how, detail, now, now)
        return bool(done)

    def unsubscribe(self, email: str, *, now: Moment, how: str = "link", detail: str = "") -> bool:
        """Unsubscribe an active or pending subscriber, recording how; returns whether anything changed."""
        with self._write() as conn:
            subscriber_id = id_of(conn, email)
            done = conn.execute("UPDATE subscribers SET status = 'unsubscribed', updated_at = %s WHERE id = %s"
                                " AND status IN ('active', 'pending')", (stamp(now), subscriber_id)).rowcount
            if done:
                write_event(conn, subscriber_id, "unsubscribed", how, detail, now, now)
        return bool(done)


def subscriber_from(row: dict) -> Subscriber:
    """A row holding SUBSCRIBER_COLUMNS as a Subscriber."""
    return Subscriber(id=row["id"], email=row["email"], name=row["name"], status=row["status"],
                      source=row["source"], created_at=read_time(row["created_at"]),
                      updated_at=read_time(row["updated_at"]), public_id=row["public_id"])
