"""One SQLite connection shared by the store's threads: short write transactions, SQLite's errors as clear
ones, and times as text.

Every write is a short `BEGIN IMMEDIATE` transaction committed at once, so a crash loses at most the outcome
that was being recorded. Times are stored as UTC ISO text of a fixed width, so that comparing the text
compares the times.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError, DatabaseBusy
from .records import read_time, stamp  # noqa: F401  (the stored form of times, shared by every backend)

BUSY_TIMEOUT_SECONDS = 10.0


class SqliteConnection:
    """The connection, used under a lock so that the store is safe to share between threads."""

    def __init__(self, conn: sqlite3.Connection, path: Path, busy_timeout: float = BUSY_TIMEOUT_SECONDS):
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        self.busy_timeout = busy_timeout

    def __enter__(self) -> SqliteConnection:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            with database_errors(self.path, self.busy_timeout):
                self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _rows(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()


@contextmanager
def database_errors(path: Path, timeout: float) -> Iterator[None]:
    """SQLite's 'database is locked', which comes once the busy timeout has passed, as DatabaseBusy; a file
    that cannot serve as the database (not one, damaged, unreadable, read-only, disk full) as one clear line."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise DatabaseBusy(path, timeout) from None
        if code in _UNUSABLE:
            raise ConfigError(f"[database] path: {path} cannot be used: {exc}; {_UNUSABLE[code]}") from None
        raise


_UNUSABLE = {
    sqlite3.SQLITE_NOTADB: "it is not a publisher database: point the setting at the right file",
    sqlite3.SQLITE_CORRUPT: "restore it from a backup",
    sqlite3.SQLITE_CANTOPEN: "check that the file and its folder can be read and written by this user",
    sqlite3.SQLITE_PERM: "check that the file and its folder can be read and written by this user",
    sqlite3.SQLITE_READONLY: "check that the file and its folder can be written by this user",
    sqlite3.SQLITE_IOERR: "check the disk it is on",
    sqlite3.SQLITE_FULL: "free some disk space and run the command again",
}
