"""`publisher inbox` on a Maildir: each kind of message changes the right subscriber and only that one, is filed
or left as it should be, and a second run changes nothing."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest

from publisher.mail.verp import UNSUBSCRIBE, make_tag
from publisher.store import open_sqlite

from ..fixtures_site import BASIC_TOML
from .test_classify import ARF_B1, HARD_TAG, SAMPLES, crlf, sample

SECRET = "a-test-secret-that-is-long-enough"  # the key the samples' tags were made with
ENV = {"PUBLISHER_SECRET_KEY": SECRET}
GONE, AWAY, READER = "no-such-user@readers.example.com", "someone@full.example.com", "reader@example.org"
NOW = "2026-03-01T09:00:00+00:00"


@pytest.fixture
def site(site_dir):
    """A site whose first campaign went to GONE, AWAY and READER (deliveries 1, 2 and 3), with a bounce Maildir."""
    site_dir.config(BASIC_TOML + '[delivery]\nbounce_address = "bounces@example.com"\n[inbox]\nmaildir = "bounces"\n')
    mailbox.Maildir(site_dir.root / "bounces", create=True)
    send_to(site_dir, GONE, AWAY, READER)
    return site_dir


def send_to(site_dir, *addresses: str) -> None:
    with open_sqlite(site_dir.root / "publisher.db") as store:
        for address in addresses:
            store.add_subscriber(address, now=NOW)
        campaign = store.create_campaign("first", "First", now=NOW)
        delivery = store.claim_next(campaign.id, NOW)
        while delivery is not None:
            message_id = f"<newsletter-{delivery.id}.first@example.com>"
            delivery = store.mark_sent_and_claim_next(delivery, "250 ok", message_id, now=NOW)


def deliver(site, name: str, raw: bytes) -> None:
    (site.root / "bounces" / "new" / name).write_bytes(raw)


def statuses(site) -> dict[str, str]:
    with open_sqlite(site.root / "publisher.db") as store:
        return {s.email: s.status for s in store.list_subscribers()}


def folder(site, name: str = "") -> list[str]:
    path = site.root / "bounces" / (f".{name}" if name else "")
    return sorted(p.name.partition(":")[0] for sub in ("new", "cur") for p in (path / sub).glob("*"))


def test_each_kind_of_message_changes_the_right_subscriber_and_is_filed_or_left(site):
    with open_sqlite(site.root / "publisher.db") as store:
        reader_id = store.get_subscriber(READER).id
    deliver(site, "1-hard", sample("postfix-hard.eml"))
    deliver(site, "2-soft", sample("postfix-soft.eml"))
    deliver(site, "3-complaint", crlf(ARF_B1.format(to="fbl@example.com", feedback_type="abuse",
                                                  message_id="<newsletter-3.first@example.com>")))
    deliver(site, "4-vacation", crlf(f"To: bounces+{HARD_TAG}@example.com\nSubject: Out of office\n\nAway.\n"))
    deliver(site, "5-forged", sample("postfix-hard.eml").replace(HARD_TAG.encode(), b"3-haczcy6bl5whs7oh"))
    deliver(site, "6-personal", crlf("From: friend@example.org\nTo: bounces@example.com\nSubject: hi\n\nHello!\n"))
    deliver(site, "7-huge", b"Subject: big\r\n\r\n" + b"x" * 20_000_000)
    deliver(site, "8-unsubscribe", crlf(f"To: bounces+{make_tag(SECRET, UNSUBSCRIBE, reader_id)}@example.com\n"
                                        "Subject: unsubscribe\nMessage-ID: <u@example.org>\n\n"))
    result = site.run("inbox", env=ENV)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines == [
        f"new/1-hard: hard bounce: {GONE}: now bounced -> processed",
        f"new/2-soft: soft bounce: {AWAY}: soft bounce counted -> processed",
        f"new/3-complaint: complaint: {READER}: now complained (kept from mail for good) -> processed",
        "new/4-vacation: an auto-reply, never counted as a bounce -> ignored",
        f"new/5-forged: hard bounce: {GONE}: its tag is not signed by this site (altered or forged); left for you",
        "new/6-personal: neither a bounce, a complaint nor an unsubscribe request; left for you",
        "new/7-huge: 20 MB, larger than any report; left for you",
        f"new/8-unsubscribe: unsubscribe request: {READER}: already kept from mail -> processed",
        "Read 8 messages: 1 subscriber bounced, 1 subscriber complained, 1 soft bounce counted. Filed 5; "
        "left 3 for you.",
    ]
    assert statuses(site) == {GONE: "bounced", AWAY: "active", READER: "complained"}
    assert folder(site, "Processed") == ["1-hard", "2-soft", "3-complaint", "8-unsubscribe"]
    assert folder(site, "Ignored") == ["4-vacation"] and folder(site) == ["5-forged", "6-personal", "7-huge"]
    again = site.run("inbox", env=ENV)
    assert again.output.splitlines()[-1] == "Read 3 messages: nobody changed. Filed 0; left 3 for you."
    assert statuses(site) == {GONE: "bounced", AWAY: "active", READER: "complained"}


def test_an_emailed_unsubscribe_with_the_subscribers_tag_unsubscribes_them_whoever_sent_it(site):
    with open_sqlite(site.root / "publisher.db") as store:
        away_id = store.get_subscriber(AWAY).id
    deliver(site, "request", crlf(f"From: {READER}\nTo: bounces+{make_tag(SECRET, UNSUBSCRIBE, away_id)}@example.com"
                                  "\nSubject: unsubscribe\n\n"))
    deliver(site, "claim", crlf(f"From: {GONE}\nTo: bounces@example.com\nSubject: unsubscribe\n\n"))
    assert site.run("inbox", env=ENV).exit_code == 0
    assert statuses(site) == {GONE: "active", AWAY: "unsubscribed", READER: "active"}


def test_a_dry_run_reports_what_it_would_do_and_changes_and_moves_nothing(site):
    deliver(site, "1-hard", sample("postfix-hard.eml"))
    result = site.run("inbox", "--dry-run", env=ENV)
    assert result.output.splitlines() == [
        f"new/1-hard: hard bounce: {GONE}: would be applied -> processed",
        "Read 1 message: nobody changed. Dry run, nothing changed or moved: would file 1; left 0 for you."]
    assert folder(site) == ["1-hard"] and statuses(site)[GONE] == "active"


FLUFL = [("dsn_01", "userx@example.com", "bounced"), ("dsn_02", "zzzzz@example.uk", "bounced"),
         ("dsn_05", "userx@example.cz", "counted"), ("dsn_07", "userx@example.nz", "counted"),
         ("postfix_01", "xxxxx@local.ie", "bounced"), ("postfix_04", "userx@mail1.example.com", "bounced"),
         ("exim_01", "userx@its.example.nl", "bounced"), ("qmail_01", "userx@example.de", "bounced"),
         ("simple_01", "bbbsss@example.com", "bounced"), ("simple_03", "userx@example.za", "counted"),
         ("groupwise_01", "userx@example.EDU", "bounced"), ("microsoft_01", "userx@example.COM", "bounced"),
         ("smtp32_01", "userx@example.ph", "bounced"), ("llnl_01", "user1@example.gov", "bounced"),
         ("yahoo_01", "userx@example.com", "bounced"), ("aol_01", "screenname@aol.com", "bounced"),
         ("dumbass_01", "someone@example.com", "")]


@pytest.mark.parametrize("name, address, outcome", FLUFL, ids=[f[0] for f in FLUFL])
def test_flufl_bounces_sample_bounces_change_only_the_subscriber_they_name_who_was_sent_to(site_dir, name, address,
                                                                                          outcome):
    site_dir.config(BASIC_TOML + '[inbox]\nmaildir = "bounces"\n')
    mailbox.Maildir(site_dir.root / "bounces", create=True)
    send_to(site_dir, "bystander@example.net", address)
    (site_dir.root / "bounces" / "new" / name).write_bytes(Path(SAMPLES / "flufl" / f"{name}.eml").read_bytes())
    result = site_dir.run("inbox", env=ENV)
    assert result.exit_code == 0, result.output
    expected = {"bounced": "now bounced", "counted": "soft bounce counted", "": "left for you"}[outcome]
    assert expected in result.output.splitlines()[0]
    with open_sqlite(site_dir.root / "publisher.db") as store:
        assert store.get_subscriber(address).status == ("bounced" if outcome == "bounced" else "active")
        assert store.get_subscriber("bystander@example.net").status == "active"


def test_without_an_inbox_or_with_a_folder_that_is_not_a_maildir_it_says_what_to_set(site_dir):
    result = site_dir.run("inbox", env=ENV)
    assert result.exit_code == 1 and "[inbox] is not set up: set maildir" in result.output
    site_dir.config(BASIC_TOML + '[inbox]\nmaildir = "nowhere"\n')
    result = site_dir.run("inbox", env=ENV)
    assert result.exit_code == 1 and "inbox.maildir: " in result.output and "is not a Maildir" in result.output
