"""The service's rules without HTTP: what the form accepts, how states change in the store, and what happens
when the welcome email cannot be written or the posts cannot be read."""

from __future__ import annotations

import datetime as dt
import logging
import mailbox
import shutil

import pytest

from publisher.build.theme import make_env
from publisher.config import load_config
from publisher.errors import SignUpError
from publisher.sending.transports import MaildirTransport
from publisher.service.subscriptions import SignUp, Subscriptions, read_sign_up
from publisher.store import NewSubscriber
from publisher.store import open_sqlite as open_store

from ..fixtures_site import BASIC_TOML, post_text

SECRET = "a-test-secret-that-is-long-enough"
NOW = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)


def test_a_sign_up_is_trimmed_and_normalised():
    assert read_sign_up({"email": " Ann@EXAMPLE.com ", "name": "  Ann   Lee "}) == SignUp("Ann@example.com", "Ann Lee")
    assert read_sign_up({"email": "jörg@bücher.example"}).email == "jörg@bücher.example"


@pytest.mark.parametrize("form, problem", [
    ({"email": "ann@example.com", "name": "Ann\tLee"}, "name: remove the line breaks"),
    ({"email": "ann@example.com", "name": "Ann\u2028Lee"}, "name: remove the line breaks"),
    ({"email": "ann@example.com\x00"}, "email: remove the line breaks"),
    ({"email": "   "}, "email: enter your email address"),
    ({"email": "ann@example.com", "website": "x"}, "fill in only your email address"),
])
def test_sign_ups_a_person_would_not_send_are_refused(form, problem):
    with pytest.raises(SignUpError, match=problem):
        read_sign_up(form)


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "publisher.db") as store:
        yield store


def test_signing_up_changes_no_status_but_a_new_address_s_which_waits_for_confirmation(store):
    store.add_subscribers([NewSubscriber("active@example.com", "Al"), NewSubscriber("gone@example.com", "Old",
                          status="bounced"), NewSubscriber("wait@example.com", status="pending")], "csv", now=NOW)
    later = NOW + dt.timedelta(days=1)
    assert store.request_subscription("active@example.com", "Someone", now=later).status == "active"
    assert store.request_subscription("wait@example.com", now=later).updated_at == NOW
    back = store.request_subscription("gone@example.com", "New Name", now=later)
    assert (back.status, back.name, back.updated_at) == ("bounced", "New Name", NOW)
    fresh = store.request_subscription("new@example.com", "Ann", now=later)
    assert (fresh.status, fresh.source) == ("pending", "web")
    assert store.get_subscriber("active@example.com").name == "Al"


def test_confirming_needs_a_link_made_since_the_address_became_pending(store):
    store.request_subscription("ann@example.com", now=NOW)
    assert not store.confirm_subscriber("ann@example.com", NOW - dt.timedelta(seconds=1), now=NOW)
    assert store.confirm_subscriber("ann@example.com", NOW, now=NOW)
    assert not store.confirm_subscriber("ann@example.com", NOW, now=NOW)
    assert store.get_subscriber("ann@example.com").status == "active"


def test_unsubscribing_leaves_bounced_addresses_bounced(store):
    store.add_subscribers([NewSubscriber("b@example.com", status="bounced")], "csv", now=NOW)
    assert not store.unsubscribe("b@example.com", now=NOW)
    assert store.get_subscriber("b@example.com").status == "bounced"
    assert not store.unsubscribe("nobody@example.com", now=NOW)


@pytest.fixture
def site(tmp_path):
    (tmp_path / "publisher.toml").write_text(BASIC_TOML, encoding="utf-8")
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "one.md").write_text(post_text("The only article"), encoding="utf-8")
    return load_config(tmp_path / "publisher.toml", env={"PUBLISHER_SECRET_KEY": SECRET})


def service_for(config, store):
    outbox = config.root / "outbox"
    return Subscriptions(config, store, make_env(), lambda msg: MaildirTransport(outbox).send(msg), lambda: NOW)


def confirm_token(config) -> str:
    [msg] = mailbox.Maildir(config.root / "outbox", create=False)
    text = msg.get_payload()[0].get_payload(decode=True).decode()
    return text.split("/confirm?token=")[1].split()[0]


def test_a_welcome_that_cannot_be_written_does_not_undo_the_confirmation(site, store, caplog):
    service = service_for(site, store)
    service.subscribe(SignUp("ann@example.com"))
    token = confirm_token(site)
    shutil.rmtree(site.root / "outbox")
    (site.root / "outbox").write_text("not a folder", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        assert service.confirm(token) == "confirmed"
    assert store.get_subscriber("ann@example.com").status == "active"
    assert "the welcome email could not be sent: " in caplog.text and SECRET not in caplog.text


def test_a_broken_post_leaves_the_welcome_without_posts_but_still_sent(site, store, caplog):
    service = service_for(site, store)
    service.subscribe(SignUp("ann@example.com"))
    (site.root / "posts" / "broken.md").write_text("---\ntitle: Broken\ndate: 3rd May\n---\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert service.confirm(confirm_token(site)) == "confirmed"
    welcome = [m for m in mailbox.Maildir(site.root / "outbox", create=False) if m["Subject"].startswith("Welcome")]
    assert len(welcome) == 1 and "The only article" not in welcome[0].as_string()
    assert "lists no posts" in caplog.text and "broken.md" in caplog.text


def test_the_welcome_follows_new_posts_and_scheduled_ones_as_their_time_comes(site, store):
    (site.root / "posts" / "later.md").write_text(post_text("Scheduled piece", "2025-01-15 13:30"), encoding="utf-8")
    clock = [NOW]
    outbox = site.root / "outbox"
    service = Subscriptions(site, store, make_env(), lambda msg: MaildirTransport(outbox).send(msg), lambda: clock[0])

    def welcome_for(address: str) -> str:
        service.subscribe(SignUp(address))
        token = next(m for m in mailbox.Maildir(outbox, create=False) if m["To"] == address)
        text = token.get_payload()[0].get_payload(decode=True).decode()
        assert service.confirm(text.split("/confirm?token=")[1].split()[0]) == "confirmed"
        [welcome] = [m for m in mailbox.Maildir(outbox, create=False)
                     if m["To"] == address and m["Subject"].startswith("Welcome")]
        return welcome.get_payload()[0].get_payload(decode=True).decode()

    first = welcome_for("ann@example.com")
    assert "The only article" in first and "Scheduled piece" not in first
    (site.root / "posts" / "two.md").write_text(post_text("A second article", "2025-01-10"), encoding="utf-8")
    assert "A second article" in welcome_for("bob@example.com")
    clock[0] = NOW + dt.timedelta(hours=2)
    assert "Scheduled piece" in welcome_for("cy@example.com")


def test_signing_up_in_other_letters_is_the_same_subscriber_not_a_second_one(site, store):
    store.add_subscribers([NewSubscriber("alice@example.com", "Alice")], "csv", now=NOW)
    service = service_for(site, store)
    service.subscribe(SignUp("Alice@Example.com", "Al"))
    assert service.confirm(confirm_token(site)) == "already"
    assert [(s.email, s.name, s.status) for s in store.list_subscribers()] == [("alice@example.com", "Alice", "active")]
