"""The SQLite schema's migrations: an old database brought up to date without losing or re-mailing anyone."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from publisher.errors import ConfigError, DatabaseBusy
from publisher.store import DeliveryCounts, NewSubscriber
from publisher.store.migrations import MIGRATIONS
from publisher.store.sqlite import open_sqlite
from publisher.store.sqlite_connection import stamp

from ..fixtures_site import held

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def old_database(path, subscribers, deliveries):
    """A database file made by the schema before addresses were compared ignoring case, with its rows."""
    conn = sqlite3.connect(path)
    conn.executescript(";".join(MIGRATIONS[:2]))
    conn.execute("PRAGMA user_version = 2")
    for number, (email, name, status) in enumerate(subscribers, start=1):
        conn.execute("INSERT INTO subscribers (email, name, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                     (email, name, status, f"2025-01-{number:02}T00:00:00.000000+00:00",
                      f"2025-02-{number:02}T00:00:00.000000+00:00"))
    for slug, status in (("old", "done"), ("new", "sending")):
        conn.execute("INSERT INTO campaigns (slug, subject, status, created_at) VALUES (?, ?, ?, ?)",
                     (slug, slug, status, stamp(NOW)))
    for campaign_id, subscriber_id, status in deliveries:
        conn.execute("INSERT INTO deliveries (campaign_id, subscriber_id, status, next_attempt_at, created_at,"
                     " updated_at) VALUES (?, ?, ?, ?, ?, ?)", (campaign_id, subscriber_id, status, stamp(NOW),
                                                                stamp(NOW), stamp(NOW)))
    conn.commit()
    conn.close()


def test_migration_merges_case_duplicates_never_making_anyone_more_mailable(tmp_path):
    path = tmp_path / "publisher.db"
    old_database(path, [
        ("alice@example.com", "Alice", "active"), ("bob@example.com", "Bob", "unsubscribed"),
        ("Alice@example.com", "", "pending"), ("BOB@example.com", "Bobby", "active"),
        ("cy@example.com", "Cy", "bounced"), ("CY@example.com", "", "active"),
        ("dan@example.com", "Dan\r\nBcc: x\x1b[0m", "active"), ("eve@example.com", "Eve", "active"),
    ], [(1, 1, "sent"), (1, 2, "sent"), (1, 4, "sent"), (1, 8, "sent"),
        (2, 1, "queued"), (2, 4, "sent"), (2, 6, "queued"), (2, 7, "queued"), (2, 8, "queued")])
    with open_sqlite(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert [(s.id, s.email, s.name, s.status) for s in store.list_subscribers()] == [
            (1, "alice@example.com", "Alice", "active"), (2, "bob@example.com", "Bob", "unsubscribed"),
            (5, "cy@example.com", "Cy", "bounced"), (7, "dan@example.com", "Dan Bcc: x [0m", "active"),
            (8, "eve@example.com", "Eve", "active")]
        alice = store.get_subscriber("ALICE@example.com")
        assert alice.created_at == dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        assert alice.updated_at == dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
        assert store.delivery_counts(1) == DeliveryCounts(sent=3)
        new = store.get_campaign("new")
        assert store.delivery_counts(new.id) == DeliveryCounts(queued=4, sent=1)
        assert store.skip_inactive(new.id, now=NOW) == 1
        claimed = [store.claim_next(new.id, NOW) for _ in range(4)]
        assert [d and d.subscriber.email for d in claimed] == ["alice@example.com", "dan@example.com",
                                                               "eve@example.com", None]
        assert store.add_subscriber("Eve@Example.COM", now=NOW)[1] is False
    with pytest.raises(sqlite3.IntegrityError):
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE subscribers SET email_key = 'eve@example.com' WHERE id = 7")


def test_a_database_behind_is_migrated_under_the_write_lock_once_no_one_else_holds_it(tmp_path):
    path = tmp_path / "publisher.db"
    old_database(path, [("alice@example.com", "Alice", "active")], [])
    with held(path), pytest.raises(DatabaseBusy):
        open_sqlite(path, busy_timeout=0.2)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    with open_sqlite(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert store.get_subscriber("ALICE@example.com").name == "Alice"


def test_a_database_a_newer_publisher_migrated_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "publisher.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match=rf"schema version {len(MIGRATIONS) + 1}; this one knows {len(MIGRATIONS)}"):
        open_sqlite(path)
    assert path.read_bytes() == before


def test_the_consent_migration_keeps_everyone_and_gives_each_an_opaque_id(tmp_path):
    path = tmp_path / "publisher.db"
    old_database(path, [("ann@example.com", "Ann", "active"), ("bo@example.com", "Bo", "unsubscribed")],
                 [(1, 1, "sent"), (2, 1, "queued"), (2, 2, "skipped")])
    with open_sqlite(path) as store:
        ann, bo = store.list_subscribers()
        assert (ann.email, ann.status, bo.email, bo.status) == ("ann@example.com", "active", "bo@example.com",
                                                                 "unsubscribed")
        assert len({ann.public_id, bo.public_id}) == 2
        assert all(len(s.public_id) == 32 and "ann" not in s.public_id for s in (ann, bo))
        assert store.delivery_counts(store.get_campaign("new").id) == DeliveryCounts(queued=1, skipped=1)
        assert store.set_subscriber_status("bo@example.com", "complained", now=NOW).status == "complained"
    with pytest.raises(sqlite3.IntegrityError), sqlite3.connect(path) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM subscribers WHERE id = 1")


def test_a_migrated_database_never_gives_an_erased_subscribers_or_deliverys_number_to_someone_else(tmp_path):
    path = tmp_path / "publisher.db"
    old_database(path, [("ann@example.com", "Ann", "active"), ("bo@example.com", "Bo", "active")],
                 [(1, 1, "sent"), (1, 2, "sent")])
    with open_sqlite(path) as store:
        ann, bo = store.list_subscribers()
        old_delivery = store.list_deliveries(store.get_campaign("old").id)[-1]
        assert store.forget_subscriber("bo@example.com", "hash-of-bo", now=NOW)
        cy, _ = store.add_subscriber("cy@example.com", now=NOW)
        dee = store.add_subscribers([NewSubscriber("dee@example.com")], "file.csv", now=NOW)
        assert ann.id < bo.id < cy.id < store.get_subscriber("dee@example.com").id and dee.added == 1
        new_delivery = store.list_deliveries(store.create_campaign("next", "next", now=NOW).id)[-1]
        assert new_delivery.id > old_delivery.id and store.get_delivery(old_delivery.id) is None
