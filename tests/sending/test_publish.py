"""publish() and send_newsletter() without the command line: a real SQLite store, a real SMTP server on
127.0.0.1, plain data back, events told as they happen, nothing printed."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from publisher.build.pipeline import load_site
from publisher.config import load_config
from publisher.sending.publish import (
    Archived,
    CampaignProgress,
    CampaignReport,
    Compiled,
    IdsWritten,
    publish,
    requeue_failed,
)
from publisher.store import open_sqlite as open_store

from ..fixtures_site import post_text

SECRET = "a-test-secret-that-is-long-enough"
NOW = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.timezone.utc)


def smtp_site(site_dir, smtp_server):
    config = load_config(site_dir.root / "publisher.toml",
                         env={"PUBLISHER_SECRET_KEY": SECRET, "PUBLISHER_SMTP_URL": smtp_server.url})
    return config, load_site(config, NOW)[0]


def add_readers(store, count: int) -> list[str]:
    emails = [f"reader{n}@example.com" for n in range(count)]
    for email in emails:
        store.add_subscriber(email, "", "active", "test", now=NOW)
    return emails


def test_publish_archives_first_then_mails_each_new_post_once_and_reports_plain_data(site_dir, smtp_server, capsys):
    site_dir.post("old.md", post_text("Old", "2024-01-01"))
    events: list = []
    with open_store(site_dir.root / "publisher.db") as store:
        emails = add_readers(store, 3)
        config, site = smtp_site(site_dir, smtp_server)
        first = publish(config, store, site, lambda: SECRET, now=lambda: NOW, notify=events.append)
        assert (first.first_run, first.archived, first.campaigns, first.failed) == (True, ("old",), (), 0)
        assert events == [Archived(1, True), IdsWritten((Path("posts/old.md"),))] and smtp_server.received == []
        site_dir.post("new.md", post_text("New", "2025-01-10"))
        config, site = smtp_site(site_dir, smtp_server)
        events.clear()
        second = publish(config, store, site, lambda: SECRET, now=lambda: NOW, notify=events.append)
    assert second.first_run is False and [c.slug for c in second.campaigns] == ["new"]
    assert second.campaigns[0].result.sent == 3 and second.failed == 0
    assert smtp_server.recipients() == Counter(dict.fromkeys(emails, 1))
    assert isinstance(events[1], Compiled) and events[1].newsletter.slug == "new"
    progress = [e for e in events if isinstance(e, CampaignProgress)]
    assert progress[0] == CampaignProgress("new", 0, 3) and progress[-1] == CampaignProgress("new", 3, 3)
    assert events[-2] == second.campaigns[0] and isinstance(events[-2], CampaignReport)
    assert events[-1] == IdsWritten((Path("posts/new.md"),))
    assert capsys.readouterr() == ("", "")


def test_a_refused_address_is_retried_by_requeue_never_for_someone_who_left(site_dir, smtp_server):
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    with open_store(site_dir.root / "publisher.db") as store:
        emails = add_readers(store, 3)
        store.setting("first_publish", lambda: NOW.isoformat())
        smtp_server.reply_at_rcpt(emails[1], "550 5.7.1 Refused by policy", times=1)
        config, site = smtp_site(site_dir, smtp_server)
        first = publish(config, store, site, lambda: SECRET, now=lambda: NOW)
        assert first.failed == 1 and requeue_failed(store, "news", now=lambda: NOW) == 1
        again = publish(config, store, site, lambda: SECRET, now=lambda: NOW)
        assert requeue_failed(store, "elsewhere", now=lambda: NOW) is None
    assert [c.result.sent for c in again.campaigns] == [1]
    assert smtp_server.recipients() == Counter(dict.fromkeys(emails, 1))


def test_a_post_recorded_before_ids_existed_is_known_by_its_slug_and_gets_its_id(site_dir, smtp_server):
    news = site_dir.post("news.md", post_text("News", "2025-01-14"))
    with open_store(site_dir.root / "publisher.db") as store:
        add_readers(store, 2)
        store.setting("first_publish", lambda: NOW.isoformat())
        store.record_post("news", "sent", now=NOW)
        config, site = smtp_site(site_dir, smtp_server)
        report = publish(config, store, site, lambda: SECRET, now=lambda: NOW)
        recorded = store.published_posts()
    assert report.campaigns == () and smtp_server.received == []
    assert len(recorded) == 1 and recorded[0].state == "sent" and recorded[0].post_id
    assert news.read_text(encoding="utf-8") == post_text("News", "2025-01-14", id=recorded[0].post_id)


def test_with_a_bounce_address_each_message_returns_to_a_tag_naming_its_delivery_and_nobody_else(site_dir,
                                                                                                   smtp_server):
    from publisher.mail.verp import BOUNCE, UNSUBSCRIBE, find_tag, read_tag
    from publisher.sending.publish import send_newsletter, compile_for
    from ..fixtures_site import BASIC_TOML, BOOKING_TOML
    site_dir.config(BASIC_TOML + BOOKING_TOML + '[delivery]\nbounce_address = "bounces@example.com"\n')
    site_dir.post("new.md", post_text("New", "2025-01-10"))
    with open_store(site_dir.root / "publisher.db") as store:
        emails = add_readers(store, 3)
        config, site = smtp_site(site_dir, smtp_server)
        send_newsletter(config, store, compile_for(config, site.posts[0]), SECRET, now=lambda: NOW)
        deliveries = {d.id: d.subscriber for d in store.list_deliveries(store.get_campaign("new").id)}
    seen = {}
    for received in smtp_server.received:
        delivery_id = read_tag(SECRET, find_tag("bounces@example.com", received.mail_from), BOUNCE).number
        mailto = received.message["List-Unsubscribe"].split(",")[1]
        subscriber_id = read_tag(SECRET, find_tag("bounces@example.com", mailto), UNSUBSCRIBE).number
        seen[received.rcpt_tos[0]] = (deliveries[delivery_id].email, deliveries[delivery_id].id == subscriber_id)
        assert received.rcpt_tos[0].partition("@")[0] not in received.mail_from
        assert received.message["Return-Path"] is None and received.message["From"].addresses[0].addr_spec == \
            "david@massageinyork.co.uk"
    assert seen == {email: (email, True) for email in emails}


def test_without_a_bounce_address_messages_return_to_the_from_address_as_before(site_dir, smtp_server):
    from publisher.sending.publish import send_newsletter, compile_for
    site_dir.post("new.md", post_text("New", "2025-01-10"))
    with open_store(site_dir.root / "publisher.db") as store:
        add_readers(store, 1)
        config, site = smtp_site(site_dir, smtp_server)
        send_newsletter(config, store, compile_for(config, site.posts[0]), SECRET, now=lambda: NOW)
    [received] = smtp_server.received
    assert received.mail_from == "david@massageinyork.co.uk"
    assert "<mailto:david@massageinyork.co.uk?subject=unsubscribe>" in received.message["List-Unsubscribe"]
