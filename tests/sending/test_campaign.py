"""Campaign runs against a real aiosmtpd server: everyone once, faults, rate limit, Ctrl-C and kill -9 + resume.

This module doubles as the campaign script the crash test kills: `python -m tests.test_delivery DB PORT`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import mailbox
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from publisher.errors import ContentError, DeliveryError
from publisher.sending.campaign import send_campaign
from publisher.sending.transports import MaildirTransport, SmtpSettings, SmtpTransport
from publisher.store import NewSubscriber, Store, Subscriber
from publisher.store import open_sqlite as open_store

from ..fixtures_smtp import free_port

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def token(email: str) -> str:
    return hashlib.sha256(f"unsubscribe:{email}".encode()).hexdigest()[:20]


def render(subscriber: Subscriber) -> EmailMessage:
    """A personalised message, as the newsletter will build one: the reader's own address and token."""
    msg = EmailMessage()
    msg["From"] = "News <news@example.com>"
    msg["To"] = subscriber.email
    msg["Subject"] = "This week"
    msg["X-Unsubscribe-Token"] = token(subscriber.email)
    msg.set_content(f"Hello {subscriber.name}.\nUnsubscribe: https://example.com/u/{token(subscriber.email)}\n")
    return msg


def connect_to(port: int, timeout: float = 5.0):
    return lambda: SmtpTransport(SmtpSettings(host="127.0.0.1", port=port, timeout=timeout))


def make_campaign(path: Path, count: int, slug: str = "post") -> list[str]:
    emails = [f"reader{n:03d}@example.com" for n in range(count)]
    with open_store(path) as store:
        store.add_subscribers([NewSubscriber(e, f"Reader {n}") for n, e in enumerate(emails)], "test", now=NOW)
        store.create_campaign(slug, "This week", now=NOW)
    return emails


def statuses(store: Store, slug: str = "post") -> dict[str, str]:
    return {d.subscriber.email: d.status for d in store.list_deliveries(store.get_campaign(slug).id)}


def assert_each_got_their_own(server, emails: list[str]) -> None:
    assert server.recipients() == {e: 1 for e in emails}
    for received in server.received:
        [rcpt] = received.rcpt_tos
        assert received.message["To"] == rcpt
        assert received.message["X-Unsubscribe-Token"] == token(rcpt)


def test_five_hundred_subscribers_each_receive_exactly_one_message_of_their_own(tmp_path, smtp_server):
    emails = make_campaign(tmp_path / "p.db", 500)
    seen = []
    with open_store(tmp_path / "p.db") as store:
        campaign = store.get_campaign("post")
        result = send_campaign(store, campaign, render, connect_to(smtp_server.port), connections=4,
                               progress=lambda done, total: seen.append((done, total)))
        deliveries = store.list_deliveries(campaign.id)
        assert store.get_campaign("post").status == "done"
    assert (result.sent, result.failed, result.retried, result.possible_duplicates) == (500, 0, 0, 0)
    assert_each_got_their_own(smtp_server, emails)
    assert seen[-1] == (500, 500) and [d for d, _ in seen] == list(range(1, 501))
    message_ids = {r.message["Message-ID"] for r in smtp_server.received}
    assert {d.message_id for d in deliveries} == message_ids and len(message_ids) == 500
    assert smtp_server.handler.connections <= 4


def test_faults_are_retried_or_failed_and_everyone_ends_sent_or_failed(tmp_path, smtp_server):
    emails = make_campaign(tmp_path / "p.db", 30)
    deferred, closing, unknown, dropped, slow, dead = emails[1:7]
    smtp_server.reply_at_rcpt(deferred, "451 4.3.0 Try again later", times=2)
    smtp_server.reply_at_rcpt(closing, "421 4.3.2 Too busy, closing", times=1)
    smtp_server.reply_at_rcpt(unknown, "550 5.1.1 No such user", times=None)
    smtp_server.drop_during_data(dropped, times=1)
    smtp_server.stall_at_rcpt(slow, seconds=1.5, times=1)
    smtp_server.stall_at_rcpt(dead, seconds=1.5, times=None)
    with open_store(tmp_path / "p.db") as store:
        result = send_campaign(store, store.get_campaign("post"), render, connect_to(smtp_server.port, timeout=0.6),
                               connections=3, max_attempts=3, retry_delay=0.01)
        final = statuses(store)
        failures = {d.subscriber.email: d for d in store.list_deliveries(store.get_campaign("post").id, "failed")}
        assert store.get_subscriber(unknown).status == "bounced"
        assert store.get_subscriber(dead).status == "active"
    assert (result.sent, result.failed, result.retried) == (28, 2, 2 + 1 + 1 + 1 + 2)
    assert set(final.values()) == {"sent", "failed"} and set(failures) == {unknown, dead}
    assert failures[unknown].last_reply == "550 5.1.1 No such user" and failures[unknown].attempts == 1
    assert "timed out" in failures[dead].last_reply and failures[dead].attempts == 3
    assert_each_got_their_own(smtp_server, [e for e in emails if e not in (unknown, dead)])


