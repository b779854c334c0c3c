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


def test_status_slug_counts_what_happened_to_the_campaign_and_failed_lists_each_reply(site_dir, smtp_server):
    emails = add_readers(site_dir, 6)
    smtp_server.reply_at_rcpt(emails[0], "550 5.1.1 <reader0@example.com>: No such user", times=None)
    smtp_server.reply_at_rcpt(emails[1], "552 5.2.2 Mailbox full", times=None)
    env = first_publish(site_dir, smtp_server)
    site_dir.run("publish", env=env)
    later = {**env, "PUBLISHER_NOW": "2025-01-15T13:00:00+00:00"}
    assert site_dir.run("subscribers", "remove", emails[2], env=later).exit_code == 0
    with open_store(site_dir.root / "publisher.db") as store:
        store.set_subscriber_status(emails[3], "complained", now="2025-01-15T13:00:00+00:00")
    status = site_dir.run("status", "news", env=env)
    assert status.exit_code == 0
    assert "sent 4, failed 2 (1 full mailbox), queued 0, skipped 0" in status.output
    assert "Since it went out: 1 bounced, 1 complained, 1 unsubscribed." in status.output
    failed = site_dir.run("status", "news", "--failed", env=env)
    assert failed.exit_code == 0
    assert f"{emails[0]}  550 5.1.1 <reader0@example.com>: No such user (bounced)" in failed.output
    assert f"{emails[1]}  552 5.2.2 Mailbox full (full mailbox: the next campaign tries again)" in failed.output
    assert emails[4] not in failed.output


def test_status_of_an_unknown_campaign_and_failed_without_a_slug_say_what_to_do(site_dir):
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    assert site_dir.run("send", "news", env=ENV).exit_code == 0
    unknown = site_dir.run("status", "nwes", env=ENV)
    assert unknown.exit_code == 1 and "no campaign 'nwes'" in unknown.output and "did you mean news" in unknown.output
    bare = site_dir.run("status", "--failed", env=ENV)
    assert bare.exit_code == 2 and "--failed needs a campaign" in bare.output
    clean = site_dir.run("status", "news", "--failed", env=ENV)
    assert clean.exit_code == 0 and "No failed deliveries in 'news'." in clean.output
    assert "Traceback" not in unknown.output + bare.output


def test_send_dry_run_lists_each_recipient_and_writes_them_to_a_csv(site_dir):
    emails = add_readers(site_dir, 3)
    site_dir.run("subscribers", "remove", emails[1], env=ENV)
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    dry = site_dir.run("send", "news", "--dry-run", env=ENV)
    assert dry.exit_code == 0 and "Would send 'News' to 2 active subscribers" in dry.output
    assert [line.strip() for line in dry.output.splitlines() if "@" in line] == [emails[0], emails[2]]
    target = site_dir.root / "recipients.csv"
    written = site_dir.run("send", "news", "--dry-run", "-o", str(target), env=ENV)
    assert written.exit_code == 0 and f"Wrote 2 recipients to {target}" in written.output
    assert emails[0] not in written.output
    assert target.read_text(encoding="utf-8").splitlines() == ["email,name", emails[0] + ",", emails[2] + ","]
    assert not (site_dir.root / "outbox").exists()
    real = site_dir.run("send", "news", "-o", str(target), env=ENV)
    assert real.exit_code == 2 and "-o/--output writes the list of a --dry-run" in real.output
    assert not (site_dir.root / "outbox").exists()


def test_a_dry_run_of_a_half_sent_campaign_lists_only_who_is_left(site_dir, smtp_server):
    emails = add_readers(site_dir, 3)
    quick_retries(site_dir)
    smtp_server.refuse_connections("421 4.3.2 Service not available")
    env = first_publish(site_dir, smtp_server)
    assert site_dir.run("send", "news", env=env).exit_code == 1
    dry = site_dir.run("publish", "--dry-run", env=env)
    assert dry.exit_code == 0 and "Would finish mailing 'news' to 3 subscribers still queued" in dry.output
    assert [line.strip() for line in dry.output.splitlines() if "@" in line] == emails


def test_publish_dry_run_lists_the_recipients_of_each_new_post_and_writes_a_csv(site_dir):
    emails = add_readers(site_dir, 2)
    assert site_dir.run("subscribers", "add", "eve@example.com", "--name", "=HYPERLINK(\"x\")", env=ENV).exit_code == 0
    emails.append("eve@example.com")
    site_dir.run("publish", env=ENV)
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    dry = site_dir.run("publish", "--dry-run", env=ENV)
    assert "Would mail 'news' to 3 active subscribers" in dry.output
    assert [line.strip() for line in dry.output.splitlines() if "@" in line] == emails
    target = site_dir.root / "who.csv"
    written = site_dir.run("publish", "--dry-run", "-o", str(target), env=ENV)
    defused = 'news,eve@example.com,"\'=HYPERLINK(""x"")"'
    assert written.exit_code == 0 and target.read_text(encoding="utf-8").splitlines() == \
        ["post,email,name"] + [f"news,{email}," for email in emails[:2]] + [defused]
