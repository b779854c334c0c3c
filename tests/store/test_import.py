"""Each store's import rule (SQLite and PostgreSQL, by the shared `store` fixture): new addresses go in with their
status and consent evidence, a known address is only ever made stricter, a forgotten one stays out, and a whole
list goes in as one transaction."""

from __future__ import annotations

import datetime as dt

import pytest

from publisher.errors import ConfigError
from publisher.store import SUPPRESSED_STATUSES, ImportOutcome, NewSubscriber

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
OPTED_IN = dt.datetime(2021, 4, 2, 8, 30, tzinfo=dt.UTC)
CONFIRMED = dt.datetime(2021, 4, 2, 8, 45, tzinfo=dt.UTC)
LEFT = dt.datetime(2023, 7, 9, 18, 0, tzinfo=dt.UTC)
SOURCE = "mailchimp.csv (Mailchimp)"


def history(store, email: str) -> list[tuple]:
    return [(e.kind, e.how, e.detail, e.at) for e in store.consent_history(email)]


@pytest.mark.parametrize("stored", SUPPRESSED_STATUSES + ("pending",))
@pytest.mark.parametrize("listed", ["active", "pending"])
def test_an_import_never_makes_a_known_address_more_mailable(store, stored, listed):
    store.add_subscribers([NewSubscriber("ann@example.com", status=stored)], "earlier.csv", now=NOW)
    later = NOW + dt.timedelta(days=1)
    outcome = store.add_subscribers([NewSubscriber("ANN@example.com", status=listed)], SOURCE, now=later)
    assert store.get_subscriber("ann@example.com").status == stored
    assert outcome.added == outcome.made_stricter == 0
    assert (outcome.suppressed, outcome.unchanged) == ((1, 0) if stored in SUPPRESSED_STATUSES else (0, 1))
    assert store.list_deliveries(store.create_campaign("post", "Post", now=later).id) == []


def test_an_import_makes_known_addresses_stricter_with_the_evidence_of_the_file(store):
    store.add_subscribers([NewSubscriber(f"{name}@example.com") for name in ("ann", "bo", "cy", "di")], "old.csv",
                          now=NOW)
    store.set_subscriber_status("di@example.com", "complained", now=NOW)
    entries = [NewSubscriber("ann@example.com", status="unsubscribed", status_at=LEFT),
               NewSubscriber("bo@example.com", status="bounced"), NewSubscriber("cy@example.com", status="active"),
               NewSubscriber("di@example.com", status="unsubscribed")]
    later = NOW + dt.timedelta(hours=2)
    assert store.add_subscribers(entries, SOURCE, now=later) == ImportOutcome(made_stricter=2, unchanged=2)
    statuses = {s.email: (s.status, s.updated_at) for s in store.list_subscribers()}
    assert statuses == {"ann@example.com": ("unsubscribed", later), "bo@example.com": ("bounced", later),
                        "cy@example.com": ("active", NOW), "di@example.com": ("complained", NOW)}
    assert history(store, "ann@example.com")[-1] == ("unsubscribed", "import", SOURCE, LEFT)
    assert history(store, "bo@example.com")[-1] == ("bounced", "import", SOURCE, later)


def test_new_addresses_keep_the_consent_evidence_of_their_source(store):
    entries = [NewSubscriber("ann@example.com", "Ann", "active", OPTED_IN, CONFIRMED),
               NewSubscriber("bo@example.com", "", "unsubscribed", OPTED_IN, None, LEFT),
               NewSubscriber("cy@example.com", status="complained")]
    assert store.add_subscribers(entries, SOURCE, now=NOW) == ImportOutcome(added=3)
    assert history(store, "ann@example.com") == [("subscribed", "import", SOURCE, OPTED_IN),
                                                  ("confirmed", "import", SOURCE, CONFIRMED)]
    assert history(store, "bo@example.com") == [("subscribed", "import", SOURCE, OPTED_IN),
                                                 ("unsubscribed", "import", SOURCE, LEFT)]
    assert history(store, "cy@example.com") == [("subscribed", "import", SOURCE, NOW),
                                                 ("complained", "import", SOURCE, NOW)]
    assert {e.recorded_at for e in store.consent_history("bo@example.com")} == {NOW}
    assert store.get_subscriber("ann@example.com").created_at == OPTED_IN


def test_one_mailbox_listed_twice_in_one_call_is_added_once_with_the_stricter_status(store):
    entries = [NewSubscriber("ann@example.com"), NewSubscriber("Ann@Example.com", status="unsubscribed"),
               NewSubscriber("ANN@example.com")]
    assert store.add_subscribers(entries, SOURCE, now=NOW).added == 1
    assert [(s.email, s.status) for s in store.list_subscribers()] == [("Ann@example.com", "unsubscribed")]


def test_a_forgotten_address_is_not_added_and_the_key_is_asked_for_only_when_something_is_forgotten(store):
    asked: list[str] = []

    def hashes(folded: str) -> tuple[str, ...]:
        asked.append(folded)
        return ("hash-of-" + folded,)

    assert store.add_subscribers([NewSubscriber("ann@example.com")], SOURCE, now=NOW, address_hashes=hashes).added == 1
    assert asked == []
    assert store.forget_subscriber("Ann@Example.com", "hash-of-ann@example.com", now=NOW)
    outcome = store.add_subscribers([NewSubscriber("ANN@example.com"), NewSubscriber("bo@example.com")], SOURCE,
                                    now=NOW, address_hashes=hashes)
    assert outcome == ImportOutcome(added=1, suppressed=1)
    assert [s.email for s in store.list_subscribers()] == ["bo@example.com"]
    assert sorted(asked) == ["ann@example.com", "bo@example.com"]


def test_a_list_with_a_bad_entry_or_without_the_key_it_needs_changes_nothing(store):
    store.add_subscribers([NewSubscriber("ann@example.com")], "old.csv", now=NOW)

    def no_key(folded: str) -> tuple[str, ...]:
        raise ConfigError("PUBLISHER_SECRET_KEY is not set")

    store.forget_subscriber("gone@example.com", "some-hash", now=NOW)
    entries = [NewSubscriber("ann@example.com", status="unsubscribed"), NewSubscriber("new@example.com")]
    with pytest.raises(ConfigError, match="PUBLISHER_SECRET_KEY"):
        store.add_subscribers(entries, SOURCE, now=NOW, address_hashes=no_key)
    with pytest.raises(ValueError, match="expected one of"):
        store.add_subscribers([NewSubscriber("new@example.com"), NewSubscriber("x@example.com", status="gone")],
                              SOURCE, now=NOW)
    assert [(s.email, s.status) for s in store.list_subscribers()] == [("ann@example.com", "active")]
    assert len(store.consent_history("ann@example.com")) == 1
