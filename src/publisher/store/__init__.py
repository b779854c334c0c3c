"""Where subscribers, campaigns and deliveries are kept: the `Store` protocol, its records, and `open_store`,
which opens the database publisher.toml's `[database]` names. Outside this package nothing knows which
database that is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Store
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
    from .sqlite import SqliteStore

__all__ = [
    "CONTROL_CHARACTERS",
    "Campaign",
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
    "fold_email",
    "normalize_email",
    "open_sqlite",
    "open_store",
    "strictness",
]


def open_store(config: Config) -> Store:
    """The site's store, its schema brought up to date, to use in a `with` block. `[database]` names it: today
    an SQLite file (`path`), whose writes wait up to `busy_timeout` seconds for another process's."""
    database = config.database
    return open_sqlite(config.path(database.path), database.busy_timeout)


def open_sqlite(path, busy_timeout: float | None = None) -> SqliteStore:
    """The SQLite store in the file at `path` (loaded on first use, so `publisher --help` does not pay for it)."""
    from .sqlite import open_sqlite as open_file
    return open_file(path) if busy_timeout is None else open_file(path, busy_timeout)
