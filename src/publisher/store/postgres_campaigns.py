"""The PostgreSQL store's campaigns and deliveries: claim before sending, record after (DESIGN rule 5), with
several senders, on several machines, working on one campaign at once.

A claim takes the next due delivery with `FOR UPDATE SKIP LOCKED`, so concurrent senders never wait for one
another nor take the same row. Each claim is tied to the session of the connection that made it: every store
holds, for as long as its connection lives, an advisory lock (CLAIMS, n) with a number n of its own, and writes
n into the deliveries it claims. PostgreSQL drops that lock when the session ends, however it ends (the process
killed, the machine gone, the connection cut), so `recover_in_flight` re-queues exactly the deliveries whose
sender is gone and never those another live sender is sending. A lease with an expiry would need a duration
longer than the slowest SMTP transaction yet short enough to resume soon, and clocks that agree across hosts;
a session needs neither. The cost: a connection cut without the server noticing (a silent network failure) is
recovered only when the server's TCP keepalives, which each store sets for its session, end the session (about
a minute).
"""

from __future__ import annotations

import datetime as dt
import secrets

import psycopg

from .postgres_connection import PostgresConnection
from .postgres_consent import write_event
from .postgres_schema import CLAIMS
from .postgres_subscribers import SUBSCRIBER_COLUMNS, PostgresSubscribers, subscriber_from
from .records import Campaign, Delivery, DeliveryCounts, Moment, read_time, stamp

DELIVERY_SELECT = f"""
    SELECT d.id AS d_id, d.campaign_id, d.status AS d_status, d.attempts, d.next_attempt_at, d.last_reply,
           d.message_id, d.created_at AS d_created_at, d.updated_at AS d_updated_at, d.possible_duplicate,
           {SUBSCRIBER_COLUMNS}
    FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
"""
_CLAIM = f"""
    WITH sent AS (
        UPDATE deliveries SET status = 'sent', last_reply = %(reply)s, message_id = %(message_id)s,
            updated_at = %(now)s
        WHERE id = %(sent)s AND status = 'sending'
    ), next AS (
        SELECT id FROM deliveries WHERE campaign_id = %(campaign)s AND status = 'queued'
            AND next_attempt_at <= %(now)s
        ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
    )
    UPDATE deliveries d SET
        status = CASE WHEN s.status = 'active' THEN 'sending' ELSE 'skipped' END,
        attempts = d.attempts + CASE WHEN s.status = 'active' THEN 1 ELSE 0 END,
        claimed_by = CASE WHEN s.status = 'active' THEN %(mark)s END,
        updated_at = %(now)s
    FROM next, subscribers s WHERE d.id = next.id AND s.id = d.subscriber_id
    RETURNING d.id AS d_id, d.campaign_id, d.status AS d_status, d.attempts, d.next_attempt_at, d.last_reply,
        d.message_id, d.created_at AS d_created_at, d.updated_at AS d_updated_at, d.possible_duplicate,
        {SUBSCRIBER_COLUMNS}
"""
_LIVE_CLAIMS = ("SELECT l.objid::bigint FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
                " AND l.objsubid = 2 AND l.classid::bigint = %s"
                " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")


def take_claim_mark(conn: psycopg.Connection) -> int:
    """A number no other live session holds, held by this session until it ends: the mark of its claims."""
    while True:
        mark = secrets.randbelow(2**31 - 1) + 1
        if conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (CLAIMS, mark)).fetchone()[0]:
            return mark


