"""send, publish and status through the CLI: Maildir by default, a real SMTP server on 127.0.0.1 when configured,
the first publish's archive, scheduled posts, drafts, the lock, and exactly-once across runs and processes."""

from __future__ import annotations

import email
import email.policy
import mailbox
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from publisher.mail.tokens import UNSUBSCRIBE, LinkTokens
from publisher.store import open_sqlite as open_store

from ..fixtures_site import post_text
from ..fixtures_tokens import links_in, reveals

SECRET = "a-test-secret-that-is-long-enough"
ENV = {"PUBLISHER_SECRET_KEY": SECRET, "PUBLISHER_NOW": "2025-01-15T12:00:00+00:00"}
ROOT = Path(__file__).resolve().parents[2]
BUSY = "Another `publisher send` or `publisher publish` is sending to this site's subscribers"


def outbox(site_dir) -> list:
    box = site_dir.root / "outbox"
    return list(mailbox.Maildir(box, create=False)) if box.exists() else []


def add_readers(site_dir, count: int) -> list[str]:
    emails = [f"reader{n}@example.com" for n in range(count)]
    for email in emails:
        assert site_dir.run("subscribers", "add", email, env=ENV).exit_code == 0
    return emails


def test_first_publish_archives_existing_posts_then_each_new_post_is_mailed_once(site_dir):
    add_readers(site_dir, 3)
    site_dir.post("2024-01-01-old.md", post_text("Old", "2024-01-01"))
    first = site_dir.run("publish", env=ENV)
    assert first.exit_code == 0 and "recorded 1 existing post as the archive" in first.output
    assert outbox(site_dir) == [] and (site_dir.out / "posts/old/index.html").exists()
    site_dir.post("2025-01-10-new.md", post_text("New & improved", "2025-01-10"))
    second = site_dir.run("publish", env=ENV)
    assert second.exit_code == 0 and "'new': sent 3, failed 0" in second.output
    messages = outbox(site_dir)
    assert sorted(m["To"] for m in messages) == [f"reader{n}@example.com" for n in range(3)]
    assert {m["Subject"] for m in messages} == {"New & improved"}
    third = site_dir.run("publish", env=ENV)
    assert "No new posts to mail." in third.output and len(outbox(site_dir)) == 3


def test_no_link_in_a_sent_newsletter_gives_away_its_readers_address(site_dir):
    readers = ["Zoe.Lee+news@Example.com", "ann@example.com"]
    for address in readers:
        assert site_dir.run("subscribers", "add", address, env=ENV).exit_code == 0
    site_dir.run("publish", env=ENV)
    site_dir.post("new.md", post_text("New", "2025-01-10"))
    assert "'new': sent 2" in site_dir.run("publish", env=ENV).output
    assert site_dir.run("send", "new", "--test-to", "ann@example.com", env=ENV).exit_code == 0
    with open_store(site_dir.root / "publisher.db") as store:
        ids = {s.email.lower(): s.public_id for s in store.list_subscribers()}
    messages = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default) for m in outbox(site_dir)]
    assert len(messages) == 3
    for msg in messages:
        to = msg["To"].addresses[0].addr_spec
        links = links_in(msg)
        assert links and not [link for link in links if reveals(link, to)]
        token = msg["List-Unsubscribe"].split(">")[0].partition("token=")[2]
        assert LinkTokens(SECRET).read(UNSUBSCRIBE, token).public_id == ids[to.lower()]


def test_send_latest_mails_only_the_newest_post_on_the_first_publish(site_dir):
    add_readers(site_dir, 2)
    site_dir.post("a.md", post_text("Older", "2024-01-01"))
    site_dir.post("b.md", post_text("Newest", "2024-06-01"))
    result = site_dir.run("publish", "--send-latest", env=ENV)
    assert result.exit_code == 0
    assert Counter(m["Subject"] for m in outbox(site_dir)) == {"Newest": 2}


