"""The rules of a booking request sent from the site's booking form to `publisher serve` (POST /book): read and
check the form, then email the therapist (Reply-To the client) and send the client an acknowledgement.

Nothing of a request is kept: it lives in memory while the two emails are made and handed to the transport,
and the therapist's mailbox is its only record. A request whose email to the therapist cannot be sent is
shown back to the client with the therapist's phone and address, so it is never lost without them knowing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage

import jinja2

from ..config import Config
from ..errors import BookingError, PublisherError
from ..store import CONTROL_CHARACTERS
from .booking_emails import compile_acknowledgement, compile_request, personalise_booking
from .subscriber_csv import validate_address

HONEYPOT = "website"
LIMITS = {"name": 100, "phone": 30, "email": 254, "service": 100, "when": 200, "area": 100, "message": 2_000,
          "page": 500}
ONE_LINE = ("name", "phone", "email", "service", "when", "area", "page")
MIN_PHONE_DIGITS = 6
_PHONE = re.compile(r"[0-9+()./ -]+")
_MESSAGE_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")  # line breaks and tabs allowed
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Booking:
    """One booking request as the client sent it, checked; empty strings for what they left out."""
    name: str
    phone: str = ""
    email: str = ""
    service: str = ""
    when: str = ""
    area: str = ""
    message: str = ""
    page: str = ""


def read_booking(form: Mapping[str, str], site_url: str) -> Booking:
    """The request from the form, checked field by field: a BookingError listing every field at fault.
    `page` (where the form was sent from) is kept only when it is an address on the site itself."""
    values = {field: form.get(field, "") for field in LIMITS}
    problems = [problem for field, value in values.items() if (problem := _field_problem(field, value))]
    if form.get(HONEYPOT, ""):
        problems.append(f"{HONEYPOT}: leave this field empty (it is there to catch automated forms)")
    cleaned = {field: _clean(field, value) for field, value in values.items()}
    problems += _content_problems(cleaned)
    if problems:
        raise BookingError(problems)
    cleaned["email"] = validate_address(cleaned["email"]) if cleaned["email"] else ""
    cleaned["page"] = cleaned["page"] if _on_site(cleaned["page"], site_url) else ""
    return Booking(**cleaned)


def _field_problem(field: str, value: str) -> str:
    """What is wrong with one field's raw text ('' when nothing): too long, or a control character."""
    controls = CONTROL_CHARACTERS if field in ONE_LINE else _MESSAGE_CONTROLS
    if controls.search(value):
        return f"{field}: remove the line breaks and control characters"
    if len(value) > LIMITS[field]:
        return f"{field}: at most {LIMITS[field]:,} characters, please"
    return ""


def _clean(field: str, value: str) -> str:
    """One-line fields with runs of spaces made one; the message with its line breaks as plain newlines."""
    if field in ONE_LINE:
        return " ".join(value.split())
    return "\n".join(line.rstrip() for line in value.strip().splitlines())


def _content_problems(booking: dict[str, str]) -> list[str]:
    """The rules across fields: a name, and a phone number or email address to reply to, each well formed."""
    problems = [] if booking["name"] else ["name: enter your name"]
    phone, email = booking["phone"], booking["email"]
    if not (phone or email):
        problems.append("phone or email: give at least one, so that we can reply")
    if phone and (not _PHONE.fullmatch(phone) or sum(c.isdigit() for c in phone) < MIN_PHONE_DIGITS):
        problems.append(f"phone: {phone!r} is not a phone number; use digits, spaces and + ( ) - only")
    if email:
        try:
            validate_address(email)
        except ValueError as exc:
            problems.append(f"email: {exc}")
    return problems


def _on_site(url: str, site_url: str) -> bool:
    return url == site_url or url.startswith(site_url.rstrip("/") + "/")


class Bookings:
    """Booking requests for one site: both emails compiled once; `deliver(msg)` sends one email (or raises)."""

    def __init__(self, config: Config, env: jinja2.Environment, deliver: Callable[[EmailMessage], object],
                 clock: Callable[[], dt.datetime]):
        self.config = config
        self._deliver, self._clock = deliver, clock
        self._request = compile_request(config, env)
        self._acknowledgement = compile_acknowledgement(config, env)

    @property
    def enabled(self) -> bool:
        """Whether there is an address to send requests to ([booking] notify, or else email)."""
        return bool(self.config.booking.notify_address)

    def send(self, booking: Booking, copy: bool = True) -> str:
        """Email the therapist (a DeliveryError when that fails: nothing was sent), then the client's copy
        unless `copy` is False. Returns what became of the copy: 'sent', 'failed' (logged; the request itself
        went) or 'none'."""
        now = self._clock()
        self._deliver(personalise_booking(self._request, self.config, booking, now=now, to_therapist=True))
        if not (booking.email and copy):
            return "none"
        try:
            self._deliver(personalise_booking(self._acknowledgement, self.config, booking, now=now))
        except PublisherError as exc:
            log.error("a booking request went to the therapist, but the client's copy could not be sent: %s",
                      type(exc).__name__)
            return "failed"
        return "sent"
