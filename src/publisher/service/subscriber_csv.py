"""Subscriber lists as CSV: reading the usual exports (Mailchimp, Substack, Buttondown, spreadsheets) for import,
and writing our own export, which imports back unchanged.

Reading never stops at a bad row: each one is reported with its line number and the rest go in. A file whose
rows cannot be told apart (a quote left open swallows the lines after it) is refused as a whole, at the line
where the trouble starts, so that no row is lost unseen. Addresses are checked for syntax only
(email-validator, no DNS), with the domain lower-cased; names and addresses hold no line breaks or control
characters, which would break every list they are printed in.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from ..errors import ContentError
from ..store import CONTROL_CHARACTERS, ConsentSummary, NewSubscriber, Subscriber, fold_email, strictness

EMAIL_HEADERS = ("email", "email address", "e mail", "e mail address", "mail")
NAME_HEADERS = ("name", "full name", "display name")
FIRST_NAME_HEADERS = ("first name", "firstname", "given name", "fname")
LAST_NAME_HEADERS = ("last name", "lastname", "surname", "family name", "lname")
STATUS_VALUES = {"active": "active", "subscribed": "active", "pending": "pending",
                 "unsubscribed": "unsubscribed", "bounced": "bounced", "cleaned": "bounced"}
# Our export's columns: the first four are read back by `import`; the rest are the consent evidence.
EXPORT_COLUMNS = ("email", "name", "status", "created_at", "subscribed_at", "confirmed_at", "source",
                  "status_changed_at")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str


@dataclass(frozen=True)
class ParsedCsv:
    """The subscribers found, the rows skipped as bad, and the rows that repeat an earlier address."""

    subscribers: tuple[NewSubscriber, ...]
    problems: tuple[RowProblem, ...]
    duplicates: tuple[RowProblem, ...]


@dataclass(frozen=True)
class _Columns:
    email: int
    name: int | None = None
    first: int | None = None
    last: int | None = None
    status: int | None = None
    created_at: int | None = None


def validate_address(text: str) -> str:
    """The address normalised (domain lower-cased), or ValueError saying what is wrong with it."""
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{text.strip()!r} is not a valid email address: {exc}") from None


def validate_name(text: str) -> str:
    """The name trimmed, or ValueError when it holds a line break or control character."""
    if CONTROL_CHARACTERS.search(text.strip()):
        raise ValueError("remove the line breaks and control characters (tabs included) from it")
    return text.strip()


def decode_csv(raw: bytes, source: Path | str) -> str:
    """The file's text (a UTF-8 byte order mark removed), or a ContentError naming the first bad line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContentError("not UTF-8 text; save the file as 'CSV UTF-8' and import it again", source, line) from None


def parse_csv(text: str, source: Path | str) -> ParsedCsv:
    """Subscribers from CSV text with a header row naming an email column (or a bare list of addresses)."""
    numbered = _read_rows(text, source)
    start = next((i for i, (_, row) in enumerate(numbered) if any(cell.strip() for cell in row)), None)
    if start is None:
        raise ContentError("the file is empty; expected a header row with an 'email' column", source)
    line, header = numbered[start]
    columns = _find_columns(header, source, line)
    if columns is None:
        return _collect(numbered[start:], _Columns(email=0))
    return _collect(numbered[start + 1:], columns)


def write_csv(subscribers: Iterable[Subscriber], evidence: Mapping[int, ConsentSummary] | None = None) -> str:
    """An export with EXPORT_COLUMNS: each subscriber, with their consent evidence from `evidence` (by id)
    and when their status last changed. Cells that a spreadsheet would run as a formula are prefixed with an
    apostrophe (and read back without it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for s in subscribers:
        consent = (evidence or {}).get(s.id, ConsentSummary())
        writer.writerow([_defuse(s.email), _defuse(s.name), s.status, s.created_at.isoformat(),
                         _iso(consent.subscribed_at), _iso(consent.confirmed_at), _defuse(consent.source),
                         s.updated_at.isoformat()])
    return out.getvalue()


def _iso(moment: dt.datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _read_rows(text: str, source: Path | str) -> list[tuple[int, list[str]]]:
    """Every row with the line it is on. A row that runs over several lines (a quote opened and not closed
    where it should be, or a line break inside a name) and a field too long for any name or address are a
    ContentError at the line where that row starts: the rows after it cannot be trusted."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=_delimiter(text))
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            if reader.line_num > start:
                raise ContentError(f"a quoted field starts on this line and runs on to line {reader.line_num}, "
                                   "reading those lines as one row; close the quote on this line (or remove "
                                   "the line break inside it) and import again", source, start)
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error:
        raise ContentError(f"a field is longer than {csv.field_size_limit():,} characters, longer than any "
                           "name or address; close the quote opened on this line and import again",
                           source, start) from None
    return rows


