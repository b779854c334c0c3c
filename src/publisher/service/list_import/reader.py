"""One CSV file to subscribers: find its columns, recognise its service, read every row, and say what was found.

Reading never stops at a bad row: each is reported with its line and the rest go in. A file that states no
status at all (a plain list of addresses) is imported only with a status the author gives (--status), since
the author then vouches for consent; a status the file states is never made more mailable by that option.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ...errors import ContentError
from ...store import SUBSCRIBER_STATUSES, SUPPRESSED_STATUSES, NewSubscriber, strictness
from ..subscriber_csv import restore_cell, validate_address, validate_name
from .services import Service, mapped, recognise
from .text import Row, check_row_shape, decode, delimiter, read_rows
from .times import Clock

EMAIL_HEADERS = ("email", "email address", "e mail", "e mail address", "mail")
NAME_HEADERS = ("name", "full name", "display name")
FIRST_NAME_HEADERS = ("first name", "firstname", "given name", "fname")
LAST_NAME_HEADERS = ("last name", "lastname", "surname", "family name", "lname")
STATUS_VALUES = {"active": "active", "subscribed": "active", "pending": "pending", "unsubscribed": "unsubscribed",
                 "bounced": "bounced", "cleaned": "bounced", "complained": "complained"}
OWN_EXPORT = ["email", "name", "status", "created at"]


@dataclass(frozen=True)
class RowProblem:
    """A row left out, and why; for a bad row whose address is readable, the address, which no other row of
    the import may then add (the unreadable row may have been the one saying they left)."""
    line: int
    message: str
    email: str = ""


@dataclass(frozen=True)
class ParsedFile:
    """What one file holds: the service it came from, its subscribers, its bad and repeated rows, and whether
    any time in it had no zone (read in the site's)."""

    name: str
    service: str
    subscribers: tuple[NewSubscriber, ...]
    problems: tuple[RowProblem, ...] = ()
    duplicates: tuple[RowProblem, ...] = ()
    naive_times: bool = False
    in_other_files: int = 0  # rows left to another file of the same import that lists them more strictly

    def counts(self) -> dict[str, int]:
        """How many subscribers of each status the file holds, in the order of our statuses."""
        found: dict[str, int] = {}
        for entry in self.subscribers:
            found[entry.status] = found.get(entry.status, 0) + 1
        return {status: found[status] for status in SUBSCRIBER_STATUSES if status in found}


TimeColumns = tuple[tuple[int, str], ...]  # (index, name) of the columns present that may hold one time


@dataclass
class _Columns:
    index: dict[str, int]
    service: Service
    email: int
    names: tuple[int | None, int | None, int | None]  # name, first name, last name
    times: tuple[TimeColumns, TimeColumns, TimeColumns] = ((), (), ())  # opt-in, confirmation, status change

    def read(self) -> set[int]:
        """Columns whose content is imported: a line break inside any other is harmless."""
        times = (*self.service.created, *self.service.confirmed, *self.service.status_at)
        wanted = {"status", "state", "subscriber type", "subscription status", "email disabled",
                  "subscribed to emails", "deleted at", *times}
        names = (i for i in self.names if i is not None)
        return {self.email, *names, *(i for n, i in self.index.items() if n in wanted)}


@dataclass
class _Collector:
    subscribers: list[NewSubscriber] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    duplicates: list[RowProblem] = field(default_factory=list)
    first_seen: dict[str, tuple[int, int]] = field(default_factory=dict)  # folded address -> (index, line)

    def add(self, subscriber: NewSubscriber, line: int) -> None:
        """Keep the first row of a mailbox, or a later one whose status is stricter (an unsubscribe wins)."""
        key = subscriber.email.lower()  # validated, so already as fold_email would make it
        if key not in self.first_seen:
            self.first_seen[key] = (len(self.subscribers), line)
            self.subscribers.append(subscriber)
            return
        index, first_line = self.first_seen[key]
        message = f"{subscriber.email} repeats line {first_line}"
        if strictness(subscriber.status) > strictness(self.subscribers[index].status):
            self.subscribers[index] = subscriber
            message += f"; this row's stricter status, {subscriber.status}, is the one imported"
        self.duplicates.append(RowProblem(line, message))


def normal_header(cell: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", cell.lstrip("\ufeff").lower()).strip()


def parse_file(name: str, raw: bytes, tz: ZoneInfo, status: str | None = None) -> ParsedFile:
    """Every subscriber in one CSV file's bytes; `status` is the one the author gives rows the file states
    none for (and may make stricter, as for a suppression list)."""
    text = decode(raw, name)
    separator = delimiter(text)
    rows = read_rows(text, name, separator)
    header = next(rows, None)
    if header is None:
        raise ContentError("the file is empty; expected a header row with an email column", name)
    columns = _columns(header, name)
    if columns is None:
        columns, rows = _plain_list(), itertools.chain([header], rows)
    _require_status(columns, status, name, header.line)
    clock, collected, read = Clock(tz), _Collector(), columns.read()
    for row in rows:
        check_row_shape(row, len(header.cells), read, separator, name)
        try:
            collected.add(_subscriber(row.cells, columns, clock, status), row.line)
        except ValueError as exc:
            collected.problems.append(RowProblem(row.line, str(exc), _address_of(row.cells, columns)))
    return ParsedFile(name, columns.service.name, tuple(collected.subscribers), tuple(collected.problems),
                      tuple(collected.duplicates), clock.naive_seen)


def _columns(header: Row, source: str) -> _Columns | None:
    """Where each column is and which service wrote them; None when the first row is already an address."""
    names = [normal_header(cell) for cell in header.cells]
    email = next((names.index(o) for o in EMAIL_HEADERS if o in names), None)
    if email is None and "@" in header.cells[0]:
        return None
    if email is None:
        found = ", ".join(repr(cell) for cell in header.cells)
        raise ContentError(f"no email column in the header ({found}); name it 'email' or 'Email Address'",
                           source, header.line)
    index = {n: i for i, n in reversed(list(enumerate(names)))}
    service = recognise(names, source, source, header.line) or _plain(names)
    times = tuple(tuple((index[n], n.replace(" ", "_")) for n in group if n in index)
                  for group in (service.created, service.confirmed, service.status_at))
    return _Columns(index, service, email, tuple(index.get(n) for n in _name_columns(names)), times)


def _name_columns(names: list[str]) -> tuple[str | None, str | None, str | None]:
    def find(options: tuple[str, ...]) -> str | None:
        return next((o for o in options if o in names), None)
    return find(NAME_HEADERS), find(FIRST_NAME_HEADERS), find(LAST_NAME_HEADERS)


def _plain(names: list[str]) -> Service:
    """A list no service is recognised in: ours when its columns begin as our export's, else a plain CSV."""
    ours = names[:4] == OWN_EXPORT
    label = "publisher export" if ours else "CSV with an email column"
    status = mapped("status", STATUS_VALUES) if "status" in names else (lambda cell: None)
    return Service(label, frozenset(), status, created=("created at",), confirmed=("confirmed at",),
                   status_at=("status at", "status changed at"))


def _plain_list() -> _Columns:
    return _Columns({}, Service("list of addresses", frozenset(), lambda cell: None), 0, (None, None, None))


def _require_status(columns: _Columns, status: str | None, source: str, line: int) -> None:
    """A file that cannot say whether anyone agreed to be mailed needs the author to say it."""
    if status is None and not columns.service.signature and "status" not in columns.index:
        raise ContentError("this file does not say whether these people agreed to be mailed (it has no status "
                           "column); import it with --status active if they all asked for the newsletter, or "
                           "--status unsubscribed for a list of people to keep off it", source, line)


def _subscriber(cells: list[str], columns: _Columns, clock: Clock, option: str | None) -> NewSubscriber:
    """One row as a subscriber, or ValueError saying what is wrong with it."""

    def cell(name: str) -> str:
        i = columns.index.get(name)
        return restore_cell(cells[i].strip()) if i is not None and i < len(cells) else ""

    def at(i: int | None) -> str:
        return restore_cell(cells[i].strip()) if i is not None and i < len(cells) else ""

    if not at(columns.email):
        raise ValueError("no email address in this row")
    try:
        name = validate_name(_name(*(at(i) for i in columns.names)))
    except ValueError as exc:
        raise ValueError(f"name: {exc}") from None
    created, confirmed, changed = (_first_time(group, at, clock) for group in columns.times)
    return NewSubscriber(email=validate_address(at(columns.email)), name=name,
                         status=_status(columns.service.status(cell), option),
                         created_at=created, confirmed_at=confirmed, status_at=changed)


def _address_of(cells: list[str], columns: _Columns) -> str:
    """The row's address when it is a valid one; '' otherwise."""
    try:
        return validate_address(restore_cell(cells[columns.email].strip())) if columns.email < len(cells) else ""
    except ValueError:
        return ""


def _name(full: str, first: str, last: str) -> str:
    """The full name, or first and last joined; a 'name' beside a 'last name' (MailerLite) is the first name."""
    if full and last and not first:
        return f"{full} {last}"
    return full or " ".join(filter(None, (first, last)))


def _status(stated: str | None, option: str | None) -> str:
    """The file's status; the author's --status where the file states none, or where it is a suppression
    stricter than the file's (a file's unsubscribe is never undone by --status active)."""
    if stated is None and option is None:
        raise ValueError("status: empty; fill it in, or import with --status to give one for such rows")
    if stated is None or (option in SUPPRESSED_STATUSES and strictness(option) > strictness(stated)):
        return option
    return stated


def _first_time(group: TimeColumns, at: Callable[[int], str], clock: Clock) -> dt.datetime | None:
    """The first of these time columns that holds a time (Mailchimp's UNSUB_TIME or CLEAN_TIME, say)."""
    for index, name in group:
        moment = clock.read(at(index), name)
        if moment is not None:
            return moment
    return None