def test_a_site_whose_first_publish_had_no_posts_mails_its_first_post(site_dir):
    add_readers(site_dir, 1)
    assert "recorded 0 existing posts" in site_dir.run("publish", env=ENV).output
    site_dir.post("first.md", post_text("First", "2025-01-14"))
    assert "'first': sent 1" in site_dir.run("publish", env=ENV).output


def test_scheduled_post_waits_for_its_date_and_is_mailed_exactly_once(site_dir):
    add_readers(site_dir, 2)
    site_dir.run("publish", env=ENV)
    site_dir.post("later.md", post_text("Later", "2025-02-01 09:00"))
    site_dir.post("draft.md", post_text("Draft", "2025-01-01", draft="true"))
    before = site_dir.run("publish", env=ENV)
    assert "No new posts to mail." in before.output and not (site_dir.out / "posts/later").exists()
    due = {**ENV, "PUBLISHER_NOW": "2025-02-01T09:00:00+00:00"}
    assert "'later': sent 2" in site_dir.run("publish", env=due).output
    after = {**ENV, "PUBLISHER_NOW": "2025-02-01T09:15:00+00:00"}
    assert "No new posts to mail." in site_dir.run("publish", env=after).output
    assert Counter(m["Subject"] for m in outbox(site_dir)) == {"Later": 2}


def test_send_refuses_drafts_and_future_posts_with_the_fix(site_dir):
    site_dir.post("draft.md", post_text("Draft", "2025-01-01", draft="true"))
    site_dir.post("later.md", post_text("Later", "2025-03-01"))
    draft = site_dir.run("send", "draft", env=ENV)
    assert draft.exit_code == 1 and "draft.md: is a draft" in draft.output and "draft: true" in draft.output
    later = site_dir.run("send", "later", env=ENV)
    assert later.exit_code == 1 and "in the future" in later.output
    missing = site_dir.run("send", "dratf", env=ENV)
    assert missing.exit_code == 1 and "did you mean draft" in missing.output and "Traceback" not in missing.output
    assert outbox(site_dir) == []


def test_dry_run_and_test_copy_record_nothing(site_dir):
    add_readers(site_dir, 4)
    site_dir.post("p.md", post_text("Post", "2025-01-01"))
    dry = site_dir.run("send", "p", "--dry-run", env=ENV)
    assert "Would send 'Post' to 4 active subscribers via the Maildir outbox" in dry.output
    assert outbox(site_dir) == []
    test = site_dir.run("send", "p", "--test-to", "Me@Example.COM", env=ENV)
    assert test.exit_code == 0 and [m["To"] for m in outbox(site_dir)] == ["Me@example.com"]
    assert "No campaigns yet" in site_dir.run("status", env=ENV).output
    assert site_dir.run("send", "p", env=ENV).exit_code == 0
    assert len(outbox(site_dir)) == 5
    again = site_dir.run("send", "p", env=ENV)
    assert "already sent (4 sent, 0 failed)" in again.output and len(outbox(site_dir)) == 5


def test_publish_over_smtp_reaches_everyone_and_reports_a_refused_address(site_dir, smtp_server):
    emails = add_readers(site_dir, 20)
    smtp_server.reply_at_rcpt(emails[7], "550 5.1.1 No such user", times=None)
    site_dir.run("publish", env=ENV)
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    env = {**ENV, "PUBLISHER_SMTP_URL": smtp_server.url}
    result = site_dir.run("publish", env=env)
    assert result.exit_code == 1 and "'news': sent 19, failed 1" in result.output
    assert smtp_server.recipients() == Counter({e: 1 for e in emails if e != emails[7]})
    status = site_dir.run("status", env=env).output
    assert "1 bounced" in status and "news" in status and " 19 " in status
    assert site_dir.run("publish", env=env).exit_code == 0 and len(smtp_server.received) == 19


