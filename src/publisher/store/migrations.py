"""The SQLite schema as numbered migrations, and bringing a database file up to the newest one. Each has its
PostgreSQL twin at the same number in postgres_schema.py, so a schema version means the same in both backends.

A database records how many migrations it has seen in `PRAGMA user_version`. Opening reads that number first
and takes the write lock only when a migration is due, so a command that only reads never waits for a writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ..errors import ConfigError
from .records import CONTROL_CHARACTERS, fold_email, strictness

Migration = str | Callable[[sqlite3.Connection], None]


def _one_subscriber_per_mailbox(conn: sqlite3.Connection) -> None:
    """Migration: addresses are compared ignoring case (`email_key`, unique), so one mailbox is one subscriber.

    Rows whose addresses differ only in case are merged into one, never making anyone more mailable than their
    own confirmation made them: unsubscribed wins, then bounced, then active (the mailbox confirmed once; a
    later unconfirmed sign-up withdraws nothing), then pending. The merged subscriber keeps the address,
    source and last change of the row that had that status; the earliest sign-up time; and a name, if any row had one. Where two rows had
    deliveries in the same campaign, the one furthest along is kept (sent, sending, queued, failed, skipped),
    so no one is mailed a post they were already sent. Line breaks and control characters in names, which
    are refused now, become spaces.
    """
    conn.execute("ALTER TABLE subscribers ADD COLUMN email_key TEXT NOT NULL DEFAULT ''")
    mailboxes: dict[str, list[sqlite3.Row]] = {}
    for row in conn.execute("SELECT id, email, name, status, created_at FROM subscribers ORDER BY id"):
        mailboxes.setdefault(fold_email(row["email"]), []).append(row)
    for key, rows in mailboxes.items():
        keeper = max(rows, key=lambda row: (strictness(row["status"]), -row["id"]))
        for row in rows:
            if row["id"] != keeper["id"]:
                _move_deliveries(conn, row["id"], keeper["id"])
                conn.execute("DELETE FROM subscribers WHERE id = ?", (row["id"],))
        name = keeper["name"] or next((row["name"] for row in rows if row["name"]), "")
        conn.execute("UPDATE subscribers SET email_key = ?, name = ?, created_at = ? WHERE id = ?",
                     (key, " ".join(CONTROL_CHARACTERS.sub(" ", name).split()), min(row["created_at"] for row in rows),
                      keeper["id"]))
    conn.execute("CREATE UNIQUE INDEX subscribers_email_key ON subscribers (email_key)")


def _consent_schema(conn: sqlite3.Connection) -> None:
    """Migration: consent is recorded and kept.

    Subscribers gain an opaque `public_id` (what links carry instead of the address) and the status
    `complained`; the table is rebuilt for the new CHECK, dropping the old case-sensitive UNIQUE on `email`
    (`email_key` is the one rule). `consent_events` is each subscriber's append-only history; `suppressions`
    keeps keyed hashes of forgotten addresses, so no later import mails them; `published` gains the post's
    stable id. Runs with foreign keys off (SQLite's documented way to rebuild a table) and checks them after.
    """
    conn.execute("""
        CREATE TABLE subscribers_new (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL,
            email_key TEXT NOT NULL UNIQUE,
            public_id TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL
                CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced', 'complained')),
            source TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    conn.execute("INSERT INTO subscribers_new (id, email, email_key, public_id, name, status, source, created_at,"
                 " updated_at) SELECT id, email, email_key, lower(hex(randomblob(16))), name, status, source,"
                 " created_at, updated_at FROM subscribers")
    conn.execute("DROP TABLE subscribers")
    conn.execute("ALTER TABLE subscribers_new RENAME TO subscribers")
    conn.execute("CREATE INDEX subscribers_status ON subscribers (status)")
    conn.execute("""
        CREATE TABLE consent_events (
            id INTEGER PRIMARY KEY,
            subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('subscribed', 'confirmed', 'unsubscribed', 'bounced',
                                               'complained', 'invited')),
            how TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX consent_events_subscriber ON consent_events (subscriber_id, id)")
    conn.execute("""
        CREATE TABLE suppressions (
            address_hash TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        )""")
    conn.execute("ALTER TABLE published ADD COLUMN post_id TEXT")
    conn.execute("CREATE UNIQUE INDEX published_post_id ON published (post_id) WHERE post_id IS NOT NULL")
    _check_references(conn)


def _numbers_never_reused(conn: sqlite3.Connection) -> None:
    """Migration: a subscriber's or a delivery's number is never given to anyone else.

    The tags of return addresses name a delivery, or a subscriber's unsubscribe address, by number. SQLite
    hands out the largest number again once its row is deleted, so after `forget` erased the newest subscriber
    (or the last delivery), a late bounce or emailed unsubscribe meant for them would have reached whoever was
    added next. Both tables are rebuilt with AUTOINCREMENT, which never hands a number out twice; foreign keys
    are off meanwhile (SQLite's documented way to rebuild a table) and checked after.
    """
    for table in ("subscribers", "deliveries"):
        definition = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                  (table,)).fetchone()[0]
        indexes = [row[0] for row in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND "
                                                  "tbl_name = ? AND sql IS NOT NULL", (table,))]
        columns = ", ".join(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))
        body = definition[definition.index("("):].replace("id INTEGER PRIMARY KEY,",
                                                          "id INTEGER PRIMARY KEY AUTOINCREMENT,", 1)
        conn.execute(f"CREATE TABLE {table}_new {body}")
        conn.execute(f"INSERT INTO {table}_new ({columns}) SELECT {columns} FROM {table}")
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE {table}_new RENAME TO {table}")
        for index in indexes:
            conn.execute(index)
    _check_references(conn)


def _check_references(conn: sqlite3.Connection) -> None:
    """ConfigError, rolling the migration back, when a row refers to a record that does not exist."""
    broken = conn.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise ConfigError(f"[database] path: {len(broken)} rows refer to records that do not exist; "
                          "restore the database from a backup")


MIGRATIONS: tuple[Migration, ...] = (
    """
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced')),
        source TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE campaigns (
        id INTEGER PRIMARY KEY,
        slug TEXT NOT NULL UNIQUE,
        subject TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('sending', 'done')),
        created_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
        status TEXT NOT NULL
            CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_reply TEXT NOT NULL DEFAULT '',
        message_id TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (campaign_id, subscriber_id)
    );
    CREATE INDEX deliveries_due ON deliveries (campaign_id, status, next_attempt_at);
    CREATE TABLE published (
        slug TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('archived', 'sent')),
        recorded_at TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    _one_subscriber_per_mailbox,
    """
    ALTER TABLE deliveries ADD COLUMN possible_duplicate INTEGER NOT NULL DEFAULT 0;
    """,
    _consent_schema,
    """
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('hard_bounce', 'soft_bounce', 'complaint', 'unsubscribe')),
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        delivery_id INTEGER REFERENCES deliveries (id) ON DELETE SET NULL,
        how TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        UNIQUE (key, kind, subscriber_id)
    );
    CREATE INDEX feedback_delivery ON feedback (delivery_id, kind);
    CREATE INDEX deliveries_message_id ON deliveries (message_id) WHERE message_id != '';
    """,
    """
    CREATE TABLE clicks (
        campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
        link INTEGER NOT NULL,
        url TEXT NOT NULL,
        count INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (campaign_id, link),
        UNIQUE (campaign_id, url)
    );
    CREATE TABLE webhook_calls (
        provider TEXT NOT NULL,
        call_id TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (provider, call_id)
    );
    CREATE INDEX webhook_calls_at ON webhook_calls (provider, at);
    """,
    """
    ALTER TABLE deliveries ADD COLUMN claimed_by INTEGER;
    CREATE TABLE request_log (
        key TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX request_log_key ON request_log (key, at);
    CREATE INDEX request_log_at ON request_log (at);
    """,
    _numbers_never_reused,
)
_DELIVERY_PROGRESS = ("skipped", "failed", "queued", "sending", "sent")


def schema_version(conn: sqlite3.Connection) -> int:
    """How many migrations this database has seen; reading it takes no lock."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migration_due(conn: sqlite3.Connection) -> bool:
    """Whether the database lacks migrations this publisher knows; ConfigError, before anything is written,
    for a database a newer publisher has migrated further."""
    version = schema_version(conn)
    if version > len(MIGRATIONS):
        raise ConfigError(f"[database] path: this database was last used by a newer publisher (schema version "
                          f"{version}; this one knows {len(MIGRATIONS)}); upgrade publisher before using it")
    return version < len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations this database has not seen yet, with their version bumps, in one transaction. The
    version is read again under the write lock: another process may have migrated it meanwhile."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if migration_due(conn):
            for migration in MIGRATIONS[schema_version(conn):]:
                _apply(conn, migration)
            conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _apply(conn: sqlite3.Connection, migration: Migration) -> None:
    """Run one migration: its SQL statements in order, or its function, which gets the connection."""
    if callable(migration):
        migration(conn)
        return
    for statement in filter(str.strip, migration.split(";")):
        conn.execute(statement)


def _move_deliveries(conn: sqlite3.Connection, source: int, target: int) -> None:
    """Give subscriber `source`'s deliveries to `target`; of two in one campaign, keep the one further along."""
    rank = _DELIVERY_PROGRESS.index
    for moving in conn.execute("SELECT id, campaign_id, status FROM deliveries WHERE subscriber_id = ?",
                               (source,)).fetchall():
        staying = conn.execute("SELECT id, status FROM deliveries WHERE subscriber_id = ? AND campaign_id = ?",
                               (target, moving["campaign_id"])).fetchone()
        if staying is not None and rank(staying["status"]) >= rank(moving["status"]):
            conn.execute("DELETE FROM deliveries WHERE id = ?", (moving["id"],))
            continue
        if staying is not None:
            conn.execute("DELETE FROM deliveries WHERE id = ?", (staying["id"],))
        conn.execute("UPDATE deliveries SET subscriber_id = ? WHERE id = ?", (target, moving["id"]))
