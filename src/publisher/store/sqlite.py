"""The SQLite store: one database file, opened with `open_sqlite`, and the site's sending lock beside it.

The store is one class built from one part per group of tables (subscribers, then campaigns and deliveries,
then feedback on deliveries, then click counts, then posts and settings here), each part in its own module,
so that each stays short and every part shares the one connection and its transactions (a delivery recorded
and the next one claimed commit together).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import Busy, ConfigError
from .maintenance import Table
from .migrations import migrate, migration_due, schema_version
from .records import POST_STATES, Moment, PublishedPost, check_value
from .sqlite_connection import BUSY_TIMEOUT_SECONDS, database_errors, stamp
from .sqlite_clicks import SqliteClicks


def open_sqlite(path: Path, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> SqliteStore:
    """Open (creating the file, not its folder, if needed) the database at `path`, bringing its schema up to
    date if it is behind; ConfigError when `path` cannot be a database file. A write waits up to
    `busy_timeout` seconds for another process's; after that it fails with DatabaseBusy. A database already
    up to date is opened without writing, so reading it never waits for a writer."""
    check_database_path(path)
    with database_errors(path, busy_timeout):
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    try:
        with database_errors(path, busy_timeout):
            _prepare(conn, busy_timeout)
    except BaseException:
        conn.close()
        raise
    return SqliteStore(conn, path, busy_timeout)


def _prepare(conn: sqlite3.Connection, busy_timeout: float) -> None:
    """Set the connection's pragmas and migrate the schema if it is behind (refusing one that is ahead)."""
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    due = migration_due(conn)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    if due:
        migrate(conn)  # before foreign keys are on: a migration may rebuild a table others refer to
    conn.execute("PRAGMA foreign_keys = ON")


def check_database_path(path: Path) -> None:
    """ConfigError naming the `[database] path` setting when `path` is a folder or lies in a folder that does not
    exist: a mistyped path must not quietly start an empty list of subscribers somewhere else."""
    if path.is_dir():
        raise ConfigError(f"[database] path: {path} is a folder; name a file in it, such as {path / 'publisher.db'}")
    if not path.parent.is_dir():
        raise ConfigError(f"[database] path: the folder {path.parent} does not exist; create it "
                          f"(mkdir -p {path.parent}) or correct the path in publisher.toml")