def test_rate_limit_spaces_messages_by_the_clock(tmp_path):
    make_campaign(tmp_path / "p.db", 10)
    fake_time = [0.0]

    def fake_sleep(seconds: float) -> None:
        fake_time[0] += seconds

    with open_store(tmp_path / "p.db") as store:
        result = send_campaign(store, store.get_campaign("post"), render, lambda: MaildirTransport(tmp_path / "out"),
                               connections=1, rate=5, clock=lambda: fake_time[0], sleep=fake_sleep)
    assert result.sent == 10
    assert result.seconds == pytest.approx(9 / 5)


def test_maildir_campaign_writes_one_file_per_subscriber(tmp_path):
    emails = make_campaign(tmp_path / "p.db", 25)
    with open_store(tmp_path / "p.db") as store:
        result = send_campaign(store, store.get_campaign("post"), render, lambda: MaildirTransport(tmp_path / "out"))
    assert result.sent == 25
    assert sorted(m["To"] for m in mailbox.Maildir(tmp_path / "out")) == emails


def test_ctrl_c_stops_cleanly_and_the_rest_is_sent_on_resume(tmp_path, smtp_server):
    emails = make_campaign(tmp_path / "p.db", 120)

    def interrupt_at_40(done: int, total: int) -> None:
        if done == 40:
            raise KeyboardInterrupt

    with open_store(tmp_path / "p.db") as store:
        campaign = store.get_campaign("post")
        with pytest.raises(KeyboardInterrupt):
            send_campaign(store, campaign, render, connect_to(smtp_server.port), progress=interrupt_at_40)
        counts = store.delivery_counts(campaign.id)
        assert counts.sending == 0 and counts.sent == len(smtp_server.received) < 120
        assert store.get_campaign("post").status == "sending"
        result = send_campaign(store, campaign, render, connect_to(smtp_server.port))
    assert result.possible_duplicates == 0 and result.sent == 120 - counts.sent
    assert_each_got_their_own(smtp_server, emails)


def test_unreachable_server_stops_the_run_and_loses_nobody(tmp_path):
    make_campaign(tmp_path / "p.db", 10)
    with open_store(tmp_path / "p.db") as store:
        campaign = store.get_campaign("post")
        with pytest.raises(DeliveryError, match="cannot connect"):
            send_campaign(store, campaign, render, connect_to(free_port()))
        assert set(statuses(store).values()) == {"queued"}
        assert {d.attempts for d in store.list_deliveries(campaign.id)} == {0}


@pytest.mark.parametrize("outage", ["421 at the greeting", "421 to every recipient"])
def test_a_server_that_turns_every_connection_away_stops_the_run_with_everyone_still_queued(tmp_path, smtp_server,
                                                                                           outage):
    emails = make_campaign(tmp_path / "p.db", 20)
    if outage == "421 at the greeting":
        smtp_server.refuse_connections("421 4.3.2 Service not available, try again later")
    else:
        for email in emails:
            smtp_server.reply_at_rcpt(email, "421 4.3.2 Service shutting down", times=None)
    with open_store(tmp_path / "p.db") as store:
        campaign = store.get_campaign("post")
        with pytest.raises(DeliveryError, match="421 4.3.2"):
            send_campaign(store, campaign, render, connect_to(smtp_server.port), max_attempts=3, retry_delay=0.01)
        assert set(statuses(store).values()) == {"queued"}
        assert {d.attempts for d in store.list_deliveries(campaign.id)} == {0}
        assert store.get_campaign("post").status == "sending"
        smtp_server.heal()
        result = send_campaign(store, campaign, render, connect_to(smtp_server.port))
    assert (result.sent, result.failed, result.possible_duplicates) == (20, 0, 0)
    assert_each_got_their_own(smtp_server, emails)


