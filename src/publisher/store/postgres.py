"""The PostgreSQL store, for a list that outgrows one machine: one database shared by several service processes
and several senders, opened with `open_postgres`.

Like the SQLite store it is one class built from one part per group of tables (subscribers, then campaigns and
deliveries, then feedback on them, then click counts, then posts, settings and recorded requests here), sharing
one connection and its transactions. What differs is the sending lock: SQLite's admits one sender per site; here
`lock()` is shared by every sender, which share each campaign's deliveries through claims
(postgres_campaigns.py), and only `publisher migrate` and `publisher store copy` take the site alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from ..errors import Busy, ConfigError, DatabaseUnavailable
from .postgres_campaigns import take_claim_mark
from .postgres_connection import connect, lost_connection
from .postgres_clicks import PostgresClicks
from .maintenance import Table
from .postgres_schema import REQUESTS, SITE, check_schema, migrate, schema_version
from .records import POST_STATES, Moment, PublishedPost, check_value, stamp


def open_postgres(url: str, password: str = "", *, check: bool = True) -> PostgresStore:
    """Connect to the database at `url` (the password from the argument, else libpq's PGPASSWORD or ~/.pgpass);
    with `check`, ConfigError unless its schema is the one this publisher knows (`publisher migrate` makes it so).
    DatabaseUnavailable when the server cannot be reached or refuses the login."""
    conn = connect(url, password)
    store = PostgresStore(conn, url)
    try:
        with lost_connection(store.where):
            if check:
                check_schema(conn, store.where)
            store.claim_mark = take_claim_mark(conn)
    except BaseException:
        conn.close()
        raise
    return store


class PostgresStore(PostgresClicks):
    """The Store protocol over one PostgreSQL database. Build it with `open_postgres`; close it when done."""

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The sending lock, shared: any number of senders hold it together (they share the work through
        claims); Busy at once while `publisher migrate` or `publisher store copy` holds the site alone."""
        with self._site_lock("pg_try_advisory_lock_shared", "pg_advisory_unlock_shared",
                             "the database is being migrated or copied (`publisher migrate` or `publisher store "
                             f"copy` is running against {self.where}); run this again when it has finished"):
            yield

    @contextmanager
    def lock_alone(self) -> Iterator[None]:
        """The site alone, for migrating or copying: Busy at once while any sender holds the sending lock."""
        with self._site_lock("pg_try_advisory_lock", "pg_advisory_unlock",
                             f"publisher processes are sending with {self.where}; stop them (or let them finish) "
                             "and run this again"):
            yield

    @contextmanager
    def _site_lock(self, take: str, give: str, busy: str) -> Iterator[None]:
        with self._lock, lost_connection(self.where):
            taken = self._conn.execute(f"SELECT {take}(%s, 0)", (SITE,)).fetchone()[0]
        if not taken:
            raise Busy(busy)
        try:
            yield
        finally:
            try:
                with self._lock, lost_connection(self.where):
                    self._conn.execute(f"SELECT {give}(%s, 0)", (SITE,))
            except DatabaseUnavailable:
                pass  # the session is gone, and its locks with it

    def migrate(self) -> tuple[int, int]:
        """Bring the schema up to date, with no sender running (Busy otherwise); the versions (before, after)."""
        with self.lock_alone(), self._lock, lost_connection(self.where):
            return migrate(self._conn, self.where)

    @property
    def schema_version(self) -> int:
        with self._lock, lost_connection(self.where):
            return schema_version(self._conn)

    def check_writable(self) -> None:
        """Start a write and end it, writing nothing: DatabaseUnavailable when the server is gone, ConfigError
        when the database cannot be written (a read-only server or user, or a closed store)."""
        try:
            with self._write() as conn:
                conn.execute("SELECT 1 FROM settings FOR UPDATE SKIP LOCKED LIMIT 1")
        except psycopg.Error as exc:
            raise ConfigError(f"[database] url: {self.where} cannot be written: {exc}") from None

    # Published posts (for `publisher publish`)

    def record_post(self, slug: str, state: str, *, post_id: str | None = None, now: Moment) -> None:
        """Remember that a post was archived (never to be mailed) or sent, and its id; an id once recorded is
        kept, and one recorded for another slug stays with that slug."""
        check_value(state, POST_STATES)
        with self._write() as conn:
            if post_id and conn.execute("SELECT 1 FROM published WHERE post_id = %s", (post_id,)).fetchone():
                post_id = None
            conn.execute("INSERT INTO published (slug, state, recorded_at, post_id) VALUES (%s, %s, %s, %s)"
                         " ON CONFLICT (slug) DO UPDATE SET state = excluded.state, recorded_at ="
                         " excluded.recorded_at, post_id = COALESCE(published.post_id, excluded.post_id)",
                         (slug, state, stamp(now), post_id))

    def published_posts(self) -> list[PublishedPost]:
        """Every post recorded as archived or sent, by slug (in byte order, as SQLite sorts them)."""
        rows = self._rows('SELECT slug, state, post_id FROM published ORDER BY slug COLLATE "C"')
        return [PublishedPost(*row) for row in rows]

    def move_post(self, slug: str, new_slug: str) -> bool:
        """Follow a post to its new slug: its record and its campaign, unless something is recorded under the
        new slug already; returns whether it moved."""
        with self._write() as conn:
            taken = conn.execute("SELECT 1 FROM published WHERE slug = %(new)s UNION ALL SELECT 1 FROM campaigns"
                                 " WHERE slug = %(new)s", {"new": new_slug}).fetchone()
            if taken:
                return False
            conn.execute("UPDATE published SET slug = %s WHERE slug = %s", (new_slug, slug))
            conn.execute("UPDATE campaigns SET slug = %s WHERE slug = %s", (new_slug, slug))
        return True

    # Settings the site keeps for itself

    def setting(self, name: str, make: Callable[[], str]) -> str:
        """The stored value of `name`, storing `make()` first if there is none (atomically, so every process
        sees the same value)."""
        with self._write() as conn:
            conn.execute("INSERT INTO settings (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
                         (name, make()))
            return conn.execute("SELECT value FROM settings WHERE name = %s", (name,)).fetchone()[0]

    def has_setting(self, name: str) -> bool:
        return bool(self._rows("SELECT 1 FROM settings WHERE name = %s", (name,)))

    # Requests recorded for rate limits shared by every service process

    def allow_request(self, key: str, limit: int, window: float, *, now: Moment) -> bool:
        """Record a request under `key` if fewer than `limit` were recorded in the `window` seconds before `now`;
        returns whether it was. A lock on the key (for the transaction) makes concurrent requests count in turn."""
        cutoff = stamp(dt.datetime.fromisoformat(stamp(now)) - dt.timedelta(seconds=window))
        with self._write() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (REQUESTS, key))
            conn.execute("DELETE FROM request_log WHERE at <= %s", (cutoff,))
            if conn.execute("SELECT COUNT(*) FROM request_log WHERE key = %s", (key,)).fetchone()[0] >= limit:
                return False
            conn.execute("INSERT INTO request_log (key, at) VALUES (%s, %s)", (key, stamp(now)))
        return True

    # Whole tables, for `publisher store copy` (maintenance.py); names come from its TABLES, never from input

    def export_rows(self, table: Table, after: object, limit: int) -> list[tuple]:
        """Up to `limit` rows of `table` in key order (text in byte order, as SQLite sorts it), after `after`;
        every row of a table without a key."""
        if table.key is None:
            return self._rows(f"SELECT {', '.join(table.columns)} FROM {table.name}")
        key = table.key if table.key == "id" else f'{table.key} COLLATE "C"'
        cast = "bigint" if table.key == "id" else "text"
        return self._rows(f"SELECT {', '.join(table.columns)} FROM {table.name}"
                          f" WHERE %(after)s::{cast} IS NULL OR {key} > %(after)s ORDER BY {key} LIMIT %(limit)s",
                          {"after": after, "limit": limit})

    def import_rows(self, table: Table, rows: list[tuple]) -> int:
        """Add the rows the table does not hold yet, in one transaction, moving the table's id sequence past
        them so that rows made later get new ids; returns how many were added."""
        marks = ", ".join(["%s"] * len(table.columns))
        with self._write() as conn:
            cursor = conn.cursor()
            cursor.executemany(f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks})"
                               " ON CONFLICT DO NOTHING", rows)
            if table.key == "id":
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                             f" (SELECT MAX(id) FROM {table.name}))")
            return cursor.rowcount

    def last_key(self, table: Table) -> object:
        """The highest id the table holds (a copy resumes after it); None for a table keyed by text or empty."""
        return self._rows(f"SELECT MAX(id) FROM {table.name}")[0][0] if table.key == "id" else None

    def count_rows(self, table: str) -> int:
        return self._rows(f"SELECT COUNT(*) FROM {table}")[0][0]

    def count_by(self, table: str, column: str) -> dict[str, int]:
        return dict(self._rows(f"SELECT {column}, COUNT(*) FROM {table} GROUP BY {column}"))