def test_messages_the_server_took_but_answered_too_late_are_reported_as_possible_duplicates(site_dir, smtp_server):
    emails = add_readers(site_dir, 12)
    late = emails[2:7]
    for email in late:
        smtp_server.answer_late(email, seconds=2.0)
    site_dir.config((site_dir.root / "publisher.toml").read_text() + "\n[delivery]\ntimeout = 0.5\n"
                    "retry_delay = 0.01\n")
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    result = site_dir.run("send", "news", env={**ENV, "PUBLISHER_SMTP_URL": smtp_server.url})
    assert result.exit_code == 0 and "'news': sent 12, failed 0, retried 5, possible duplicates 5" in result.output
    assert smtp_server.recipients() == Counter({e: 2 if e in late else 1 for e in emails})
    with open_store(site_dir.root / "publisher.db") as store:
        flagged = [d.subscriber.email for d in store.list_deliveries(store.get_campaign("news").id)
                   if d.possible_duplicate]
    assert flagged == late


def quick_retries(site_dir) -> None:
    site_dir.config((site_dir.root / "publisher.toml").read_text() + "\n[delivery]\nmax_attempts = 2\n"
                    "retry_delay = 0.01\n")


def test_an_outage_stops_the_campaign_and_the_next_publish_sends_it_all(site_dir, smtp_server):
    emails = add_readers(site_dir, 10)
    quick_retries(site_dir)
    site_dir.run("publish", env=ENV)
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    env = {**ENV, "PUBLISHER_SMTP_URL": smtp_server.url}
    smtp_server.refuse_connections("421 4.3.2 Service not available")
    stopped = site_dir.run("publish", env=env)
    assert stopped.exit_code == 1 and "421 4.3.2 Service not available" in stopped.output
    assert "10 deliveries still queued" in stopped.output and "run the same command again" in stopped.output
    with open_store(site_dir.root / "publisher.db") as store:
        assert store.delivery_counts(store.get_campaign("news").id).queued == 10 and smtp_server.received == []
    smtp_server.heal()
    resumed = site_dir.run("publish", env=env)
    assert resumed.exit_code == 0 and "'news': sent 10, failed 0" in resumed.output
    assert smtp_server.recipients() == Counter(dict.fromkeys(emails, 1))


def test_retry_failed_sends_the_failed_deliveries_again_but_never_to_people_who_left(site_dir, smtp_server):
    emails = add_readers(site_dir, 6)
    refused, left = emails[1], emails[4]
    for email in (refused, left):
        smtp_server.reply_at_rcpt(email, "550 5.7.1 Message refused by policy", times=1)
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    env = {**ENV, "PUBLISHER_SMTP_URL": smtp_server.url}
    first = site_dir.run("send", "news", env=env)
    assert first.exit_code == 1 and "'news': sent 4, failed 2" in first.output and "--retry-failed" in first.output
    assert site_dir.run("subscribers", "remove", left, env=env).exit_code == 0
    again = site_dir.run("send", "news", "--retry-failed", env=env)
    assert again.exit_code == 0 and "'news': sent 1, failed 0" in again.output
    assert smtp_server.recipients() == Counter({e: 1 for e in emails if e != left})
    with open_store(site_dir.root / "publisher.db") as store:
        assert [d.subscriber.email for d in store.list_deliveries(store.get_campaign("news").id, "failed")] == [left]
    assert "nothing left to send" in site_dir.run("send", "news", "--retry-failed", env=env).output


def test_smtp_delivery_without_the_secret_key_stops_before_sending(site_dir, smtp_server):
    add_readers(site_dir, 2)
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    env = {"PUBLISHER_NOW": ENV["PUBLISHER_NOW"], "PUBLISHER_SMTP_URL": smtp_server.url, "PUBLISHER_SECRET_KEY": ""}
    result = site_dir.run("send", "news", env=env)
    assert result.exit_code == 1 and "PUBLISHER_SECRET_KEY is not set" in result.output
    assert smtp_server.received == [] and "No campaigns yet" in site_dir.run("status", env=env).output