class SqliteStore(SqliteClicks):
    """The Store protocol over one SQLite file. Build it with `open_sqlite`; close it (or use `with`) when done."""

    @property
    def lock_path(self) -> Path:
        """The file whose lock is the site's sending lock: the database's name with `.lock` added."""
        return self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the sending lock for the block: an exclusive flock on `lock_path`, which the operating system
        drops when the process ends, however it ends, so a crash never leaves a stale lock behind. Busy at
        once when another process holds it."""
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Busy(f"another publisher process is sending for this site (it holds {self.lock_path})") from None
            yield
        finally:
            os.close(fd)

    @property
    def schema_version(self) -> int:
        with self._lock:
            return schema_version(self._conn)

    def check_writable(self) -> None:
        """Start a write and end it, writing nothing: DatabaseBusy when another process holds the database past
        the busy timeout, ConfigError when it cannot be written at all (a closed store included)."""
        try:
            with self._write():
                pass
        except sqlite3.Error as exc:
            raise ConfigError(f"[database] path: {self.path} cannot be written: {exc}") from None

    # Published posts (for `publisher publish`)

    def record_post(self, slug: str, state: str, *, post_id: str | None = None, now: Moment) -> None:
        """Remember that a post was archived (never to be mailed) or sent, and its id; an id once recorded is
        kept (it is what the post is known by whatever its slug becomes), and one recorded for another slug
        stays with that slug."""
        check_value(state, POST_STATES)
        with self._write() as conn:
            if post_id and conn.execute("SELECT 1 FROM published WHERE post_id = ?", (post_id,)).fetchone():
                post_id = None
            conn.execute("INSERT INTO published (slug, state, recorded_at, post_id) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT (slug) DO UPDATE SET state = excluded.state, recorded_at ="
                         " excluded.recorded_at, post_id = COALESCE(published.post_id, excluded.post_id)",
                         (slug, state, stamp(now), post_id))

    def published_posts(self) -> list[PublishedPost]:
        """Every post recorded as archived or sent, by slug."""
        rows = self._rows("SELECT slug, state, post_id FROM published ORDER BY slug")
        return [PublishedPost(row["slug"], row["state"], row["post_id"]) for row in rows]

    def move_post(self, slug: str, new_slug: str) -> bool:
        """Follow a post to its new slug: its record and its campaign (so `send NEW_SLUG` knows it was sent),
        unless something is recorded under the new slug already; returns whether it moved."""
        with self._write() as conn:
            taken = conn.execute("SELECT 1 FROM published WHERE slug = ?1 UNION ALL SELECT 1 FROM campaigns"
                                 " WHERE slug = ?1", (new_slug,)).fetchone()
            if taken:
                return False
            conn.execute("UPDATE published SET slug = ? WHERE slug = ?", (new_slug, slug))
            conn.execute("UPDATE campaigns SET slug = ? WHERE slug = ?", (new_slug, slug))
        return True

    # Settings the site keeps for itself

    def setting(self, name: str, make: Callable[[], str]) -> str:
        """The stored value of `name`, storing `make()` first if there is none (atomically, so every process
        sees the same value)."""
        with self._write() as conn:
            conn.execute("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                         (name, make()))
            return conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()[0]

    def has_setting(self, name: str) -> bool:
        return bool(self._rows("SELECT 1 FROM settings WHERE name = ?", (name,)))

    # Requests recorded for rate limits shared by every service process

    def allow_request(self, key: str, limit: int, window: float, *, now: Moment) -> bool:
        """Record a request under `key` if fewer than `limit` were recorded in the `window` seconds before `now`;
        returns whether it was. Requests older than the window are forgotten on the way."""
        cutoff = stamp(dt.datetime.fromisoformat(stamp(now)) - dt.timedelta(seconds=window))
        with self._write() as conn:
            conn.execute("DELETE FROM request_log WHERE at <= ?", (cutoff,))
            if conn.execute("SELECT COUNT(*) FROM request_log WHERE key = ?", (key,)).fetchone()[0] >= limit:
                return False
            conn.execute("INSERT INTO request_log (key, at) VALUES (?, ?)", (key, stamp(now)))
        return True

    # Whole tables, for `publisher store copy` (maintenance.py); names come from its TABLES, never from input

    def export_rows(self, table: Table, after: object, limit: int) -> list[tuple]:
        """Up to `limit` rows of `table` in key order, after the key `after` (None: from the first); every row of
        a table without a key."""
        if table.key is None:
            return [tuple(row) for row in self._rows(f"SELECT {', '.join(table.columns)} FROM {table.name}")]
        return [tuple(row) for row in self._rows(
            f"SELECT {', '.join(table.columns)} FROM {table.name} WHERE ?1 IS NULL OR {table.key} > ?1"
            f" ORDER BY {table.key} LIMIT ?2", (after, limit))]

    def import_rows(self, table: Table, rows: list[tuple]) -> int:
        """Add the rows the table does not hold yet, in one transaction; returns how many were added."""
        marks = ", ".join("?" * len(table.columns))
        with self._write() as conn:
            return conn.executemany(f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks})"
                                    " ON CONFLICT DO NOTHING", rows).rowcount

    def last_key(self, table: Table) -> object:
        """The highest id the table holds (a copy resumes after it); None for a table keyed by text or empty."""
        return self._rows(f"SELECT MAX(id) FROM {table.name}")[0][0] if table.key == "id" else None

    def count_rows(self, table: str) -> int:
        return self._rows(f"SELECT COUNT(*) FROM {table}")[0][0]

    def count_by(self, table: str, column: str) -> dict[str, int]:
        return dict(self._rows(f"SELECT {column}, COUNT(*) FROM {table} GROUP BY {column}"))
