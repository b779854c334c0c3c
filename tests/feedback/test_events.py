"""Applying feedback events to a real store (SQLite, then PostgreSQL): each kind changes the right subscriber and only that one,
once, and never makes anyone more mailable."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from publisher.feedback.events import (
    BOUNCED,
    COMPLAINED,
    COUNTED,
    FORGED,
    REPEAT,
    UNCHANGED,
    UNKNOWN,
    UNSUBSCRIBED,
    FeedbackEvent,
    apply_events,
)
from publisher.mail.verp import BOUNCE, UNSUBSCRIBE, make_tag
from publisher.store import NewSubscriber

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
SECRET = "a-secret-key-of-some-length"
PEOPLE = ("ann@example.com", "bob@example.com", "cy@example.com")


@pytest.fixture
def store(backend):
    with backend.open() as store:
        store.add_subscribers([NewSubscriber(e) for e in PEOPLE], "test", now=NOW)
        yield store


def send_campaign(store, slug: str) -> dict[str, object]:
    """Create the campaign and record every delivery sent, as the runner does; the deliveries by address."""
    campaign = store.create_campaign(slug, slug, now=NOW)
    sent = {}
    delivery = store.claim_next(campaign.id, NOW)
    while delivery is not None:
        message_id = f"<{slug}.{delivery.subscriber.id}@example.com>"
        sent[delivery.subscriber.email] = dataclasses.replace(delivery, message_id=message_id)
        delivery = store.mark_sent_and_claim_next(delivery, "250 ok", message_id, now=NOW)
    return sent


def event(kind: str, key: str = "<report-1@mx.example.net>", **whom) -> FeedbackEvent:
    return FeedbackEvent(kind=kind, key=key, how="dsn", detail="550 5.1.1 no such user", at=NOW, **whom)


def bounce_tag(delivery) -> str:
    return make_tag(SECRET, BOUNCE, delivery.id)


def apply(store, *events, limit: int = 3):
    return apply_events(store, events, NOW, secret=SECRET, soft_bounce_limit=limit)


def statuses(store) -> dict[str, str]:
    return {s.email: s.status for s in store.list_subscribers()}


def history(store) -> list[tuple]:
    """The consent events feedback wrote (the readers' own sign-ups, made by the fixture, left out)."""
    return [tuple(row) for row in store._rows(
        "SELECT s.email, c.kind, c.how, c.detail FROM consent_events c JOIN subscribers s ON s.id = c.subscriber_id"
        " WHERE c.kind != 'subscribed' ORDER BY c.id")]


def test_a_hard_bounce_marks_only_that_subscriber_bounced_with_the_evidence_in_their_history(store):
    sent = send_campaign(store, "first")
    summary = apply(store, event("hard_bounce", tag=bounce_tag(sent["bob@example.com"])))
    assert [(a.result, a.email) for a in summary.applied] == [(BOUNCED, "bob@example.com")]
    assert statuses(store) == {"ann@example.com": "active", "bob@example.com": "bounced", "cy@example.com": "active"}
    assert history(store) == [("bob@example.com", "bounced", "dsn", "550 5.1.1 no such user")]
    assert [d.subscriber.email for d in store.list_deliveries(store.create_campaign("next", "n", now=NOW).id)] == [
        "ann@example.com", "cy@example.com"]


def test_the_same_report_applied_twice_changes_nothing_the_second_time(store):
    sent = send_campaign(store, "first")
    report = event("complaint", tag=bounce_tag(sent["ann@example.com"]))
    assert apply(store, report).applied[0].result == COMPLAINED
    assert apply(store, report, report).count(REPEAT) == 2
    assert history(store) == [("ann@example.com", "complained", "dsn", "550 5.1.1 no such user")]


def test_an_altered_tag_or_one_naming_no_delivery_changes_nobody(store):
    sent = send_campaign(store, "first")
    genuine = bounce_tag(sent["ann@example.com"])
    altered = genuine[:-1] + ("a" if genuine[-1] != "a" else "b")
    other_number = f"{sent['bob@example.com'].id}-{genuine.partition('-')[2]}"
    summary = apply(store, event("hard_bounce", tag=altered), event("hard_bounce", tag=other_number),
                    event("hard_bounce", tag=make_tag(SECRET, BOUNCE, 999)),
                    event("hard_bounce", tag=make_tag("another-site-secret-key", BOUNCE, sent["cy@example.com"].id)))
    assert [a.result for a in summary.applied] == [FORGED, FORGED, UNKNOWN, FORGED]
    assert set(statuses(store).values()) == {"active"} and history(store) == []


def test_soft_bounces_mark_a_subscriber_bounced_only_at_the_limit_in_a_row_across_campaigns(store):
    results = []
    for n, slug in enumerate(("one", "two", "three")):
        delivery = send_campaign(store, slug)["cy@example.com"]
        twice = [event("soft_bounce", key=f"<delay-{n}-{k}@mx>", tag=bounce_tag(delivery)) for k in range(2)]
        results.append([a.result for a in apply(store, *twice).applied])
    assert results == [[COUNTED, COUNTED], [COUNTED, COUNTED], [BOUNCED, UNCHANGED]]
    assert statuses(store)["cy@example.com"] == "bounced"
    assert history(store) == [("cy@example.com", "bounced", "dsn", "550 5.1.1 no such user")]


def test_a_delivery_that_brought_no_bounce_breaks_the_run_of_soft_bounces(store):
    first = send_campaign(store, "one")["bob@example.com"]
    send_campaign(store, "two")
    third = send_campaign(store, "three")["bob@example.com"]
    summary = apply(store, event("soft_bounce", key="<a@mx>", tag=bounce_tag(first)),
                    event("soft_bounce", key="<b@mx>", tag=bounce_tag(third)), limit=2)
    assert [(a.result, a.soft_bounces) for a in summary.applied] == [(COUNTED, 1), (COUNTED, 1)]
    assert statuses(store)["bob@example.com"] == "active"


def test_feedback_never_makes_anyone_more_mailable(store):
    sent = send_campaign(store, "first")
    store.unsubscribe("ann@example.com", now=NOW)
    tag = bounce_tag(sent["ann@example.com"])
    summary = apply(store, event("hard_bounce", key="<1@mx>", tag=tag), event("complaint", key="<2@mx>", tag=tag),
                    event("hard_bounce", key="<3@mx>", tag=tag), event("soft_bounce", key="<4@mx>", tag=tag))
    assert [a.result for a in summary.applied] == [UNCHANGED, COMPLAINED, UNCHANGED, UNCHANGED]
    assert statuses(store)["ann@example.com"] == "complained"


def test_an_emailed_unsubscribe_needs_the_subscribers_own_unsubscribe_tag(store):
    sent = send_campaign(store, "first")
    bob = sent["bob@example.com"].subscriber
    summary = apply(store, event("unsubscribe", key="<u1@mx>", tag=bounce_tag(sent["bob@example.com"])),
                    event("unsubscribe", key="<u2@mx>", address="bob@example.com"),
                    event("unsubscribe", key="<u3@mx>", tag=make_tag(SECRET, UNSUBSCRIBE, bob.id)))
    assert [a.result for a in summary.applied] == [FORGED, UNKNOWN, UNSUBSCRIBED]
    assert statuses(store) == {"ann@example.com": "active", "bob@example.com": "unsubscribed",
                               "cy@example.com": "active"}


def test_without_a_tag_the_original_message_id_then_an_address_that_was_sent_to_finds_the_subscriber(store):
    sent = send_campaign(store, "first")
    store.add_subscriber("never-sent@example.com", now=NOW)
    unbracketed = sent["ann@example.com"].message_id.strip("<>")
    summary = apply(store, event("hard_bounce", key="<1@mx>", message_id=unbracketed),
                    event("hard_bounce", key="<2@mx>", message_id="<unknown@elsewhere>", address="BOB@example.com"),
                    event("hard_bounce", key="<3@mx>", address="never-sent@example.com"),
                    event("hard_bounce", key="<4@mx>", address="stranger@example.com"))
    assert [(a.result, a.email) for a in summary.applied] == [
        (BOUNCED, "ann@example.com"), (BOUNCED, "bob@example.com"), (UNKNOWN, ""), (UNKNOWN, "")]
    assert history(store)[1] == ("bob@example.com", "bounced", "dsn",
                                 "550 5.1.1 no such user (matched by the address the report names)")
    assert statuses(store)["never-sent@example.com"] == "active"


def test_a_late_unsubscribe_request_from_a_forgotten_subscriber_never_unsubscribes_whoever_came_next(store):
    sent = send_campaign(store, "first")
    cy = sent["cy@example.com"].subscriber  # the newest subscriber, so the highest number
    old_tag = make_tag(SECRET, UNSUBSCRIBE, cy.id)
    store.forget_subscriber("cy@example.com", "hash-of-cy", now=NOW)
    store.add_subscriber("dee@example.com", now=NOW)
    summary = apply(store, event("unsubscribe", key="<late-u@mx>", tag=old_tag))
    assert [a.result for a in summary.applied] == [UNKNOWN]
    assert statuses(store) == {"ann@example.com": "active", "bob@example.com": "active", "dee@example.com": "active"}


def test_a_late_bounce_of_a_forgotten_subscribers_message_never_bounces_a_later_recipient(store):
    store.add_subscriber("dee@example.com", now=NOW)
    sent = send_campaign(store, "first")
    old_tag = bounce_tag(sent["dee@example.com"])  # the campaign's last delivery, so the highest number
    store.forget_subscriber("dee@example.com", "hash-of-dee", now=NOW)
    store.unsubscribe("ann@example.com", now=NOW)
    store.unsubscribe("bob@example.com", now=NOW)
    send_campaign(store, "second")  # one delivery: cy's
    summary = apply(store, event("hard_bounce", key="<late-b@mx>", tag=old_tag))
    assert [a.result for a in summary.applied] == [UNKNOWN]
    assert statuses(store)["cy@example.com"] == "active"