def _delimiter(text: str) -> str:
    """Comma, or the semicolon or tab some spreadsheets write, judged by the first line."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return max((",", ";", "\t"), key=first.count)


def _normal_header(cell: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", cell.lstrip("\ufeff").lower()).strip()


def _find_columns(header: list[str], source: Path | str, line: int) -> _Columns | None:
    """Where each known column is; None when the first row is already an address (a list without header)."""
    names = [_normal_header(cell) for cell in header]

    def find(options: tuple[str, ...]) -> int | None:
        return next((names.index(o) for o in options if o in names), None)

    email = find(EMAIL_HEADERS)
    if email is None and "@" in header[0]:
        return None
    if email is None:
        found = ", ".join(repr(cell) for cell in header)
        raise ContentError(f"no email column in the header ({found}); name it 'email' or 'Email Address'",
                           source, line)
    return _Columns(email=email, name=find(NAME_HEADERS), first=find(FIRST_NAME_HEADERS),
                    last=find(LAST_NAME_HEADERS), status=find(("status",)), created_at=find(("created at",)))


def _collect(rows: list[tuple[int, list[str]]], columns: _Columns) -> ParsedCsv:
    subscribers: list[NewSubscriber] = []
    problems: list[RowProblem] = []
    duplicates: list[RowProblem] = []
    first_seen: dict[str, tuple[int, int]] = {}  # folded address -> (index in subscribers, line)
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        try:
            subscriber = _subscriber(row, columns)
        except ValueError as exc:
            problems.append(RowProblem(line, str(exc)))
            continue
        key = fold_email(subscriber.email)
        if key in first_seen:
            duplicates.append(_repeat(subscribers, first_seen[key], subscriber, line))
            continue
        first_seen[key] = (len(subscribers), line)
        subscribers.append(subscriber)
    return ParsedCsv(tuple(subscribers), tuple(problems), tuple(duplicates))


def _repeat(subscribers: list[NewSubscriber], seen: tuple[int, int], repeat: NewSubscriber, line: int) -> RowProblem:
    """A row for a mailbox already in the file: the stricter of the two statuses is kept (an unsubscribe in
    either row wins), so a file listing someone twice can never make them mailable."""
    index, first_line = seen
    if strictness(repeat.status) <= strictness(subscribers[index].status):
        return RowProblem(line, f"{repeat.email} repeats line {first_line}")
    subscribers[index] = repeat
    return RowProblem(line, f"{repeat.email} repeats line {first_line}; this row's stricter status, "
                            f"{repeat.status}, is the one imported")


def _subscriber(row: list[str], columns: _Columns) -> NewSubscriber:
    """One row as a subscriber, or ValueError saying what is wrong with it."""

    def cell(index: int | None) -> str:
        return _restore(row[index].strip()) if index is not None and index < len(row) else ""

    if not cell(columns.email):
        raise ValueError("no email address in this row")
    name = cell(columns.name) or " ".join(filter(None, (cell(columns.first), cell(columns.last))))
    try:
        validate_name(name)
    except ValueError as exc:
        raise ValueError(f"name: {exc}") from None
    return NewSubscriber(email=validate_address(cell(columns.email)), name=name,
                         status=_status(cell(columns.status)), created_at=_created_at(cell(columns.created_at)))


def _status(text: str) -> str:
    if not text:
        return "active"
    if text.lower() not in STATUS_VALUES:
        raise ValueError(f"status {text!r} is not one of {', '.join(STATUS_VALUES)}")
    return STATUS_VALUES[text.lower()]


def _created_at(text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"created_at {text!r} is not a date and time with a zone, like 2024-05-03T09:00:00+00:00")
    return moment


def _defuse(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) or cell.startswith("'") else cell


def _restore(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith((*_FORMULA_START, "'")) else cell
