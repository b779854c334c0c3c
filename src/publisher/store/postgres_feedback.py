"""The PostgreSQL store's record of what flows back after a send (bounces, complaints, emailed unsubscribes), and
the look-ups that find the delivery a report is about: the same rules as sqlite_feedback.py. A report and the
status it makes stricter are one transaction, the subscriber's row locked for it, so two reports about one
subscriber handled at once by two processes are applied in turn."""

from __future__ import annotations

import psycopg

from .postgres_campaigns import DELIVERY_SELECT, PostgresCampaigns, delivery_from
from .postgres_consent import write_event
from .postgres_subscribers import SUBSCRIBER_COLUMNS, subscriber_from
from .records import (
    FEEDBACK_KINDS,
    FEEDBACK_STATUS,
    Delivery,
    FeedbackOutcome,
    Moment,
    Subscriber,
    check_value,
    fold_email,
    stamp,
    strictness,
)


class PostgresFeedback(PostgresCampaigns):
    """Feedback on deliveries, recorded once each, and the deliveries it can be matched to."""

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        """The delivery with this id; None when there is none."""
        rows = self._records(f"{DELIVERY_SELECT} WHERE d.id = %s", (delivery_id,))
        return delivery_from(rows[0]) if rows else None

    def find_delivery(self, message_id: str) -> Delivery | None:
        """The delivery whose message carried this Message-ID (angle brackets included); None when unknown."""
        rows = self._records(f"{DELIVERY_SELECT} WHERE d.message_id = %s AND d.message_id != '' ORDER BY d.id DESC"
                             " LIMIT 1", (message_id,))
        return delivery_from(rows[0]) if rows else None

    def last_delivery_to(self, email: str) -> Delivery | None:
        """The newest delivery sent to this address; None when nothing was ever sent to it."""
        rows = self._records(f"{DELIVERY_SELECT} WHERE s.email_key = %s AND d.status = 'sent'"
                             " ORDER BY d.campaign_id DESC, d.id DESC LIMIT 1", (fold_email(email),))
        return delivery_from(rows[0]) if rows else None

    def get_subscriber_by_id(self, subscriber_id: int) -> Subscriber | None:
        """The subscriber with this id; None when there is none."""
        rows = self._records(f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers s WHERE id = %s", (subscriber_id,))
        return subscriber_from(rows[0]) if rows else None

    def record_feedback(self, subscriber_id: int, kind: str, how: str, detail: str, *, key: str,
                        delivery_id: int | None = None, soft_bounce_limit: int = 3, at: Moment,
                        now: Moment) -> FeedbackOutcome:
        """Keep one report about a subscriber (the same key and kind again changes nothing) and apply it: a hard
        bounce, a complaint or an unsubscribe at once, a soft bounce once the subscriber's sent deliveries have
        `soft_bounce_limit` soft bounces in a row."""
        check_value(kind, FEEDBACK_KINDS)
        with self._write() as conn:
            status = conn.execute("SELECT status FROM subscribers WHERE id = %s FOR UPDATE",
                                  (subscriber_id,)).fetchone()[0]
            new = conn.execute(
                "INSERT INTO feedback (key, kind, subscriber_id, delivery_id, how, detail, at, recorded_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (key, kind, subscriber_id, delivery_id, how, detail, stamp(at), stamp(now))).rowcount == 1
            streak = _soft_streak(conn, subscriber_id, delivery_id) if kind == "soft_bounce" else 0
            due = new and (kind != "soft_bounce" or streak >= soft_bounce_limit)
            after = _make_stricter(conn, subscriber_id, status, FEEDBACK_STATUS[kind], how, detail, at, now) \
                if due else status
        return FeedbackOutcome(new=new, status_before=status, status_after=after, soft_bounces=streak)

    def call_seen(self, provider: str, call_id: str, *, since: Moment) -> bool:
        """Whether a webhook call with this id (a provider's one-time token or message id) was handled at or
        after `since`."""
        return bool(self._rows("SELECT 1 FROM webhook_calls WHERE provider = %s AND call_id = %s AND at >= %s",
                               (provider, call_id, stamp(since))))

    def note_call(self, provider: str, call_id: str, *, forget_before: Moment, now: Moment) -> None:
        """Remember a handled webhook call, so that the same call again is refused (by any service process); the
        provider's calls older than `forget_before` are forgotten."""
        with self._write() as conn:
            conn.execute("DELETE FROM webhook_calls WHERE provider = %s AND at < %s", (provider, stamp(forget_before)))
            conn.execute("INSERT INTO webhook_calls (provider, call_id, at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                         (provider, call_id, stamp(now)))


def _soft_streak(conn: psycopg.Connection, subscriber_id: int, delivery_id: int | None) -> int:
    """How many of the subscriber's sent deliveries, in campaign order, soft-bounced in a row around
    `delivery_id`: a delivery that brought no bounce breaks the run (it reached them)."""
    rows = conn.execute(
        "SELECT d.id, EXISTS (SELECT 1 FROM feedback f WHERE f.delivery_id = d.id AND f.kind = 'soft_bounce')"
        " FROM deliveries d WHERE d.subscriber_id = %s AND (d.status = 'sent' OR d.id = %s)"
        " ORDER BY d.campaign_id, d.id", (subscriber_id, delivery_id)).fetchall()
    bounced = [bool(row[1]) for row in rows]
    at = next((n for n, row in enumerate(rows) if row[0] == delivery_id), len(rows) - 1)
    if not bounced or not bounced[at]:
        return 0
    start, end = at, at
    while start > 0 and bounced[start - 1]:
        start -= 1
    while end < len(bounced) - 1 and bounced[end + 1]:
        end += 1
    return end - start + 1


def _make_stricter(conn: psycopg.Connection, subscriber_id: int, status: str, target: str, how: str, detail: str,
                   at: Moment, now: Moment) -> str:
    """Move the subscriber to `target` if that keeps mail away more firmly than `status`, noting it in their
    consent history; returns the status they end with."""
    if strictness(target) <= strictness(status):
        return status
    conn.execute("UPDATE subscribers SET status = %s, updated_at = %s WHERE id = %s",
                 (target, stamp(now), subscriber_id))
    write_event(conn, subscriber_id, target, how, detail, at, now)
    return target