def test_a_short_spell_of_refused_connections_is_waited_out(tmp_path, smtp_server):
    emails = make_campaign(tmp_path / "p.db", 20)
    smtp_server.refuse_connections("421 4.3.2 Too many connections", times=3)
    with open_store(tmp_path / "p.db") as store:
        result = send_campaign(store, store.get_campaign("post"), render, connect_to(smtp_server.port),
                               max_attempts=4, retry_delay=0.01)
        assert store.get_campaign("post").status == "done"
    assert (result.sent, result.failed) == (20, 0)
    assert_each_got_their_own(smtp_server, emails)


def test_a_message_that_cannot_be_rendered_stops_the_run_without_false_duplicates(tmp_path, smtp_server):
    emails = make_campaign(tmp_path / "p.db", 10)

    def broken_for_the_fifth(subscriber: Subscriber) -> EmailMessage:
        if subscriber.email == emails[4]:
            raise ContentError("template error", "newsletter.mjml", 3)
        return render(subscriber)

    with open_store(tmp_path / "p.db") as store:
        campaign = store.get_campaign("post")
        with pytest.raises(ContentError):
            send_campaign(store, campaign, broken_for_the_fifth, connect_to(smtp_server.port), connections=1)
        assert statuses(store)[emails[4]] == "queued"
        result = send_campaign(store, campaign, render, connect_to(smtp_server.port))
    assert result.possible_duplicates == 0
    assert_each_got_their_own(smtp_server, emails)


def test_people_who_unsubscribed_before_a_resume_are_skipped(tmp_path, smtp_server):
    emails = make_campaign(tmp_path / "p.db", 5)
    with open_store(tmp_path / "p.db") as store:
        store.set_subscriber_status(emails[0], "unsubscribed", now=NOW)
        result = send_campaign(store, store.get_campaign("post"), render, connect_to(smtp_server.port))
        again = send_campaign(store, store.get_campaign("post"), render, connect_to(smtp_server.port))
    assert (result.sent, result.skipped) == (4, 1)
    assert (again.sent, again.failed, again.skipped) == (0, 0, 0)
    assert set(smtp_server.recipients()) == set(emails[1:])


def test_readers_who_unsubscribe_during_the_campaign_are_skipped_not_mailed(tmp_path, smtp_server):
    emails = make_campaign(tmp_path / "p.db", 60)
    leaving = [emails[30], emails[45], emails[59]]

    def unsubscribe_while_sending(subscriber: Subscriber) -> EmailMessage:
        if subscriber.email == emails[10]:
            with open_store(tmp_path / "p.db") as service:  # as the web service would, from its own connection
                for email in leaving:
                    assert service.unsubscribe(email, now=NOW)
        return render(subscriber)

    with open_store(tmp_path / "p.db") as store:
        result = send_campaign(store, store.get_campaign("post"), unsubscribe_while_sending,
                               connect_to(smtp_server.port), connections=2)
        final = statuses(store)
    assert set(smtp_server.recipients()) == set(emails) - set(leaving)
    assert {e: final[e] for e in leaving} == dict.fromkeys(leaving, "skipped")
    assert (result.sent, result.skipped) == (57, 3)


def run_script(db: Path, port: int, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.sending.test_campaign", str(db), str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def test_killed_mid_campaign_then_resumed_covers_everyone_with_only_in_flight_duplicates(tmp_path, smtp_server):
    emails = make_campaign(tmp_path / "p.db", 80)
    smtp_server.hold_after(30)
    first = run_script(tmp_path / "p.db", smtp_server.port)
    smtp_server.wait_for_held(4)
    first.kill()
    first.communicate(timeout=30)
    smtp_server.release()
    second = run_script(tmp_path / "p.db", smtp_server.port)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    result = json.loads(out)
    counts = smtp_server.recipients()
    duplicates = sum(n - 1 for n in counts.values())
    assert set(counts) == set(emails)
    assert duplicates == result["possible_duplicates"] == 4
    assert result["sent"] == 80 - 30
    with open_store(tmp_path / "p.db") as store:
        assert set(statuses(store).values()) == {"sent"}


def main(db: str, port: str) -> None:
    """The campaign script the crash test runs (and kills): send, then print the result as JSON."""
    with open_store(Path(db)) as store:
        result = send_campaign(store, store.get_campaign("post"), render, connect_to(int(port), timeout=60),
                               connections=4, retry_delay=0.01)
    print(json.dumps(dataclasses.asdict(result)))


if __name__ == "__main__":
    main(*sys.argv[1:])
