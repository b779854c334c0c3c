"""The SQLite store's campaigns and their deliveries: claim before sending, record after (DESIGN rule 5)."""

from __future__ import annotations

import datetime as dt
import sqlite3

from .records import Campaign, Delivery, DeliveryCounts, Moment
from .sqlite_connection import read_time, stamp
from .sqlite_consent import write_event
from .sqlite_subscribers import SUBSCRIBER_COLUMNS, SqliteSubscribers, subscriber_from

DELIVERY_SELECT = f"""
    SELECT d.id AS d_id, d.campaign_id, d.status AS d_status, d.attempts, d.next_attempt_at, d.last_reply,
           d.message_id, d.created_at AS d_created_at, d.updated_at AS d_updated_at, d.possible_duplicate,
           {SUBSCRIBER_COLUMNS}
    FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
"""


class SqliteCampaigns(SqliteSubscribers):
    """Campaigns, each a snapshot of the active subscribers as deliveries, and the deliveries' progress. It
    builds on the subscribers table: a claim reads the subscriber's status in the same transaction."""

    def create_campaign(self, slug: str, subject: str, *, now: Moment) -> Campaign:
        """The campaign for a post, queuing one delivery per active subscriber; the existing one if already made."""
        with self._write() as conn:
            if not conn.execute("SELECT 1 FROM campaigns WHERE slug = ?", (slug,)).fetchone():
                cursor = conn.execute(
                    "INSERT INTO campaigns (slug, subject, status, created_at) VALUES (?, ?, 'sending', ?)",
                    (slug, subject, stamp(now)))
                conn.execute(
                    "INSERT INTO deliveries (campaign_id, subscriber_id, status, next_attempt_at,"
                    " created_at, updated_at) SELECT ?1, id, 'queued', ?2, ?2, ?2 FROM subscribers"
                    " WHERE status = 'active' ORDER BY id", (cursor.lastrowid, stamp(now)))
        return self.get_campaign(slug)

    def get_campaign(self, slug: str) -> Campaign | None:
        rows = self._rows("SELECT * FROM campaigns WHERE slug = ?", (slug,))
        return _campaign(rows[0]) if rows else None

    def list_campaigns(self) -> list[Campaign]:
        """Every campaign, newest first."""
        return [_campaign(row) for row in self._rows("SELECT * FROM campaigns ORDER BY created_at DESC, id DESC")]

    def unfinished_campaigns(self) -> list[Campaign]:
        """Campaigns with deliveries still to make (e.g. after a crash), oldest first."""
        return [_campaign(row) for row in self._rows("SELECT * FROM campaigns WHERE status = 'sending' ORDER BY id")]

    def delivery_counts(self, campaign_id: int) -> DeliveryCounts:
        rows = self._rows("SELECT status, COUNT(*) FROM deliveries WHERE campaign_id = ? GROUP BY status",
                          (campaign_id,))
        return DeliveryCounts(**dict(rows))

    def left_since(self, campaign_id: int) -> dict[str, int]:
        """Of the people the campaign was sent to (or failed to reach), how many have bounced, complained or
        unsubscribed since it started: their status is one of those and last changed at or after its start."""
        rows = self._rows(
            "SELECT s.status, COUNT(*) FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
            " JOIN campaigns c ON c.id = d.campaign_id WHERE d.campaign_id = ? AND d.status IN ('sent', 'failed')"
            " AND s.status IN ('bounced', 'complained', 'unsubscribed') AND s.updated_at >= c.created_at"
            " GROUP BY s.status", (campaign_id,))
        return {"bounced": 0, "complained": 0, "unsubscribed": 0, **dict(rows)}

    def list_deliveries(self, campaign_id: int, status: str | None = None) -> list[Delivery]:
        """The campaign's deliveries in the order they were queued, optionally only those with one status."""
        rows = self._rows(f"{DELIVERY_SELECT} WHERE d.campaign_id = ?1 AND (?2 IS NULL OR d.status = ?2)"
                          " ORDER BY d.id", (campaign_id, status))
        return [delivery_from(row) for row in rows]

    def finish_campaign(self, campaign_id: int, *, now: Moment) -> bool:
        """Mark the campaign done if no delivery is queued or in flight; returns whether it is done."""
        with self._write() as conn:
            conn.execute(
                "UPDATE campaigns SET status = 'done', finished_at = ? WHERE id = ? AND status != 'done'"
                " AND NOT EXISTS (SELECT 1 FROM deliveries WHERE campaign_id = campaigns.id"
                " AND status IN ('queued', 'sending'))", (stamp(now), campaign_id))
        return self._rows("SELECT status FROM campaigns WHERE id = ?", (campaign_id,))[0][0] == "done"

    def claim_next(self, campaign_id: int, now: Moment) -> Delivery | None:
        """Atomically move the next due queued delivery to 'sending' (counting the attempt) and return it."""
        with self._write() as conn:
            return _claim(conn, campaign_id, now)

    def next_due(self, campaign_id: int) -> dt.datetime | None:
        """When the earliest queued delivery may be tried; None when nothing is queued."""
        rows = self._rows("SELECT MIN(next_attempt_at) FROM deliveries WHERE campaign_id = ? AND status = 'queued'",
                          (campaign_id,))
        return read_time(rows[0][0])

    def mark_sent(self, delivery: Delivery, reply: str, message_id: str, *, now: Moment) -> None:
        with self._write() as conn:
            _update(conn, delivery, "status = 'sent', last_reply = ?, message_id = ?", (reply, message_id), now)

    def mark_sent_and_claim_next(self, delivery: Delivery, reply: str, message_id: str, *,
                                 now: Moment) -> Delivery | None:
        """`mark_sent` and then `claim_next` of the same campaign, committed together: one transaction per
        message instead of two, and still never more than one delivery in 'sending' per sender."""
        with self._write() as conn:
            _update(conn, delivery, "status = 'sent', last_reply = ?, message_id = ?", (reply, message_id), now)
            return _claim(conn, delivery.campaign_id, now)

    def mark_retry(self, delivery: Delivery, reply: str, next_attempt_at: Moment, *, possible_duplicate: bool = False,
                   now: Moment) -> None:
        """Put the delivery back in the queue, not to be tried before `next_attempt_at`; `possible_duplicate`
        when this attempt may have reached the reader (the flag stays once set)."""
        with self._write() as conn:
            _update(conn, delivery, "status = 'queued', last_reply = ?, next_attempt_at = ?,"
                    " possible_duplicate = MAX(possible_duplicate, ?)",
                    (reply, stamp(next_attempt_at), int(possible_duplicate)), now)

    def mark_failed(self, delivery: Delivery, reply: str, bounce: bool, *, now: Moment) -> None:
        """Record a failed delivery; `bounce` (mailbox unknown) also marks an active or pending subscriber
        bounced, with the server's reply as the evidence in their consent history."""
        with self._write() as conn:
            _update(conn, delivery, "status = 'failed', last_reply = ?", (reply,), now)
            if bounce and conn.execute("UPDATE subscribers SET status = 'bounced', updated_at = ? WHERE id = ?"
                                       " AND status IN ('pending', 'active')",
                                       (stamp(now), delivery.subscriber.id)).rowcount:
                write_event(conn, delivery.subscriber.id, "bounced", "smtp", reply, now, now)

    def release(self, delivery: Delivery, *, now: Moment) -> None:
        """Return a claimed delivery that was certainly not sent to the queue, uncounting the attempt."""
        with self._write() as conn:
            _update(conn, delivery, "status = 'queued', attempts = attempts - 1", (), now)

    def requeue_failed(self, campaign_id: int, *, now: Moment) -> int:
        """Queue the campaign's failed deliveries again with fresh attempts, except those to people who are no
        longer active and those the server may have taken after all (a possible duplicate is never resent), and
        reopen the campaign if any were queued; returns how many."""
        with self._write() as conn:
            count = conn.execute(
                "UPDATE deliveries SET status = 'queued', attempts = 0, next_attempt_at = ?1, updated_at = ?1"
                " WHERE campaign_id = ?2 AND status = 'failed' AND possible_duplicate = 0"
                " AND subscriber_id IN (SELECT id FROM subscribers WHERE status = 'active')",
                (stamp(now), campaign_id)).rowcount
            if count:
                conn.execute("UPDATE campaigns SET status = 'sending', finished_at = NULL WHERE id = ?", (campaign_id,))
        return count

    def recover_in_flight(self, campaign_id: int) -> int:
        """After a crash: re-queue deliveries left in 'sending', flagged as possible duplicates (each may have
        gone out); returns how many."""
        with self._write() as conn:
            return conn.execute("UPDATE deliveries SET status = 'queued', possible_duplicate = 1"
                                " WHERE campaign_id = ? AND status = 'sending'", (campaign_id,)).rowcount

    def skip_inactive(self, campaign_id: int, *, now: Moment) -> int:
        """Mark queued deliveries to people who are no longer active (unsubscribed since) as skipped."""
        with self._write() as conn:
            return conn.execute(
                "UPDATE deliveries SET status = 'skipped', updated_at = ? WHERE campaign_id = ? AND status = 'queued'"
                " AND subscriber_id IN (SELECT id FROM subscribers WHERE status != 'active')",
                (stamp(now), campaign_id)).rowcount

