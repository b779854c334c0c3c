"""The SQLite database: schema and migrations, subscribers, campaigns, deliveries and published posts.

Every write is a short `BEGIN IMMEDIATE` transaction committed at once, so a crash loses at most the
outcome that was being recorded. Time is always passed in (aware datetimes or ISO strings), never read
here, and stored as UTC ISO text of a fixed width so that comparing the text compares the times.
The store is safe to share between threads: one connection, used under a lock. An address is kept as given
(domain lower-cased) for sending, and compared ignoring case: one mailbox is one subscriber.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, DatabaseBusy

SUBSCRIBER_STATUSES = ("pending", "active", "unsubscribed", "bounced")
DELIVERY_STATUSES = ("queued", "sending", "sent", "failed", "skipped")
POST_STATES = ("archived", "sent")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
BUSY_TIMEOUT_SECONDS = 10.0

Moment = dt.datetime | str


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
        keeper = max(rows, key=lambda row: (_restriction(row["status"]), -row["id"]))
        for row in rows:
            if row["id"] != keeper["id"]:
                _move_deliveries(conn, row["id"], keeper["id"])
                conn.execute("DELETE FROM subscribers WHERE id = ?", (row["id"],))
        name = keeper["name"] or next((row["name"] for row in rows if row["name"]), "")
        conn.execute("UPDATE subscribers SET email_key = ?, name = ?, created_at = ? WHERE id = ?",
                     (key, " ".join(CONTROL_CHARACTERS.sub(" ", name).split()), min(row["created_at"] for row in rows),
                      keeper["id"]))
    conn.execute("CREATE UNIQUE INDEX subscribers_email_key ON subscribers (email_key)")


MIGRATIONS: tuple[str | Callable[[sqlite3.Connection], None], ...] = (
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
)
_MERGE_RESTRICTION = ("pending", "active", "bounced", "unsubscribed")
_DELIVERY_PROGRESS = ("skipped", "failed", "queued", "sending", "sent")


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    name: str
    status: str
    source: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class NewSubscriber:
    """A subscriber to add, e.g. one row of an imported CSV (created_at None means 'now')."""

    email: str
    name: str = ""
    status: str = "active"
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class Campaign:
    id: int
    slug: str
    subject: str
    status: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(frozen=True)
class Delivery:
    id: int
    campaign_id: int
    subscriber: Subscriber
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_reply: str
    message_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    possible_duplicate: bool = False  # it may have reached the reader before it was sent again


@dataclass(frozen=True)
class DeliveryCounts:
    queued: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.queued + self.sending + self.sent + self.failed + self.skipped

    @property
    def unfinished(self) -> int:
        return self.queued + self.sending


def normalize_email(email: str) -> str:
    """The address as stored: trimmed, domain lower-cased, local part as given ('Bo@EX.com' -> 'Bo@ex.com')."""
    local, _, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def fold_email(email: str) -> str:
    """The address as compared: one mailbox whatever the case it is written in ('Bo@EX.com' -> 'bo@ex.com')."""
    return normalize_email(email).lower()


def stamp(when: Moment) -> str:
    """An aware datetime or ISO string as fixed-width UTC ISO text; naive times are refused."""
    moment = dt.datetime.fromisoformat(when) if isinstance(when, str) else when
    if moment.tzinfo is None:
        raise ValueError(f"time {when!r} has no time zone; pass an aware datetime such as datetime.now(UTC)")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def open_store(path: Path, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> Store:
    """Open (creating the file, not its folder, if needed) the database at `path` and bring its schema up to
    date; ConfigError when `path` cannot be a database file. A write waits up to `busy_timeout` seconds for
    another process's; after that it fails with DatabaseBusy."""
    check_database_path(path)
    with _database_errors(path, busy_timeout):
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    try:
        with _database_errors(path, busy_timeout):
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            _refuse_newer_schema(conn)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            _migrate(conn)
    except BaseException:
        conn.close()
        raise
    return Store(conn, path, busy_timeout)


@contextmanager
def _database_errors(path: Path, timeout: float) -> Iterator[None]:
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


