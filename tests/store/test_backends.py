"""Every promise of the Store protocol, kept alike by both backends: each test runs once against SQLite and once
against PostgreSQL (the `backend` and `store` fixtures of tests/fixtures_postgres.py)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from publisher.store import DeliveryCounts, NewSubscriber, PublishedPost

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def add_active(store, *emails):
    store.add_subscribers([NewSubscriber(e) for e in emails], "test", now=NOW)


def test_one_mailbox_is_one_subscriber_whatever_the_case_of_its_address(store):
    first, added = store.add_subscriber("Ann.Lee@Example.COM", "Ann", now=NOW)
    again, added_again = store.add_subscriber("ann.lee@example.com", "Someone else", now=NOW)
    assert (first.email, added, added_again) == ("Ann.Lee@example.com", True, False)
    assert again == first and again.name == "Ann"
    assert store.add_subscribers([NewSubscriber("ANN.LEE@EXAMPLE.COM"), NewSubscriber("bob@example.com"),
                                  NewSubscriber("Bob@example.com")], "import", now=NOW).added == 1
    assert store.get_subscriber("ANN.LEE@example.com") == first
    assert store.set_subscriber_status("ann.lee@EXAMPLE.com", "unsubscribed", now=NOW).email == "Ann.Lee@example.com"
    assert [(s.email, s.status) for s in store.list_subscribers()] == [
        ("Ann.Lee@example.com", "unsubscribed"), ("bob@example.com", "active")]


def test_a_subscriber_is_found_by_the_opaque_id_their_links_carry_and_by_nothing_else(store):
    add_active(store, "ann@example.com", "bo@example.com")
    ann = store.get_subscriber("ann@example.com")
    assert store.get_subscriber_by_public_id(ann.public_id) == ann
    assert store.get_subscriber_by_public_id(ann.public_id.upper()) is None
    for other in ("", "ann@example.com", str(ann.id), "0" * 32):
        assert store.get_subscriber_by_public_id(other) is None


def test_signing_up_again_in_other_letters_leaves_the_subscriber_as_they_are(store):
    store.add_subscriber("alice@example.com", "Alice", now=NOW)
    assert store.request_subscription("Alice@Example.com", now=NOW).status == "active"
    assert store.unsubscribe("ALICE@example.com", now=NOW)
    back = store.request_subscription("Alice@example.com", now=NOW)
    assert (back.email, back.status) == ("alice@example.com", "unsubscribed")
    assert not store.confirm_subscriber("aLiCe@example.com", NOW, now=NOW)  # a link no later than the unsubscribe
    later = NOW + dt.timedelta(minutes=1)
    assert store.confirm_subscriber("aLiCe@example.com", later, now=later)
    assert [(s.email, s.status) for s in store.list_subscribers()] == [("alice@example.com", "active")]


def test_adding_many_keeps_known_addresses_untouched_and_counts_the_new(store):
    store.add_subscriber("old@example.com", status="unsubscribed", now=NOW)
    entries = [NewSubscriber("old@example.com"), NewSubscriber("new@example.com", "New"),
               NewSubscriber("NEW@example.com")]
    assert store.add_subscribers(entries, "import", now=NOW).added == 1
    assert store.add_subscribers(entries, "import", now=NOW).added == 0
    assert store.get_subscriber("old@example.com").status == "unsubscribed"
    assert store.get_subscriber("new@example.com").name == "New"
    assert store.count_subscribers() == {"pending": 0, "active": 1, "unsubscribed": 1, "bounced": 0, "complained": 0}


def test_status_changes_and_listing_by_status(store):
    add_active(store, "a@example.com", "b@example.com")
    later = NOW + dt.timedelta(hours=1)
    changed = store.set_subscriber_status("b@example.com", "unsubscribed", now=later)
    assert (changed.status, changed.updated_at) == ("unsubscribed", later)
    assert [s.email for s in store.list_subscribers("active")] == ["a@example.com"]
    assert store.set_subscriber_status("nobody@example.com", "bounced", now=NOW) is None
    for not_stricter in ("gone", "active", "pending"):
        with pytest.raises(ValueError, match="expected one of"):
            store.set_subscriber_status("b@example.com", not_stricter, now=NOW)
    assert store.set_subscriber_status("b@example.com", "bounced", now=later).status == "unsubscribed"


def test_campaign_snapshots_active_subscribers_once(store):
    add_active(store, "a@example.com", "b@example.com")
    store.add_subscriber("p@example.com", status="pending", now=NOW)
    campaign = store.create_campaign("first-post", "First post", now=NOW)
    add_active(store, "late@example.com")
    again = store.create_campaign("first-post", "Another subject", now=NOW)
    assert again == campaign and again.subject == "First post"
    deliveries = store.list_deliveries(campaign.id)
    assert [d.subscriber.email for d in deliveries] == ["a@example.com", "b@example.com"]
    assert store.delivery_counts(campaign.id).queued == 2


def test_claim_moves_one_due_delivery_to_sending_and_counts_the_attempt(store):
    add_active(store, "a@example.com", "b@example.com")
    campaign = store.create_campaign("post", "Post", now=NOW)
    first = store.claim_next(campaign.id, NOW)
    second = store.claim_next(campaign.id, NOW)
    assert {first.subscriber.email, second.subscriber.email} == {"a@example.com", "b@example.com"}
    assert (first.status, first.attempts) == ("sending", 1)
    assert store.claim_next(campaign.id, NOW) is None
    assert store.delivery_counts(campaign.id).sending == 2


def test_retry_waits_until_its_time_and_failure_with_bounce_marks_the_subscriber(store):
    add_active(store, "a@example.com", "b@example.com")
    campaign = store.create_campaign("post", "Post", now=NOW)
    first, second = store.claim_next(campaign.id, NOW), store.claim_next(campaign.id, NOW)
    retry_at = NOW + dt.timedelta(seconds=30)
    store.mark_retry(first, "451 4.3.0 try later", retry_at, now=NOW)
    store.mark_failed(second, "550 5.1.1 no such user", bounce=True, now=NOW)
    assert store.next_due(campaign.id) == retry_at
    assert store.claim_next(campaign.id, NOW + dt.timedelta(seconds=29)) is None
    retried = store.claim_next(campaign.id, retry_at)
    assert (retried.attempts, retried.last_reply) == (2, "451 4.3.0 try later")
    assert store.get_subscriber("b@example.com").status == "bounced"
    assert store.get_subscriber("a@example.com").status == "active"


def test_sent_delivery_records_reply_and_message_id_and_campaign_finishes(store):
    add_active(store, "a@example.com")
    campaign = store.create_campaign("post", "Post", now=NOW)
    delivery = store.claim_next(campaign.id, NOW)
    assert not store.finish_campaign(campaign.id, now=NOW)
    store.mark_sent(delivery, "250 OK queued", "<1@example.com>", now=NOW)
    [sent] = store.list_deliveries(campaign.id, "sent")
    assert (sent.last_reply, sent.message_id) == ("250 OK queued", "<1@example.com>")
    assert store.finish_campaign(campaign.id, now=NOW)
    assert store.get_campaign("post").status == "done"


def test_recording_a_send_can_claim_the_next_delivery_in_the_same_commit(store):
    add_active(store, "a@example.com", "b@example.com")
    campaign = store.create_campaign("post", "Post", now=NOW)
    first = store.claim_next(campaign.id, NOW)
    second = store.mark_sent_and_claim_next(first, "250 OK", "<1@example.com>", now=NOW)
    assert (second.subscriber.email, second.status, second.attempts) == ("b@example.com", "sending", 1)
    assert store.delivery_counts(campaign.id) == DeliveryCounts(sending=1, sent=1)
    assert store.mark_sent_and_claim_next(second, "250 OK", "<2@example.com>", now=NOW) is None
    assert store.delivery_counts(campaign.id) == DeliveryCounts(sent=2)


def crash(backend, store) -> None:
    """End `store` as a killed process would: without recording anything more (for PostgreSQL, the server ends
    its session, waiting until it has)."""
    if backend.name == "postgres":
        with backend.open() as other:
            other._conn.execute("SELECT pg_terminate_backend(%s, 10000)", (store._conn.info.backend_pid,))
    store.close()


def test_rows_left_sending_by_a_crash_are_requeued_and_counted(backend):
    killed = backend.open()
    add_active(killed, "a@example.com", "b@example.com", "c@example.com")
    campaign = killed.create_campaign("post", "Post", now=NOW)
    killed.mark_sent(killed.claim_next(campaign.id, NOW), "250 OK", "<1@x>", now=NOW)
    killed.claim_next(campaign.id, NOW)
    killed.claim_next(campaign.id, NOW)
    crash(backend, killed)
    with backend.open() as store:
        assert store.recover_in_flight(campaign.id) == 2
        assert store.delivery_counts(campaign.id) == DeliveryCounts(queued=2, sent=1)
        assert [d.possible_duplicate for d in store.list_deliveries(campaign.id)] == [False, True, True]
        assert store.recover_in_flight(campaign.id) == 0


def test_a_live_sender_keeps_its_claims_while_another_recovers_a_dead_ones(backend, store):
    add_active(store, "a@example.com", "b@example.com", "c@example.com")
    campaign = store.create_campaign("post", "Post", now=NOW)
    mine = store.claim_next(campaign.id, NOW)
    killed = backend.open()
    lost = killed.claim_next(campaign.id, NOW)
    crash(backend, killed)
    with backend.open() as rerun:
        if backend.name == "postgres":  # several senders share a campaign: only the dead one's claim is recovered
            assert rerun.recover_in_flight(campaign.id) == 1
            assert [d.subscriber.email for d in rerun.list_deliveries(campaign.id, "sending")] == ["a@example.com"]
        else:  # one sender at a time (the sending lock): whatever it finds in flight was left by a crash
            assert rerun.recover_in_flight(campaign.id) == 2
    assert lost.subscriber.email == "b@example.com" and mine.subscriber.email == "a@example.com"


def test_released_delivery_is_requeued_without_counting_an_attempt(store):
    add_active(store, "a@example.com")
    campaign = store.create_campaign("post", "Post", now=NOW)
    store.release(store.claim_next(campaign.id, NOW), now=NOW)
    assert store.claim_next(campaign.id, NOW).attempts == 1


def test_subscribers_who_left_after_the_snapshot_are_skipped(store):
    add_active(store, "a@example.com", "b@example.com")
    campaign = store.create_campaign("post", "Post", now=NOW)
    store.set_subscriber_status("b@example.com", "unsubscribed", now=NOW)
    assert store.skip_inactive(campaign.id, now=NOW) == 1
    assert store.claim_next(campaign.id, NOW).subscriber.email == "a@example.com"
    assert store.claim_next(campaign.id, NOW) is None


def test_a_claim_skips_whoever_stopped_being_active_since_the_run_began(store):
    add_active(store, "a@example.com", "b@example.com", "c@example.com", "d@example.com")
    campaign = store.create_campaign("post", "Post", now=NOW)
    first = store.claim_next(campaign.id, NOW)
    store.unsubscribe("b@example.com", now=NOW)
    store.set_subscriber_status("c@example.com", "bounced", now=NOW)
    following = store.mark_sent_and_claim_next(first, "250 OK", "<1@example.com>", now=NOW)
    store.unsubscribe("d@example.com", now=NOW)
    assert following.subscriber.email == "d@example.com"
    store.release(following, now=NOW)
    assert store.claim_next(campaign.id, NOW) is None
    assert [d.subscriber.email for d in store.list_deliveries(campaign.id, "skipped")] == [
        "b@example.com", "c@example.com", "d@example.com"]


def test_retrying_failed_deliveries_never_resends_one_the_server_may_have_taken(backend, store):
    add_active(store, "a@example.com", "b@example.com")
    campaign = store.create_campaign("post", "Post", now=NOW)
    refused = store.claim_next(campaign.id, NOW)
    store.mark_failed(refused, "550 no", False, now=NOW)
    killed = backend.open()
    killed.claim_next(campaign.id, NOW)
    crash(backend, killed)
    assert store.recover_in_flight(campaign.id) == 1  # killed while sending: it may have gone out
    store.mark_failed(store.claim_next(campaign.id, NOW), "554 no", False, now=NOW)
    assert store.requeue_failed(campaign.id, now=NOW) == 1
    assert store.claim_next(campaign.id, NOW).subscriber.email == refused.subscriber.email
    assert store.claim_next(campaign.id, NOW) is None


def test_two_connections_claiming_at_once_never_get_the_same_delivery(backend):
    with backend.open() as store:
        add_active(store, *(f"user{i}@example.com" for i in range(200)))
        campaign = store.create_campaign("post", "Post", now=NOW)
    claimed: list[int] = []

    def claim_all():
        with backend.open() as own:
            while (delivery := own.claim_next(campaign.id, NOW)) is not None:
                claimed.append(delivery.id)

    threads = [threading.Thread(target=claim_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 200


def test_published_posts_remember_archived_and_sent(store):
    store.record_post("old-post", "archived", now=NOW)
    store.record_post("new-post", "archived", now=NOW)
    store.record_post("new-post", "sent", now=NOW)
    assert store.published_posts() == [PublishedPost("new-post", "sent"), PublishedPost("old-post", "archived")]


def test_a_post_keeps_the_id_first_recorded_and_one_id_belongs_to_one_post(store):
    first, second = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
    store.record_post("news", "sent", now=NOW)
    store.record_post("news", "sent", post_id=first, now=NOW)
    store.record_post("news", "sent", post_id=second, now=NOW)
    store.record_post("other", "archived", post_id=first, now=NOW)
    assert store.published_posts() == [PublishedPost("news", "sent", first), PublishedPost("other", "archived")]


def test_a_moved_post_takes_its_record_and_campaign_to_its_new_slug_unless_that_slug_has_one(store):
    store.record_post("news", "sent", post_id="11111111-1111-4111-8111-111111111111", now=NOW)
    store.create_campaign("news", "News", now=NOW)
    store.record_post("taken", "archived", now=NOW)
    assert store.move_post("news", "taken") is False and store.get_campaign("news") is not None
    assert store.move_post("news", "big-news") is True
    assert store.get_campaign("news") is None and store.get_campaign("big-news").subject == "News"
    assert [p.slug for p in store.published_posts()] == ["big-news", "taken"]


def test_times_without_a_time_zone_are_refused(store):
    with pytest.raises(ValueError, match="no time zone"):
        store.add_subscriber("a@example.com", now=dt.datetime(2026, 3, 1, 9, 0))
    store.add_subscriber("a@example.com", now="2026-03-01T09:00:00+01:00")
    assert store.get_subscriber("a@example.com").created_at == dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def test_a_setting_is_made_once_and_then_kept_across_connections(backend):
    with backend.open() as store:
        assert not store.has_setting("key")
        first = store.setting("key", lambda: "made-first")
        assert store.setting("key", lambda: "made-again") == first == "made-first"
    with backend.open() as store:
        assert store.has_setting("key") and store.setting("key", lambda: "other") == "made-first"


def test_unfinished_campaigns_are_those_with_deliveries_left(store):
    store.add_subscriber("a@example.com", now=NOW)
    store.create_campaign("one", "One", now=NOW)
    store.set_subscriber_status("a@example.com", "unsubscribed", now=NOW)
    done = store.create_campaign("empty", "Nobody", now=NOW)
    assert store.finish_campaign(done.id, now=NOW)
    assert [c.slug for c in store.unfinished_campaigns()] == ["one"]


def test_a_campaigns_links_keep_their_numbers_when_recorded_again_and_count_only_clicks(store):
    campaign = store.create_campaign("news", "News", now=NOW)
    first = store.record_links(campaign.id, ["https://example.com/a", "https://example.com/b"])
    again = store.record_links(campaign.id, ["https://example.com/c", "https://example.com/b", "https://example.com/a"])
    assert first == {"https://example.com/a": 1, "https://example.com/b": 2}
    assert again == {**first, "https://example.com/c": 3}
    store.count_click(campaign.id, 2)
    store.count_click(campaign.id, 2)
    store.count_click(campaign.id, 9)
    assert store.click_target(campaign.id, 3) == "https://example.com/c" and store.click_target(campaign.id, 9) is None
    assert store.list_clicks(campaign.id) == [("https://example.com/a", 0), ("https://example.com/b", 2),
                                              ("https://example.com/c", 0)]
    other = store.create_campaign("more", "More", now=NOW)
    assert store.record_links(other.id, ["https://example.com/b"]) == {"https://example.com/b": 1}


def test_a_webhook_call_is_remembered_until_it_is_too_old_to_be_accepted(store):
    store.note_call("mailgun", "token-1", forget_before=NOW, now=NOW)
    assert store.call_seen("mailgun", "token-1", since=NOW) and not store.call_seen("amazon-sns", "token-1", since=NOW)
    later = NOW + dt.timedelta(hours=1)
    assert not store.call_seen("mailgun", "token-1", since=later - dt.timedelta(minutes=30))
    store.note_call("mailgun", "token-2", forget_before=later - dt.timedelta(minutes=30), now=later)
    assert not store.call_seen("mailgun", "token-1", since=NOW) and store.call_seen("mailgun", "token-2", since=NOW)
    store.note_call("postmark", "postmark:7", forget_before=later - dt.timedelta(days=30), now=later)
    store.note_call("mailgun", "token-3", forget_before=later + dt.timedelta(days=1), now=later)
    assert store.call_seen("postmark", "postmark:7", since=NOW)


def test_a_rate_limit_is_kept_in_the_database_for_every_connection_and_slides_with_time(backend):
    with backend.open() as first, backend.open() as second:
        stores = [first, second, first, second, first]
        assert [s.allow_request("subscribe:203.0.113.7", 3, 3_600, now=NOW + dt.timedelta(minutes=n))
                for n, s in enumerate(stores)] == [True, True, True, False, False]
        assert second.allow_request("subscribe:198.51.100.1", 3, 3_600, now=NOW)
        assert not first.allow_request("subscribe:203.0.113.7", 3, 3_600, now=NOW + dt.timedelta(minutes=59))
        later = NOW + dt.timedelta(minutes=60, seconds=1)  # the first request has left the hour; two remain
        assert [s.allow_request("subscribe:203.0.113.7", 3, 3_600, now=later) for s in (second, first)] == [True, False]


def test_concurrent_requests_from_one_client_are_allowed_no_more_than_the_limit(backend):
    allowed: list[bool] = []

    def ask():
        with backend.open() as own:
            allowed.extend(own.allow_request("subscribe:203.0.113.9", 5, 3_600, now=NOW) for _ in range(5))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 5 and len(allowed) == 20
