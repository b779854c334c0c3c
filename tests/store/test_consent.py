"""Each store's consent records (SQLite and PostgreSQL, by the shared `store` fixture): the history each change
writes, the summary an export carries, the count of confirmation emails, and erasure onto the suppression list."""

from __future__ import annotations

import datetime as dt

import pytest

from publisher.store import ConsentSummary, NewSubscriber

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
IP = "203.0.113.7"


def at(minutes: int) -> dt.datetime:
    return NOW + dt.timedelta(minutes=minutes)


def test_a_sign_up_confirmation_and_unsubscribe_are_recorded_with_how_and_evidence(store):
    store.request_subscription("ann@example.com", "Ann", now=NOW, detail=IP)
    assert store.confirm_subscriber("ann@example.com", at(1), now=at(2), detail=IP)
    assert not store.confirm_subscriber("ann@example.com", at(1), now=at(3), detail=IP)  # once only
    assert store.unsubscribe("Ann@Example.com", now=at(4), how="one-click", detail=IP)
    assert not store.unsubscribe("ann@example.com", now=at(5), how="one-click")
    assert [(e.kind, e.how, e.detail, e.at) for e in store.consent_history("ANN@example.com")] == [
        ("subscribed", "form", IP, NOW), ("confirmed", "link", IP, at(2)), ("unsubscribed", "one-click", IP, at(4))]
    subscriber = store.get_subscriber("ann@example.com")
    assert store.consent_summaries() == {subscriber.id: ConsentSummary(NOW, f"form {IP}", at(2))}


def test_confirmation_emails_are_counted_per_address_over_sign_ups_and_invitations(store):
    store.request_subscription("ann@example.com", now=NOW, detail=IP)
    store.request_subscription("ANN@example.com", now=at(20), kind="invited", how="cli")
    store.request_subscription("bo@example.com", now=at(20), detail=IP)
    store.confirm_subscriber("ann@example.com", at(21), now=at(21))
    assert store.confirmations_since("Ann@example.com", at(-60)) == 2
    assert store.confirmations_since("ann@example.com", at(10)) == 1
    assert store.confirmations_since("nobody@example.com", at(-60)) == 0


def test_a_mailbox_that_does_not_exist_is_marked_bounced_with_the_reply_once(store):
    store.add_subscribers([NewSubscriber("ann@example.com"), NewSubscriber("bo@example.com")], "list.csv", now=NOW)
    store.set_subscriber_status("bo@example.com", "unsubscribed", now=NOW)
    campaign = store.create_campaign("post", "Post", now=NOW)
    delivery = store.claim_next(campaign.id, NOW)
    store.mark_failed(delivery, "550 5.1.1 No such user", bounce=True, now=at(1))
    assert store.get_subscriber("ann@example.com").status == "bounced"
    assert [(e.kind, e.how, e.detail) for e in store.consent_history("ann@example.com")][-1] == (
        "bounced", "smtp", "550 5.1.1 No such user")
    assert store.claim_next(campaign.id, at(2)) is None  # bo had unsubscribed: skipped, not bounced


def test_forgetting_erases_the_subscriber_their_history_and_deliveries_and_lists_the_hash(store):
    store.add_subscribers([NewSubscriber("ann@example.com"), NewSubscriber("bo@example.com")], "list.csv", now=NOW)
    campaign = store.create_campaign("post", "Post", now=NOW)
    assert store.forget_subscriber("ANN@example.com", "hash-1", now=at(1))
    assert store.get_subscriber("ann@example.com") is None and store.consent_history("ann@example.com") == []
    assert store.delivery_counts(campaign.id).total == 1
    assert not store.forget_subscriber("ann@example.com", "hash-1", now=at(2))  # listed once, nobody left to erase
    assert store.add_subscribers([NewSubscriber("ann@example.com")], "again.csv", now=at(3),
                                 address_hashes=lambda folded: ["hash-1"]).suppressed == 1