class PostgresCampaigns(PostgresSubscribers):
    """Campaigns, each a snapshot of the active subscribers as deliveries, and the deliveries' progress."""

    claim_mark: int = 0

    def create_campaign(self, slug: str, subject: str, *, now: Moment) -> Campaign:
        """The campaign for a post, queuing one delivery per active subscriber; the existing one if already made.
        Two senders creating it at once make one: the second waits on the unique slug until the first commits
        the campaign with its deliveries, then finds it made."""
        with self._write() as conn:
            made = conn.execute("INSERT INTO campaigns (slug, subject, status, created_at)"
                                " VALUES (%s, %s, 'sending', %s) ON CONFLICT (slug) DO NOTHING RETURNING id",
                                (slug, subject, stamp(now))).fetchone()
            if made is not None:
                conn.execute("INSERT INTO deliveries (campaign_id, subscriber_id, status, next_attempt_at,"
                             " created_at, updated_at) SELECT %(c)s, id, 'queued', %(now)s, %(now)s, %(now)s"
                             " FROM subscribers WHERE status = 'active' ORDER BY id", {"c": made[0], "now": stamp(now)})
        return self.get_campaign(slug)

    def get_campaign(self, slug: str) -> Campaign | None:
        rows = self._records("SELECT * FROM campaigns WHERE slug = %s", (slug,))
        return _campaign(rows[0]) if rows else None

    def list_campaigns(self) -> list[Campaign]:
        """Every campaign, newest first."""
        return [_campaign(row) for row in self._records("SELECT * FROM campaigns ORDER BY created_at DESC, id DESC")]

    def unfinished_campaigns(self) -> list[Campaign]:
        """Campaigns with deliveries still to make (e.g. after a crash), oldest first."""
        return [_campaign(r) for r in self._records("SELECT * FROM campaigns WHERE status = 'sending' ORDER BY id")]

    def delivery_counts(self, campaign_id: int) -> DeliveryCounts:
        rows = self._rows("SELECT status, COUNT(*) FROM deliveries WHERE campaign_id = %s GROUP BY status",
                          (campaign_id,))
        return DeliveryCounts(**dict(rows))

    def left_since(self, campaign_id: int) -> dict[str, int]:
        """Of the people the campaign was sent to (or failed to reach), how many have bounced, complained or
        unsubscribed since it started: their status is one of those and last changed at or after its start."""
        rows = self._rows(
            "SELECT s.status, COUNT(*) FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
            " JOIN campaigns c ON c.id = d.campaign_id WHERE d.campaign_id = %s AND d.status IN ('sent', 'failed')"
            " AND s.status IN ('bounced', 'complained', 'unsubscribed') AND s.updated_at >= c.created_at"
            " GROUP BY s.status", (campaign_id,))
        return {"bounced": 0, "complained": 0, "unsubscribed": 0, **dict(rows)}

    def list_deliveries(self, campaign_id: int, status: str | None = None) -> list[Delivery]:
        """The campaign's deliveries in the order they were queued, optionally only those with one status."""
        rows = self._records(f"{DELIVERY_SELECT} WHERE d.campaign_id = %(c)s"
                             " AND (%(s)s::text IS NULL OR d.status = %(s)s) ORDER BY d.id",
                             {"c": campaign_id, "s": status})
        return [delivery_from(row) for row in rows]

    def finish_campaign(self, campaign_id: int, *, now: Moment) -> bool:
        """Mark the campaign done if no delivery is queued or in flight; returns whether it is done."""
        with self._write() as conn:
            conn.execute(
                "UPDATE campaigns SET status = 'done', finished_at = %s WHERE id = %s AND status != 'done'"
                " AND NOT EXISTS (SELECT 1 FROM deliveries WHERE campaign_id = campaigns.id"
                " AND status IN ('queued', 'sending'))", (stamp(now), campaign_id))
        return self._rows("SELECT status FROM campaigns WHERE id = %s", (campaign_id,))[0][0] == "done"

    def claim_next(self, campaign_id: int, now: Moment) -> Delivery | None:
        """Atomically move the next due queued delivery to 'sending' (counting the attempt) and return it."""
        return self._claim(campaign_id, now)

    def next_due(self, campaign_id: int) -> dt.datetime | None:
        """When the earliest queued delivery may be tried; None when nothing is queued."""
        rows = self._rows("SELECT MIN(next_attempt_at) FROM deliveries WHERE campaign_id = %s AND status = 'queued'",
                          (campaign_id,))
        return read_time(rows[0][0])

    def mark_sent(self, delivery: Delivery, reply: str, message_id: str, *, now: Moment) -> None:
        _update(self, delivery, "status = 'sent', last_reply = %s, message_id = %s", (reply, message_id), now)

    def mark_sent_and_claim_next(self, delivery: Delivery, reply: str, message_id: str, *,
                                 now: Moment) -> Delivery | None:
        """`mark_sent` and then `claim_next` of the same campaign, in one statement: one round trip per message."""
        return self._claim(delivery.campaign_id, now, {"sent": delivery.id, "reply": reply, "message_id": message_id})

    def mark_retry(self, delivery: Delivery, reply: str, next_attempt_at: Moment, *, possible_duplicate: bool = False,
                   now: Moment) -> None:
        """Put the delivery back in the queue, not to be tried before `next_attempt_at`; `possible_duplicate`
        when this attempt may have reached the reader (the flag stays once set)."""
        _update(self, delivery, "status = 'queued', last_reply = %s, next_attempt_at = %s,"
                " possible_duplicate = GREATEST(possible_duplicate, %s)",
                (reply, stamp(next_attempt_at), int(possible_duplicate)), now)

    def mark_failed(self, delivery: Delivery, reply: str, bounce: bool, *, now: Moment) -> None:
        """Record a failed delivery; `bounce` (mailbox unknown) also marks an active or pending subscriber
        bounced, with the server's reply as the evidence in their consent history."""
        with self._write() as conn:
            conn.execute("UPDATE deliveries SET status = 'failed', last_reply = %s, updated_at = %s"
                         " WHERE id = %s AND status = 'sending'", (reply, stamp(now), delivery.id))
            if bounce and conn.execute("UPDATE subscribers SET status = 'bounced', updated_at = %s WHERE id = %s"
                                       " AND status IN ('pending', 'active')",
                                       (stamp(now), delivery.subscriber.id)).rowcount:
                write_event(conn, delivery.subscriber.id, "bounced", "smtp", reply, now, now)

    def release(self, delivery: Delivery, *, now: Moment) -> None:
        """Return a claimed delivery that was certainly not sent to the queue, uncounting the attempt."""
        _update(self, delivery, "status = 'queued', attempts = attempts - 1", (), now)

    def requeue_failed(self, campaign_id: int, *, now: Moment) -> int:
        """Queue the campaign's failed deliveries again with fresh attempts, except those to people who are no
        longer active and those the server may have taken after all; reopen the campaign if any were queued."""
        with self._write() as conn:
            count = conn.execute(
                "UPDATE deliveries SET status = 'queued', attempts = 0, next_attempt_at = %(now)s,"
                " updated_at = %(now)s WHERE campaign_id = %(c)s AND status = 'failed' AND possible_duplicate = 0"
                " AND subscriber_id IN (SELECT id FROM subscribers WHERE status = 'active')",
                {"now": stamp(now), "c": campaign_id}).rowcount
            if count:
                conn.execute("UPDATE campaigns SET status = 'sending', finished_at = NULL WHERE id = %s",
                             (campaign_id,))
        return count

    def recover_in_flight(self, campaign_id: int) -> int:
        """Re-queue, flagged as possible duplicates, deliveries left in 'sending' by senders whose session has
        ended (each may have gone out); those of live senders are theirs to finish. Returns how many."""
        with self._write() as conn:
            return conn.execute(
                "UPDATE deliveries SET status = 'queued', possible_duplicate = 1, claimed_by = NULL"
                " WHERE campaign_id = %s AND status = 'sending'"
                f" AND (claimed_by IS NULL OR claimed_by NOT IN ({_LIVE_CLAIMS}))", (campaign_id, CLAIMS)).rowcount

    def skip_inactive(self, campaign_id: int, *, now: Moment) -> int:
        """Mark queued deliveries to people who are no longer active (unsubscribed since) as skipped."""
        with self._write() as conn:
            return conn.execute(
                "UPDATE deliveries SET status = 'skipped', updated_at = %s WHERE campaign_id = %s"
                " AND status = 'queued' AND subscriber_id IN (SELECT id FROM subscribers WHERE status != 'active')",
                (stamp(now), campaign_id)).rowcount

    def _claim(self, campaign_id: int, now: Moment, sent: dict | None = None) -> Delivery | None:
        """Claim the next due delivery, skipping rows other senders hold, in one statement that may also record a
        delivery sent (`sent`: its id, reply and message_id). One to someone no longer active is marked skipped
        instead, and the next one tried, so nobody is mailed after leaving."""
        args = {"sent": None, "reply": "", "message_id": "", **(sent or {}), "campaign": campaign_id,
                "now": stamp(now), "mark": self.claim_mark}
        while True:
            rows = self._records(_CLAIM, args)
            if not rows or rows[0]["d_status"] == "sending":
                return delivery_from(rows[0]) if rows else None
            args["sent"] = None


def _update(store: PostgresConnection, delivery: Delivery, assignments: str, args: tuple, now: Moment) -> None:
    """Record a claimed delivery's outcome; a row no longer in 'sending' is left alone."""
    store._execute(f"UPDATE deliveries SET {assignments}, updated_at = %s WHERE id = %s AND status = 'sending'",
                   (*args, stamp(now), delivery.id))


def _campaign(row: dict) -> Campaign:
    return Campaign(id=row["id"], slug=row["slug"], subject=row["subject"], status=row["status"],
                    created_at=read_time(row["created_at"]), finished_at=read_time(row["finished_at"]))


def delivery_from(row: dict) -> Delivery:
    return Delivery(id=row["d_id"], campaign_id=row["campaign_id"], subscriber=subscriber_from(row),
                    status=row["d_status"], attempts=row["attempts"], next_attempt_at=read_time(row["next_attempt_at"]),
                    last_reply=row["last_reply"], message_id=row["message_id"],
                    created_at=read_time(row["d_created_at"]), updated_at=read_time(row["d_updated_at"]),
                    possible_duplicate=bool(row["possible_duplicate"]))
