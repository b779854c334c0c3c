"""Where subscribers, campaigns and deliveries are kept: the `Store` protocol, its records, and `open_store`,
which opens the database publisher.toml's `[database]` names. Outside this package nothing knows which
database that is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import ConfigError

from .base import Store
from .maintenance import Copied
from .records import (
    CONTROL_CHARACTERS,
    DELIVERY_STATUSES,
    FEEDBACK_KINDS,
    POST_STATES,
    SUBSCRIBER_STATUSES,
    SUPPRESSED_STATUSES,
    Campaign,
    Delivery,
    ConsentEvent,
    ConsentSummary,
    DeliveryCounts,
    FeedbackOutcome,
    ImportOutcome,
    Moment,
    NewSubscriber,
    PublishedPost,
    Subscriber,
    fold_email,
    normalize_email,
    strictness,
)

if TYPE_CHECKING:
    from ..config import Config
    from .postgres import PostgresStore
    from .sqlite import SqliteStore

__all__ = [
    "CONTROL_CHARACTERS",
    "Campaign",
    "Copied",
    "ConsentEvent",
    "ConsentSummary",
    "DELIVERY_STATUSES",
    "Delivery",
    "DeliveryCounts",
    "FEEDBACK_KINDS",
    "FeedbackOutcome",
    "ImportOutcome",
    "Moment",
    "NewSubscriber",
    "POST_STATES",
    "PublishedPost",
    "SUBSCRIBER_STATUSES",
    "SUPPRESSED_STATUSES",
    "Store",
    "Subscriber",
    "copy_database",
    "fold_email",
    "migrate_database",
    "normalize_email",
    "open_postgres",
    "open_sqlite",
    "open_store",
    "strictness",
]


def open_store(config: Config) -> Store:
    """The site's store, to use in a `with` block. `[database]` names it: a PostgreSQL database (`url`, or
    PUBLISHER_DATABASE_URL), whose schema must be current (ConfigError: run `publisher migrate`); else the SQLite
    file at `path`, brought up to date as it opens, whose writes wait up to `busy_timeout` seconds for another
    process's."""
    if config.database_url:
        return open_postgres(config)
    database = config.database
    return open_sqlite(config.path(database.path), database.busy_timeout)


def open_postgres(config: Config, *, check: bool = True) -> PostgresStore:
    """The site's PostgreSQL store (psycopg is loaded only here, so a site on SQLite never pays for it)."""
    from .postgres import open_postgres as connect
    from .postgres_connection import check_url
    setting = "PUBLISHER_DATABASE_URL" if config.secrets.database_url else "[database] url"
    check_url(config.database_url, setting)
    return connect(config.database_url, config.secrets.database_password, check=check)


def open_sqlite(path, busy_timeout: float | None = None) -> SqliteStore:
    """The SQLite store in the file at `path` (loaded on first use, so `publisher --help` does not pay for it)."""
    from .sqlite import open_sqlite as open_file
    return open_file(path) if busy_timeout is None else open_file(path, busy_timeout)


def migrate_database(config: Config) -> tuple[int, int]:
    """Bring the site's database up to the current schema (`publisher migrate`); returns the schema versions
    (before, after). For PostgreSQL, Busy while senders are running."""
    from .maintenance import migrate_postgres, migrate_sqlite
    if config.database_url:
        open_postgres(config, check=False).close()  # the URL is checked and the server reached first
        return migrate_postgres(config.database_url, config.secrets.database_password)
    return migrate_sqlite(config.path(config.database.path), config.database.busy_timeout)


def copy_database(config: Config, target: str, progress: Callable[[Copied], None]) -> list[Copied]:
    """Copy everything in the site's database into `target`, a PostgreSQL URL (its password from the
    environment; the schema made current first) or an SQLite file; see maintenance.py."""
    from .maintenance import copy_store, migrate_postgres
    from .postgres import open_postgres as connect
    from .postgres_connection import check_url, describe
    with open_store(config) as source:
        if "://" not in target:
            with open_sqlite(Path(target).resolve(), config.database.busy_timeout) as copy:
                return copy_store(source, copy, progress)
        check_url(target, "--to")
        if urlsplit(target).password is not None:
            raise ConfigError(f"--to: {describe(target)} holds a password, which would be seen in the process list "
                              "and the shell's history; set PUBLISHER_DATABASE_PASSWORD (or PGPASSWORD) instead")
        migrate_postgres(target, config.secrets.database_password)
        with connect(target, config.secrets.database_password) as copy:
            return copy_store(source, copy, progress)