def test_without_the_key_the_outbox_uses_a_site_key_that_stays_the_same(site_dir):
    add_readers(site_dir, 1)
    env = {"PUBLISHER_NOW": ENV["PUBLISHER_NOW"], "PUBLISHER_SECRET_KEY": ""}
    site_dir.post("p.md", post_text("P", "2025-01-01"))
    first = site_dir.run("send", "p", "--test-to", "a@example.com", env=env)
    assert first.exit_code == 0 and "PUBLISHER_SECRET_KEY is not set" in first.output
    second = site_dir.run("send", "p", "--test-to", "a@example.com", env=env)
    assert "PUBLISHER_SECRET_KEY" not in second.output
    links = {m["List-Unsubscribe"].split(">")[0] for m in outbox(site_dir)}
    assert len(links) == 1


def test_a_publish_started_while_another_runs_says_so_and_exits_0(site_dir):
    add_readers(site_dir, 1)
    site_dir.run("publish", env=ENV)
    site_dir.post("p.md", post_text("P", "2025-01-14"))
    with open_store(site_dir.root / "publisher.db") as other, other.lock():
        result = site_dir.run("publish", env=ENV)
    assert result.exit_code == 0 and BUSY in result.output and "leaving the work to it" in result.output
    assert outbox(site_dir) == []
    assert "'p': sent 1" in site_dir.run("publish", env=ENV).output


def test_a_send_started_while_another_sender_runs_sends_nothing_says_so_and_exits_0(site_dir):
    add_readers(site_dir, 2)
    site_dir.post("p.md", post_text("P", "2025-01-01"))
    with open_store(site_dir.root / "publisher.db") as other, other.lock():
        result = site_dir.run("send", "p", env=ENV)
        test_copy = site_dir.run("send", "p", "--test-to", "me@example.com", env=ENV)
    assert result.exit_code == 0 and BUSY in result.output and "`publisher send p` again" in result.output
    assert test_copy.exit_code == 0 and [m["To"] for m in outbox(site_dir)] == ["me@example.com"]
    assert "'p': sent 2" in site_dir.run("send", "p", env=ENV).output


def cli_process(site_dir, *args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "publisher", "--config", str(site_dir.root), *args],
                            env={**os.environ, **env, "PYTHONPATH": str(ROOT / "src")}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("second", [("send", "news"), ("publish",)])
def test_a_sender_started_while_a_send_is_mid_campaign_mails_nobody_twice(site_dir, smtp_server, second):
    emails = add_readers(site_dir, 30)
    site_dir.run("publish", env=ENV)
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    env = {**ENV, "PUBLISHER_SMTP_URL": smtp_server.url}
    smtp_server.hold_after(10)
    first = cli_process(site_dir, "send", "news", env=env)
    smtp_server.wait_for_held(4)
    other = cli_process(site_dir, *second, env=env)
    try:
        output = other.communicate(timeout=60)[0]
    finally:
        smtp_server.release()
        first_output = first.communicate(timeout=60)[0]
        other.communicate(timeout=60)
    assert other.returncode == 0 and BUSY in output, output
    assert first.returncode == 0 and "'news': sent 30, failed 0" in first_output, first_output
    assert smtp_server.recipients() == Counter(dict.fromkeys(emails, 1))


def test_two_publish_processes_started_together_send_each_message_once(site_dir):
    emails = add_readers(site_dir, 40)
    site_dir.run("publish", env=ENV)
    for n in range(3):
        site_dir.post(f"p{n}.md", post_text(f"Post {n}", f"2025-01-1{n + 1}"))
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "publisher", "--config", str(site_dir.root), "publish"]
    runs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    sent = Counter((m["To"], m["Subject"]) for m in outbox(site_dir))
    assert sent == Counter({(e, f"Post {n}"): 1 for e in emails for n in range(3)})
    with open_store(site_dir.root / "publisher.db") as store:
        assert {c.slug: store.delivery_counts(c.id).sent for c in store.list_campaigns()} == {
            "p0": 40, "p1": 40, "p2": 40}