def check_database_path(path: Path) -> None:
    """ConfigError naming the `[database] path` setting when `path` is a folder or lies in a folder that does not
    exist: a mistyped path must not quietly start an empty list of subscribers somewhere else."""
    if path.is_dir():
        raise ConfigError(f"[database] path: {path} is a folder; name a file in it, such as {path / 'publisher.db'}")
    if not path.parent.is_dir():
        raise ConfigError(f"[database] path: the folder {path.parent} does not exist; create it "
                          f"(mkdir -p {path.parent}) or correct the path in publisher.toml")


def _refuse_newer_schema(conn: sqlite3.Connection) -> None:
    """ConfigError, before anything is written, for a database a newer publisher has migrated further."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise ConfigError(f"[database] path: this database was last used by a newer publisher (schema version "
                          f"{version}; this one knows {len(MIGRATIONS)}); upgrade publisher before using it")


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply the migrations this database has not seen yet, with their version bumps, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for migration in MIGRATIONS[version:]:
            _apply(conn, migration)
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _apply(conn: sqlite3.Connection, migration: str | Callable[[sqlite3.Connection], None]) -> None:
    """Run one migration: its SQL statements in order, or its function, which gets the connection."""
    if callable(migration):
        migration(conn)
        return
    for statement in filter(str.strip, migration.split(";")):
        conn.execute(statement)


def _restriction(status: str) -> int:
    """How much a status holds mail back, for merging: a status this list does not know holds back most."""
    return _MERGE_RESTRICTION.index(status) if status in _MERGE_RESTRICTION else len(_MERGE_RESTRICTION)


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


_SUBSCRIBER_COLUMNS = "s.id, s.email, s.name, s.status, s.source, s.created_at, s.updated_at"
_DELIVERY_SELECT = f"""
    SELECT d.id AS d_id, d.campaign_id, d.status AS d_status, d.attempts, d.next_attempt_at, d.last_reply,
           d.message_id, d.created_at AS d_created_at, d.updated_at AS d_updated_at, d.possible_duplicate,
           {_SUBSCRIBER_COLUMNS}
    FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
