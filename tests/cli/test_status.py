"""Failures you can read: a full mailbox is a warning, not a failure for ever; `status SLUG` counts what
happened to a campaign and `--failed` lists each failed address with the server's reply; dry runs list who
would be mailed. Real SMTP (aiosmtpd on 127.0.0.1), a real SQLite file, the real CLI."""

from __future__ import annotations

from collections import Counter

from publisher.store import open_sqlite as open_store

from ..fixtures_site import post_text
from .test_campaigns import ENV, add_readers, quick_retries


def first_publish(site_dir, smtp_server) -> dict:
    """The site's archive recorded and a post ready to mail; the environment that sends over SMTP."""
    site_dir.run("publish", env=ENV)
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    return {**ENV, "PUBLISHER_SMTP_URL": smtp_server.url}


def test_a_full_mailbox_warns_exits_0_and_its_reader_gets_the_next_campaign(site_dir, smtp_server):
    emails = add_readers(site_dir, 3)
    smtp_server.reply_at_rcpt(emails[1], "552 5.2.2 Mailbox full", times=1)
    env = first_publish(site_dir, smtp_server)
    first = site_dir.run("publish", env=env)
    assert first.exit_code == 0 and "'news': sent 2, failed 1" in first.output
    assert f"1 mailbox was full ({emails[1]})" in first.output and "next campaign tries again" in first.output
    site_dir.post("more.md", post_text("More", "2025-01-12"))
    second = site_dir.run("publish", env=env)
    assert second.exit_code == 0 and "'more': sent 3, failed 0" in second.output
    assert smtp_server.recipients() == Counter({emails[0]: 2, emails[1]: 1, emails[2]: 2})
    with open_store(site_dir.root / "publisher.db") as store:
        assert store.get_subscriber(emails[1]).status == "active"


def test_a_mailbox_over_quota_that_stays_deferred_counts_as_full(site_dir, smtp_server):
    emails = add_readers(site_dir, 2)
    quick_retries(site_dir)
    smtp_server.reply_at_rcpt(emails[0], "452 4.2.2 The email account that you tried to reach is over quota",
                              times=None)
    result = site_dir.run("send", "news", env=first_publish(site_dir, smtp_server))
    assert result.exit_code == 0 and "'news': sent 1, failed 1" in result.output
    assert "1 mailbox was full" in result.output


def test_a_full_mailbox_beside_a_real_failure_still_exits_1(site_dir, smtp_server):
    emails = add_readers(site_dir, 3)
    smtp_server.reply_at_rcpt(emails[0], "552 5.2.2 Mailbox full", times=None)
    smtp_server.reply_at_rcpt(emails[2], "552 5.3.4 Message size exceeds fixed limit", times=None)
    result = site_dir.run("send", "news", env=first_publish(site_dir, smtp_server))
    assert result.exit_code == 1 and "'news': sent 1, failed 2" in result.output
    assert "1 mailbox was full" in result.output and "Some deliveries failed" in result.output
