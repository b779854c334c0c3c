"""What is particular to the PostgreSQL store: the same schema as SQLite's at every version, a sending lock that
senders share and only migrating or copying takes alone, and a lost connection as one clear error."""

from __future__ import annotations

import datetime as dt
import sqlite3

import psycopg
import pytest

from publisher.errors import Busy, DatabaseUnavailable
from publisher.store.maintenance import NOT_COPIED, TABLES
from publisher.store.migrations import MIGRATIONS
from publisher.store.postgres import open_postgres
from publisher.store.postgres_schema import POSTGRES_MIGRATIONS
from publisher.store.sqlite import open_sqlite

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def sqlite_columns(path) -> dict[str, list[str]]:
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                                 " AND name NOT LIKE 'sqlite_%'")]  # SQLite's own, e.g. sqlite_sequence
        return {t: sorted(row[1] for row in conn.execute(f"PRAGMA table_info({t})")) for t in tables}


def postgres_columns(url) -> dict[str, list[str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns"
                            " WHERE table_schema = 'public' AND table_name != 'schema_version'").fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return {table: sorted(names) for table, names in columns.items()}


def test_both_backends_have_the_same_migrations_and_end_with_the_same_tables_and_columns(tmp_path, postgres_url):
    assert len(POSTGRES_MIGRATIONS) == len(MIGRATIONS)
    with open_sqlite(tmp_path / "p.db"):
        pass
    assert postgres_columns(postgres_url) == sqlite_columns(tmp_path / "p.db")
    copied = {table.name: sorted(table.columns) for table in TABLES}
    expected = {t: [c for c in cols if c != "claimed_by"] for t, cols in postgres_columns(postgres_url).items()
                if t not in NOT_COPIED}
    assert copied == expected  # a copy carries every table and column, but for a claim tied to a live session


def test_senders_share_the_sending_lock_and_migrating_or_copying_takes_it_alone(postgres_url):
    with open_postgres(postgres_url) as one, open_postgres(postgres_url) as two, open_postgres(postgres_url) as admin:
        with one.lock(), two.lock():
            with pytest.raises(Busy, match=r"publisher processes are sending with postgresql://.*; stop them"):
                with admin.lock_alone():
                    pass
        with admin.lock_alone():
            with pytest.raises(Busy, match=r"the database is being migrated or copied"):
                with one.lock():
                    pass
        with one.lock():
            one.add_subscriber("ann@example.com", now=NOW)


def test_a_lost_connection_is_one_clear_error_and_nothing_half_written(postgres_url):
    store = open_postgres(postgres_url)
    store.add_subscriber("ann@example.com", now=NOW)
    with open_postgres(postgres_url) as other:
        other._conn.execute("SELECT pg_terminate_backend(%s, 10000)", (store._conn.info.backend_pid,))
        with pytest.raises(DatabaseUnavailable, match=r"^\[database\] url: lost the connection to postgresql://"
                                                       r"publisher@127\.0\.0\.1:\d+/test_\d+: .*run the command again"):
            store.add_subscriber("bo@example.com", now=NOW)
        assert [s.email for s in other.list_subscribers()] == ["ann@example.com"]
    store.close()


def test_the_server_probes_each_store_session_so_a_vanished_senders_claims_are_freed_within_a_minute(postgres_url):
    with open_postgres(postgres_url) as store:
        settings = [store._rows(f"SHOW {name}")[0][0] for name in
                    ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")]
    assert settings == ["30", "10", "3"]  # 30 s idle, then 3 probes 10 s apart: about a minute