"""


class Store:
    """Typed access to the database. Build it with `open_store`; close it (or use `with`) when done."""

    def __init__(self, conn: sqlite3.Connection, path: Path, busy_timeout: float = BUSY_TIMEOUT_SECONDS):
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        self.busy_timeout = busy_timeout

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @property
    def schema_version(self) -> int:
        return self._rows("PRAGMA user_version")[0][0]

    def check_writable(self) -> None:
        """Start a write and end it, writing nothing: DatabaseBusy when another process holds the database past
        the busy timeout, sqlite3.Error when it cannot be written at all."""
        with self._write():
            pass

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            with _database_errors(self.path, self.busy_timeout):
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

    # Subscribers

    def add_subscriber(self, email: str, name: str = "", status: str = "active", source: str = "",
                       *, now: Moment) -> tuple[Subscriber, bool]:
        """Add one subscriber unless the address is already known; returns (subscriber, whether it was added)."""
        added = self.add_subscribers([NewSubscriber(email, name, status)], source, now=now)
        return self.get_subscriber(email), bool(added)

    def add_subscribers(self, entries: Iterable[NewSubscriber], source: str, *, now: Moment) -> int:
        """Add every new address in one transaction, leaving known ones untouched; returns how many were added."""
        added = 0
        with self._write() as conn:
            for entry in entries:
                _check(entry.status, SUBSCRIBER_STATUSES)
                created = stamp(entry.created_at or now)
                added += conn.execute(
                    "INSERT INTO subscribers (email, email_key, name, status, source, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (normalize_email(entry.email), fold_email(entry.email), entry.name, entry.status, source,
                     created, stamp(now)),
                ).rowcount
        return added

    def get_subscriber(self, email: str) -> Subscriber | None:
        rows = self._rows(f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers s WHERE email_key = ?",
                          (fold_email(email),))
        return _subscriber(rows[0]) if rows else None

    def set_subscriber_status(self, email: str, status: str, *, now: Moment) -> Subscriber | None:
        """Change a subscriber's status; None when the address is unknown."""
        _check(status, SUBSCRIBER_STATUSES)
        with self._write() as conn:
            conn.execute("UPDATE subscribers SET status = ?, updated_at = ? WHERE email_key = ?",
                         (status, stamp(now), fold_email(email)))
        return self.get_subscriber(email)

    def list_subscribers(self, status: str | None = None) -> list[Subscriber]:
        """Subscribers in the order they were added, optionally only those with one status."""
        if status is not None:
            _check(status, SUBSCRIBER_STATUSES)
        rows = self._rows(f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers s WHERE ?1 IS NULL OR status = ?1"
                          " ORDER BY id", (status,))
        return [_subscriber(row) for row in rows]

    def count_subscribers(self) -> dict[str, int]:
        """How many subscribers have each status (every status present, zero included)."""
        counts = dict.fromkeys(SUBSCRIBER_STATUSES, 0)
        counts.update(self._rows("SELECT status, COUNT(*) FROM subscribers GROUP BY status"))
        return counts

    def request_subscription(self, email: str, name: str = "", *, now: Moment) -> Subscriber:
        """A sign-up from the web form: a new address becomes pending, as does one that had unsubscribed or
        bounced (taking the new name, if given); a pending or active subscriber stays as they are."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO subscribers (email, email_key, name, status, source, created_at, updated_at)"
                " VALUES (?1, ?4, ?2, 'pending', 'web', ?3, ?3) ON CONFLICT (email_key) DO UPDATE SET status = 'pending',"
                " name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END,"
                " updated_at = excluded.updated_at WHERE status IN ('unsubscribed', 'bounced')",
                (normalize_email(email), name, stamp(now), fold_email(email)))
        return self.get_subscriber(email)

    def confirm_subscriber(self, email: str, pending_by: Moment, *, now: Moment) -> bool:
        """Activate a subscriber who has been pending since `pending_by` or earlier (a confirm link made before
        they last unsubscribed confirms nothing). True only for the one call that activated them."""
        with self._write() as conn:
            return bool(conn.execute(
                "UPDATE subscribers SET status = 'active', updated_at = ? WHERE email_key = ? AND status = 'pending'"
                " AND updated_at <= ?", (stamp(now), fold_email(email), stamp(pending_by))).rowcount)

    def unsubscribe(self, email: str, *, now: Moment) -> bool:
        """Unsubscribe an active or pending subscriber; returns whether anything changed."""
        with self._write() as conn:
            return bool(conn.execute(
                "UPDATE subscribers SET status = 'unsubscribed', updated_at = ? WHERE email_key = ?"
                " AND status IN ('active', 'pending')", (stamp(now), fold_email(email))).rowcount)

    # Campaigns

    def create_campaign(self, slug: str, subject: str, *, now: Moment) -> Campaign:
        """The campaign for a post, queuing one delivery per active subscriber; the existing one if already made."""
        with self._write() as conn:
            if not conn.execute("SELECT 1 FROM campaigns WHERE slug = ?", (slug,)).fetchone():
                cursor = conn.execute(
                    "INSERT INTO campaigns (slug, subject, status, created_at) VALUES (?, ?, 'sending', ?)",
                    (slug, subject, stamp(now)))
                conn.execute(
                    "INSERT INTO deliveries (campaign_id, subscriber_id, status, next_attempt_at,"
                    " created_at, updated_at) SELECT ?1, id, 'queued', ?2, ?2, ?2 FROM subscribers"
                    " WHERE status = 'active' ORDER BY id", (cursor.lastrowid, stamp(now)))
        return self.get_campaign(slug)

    def get_campaign(self, slug: str) -> Campaign | None:
        rows = self._rows("SELECT * FROM campaigns WHERE slug = ?", (slug,))
        return _campaign(rows[0]) if rows else None

    def list_campaigns(self) -> list[Campaign]:
        """Every campaign, newest first."""
        return [_campaign(row) for row in self._rows("SELECT * FROM campaigns ORDER BY created_at DESC, id DESC")]

    def delivery_counts(self, campaign_id: int) -> DeliveryCounts:
        rows = self._rows("SELECT status, COUNT(*) FROM deliveries WHERE campaign_id = ? GROUP BY status",
                          (campaign_id,))
        return DeliveryCounts(**dict(rows))

    def list_deliveries(self, campaign_id: int, status: str | None = None) -> list[Delivery]:
        rows = self._rows(f"{_DELIVERY_SELECT} WHERE d.campaign_id = ?1 AND (?2 IS NULL OR d.status = ?2)"
                          " ORDER BY d.id", (campaign_id, status))
        return [_delivery(row) for row in rows]

    def finish_campaign(self, campaign_id: int, *, now: Moment) -> bool:
        """Mark the campaign done if no delivery is queued or in flight; returns whether it is done."""
        with self._write() as conn:
            conn.execute(
                "UPDATE campaigns SET status = 'done', finished_at = ? WHERE id = ? AND status != 'done'"
                " AND NOT EXISTS (SELECT 1 FROM deliveries WHERE campaign_id = campaigns.id"
                " AND status IN ('queued', 'sending'))", (stamp(now), campaign_id))
        return self._rows("SELECT status FROM campaigns WHERE id = ?", (campaign_id,))[0][0] == "done"

    # Deliveries: claim before sending, record after (DESIGN rule 5)

    def claim_next(self, campaign_id: int, now: Moment) -> Delivery | None:
        """Atomically move the next due queued delivery to 'sending' (counting the attempt) and return it."""
        with self._write() as conn:
            return _claim(conn, campaign_id, now)

    def next_due(self, campaign_id: int) -> dt.datetime | None:
        """When the earliest queued delivery may be tried; None when nothing is queued."""
        rows = self._rows("SELECT MIN(next_attempt_at) FROM deliveries WHERE campaign_id = ? AND status = 'queued'",
                          (campaign_id,))
        return _time(rows[0][0])

    def mark_sent(self, delivery: Delivery, reply: str, message_id: str, *, now: Moment) -> None:
        with self._write() as conn:
            _update(conn, delivery, "status = 'sent', last_reply = ?, message_id = ?", (reply, message_id), now)

    def mark_sent_and_claim_next(self, delivery: Delivery, reply: str, message_id: str, *,
                                 now: Moment) -> Delivery | None:
        """`mark_sent` and then `claim_next` of the same campaign, committed together: one transaction per
        message instead of two, and still never more than one delivery in 'sending' per sender."""
        with self._write() as conn:
            _update(conn, delivery, "status = 'sent', last_reply = ?, message_id = ?", (reply, message_id), now)
            return _claim(conn, delivery.campaign_id, now)

    def mark_retry(self, delivery: Delivery, reply: str, next_attempt_at: Moment, *, possible_duplicate: bool = False,
                   now: Moment) -> None:
        """Put the delivery back in the queue, not to be tried before `next_attempt_at`; `possible_duplicate`
        when this attempt may have reached the reader (the flag stays once set)."""
        with self._write() as conn:
            _update(conn, delivery, "status = 'queued', last_reply = ?, next_attempt_at = ?,"
                    " possible_duplicate = MAX(possible_duplicate, ?)",
                    (reply, stamp(next_attempt_at), int(possible_duplicate)), now)

    def mark_failed(self, delivery: Delivery, reply: str, bounce: bool, *, now: Moment) -> None:
        """Record a failed delivery; `bounce` (mailbox unknown) also marks the subscriber bounced."""
        with self._write() as conn:
            _update(conn, delivery, "status = 'failed', last_reply = ?", (reply,), now)
            if bounce:
                conn.execute("UPDATE subscribers SET status = 'bounced', updated_at = ? WHERE id = ?",
                             (stamp(now), delivery.subscriber.id))

    def release(self, delivery: Delivery, *, now: Moment) -> None:
        """Return a claimed delivery that was certainly not sent to the queue, uncounting the attempt."""
        with self._write() as conn:
            _update(conn, delivery, "status = 'queued', attempts = attempts - 1", (), now)

    def requeue_failed(self, campaign_id: int, *, now: Moment) -> int:
        """Queue the campaign's failed deliveries again with fresh attempts, except those to people who are no
        longer active, and reopen the campaign if any were queued; returns how many."""
        with self._write() as conn:
            count = conn.execute(
                "UPDATE deliveries SET status = 'queued', attempts = 0, next_attempt_at = ?1, updated_at = ?1"
                " WHERE campaign_id = ?2 AND status = 'failed'"
                " AND subscriber_id IN (SELECT id FROM subscribers WHERE status = 'active')",
                (stamp(now), campaign_id)).rowcount
            if count:
                conn.execute("UPDATE campaigns SET status = 'sending', finished_at = NULL WHERE id = ?", (campaign_id,))
        return count

    def recover_in_flight(self, campaign_id: int) -> int:
        """After a crash: re-queue deliveries left in 'sending', flagged as possible duplicates (each may have
        gone out); returns how many."""
        with self._write() as conn:
            return conn.execute("UPDATE deliveries SET status = 'queued', possible_duplicate = 1"
                                " WHERE campaign_id = ? AND status = 'sending'", (campaign_id,)).rowcount

    def skip_inactive(self, campaign_id: int, *, now: Moment) -> int:
        """Mark queued deliveries to people who are no longer active (unsubscribed since) as skipped."""
        with self._write() as conn:
            return conn.execute(
                "UPDATE deliveries SET status = 'skipped', updated_at = ? WHERE campaign_id = ? AND status = 'queued'"
                " AND subscriber_id IN (SELECT id FROM subscribers WHERE status != 'active')",
                (stamp(now), campaign_id)).rowcount

    # Published posts (for `publisher publish`)

    def record_post(self, slug: str, state: str, *, now: Moment) -> None:
        """Remember that a post was archived (never to be mailed) or sent."""
        _check(state, POST_STATES)
        with self._write() as conn:
            conn.execute("INSERT INTO published (slug, state, recorded_at) VALUES (?, ?, ?) ON CONFLICT (slug)"
                         " DO UPDATE SET state = excluded.state, recorded_at = excluded.recorded_at",
                         (slug, state, stamp(now)))

    def post_states(self) -> dict[str, str]:
        return dict(self._rows("SELECT slug, state FROM published ORDER BY slug"))

    def unfinished_campaigns(self) -> list[Campaign]:
        """Campaigns with deliveries still to make (e.g. after a crash), oldest first."""
        return [_campaign(row) for row in self._rows("SELECT * FROM campaigns WHERE status = 'sending' ORDER BY id")]

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


def _check(value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown value {value!r}; expected one of {', '.join(allowed)}")


def _claim(conn: sqlite3.Connection, campaign_id: int, now: Moment) -> Delivery | None:
    """Claim the next due delivery inside the caller's transaction. The subscriber's status is read in that same
    transaction: a delivery to someone who is no longer active (unsubscribed or bounced since the campaign
    began) is marked skipped instead, so nobody is mailed after leaving."""
    when = stamp(now)
    while True:
        row = conn.execute(
            "SELECT d.id, s.status FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
            " WHERE d.campaign_id = ? AND d.status = 'queued' AND d.next_attempt_at <= ?"
            " ORDER BY d.next_attempt_at, d.id LIMIT 1", (campaign_id, when)).fetchone()
        if row is None:
            return None
        if row[1] == "active":
            break
        conn.execute("UPDATE deliveries SET status = 'skipped', updated_at = ? WHERE id = ?", (when, row[0]))
    conn.execute("UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ?",
                 (when, row[0]))
    return _delivery(conn.execute(f"{_DELIVERY_SELECT} WHERE d.id = ?", (row[0],)).fetchone())


def _update(conn: sqlite3.Connection, delivery: Delivery, assignments: str, args: tuple, now: Moment) -> None:
    """Record a claimed delivery's outcome; a row no longer in 'sending' is left alone."""
    conn.execute(f"UPDATE deliveries SET {assignments}, updated_at = ? WHERE id = ? AND status = 'sending'",
                 (*args, stamp(now), delivery.id))


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _subscriber(row: sqlite3.Row) -> Subscriber:
    return Subscriber(id=row["id"], email=row["email"], name=row["name"], status=row["status"],
                      source=row["source"], created_at=_time(row["created_at"]), updated_at=_time(row["updated_at"]))


def _campaign(row: sqlite3.Row) -> Campaign:
    return Campaign(id=row["id"], slug=row["slug"], subject=row["subject"], status=row["status"],
                    created_at=_time(row["created_at"]), finished_at=_time(row["finished_at"]))


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(id=row["d_id"], campaign_id=row["campaign_id"], subscriber=_subscriber(row),
                    status=row["d_status"], attempts=row["attempts"], next_attempt_at=_time(row["next_attempt_at"]),
                    last_reply=row["last_reply"], message_id=row["message_id"],
                    created_at=_time(row["d_created_at"]), updated_at=_time(row["d_updated_at"]),
                    possible_duplicate=bool(row["possible_duplicate"]))
