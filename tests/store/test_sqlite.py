"""The SQLite store: schema, subscribers, campaign snapshots, claim-before-send and crash recovery."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import threading

import pytest

from publisher.errors import Busy, ConfigError, DatabaseBusy
from publisher.store import DeliveryCounts, NewSubscriber
from publisher.store.migrations import MIGRATIONS
from publisher.store.sqlite import open_sqlite

from ..fixtures_site import held

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path):
    with open_sqlite(tmp_path / "publisher.db") as store:
        yield store


def add_active(store, *emails):
    store.add_subscribers([NewSubscriber(e) for e in emails], "test", now=NOW)


def test_new_database_is_created_in_wal_mode_at_the_latest_schema(tmp_path):
    path = tmp_path / "publisher.db"
    with open_sqlite(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        add_active(store, "a@example.com")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with open_sqlite(path) as store:
        assert [s.email for s in store.list_subscribers()] == ["a@example.com"]


def test_a_path_in_a_missing_folder_or_naming_a_folder_is_refused_creating_nothing(tmp_path):
    with pytest.raises(ConfigError, match=r"\[database\] path: the folder .*/data does not exist; create it"):
        open_sqlite(tmp_path / "data" / "publisher.db")
    assert not (tmp_path / "data").exists()
    with pytest.raises(ConfigError, match=r"\[database\] path: .* is a folder; name a file in it"):
        open_sqlite(tmp_path)


def test_an_up_to_date_database_opens_and_reads_while_another_connection_writes(tmp_path):
    path = tmp_path / "publisher.db"
    with open_sqlite(path) as store:
        add_active(store, "a@example.com")
    with held(path), open_sqlite(path, busy_timeout=0.2) as store:
        assert [s.email for s in store.list_subscribers()] == ["a@example.com"]
        with pytest.raises(DatabaseBusy, match="has held it for more than 0.2 s"):
            add_active(store, "b@example.com")
    with open_sqlite(path) as store:
        assert [s.email for s in store.list_subscribers()] == ["a@example.com"]


HOLD_THE_LOCK = """
import sys
from pathlib import Path
from publisher.store import open_sqlite
with open_sqlite(Path(sys.argv[1])) as store, store.lock():
    print("held", flush=True)
    sys.stdin.read()
"""


def test_the_sending_lock_is_held_by_one_process_at_a_time_in_a_file_beside_the_database(tmp_path):
    path = tmp_path / "publisher.db"
    with open_sqlite(path):
        pass
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with open_sqlite(path) as store:
            with pytest.raises(Busy, match=r"^another publisher process is sending for this site "
                                           rf"\(it holds {tmp_path}/publisher\.db\.lock\)$"):
                with store.lock():
                    add_active(store, "never@example.com")
            assert store.list_subscribers() == []
    finally:
        holder.stdin.close()
        holder.wait()
    with open_sqlite(path) as store, store.lock():
        add_active(store, "a@example.com")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["publisher.db", "publisher.db.lock"]
    with open_sqlite(path) as store:
        assert [s.email for s in store.list_subscribers()] == ["a@example.com"]
