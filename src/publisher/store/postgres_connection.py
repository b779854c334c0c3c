"""One PostgreSQL connection shared by the store's threads: connecting with the password from the environment,
short transactions, and PostgreSQL's errors as clear lines that never show the password.

Every write is one short transaction committed at once, as in SQLite, so a lost connection loses at most the
outcome that was being recorded. The connection is a session of its own in PostgreSQL; the claims it makes are
tied to that session (postgres_campaigns.py), so they end with it, however the process ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

from ..errors import ConfigError, DatabaseUnavailable

CONNECT_TIMEOUT_SECONDS = 10
# TCP keepalives on both ends: this side notices a dead server, and the server (told through the session's
# options) notices a sender whose machine vanished, ending its session and so its claims, within about a minute.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
              "options": "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3"}


def describe(url: str) -> str:
    """The URL as it may be shown: any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def connect(url: str, password: str = "") -> psycopg.Connection:
    """A connection in autocommit mode (transactions are opened explicitly); DatabaseUnavailable, naming the
    URL without its password, when the server cannot be reached or refuses the login."""
    options: dict = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, "application_name": "publisher", **KEEPALIVES}
    if password:
        options["password"] = password
    try:
        return psycopg.connect(url, autocommit=True, **options)
    except psycopg.Error as exc:
        raise DatabaseUnavailable(f"[database] url: cannot connect to {describe(url)}: {_reason(exc, password)}; "
                                  f"{_fix(exc)}") from None


def _reason(exc: BaseException, password: str) -> str:
    """libpq's reason, on one line, with the password scrubbed should it ever appear in it."""
    text = " ".join(str(exc).split()).removeprefix("connection failed: ")
    return text.replace(password, "***") if password else text


def _fix(exc: BaseException) -> str:
    text = str(exc)
    if "password authentication failed" in text or "no password supplied" in text:
        return "set PUBLISHER_DATABASE_PASSWORD (or PGPASSWORD, or ~/.pgpass) to the database user's password"
    if "does not exist" in text:
        return "create the database (createdb) or correct the URL"
    return "check that the server is running and that the URL names it"


class PostgresConnection:
    """The connection, used under a lock so that the store is safe to share between threads."""

    def __init__(self, conn: psycopg.Connection, url: str):
        self._conn = conn
        self._lock = threading.RLock()
        self.where = describe(url)

    def __enter__(self) -> PostgresConnection:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[psycopg.Connection]:
        """One transaction, committed when the block ends, rolled back if it raises."""
        with self._lock, lost_connection(self.where), self._conn.transaction():
            yield self._conn

    def _execute(self, sql: str, args: tuple | Mapping = ()) -> int:
        """One statement that writes, committed on its own (one round trip to the server); how many rows it changed."""
        with self._lock, lost_connection(self.where):
            return self._conn.execute(sql, args).rowcount

    def _rows(self, sql: str, args: tuple | Mapping = ()) -> list[tuple]:
        with self._lock, lost_connection(self.where):
            return self._conn.execute(sql, args).fetchall()

    def _records(self, sql: str, args: tuple | Mapping = ()) -> list[dict]:
        """Rows as dictionaries by column name (of a statement that writes too, committed on its own)."""
        with self._lock, lost_connection(self.where):
            return self._conn.cursor(row_factory=dict_row).execute(sql, args).fetchall()


@contextmanager
def lost_connection(where: str) -> Iterator[None]:
    """A connection lost or a server gone (restarted, shut down, unreachable) as DatabaseUnavailable: the command
    stops with one line, and whatever was in flight stays as a rerun will find it."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        if not _connection_gone(exc):
            raise
        raise DatabaseUnavailable(f"[database] url: lost the connection to {where}: {_reason(exc, '')}; "
                                  "everything recorded so far is kept: run the command again when the server "
                                  "is back") from None


def _connection_gone(exc: psycopg.Error) -> bool:
    """Whether the error says the connection is gone: no SQL state (the client lost it), a connection exception
    (class 08), or the server shutting it down (class 57); not a deadlock or serialization failure, which are
    operational errors too."""
    return exc.sqlstate is None or exc.sqlstate[:2] in ("08", "57")


def check_url(url: str, setting: str) -> None:
    """ConfigError for a URL that is not a PostgreSQL one."""
    if urlsplit(url).scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"{setting}: {describe(url)} is not a PostgreSQL URL; write postgresql://user@host/database")
