"""The two emails of a booking request, in the newsletter's look: the request as the therapist receives it
(Reply-To the client, so answering it answers them) and the client's acknowledgement, with the same details
and the therapist's phone and address.

Each is compiled once when the service starts (mail/compose.py) with a placeholder for every field of the
form, and filled in per request; the filling escapes each value for its part (HTML or plain text), and the
subject and Reply-To, the only headers the client's words reach, are built by the header folder, which
keeps every value on its line.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Callable
from typing import TYPE_CHECKING

import jinja2

from ..config import Config
from ..mail import mime
from ..mail.compose import Compiled, Draft, compile_email, compile_mjml
from ..mail.frame import one_line
from ..mail.plaintext import wrap

if TYPE_CHECKING:
    from email.message import EmailMessage

    from .booking import Booking

REQUEST_TEMPLATE = "booking_request.mjml"
ACKNOWLEDGEMENT_TEMPLATE = "booking_ack.mjml"
FIELDS = (("name", "Name"), ("phone", "Phone"), ("email", "Email"), ("service", "Service"),
          ("when", "Preferred days and times"), ("area", "Area or postcode"), ("message", "Message"),
          ("page", "Sent from"))
SLOT_NAMES = ("greeting", "sent_to", *(name for name, _ in FIELDS))
NOT_GIVEN = "(not given)"


def compile_request(config: Config, env: jinja2.Environment, *,
                    mjml_to_html: Callable[[str], str] = compile_mjml) -> Compiled:
    """The email to the therapist; its subject is made per request ("Booking request: name, service")."""
    draft = Draft(REQUEST_TEMPLATE, "Booking request", {"preheader": "A booking request from the website.",
                                                        "fields": FIELDS},
                  lambda marks: _request_text(config, marks), SLOT_NAMES, key=repr((REQUEST_TEMPLATE, config)),
                  css_variable="notice_css")
    return compile_email(draft, config, env, mjml_to_html=mjml_to_html)


def compile_acknowledgement(config: Config, env: jinja2.Environment, *,
                            mjml_to_html: Callable[[str], str] = compile_mjml) -> Compiled:
    """The client's copy of their request, saying who will reply and how to reach them meanwhile."""
    subject = one_line(f"Your booking request to {config.site.title}")
    draft = Draft(ACKNOWLEDGEMENT_TEMPLATE, subject, {"preheader": f"{therapist(config)} will reply soon.",
                                                      "fields": FIELDS, "therapist": therapist(config)},
                  lambda marks: _acknowledgement_text(config, marks), SLOT_NAMES,
                  key=repr((ACKNOWLEDGEMENT_TEMPLATE, config)), css_variable="notice_css")
    return compile_email(draft, config, env, mjml_to_html=mjml_to_html)


def therapist(config: Config) -> str:
    """Who answers booking requests, by name."""
    return config.site.author or config.from_name


def personalise_booking(compiled: Compiled, config: Config, booking: Booking, *, now: dt.datetime,
                        to_therapist: bool = False) -> EmailMessage:
    """The request filled in: to the therapist (subject with the client's name and service, Reply-To the
    client when they gave an address), or to the client (the compiled subject, Reply-To the site's)."""
    frame = compiled.frame
    values = {name: getattr(booking, name) or NOT_GIVEN for name, _ in FIELDS}
    message_id = email.utils.make_msgid(domain=frame.message_domain)
    if to_therapist:
        values |= {"greeting": f"A booking request from \u2068{booking.name}\u2069.", "sent_to": ""}
        subject = f"Booking request: {booking.name}, {booking.service or 'no service chosen'}"
        reply_to = mime.address_header("Reply-To", booking.name, booking.email) if booking.email else None
        return frame.message(config.booking.notify_address, therapist(config), values, now=now,
                             message_id=message_id, subject=subject, reply_to=reply_to)
    values |= {"greeting": f"Hi \u2068{booking.name}\u2069,",
               "sent_to": f"This email was sent to {booking.email}, the address given in the request."}
    return frame.message(booking.email, booking.name, values, now=now, message_id=message_id)


def _details_text(marks: dict[str, str]) -> str:
    return "\n".join(f"{label}: {marks[name]}" for name, label in FIELDS)


def _request_text(config: Config, marks: dict[str, str]) -> str:
    sections = [config.site.title, marks["greeting"], _details_text(marks),
                wrap("Reply to this email to answer the client (when they gave an email address), or phone them.")]
    return "\n\n".join(sections) + "\n"


def _acknowledgement_text(config: Config, marks: dict[str, str]) -> str:
    b = config.booking
    ways = "\n".join(line for line in (f"Phone: {b.phone}" if b.phone else "",
                                       f"Email: {b.email}" if b.email else "") if line)
    sections = [config.site.title, marks["greeting"],
                wrap(f"Thank you for your booking request. {therapist(config)} will reply soon to arrange a time. "
                     "Here is what you sent:"),
                _details_text(marks),
                *([wrap("To change anything, or if you have not heard back in a day or two:"), ways] if ways else []),
                "-" * 24 + "\n" + marks["sent_to"]]
    return "\n\n".join(sections) + "\n"