def test_publish_dry_run_writes_no_site_and_sends_nothing(site_dir):
    add_readers(site_dir, 2)
    site_dir.run("publish", env=ENV)
    shutil.rmtree(site_dir.out)
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    result = site_dir.run("publish", "--dry-run", env=ENV)
    assert "Would mail 'news' to 2 active subscribers" in result.output
    assert not site_dir.out.exists() and outbox(site_dir) == []
    assert "'news': sent 2" in site_dir.run("publish", env=ENV).output


@pytest.mark.parametrize("setting", ["timeout = 0", "timeout = -1", "timeout = inf", "retry_delay = nan"])
def test_delivery_numbers_that_cannot_work_are_refused_before_anything_is_sent(site_dir, smtp_server, setting):
    add_readers(site_dir, 4)
    site_dir.post("p.md", post_text("P", "2025-01-01"))
    site_dir.config((site_dir.root / "publisher.toml").read_text() + f"\n[delivery]\n{setting}\n")
    result = site_dir.run("send", "p", env={**ENV, "PUBLISHER_SMTP_URL": smtp_server.url})
    [line] = result.output.splitlines()
    assert result.exit_code == 1 and f"delivery.{setting.split()[0]}:" in line and "publisher.toml" in line
    with open_store(site_dir.root / "publisher.db") as store:
        assert store.list_campaigns() == [] and smtp_server.received == []


@pytest.mark.parametrize("command", [("send", "news"), ("publish",)])
def test_sigterm_stops_sending_like_ctrl_c_and_the_rerun_mails_nobody_twice(site_dir, smtp_server, command):
    emails = add_readers(site_dir, 40)
    site_dir.run("publish", env=ENV)
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    env = {**ENV, "PUBLISHER_SMTP_URL": smtp_server.url}
    smtp_server.hold_after(10)
    first = cli_process(site_dir, *command, env=env)
    smtp_server.wait_for_held(4)
    first.send_signal(signal.SIGTERM)  # as `systemctl stop` does, with four messages in flight
    time.sleep(0.5)  # let it take the signal before the server answers the messages in flight
    smtp_server.release()
    output = first.communicate(timeout=60)[0]
    assert first.returncode == 130 and "Every outcome so far is recorded" in output, output
    with open_store(site_dir.root / "publisher.db") as store:
        counts = store.delivery_counts(store.get_campaign("news").id)
    assert counts.sending == 0 and counts.sent == len(smtp_server.received) < 40
    again = site_dir.run(*command, env=env)
    assert again.exit_code == 0 and f"'news': sent {40 - counts.sent}, failed 0" in again.output
    assert "possible duplicates 0" in again.output
    assert smtp_server.recipients() == Counter(dict.fromkeys(emails, 1))


def test_a_server_that_cannot_be_reached_is_blamed_on_the_setting_that_named_it(site_dir):
    from ..fixtures_smtp import free_port
    add_readers(site_dir, 1)
    site_dir.post("news.md", post_text("News", "2025-01-10"))
    url = f"smtp://127.0.0.1:{free_port()}"
    from_env = site_dir.run("send", "news", env={**ENV, "PUBLISHER_SMTP_URL": url})
    assert from_env.exit_code == 1 and "check the host and port in PUBLISHER_SMTP_URL" in from_env.output
    assert "delivery.smtp_url" not in from_env.output
    site_dir.config((site_dir.root / "publisher.toml").read_text() + f'\n[delivery]\nsmtp_url = "{url}"\n')
    from_file = site_dir.run("send", "news", env=ENV)
    assert from_file.exit_code == 1 and "check the host and port in delivery.smtp_url" in from_file.output
    assert "PUBLISHER_SMTP_URL" not in from_file.output
    bad = site_dir.run("send", "news", env={**ENV, "PUBLISHER_SMTP_URL": "smtp://"})
    assert bad.exit_code == 1 and "Error: PUBLISHER_SMTP_URL: no host name" in bad.output
