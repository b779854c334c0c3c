"""Subscriber lists as CSV: the rules for addresses and names, and writing our own export, which imports back
unchanged (list_import/ reads it, and every other service's export).

Addresses are checked for syntax only (email-validator, no DNS), with the domain lower-cased; names and
addresses hold no line breaks or control characters, which would break every list they are printed in. Cells a
spreadsheet would run as a formula are written with an apostrophe in front, and read back without it.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from collections.abc import Iterable, Mapping

from email_validator import EmailNotValidError, validate_email

from ..store import CONTROL_CHARACTERS, ConsentSummary, Subscriber

# Our export's columns: the first four are read back by `import`; the rest are the consent evidence.
EXPORT_COLUMNS = ("email", "name", "status", "created_at", "subscribed_at", "confirmed_at", "source",
                  "status_changed_at")
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def validate_address(text: str) -> str:
    """The address normalised (domain lower-cased), or ValueError saying what is wrong with it.

    A plain local part (letters, digits and the usual symbols between dots) at a domain already seen is
    answered from that domain's first check: checking every domain afresh made a 100,000-row import spend
    most of its time in the domain rules. Anything else goes through email-validator whole."""
    text = text.strip()
    local, _, domain = text.rpartition("@")
    if _DOT_ATOM.fullmatch(local) and len(local) <= 64:
        checked = _checked_domain(domain)
        if checked is not None and len(local) + 1 + len(checked[1]) <= 254:
            return f"{local}@{checked[0]}"
    return _validated(text)


def _validated(text: str) -> str:
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{text!r} is not a valid email address: {exc}") from None


@functools.lru_cache(maxsize=4096)
def _checked_domain(domain: str) -> tuple[str, str] | None:
    """The domain as email-validator normalises it, and its ASCII form; None when it is refused."""
    try:
        checked = validate_email(f"postmaster@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


def validate_name(text: str) -> str:
    """The name trimmed, or ValueError when it holds a line break or control character."""
    if CONTROL_CHARACTERS.search(text.strip()):
        raise ValueError("remove the line breaks and control characters (tabs included) from it")
    return text.strip()


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


def write_rows(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A CSV file's text (CRLF lines, as spreadsheets expect); cells that a spreadsheet would run as a formula
    are prefixed with an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_defuse(cell) for cell in row] for row in rows)
    return out.getvalue()


def _iso(moment: dt.datetime | None) -> str:
    return moment.isoformat() if moment else ""


def restore_cell(cell: str) -> str:
    """A cell as it was before the export defused it ("'=A1" back to "=A1")."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith((*_FORMULA_START, "'")) else cell


def _defuse(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) or cell.startswith("'") else cell
