"""Looking after a store as a whole: bringing its schema up to date (`publisher migrate`) and copying everything
in it to the other backend (`publisher store copy`), from SQLite into PostgreSQL when a list outgrows one
machine, or back.

A copy moves every table in the order their references need, a batch at a time, each batch committed in the
target; rows the target already has are left as they are, so a copy that was interrupted is finished by running
it again. It ends by counting: every table, and the subscribers and deliveries by status, must agree, or it
fails saying which differ. Rows in flight ('sending') are copied as they are, with no claim: the first sender
in the new store re-queues them as possible duplicates, as after any crash. Requests recorded for rate limits,
which matter for an hour, are not copied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

BATCH = 5_000


@dataclass(frozen=True)
class Table:
    """A table to copy: its columns, and the column it is read in order of (an integer `id`, or a text key); a
    small table keyed by two columns (None) is copied in one batch."""

    name: str
    columns: tuple[str, ...]
    key: str | None = "id"


TABLES = (
    Table("subscribers", ("id", "email", "email_key", "public_id", "name", "status", "source", "created_at",
                          "updated_at")),
    Table("campaigns", ("id", "slug", "subject", "status", "created_at", "finished_at")),
    Table("deliveries", ("id", "campaign_id", "subscriber_id", "status", "attempts", "next_attempt_at",
                         "last_reply", "message_id", "created_at", "updated_at", "possible_duplicate")),
    Table("consent_events", ("id", "subscriber_id", "kind", "how", "detail", "at", "recorded_at")),
    Table("feedback", ("id", "key", "kind", "subscriber_id", "delivery_id", "how", "detail", "at", "recorded_at")),
    Table("suppressions", ("address_hash", "reason", "recorded_at"), key="address_hash"),
    Table("published", ("slug", "state", "recorded_at", "post_id"), key="slug"),
    Table("settings", ("name", "value"), key="name"),
    Table("clicks", ("campaign_id", "link", "url", "count"), key=None),
    Table("webhook_calls", ("provider", "call_id", "at"), key=None),
)
NOT_COPIED = ("request_log",)  # an hour's requests, for rate limits


@dataclass(frozen=True)
class Copied:
    """One table copied: rows added to the target in this run, and the rows the source and target both hold."""

    table: str
    added: int
    total: int


def migrate_sqlite(path: Path, busy_timeout: float) -> tuple[int, int]:
    """Bring the SQLite file at `path` up to date (opening it does); returns the versions (before, after)."""
    import sqlite3

    from .sqlite import check_database_path, open_sqlite
    check_database_path(path)
    before = 0
    if path.exists():
        with sqlite3.connect(path) as conn:
            before = conn.execute("PRAGMA user_version").fetchone()[0]
    with open_sqlite(path, busy_timeout) as store:
        return before, store.schema_version


def migrate_postgres(url: str, password: str) -> tuple[int, int]:
    """Bring the PostgreSQL database at `url` up to date, with no sender running (Busy otherwise); returns the
    versions (before, after)."""
    from .postgres import open_postgres
    with open_postgres(url, password, check=False) as store:
        return store.migrate()


def copy_store(source, target, progress: Callable[[Copied], None]) -> list[Copied]:
    """Copy every table of `source` into `target` (both stores at the current schema), holding each store alone
    for the copy; ConfigError when the counts do not agree at the end."""
    with ExitStack() as held:
        held.enter_context(_alone(source))
        held.enter_context(_alone(target))
        copied = []
        for table in TABLES:
            added = sum(target.import_rows(table, rows) for rows in _batches(source, table, target.last_key(table)))
            copied.append(Copied(table.name, added, source.count_rows(table.name)))
            progress(copied[-1])
        _verify(source, target)
    return copied


@contextmanager
def _alone(store) -> Iterator[None]:
    """The store held against senders: PostgreSQL's site lock taken alone, SQLite's sending lock."""
    with (store.lock_alone() if hasattr(store, "lock_alone") else store.lock()):
        yield


def _batches(source, table: Table, after) -> Iterator[list[tuple]]:
    """The source's rows of `table` in key order after `after` (None: from the start), a batch at a time."""
    if table.key is None:
        if rows := source.export_rows(table, None, 0):
            yield rows
        return
    while rows := source.export_rows(table, after, BATCH):
        yield rows
        after = rows[-1][table.columns.index(table.key)]


def _verify(source, target) -> None:
    """ConfigError naming every count on which the two stores differ."""
    differ = [f"{name}: {mine} in the source, {theirs} in the target"
              for name, mine, theirs in _counts(source, target) if mine != theirs]
    if differ:
        raise ConfigError("the copy does not match its source (" + "; ".join(differ) + "); the target held other "
                          "rows before the copy: copy into an empty database")


def _counts(source, target) -> Iterator[tuple[str, int, int]]:
    for table in TABLES:
        yield table.name, source.count_rows(table.name), target.count_rows(table.name)
    for status, mine in source.count_subscribers().items():
        yield f"{status} subscribers", mine, target.count_subscribers()[status]
    for table, column in (("deliveries", "status"), ("campaigns", "status")):
        mine, theirs = source.count_by(table, column), target.count_by(table, column)
        for value in sorted(set(mine) | set(theirs)):
            yield f"{table} {value}", mine.get(value, 0), theirs.get(value, 0)
