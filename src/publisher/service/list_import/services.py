"""Which service wrote a file, told from its header row, and how that service's statuses map to ours.

Each service's export has columns no other writes (its signature). Its statuses map to ours (active, pending,
unsubscribed, bounced, complained), and where a service's own documentation leaves a value unexplained the
mapping picks the status that is never mailed. A value a mapping does not know is a bad row, never a guess.
The documentation each mapping follows is cited in tests/service/list_import/test_services.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ...errors import ContentError

Lookup = Callable[[str], str]  # a row's cell by (normalised) column name, "" when absent
StatusOf = Callable[[Lookup], "str | None"]  # None: the file says nothing about this row's consent


@dataclass(frozen=True)
class Service:
    """One export format: its name, the columns that identify it, how a row's status is read, and which
    columns hold the opt-in, confirmation and status-change times."""

    name: str
    signature: frozenset[str]
    status: StatusOf
    created: tuple[str, ...] = ()
    confirmed: tuple[str, ...] = ()
    status_at: tuple[str, ...] = ()
    weak: bool = False  # a signature common words could match: used only when no other service matches


def mapped(column: str, mapping: Mapping[str, str]) -> StatusOf:
    """A status read from `column` through `mapping` (case and spacing ignored); an unknown value is an error."""

    def status(cell: Lookup) -> str | None:
        value = cell(column).strip().lower().replace("_", " ")
        if not value:
            return None
        if value not in mapping:
            raise ValueError(f"{column.replace(' ', '_')}: {cell(column).strip()!r} is not a value this export "
                             f"uses; expected one of {', '.join(sorted(mapping))}")
        return mapping[value]
    return status


def fixed(status: str) -> StatusOf:
    return lambda cell: status


def _flag(text: str, column: str) -> bool | None:
    value = text.strip().lower()
    if not value:
        return None
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"{column}: {text.strip()!r} is neither true nor false")
    return value in ("true", "1", "yes")


def _substack(cell: Lookup) -> str:
    return "unsubscribed" if _flag(cell("email disabled"), "email_disabled") else "active"


def _ghost(cell: Lookup) -> str | None:
    if cell("deleted at").strip():
        return "unsubscribed"  # the documentation is silent on deleted_at; a deleted member is never mailed
    subscribed = _flag(cell("subscribed to emails"), "subscribed_to_emails")
    return None if subscribed is None else ("active" if subscribed else "unsubscribed")


_SAFETY = ("active", "pending", "bounced", "unsubscribed", "complained")  # from mailable to never mailable


def safer(first: str | None, second: str | None) -> str | None:
    """The status of the two that is less mailable (None when both say nothing)."""
    known = [s for s in (first, second) if s is not None]
    return max(known, key=_SAFETY.index) if known else None


_LISTMONK = mapped("status", {"enabled": "active", "disabled": "unsubscribed", "blocklisted": "unsubscribed"})
_LISTMONK_LIST = mapped("subscription status",
                        {"confirmed": "active", "unconfirmed": "pending", "unsubscribed": "unsubscribed"})


def _listmonk(cell: Lookup) -> str | None:
    return safer(_LISTMONK(cell), _LISTMONK_LIST(cell))


BUTTONDOWN_TYPES = {
    "regular": "active", "premium": "active", "trialed": "active", "gifted": "active", "churning": "active",
    "unpaid": "active", "past due": "active", "unactivated": "pending", "unsubscribed": "unsubscribed",
    "removed": "unsubscribed", "undeliverable": "bounced", "complained": "complained", "spammy": "complained",
    "blocked": "complained"}
KIT_STATES = {"active": "active", "confirmed": "active", "cold": "active", "inactive": "pending",
              "unconfirmed": "pending", "cancelled": "unsubscribed", "canceled": "unsubscribed",
              "bounced": "bounced", "complained": "complained"}
MAILERLITE_STATUSES = {"active": "active", "unconfirmed": "pending", "unsubscribed": "unsubscribed",
                       "bounced": "bounced", "junk": "complained"}

SERVICES = (
    Service("Substack (subscriber export)", frozenset({"email disabled", "active subscription", "first payment at"}),
            _substack, created=("created at",)),
    Service("Buttondown (subscriber export)", frozenset({"subscriber type"}),
            mapped("subscriber type", BUTTONDOWN_TYPES), created=("creation date", "subscription date"),
            status_at=("unsubscription date", "undeliverability date")),
    Service("Ghost (members export)", frozenset({"subscribed to emails", "complimentary plan", "stripe customer id"}),
            _ghost, created=("created at",), status_at=("deleted at",)),
    Service("listmonk (subscriber export)", frozenset({"attributes", "subscription status"}), _listmonk,
            created=("created at",), status_at=("updated at",)),
    Service("MailerLite (subscriber export)", frozenset({"opted in at"}), mapped("status", MAILERLITE_STATUSES),
            created=("subscribed at",), confirmed=("opted in at",), status_at=("unsubscribed at",)),
    Service("Kit (subscriber export)", frozenset({"state"}), mapped("state", KIT_STATES), created=("created at",),
            weak=True),
)

_MAILCHIMP_SIGNATURE = frozenset({"member rating", "optin time", "confirm time", "leid", "euid", "unsub time",
                                  "clean time"})
_MAILCHIMP_FILES = (("unsubscribed", "unsubscribed export", "unsubscribed"),
                    ("cleaned", "cleaned export", "bounced"),
                    ("nonsubscribed", "non-subscribed export", "pending"),
                    ("subscribed", "subscribed export", "active"))


def mailchimp(names: list[str], file_name: str) -> Service:
    """Mailchimp writes one file per status, telling them apart by their extra columns (UNSUB_TIME, CLEAN_TIME)
    and their names (subscribed_members_export_….csv); a file showing neither is its subscribed export."""
    base = file_name.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower()
    if "clean time" in names:
        kind, status = "cleaned export", "bounced"
    elif "unsub time" in names:
        kind, status = "unsubscribed export", "unsubscribed"
    else:
        kind, status = next(((k, s) for prefix, k, s in _MAILCHIMP_FILES if base.startswith(prefix)),
                            ("subscribed export", "active"))
    return Service(f"Mailchimp ({kind})", _MAILCHIMP_SIGNATURE, fixed(status), created=("optin time",),
                   confirmed=("confirm time",), status_at=("unsub time", "clean time"))


def recognise(names: list[str], file_name: str, source: str, line: int) -> Service | None:
    """The service whose export this header is; None for a plain list; a ContentError when the header mixes
    the columns of two services, since either reading could mail someone who left."""
    found = [s for s in (*SERVICES, mailchimp(names, file_name)) if s.signature & set(names)]
    strong = [s for s in found if not s.weak]
    if len(strong) > 1:
        first, second = strong[:2]
        raise ContentError(f"the header mixes columns of {_label(first, names)} and {_label(second, names)}; "
                           "import each service's own export as it was downloaded", source, line)
    return (strong or found or [None])[0]


def _label(service: Service, names: list[str]) -> str:
    column = sorted(service.signature & set(names))[0]
    return f"{service.name.split(' (')[0]} ({column.replace(' ', '_')})"