def _claim(conn: sqlite3.Connection, campaign_id: int, now: Moment) -> Delivery | None:
    """Claim the next due delivery inside the caller's transaction. The subscriber's status is read in that same
    transaction: a delivery to someone who is no longer active (unsubscribed or bounced since the campaign
    began) is marked skipped instead, so nobody is mailed after leaving."""
    when = stamp(now)
    while True:
        row = conn.execute(
            "SELECT d.id, s.status FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
            " WHERE d.campaign_id = ? AND d.status = 'queued' AND d.next_attempt_at <= ?"
            " ORDER BY d.next_attempt_at, d.id LIMIT 1", (campaign_id, when)).fetchone()
        if row is None:
            return None
        if row[1] == "active":
            break
        conn.execute("UPDATE deliveries SET status = 'skipped', updated_at = ? WHERE id = ?", (when, row[0]))
    conn.execute("UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ?",
                 (when, row[0]))
    return delivery_from(conn.execute(f"{DELIVERY_SELECT} WHERE d.id = ?", (row[0],)).fetchone())


def _update(conn: sqlite3.Connection, delivery: Delivery, assignments: str, args: tuple, now: Moment) -> None:
    """Record a claimed delivery's outcome; a row no longer in 'sending' is left alone."""
    conn.execute(f"UPDATE deliveries SET {assignments}, updated_at = ? WHERE id = ? AND status = 'sending'",
                 (*args, stamp(now), delivery.id))


def _campaign(row: sqlite3.Row) -> Campaign:
    return Campaign(id=row["id"], slug=row["slug"], subject=row["subject"], status=row["status"],
                    created_at=read_time(row["created_at"]), finished_at=read_time(row["finished_at"]))


def delivery_from(row: sqlite3.Row) -> Delivery:
    return Delivery(id=row["d_id"], campaign_id=row["campaign_id"], subscriber=subscriber_from(row),
                    status=row["d_status"], attempts=row["attempts"], next_attempt_at=read_time(row["next_attempt_at"]),
                    last_reply=row["last_reply"], message_id=row["message_id"],
                    created_at=read_time(row["d_created_at"]), updated_at=read_time(row["d_updated_at"]),
                    possible_duplicate=bool(row["possible_duplicate"]))
