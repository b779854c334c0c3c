"""The frame of every email the site sends: the headers that are the same for every recipient, folded once, and
the assembly of one recipient's message from them and the prepared bodies.

It lives apart from the compile step (compose.py) because it runs at another time: compose.py runs once per
email, the frame once per recipient, and must stay cheap (string filling only, no template, MJML or CSS).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass
from email.message import EmailMessage

from ..config import CONFIG_NAME, Config
from ..errors import ConfigError, DeliveryError
from . import mime

_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")  # control characters that are not whitespace


@dataclass(frozen=True)
class Frame:
    """What every email the site sends is made of, built once per compile: the two encoded bodies with their
    placeholders, the folded headers that are the same for everyone, and the domain of the Message-IDs.
    `message` fills in one recipient; the newsletter and the service's emails (service/emails.py) both use it."""
    html_body: mime.Body
    text_body: mime.Body
    headers: dict[str, mime.FoldedHeader]
    message_domain: str

    def message(self, email_address: str, name: str, values: dict[str, str], *, now: dt.datetime,
                message_id: str, list_unsubscribe: str = "", subject: str = "",
                reply_to: mime.FoldedHeader | None = None) -> EmailMessage:
        """The multipart/alternative message for one recipient; the list headers only with `list_unsubscribe`.
        A `subject` or `reply_to` of this message's own (a booking request's) replaces the shared one."""
        h = self.headers
        headers = [h["From"], _to_header(email_address, one_line(name)),
                   mime.text_header("Subject", one_line(subject)) if subject else h["Subject"],
                   mime.raw_header("Date", email.utils.format_datetime(now)),
                   mime.raw_header("Message-ID", message_id), reply_to or h["Reply-To"]]
        if list_unsubscribe:
            headers += [h["List-Id"], mime.raw_header("List-Unsubscribe", list_unsubscribe),
                        h["List-Unsubscribe-Post"]]
        headers += [h["MIME-Version"], h["Content-Type"]]
        text, text_cte = self.text_body.fill(values)
        markup, html_cte = self.html_body.fill(values)
        return mime.assemble(headers, [mime.text_part(_CONTENT_TYPES[0], _ENCODINGS, text, text_cte),
                                       mime.text_part(_CONTENT_TYPES[1], _ENCODINGS, markup, html_cte)])


_CONTENT_TYPES = (mime.raw_header("Content-Type", 'text/plain; charset="utf-8"'),
                  mime.raw_header("Content-Type", 'text/html; charset="utf-8"'))
_ENCODINGS = {cte: mime.raw_header("Content-Transfer-Encoding", cte) for cte in ("7bit", "quoted-printable")}


def make_frame(config: Config, subject: str, html_body: mime.Body, text_body: mime.Body, boundary: str) -> Frame:
    """The frame of an email from this site with `subject`; a ConfigError when a sender address is bad."""
    sender, reply_to = _sender_headers(config)
    headers = [
        sender, mime.text_header("Subject", subject), reply_to,
        mime.list_id_header(config.site.title, config.list_id),
        mime.raw_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        mime.raw_header("MIME-Version", "1.0"),
        mime.raw_header("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    domain = config.from_address.rpartition("@")[2]
    return Frame(html_body=html_body, text_body=text_body, headers={header.name: header for header in headers},
                 message_domain=domain if domain.isascii() and domain else config.domain)


def _sender_headers(config: Config) -> tuple[mime.FoldedHeader, mime.FoldedHeader]:
    """From and Reply-To, as every email the site sends carries them; a ConfigError when an address is bad."""
    from_address = config.from_address
    return (_sender_header("From", config.from_name, from_address, "newsletter.from_address"),
            _sender_header("Reply-To", "", config.newsletter.reply_to or config.booking.email or from_address,
                           "newsletter.reply_to"))


def _sender_header(name: str, display_name: str, address: str, key: str) -> mime.FoldedHeader:
    try:
        return mime.address_header(name, display_name, address)
    except ValueError:
        raise ConfigError(f"{key}: {address!r} is not an email address; set it (or booking.email) to an "
                          "address like news@example.com", path=CONFIG_NAME) from None


def _to_header(email_address: str, name: str) -> mime.FoldedHeader:
    try:
        return mime.address_header("To", name, email_address)
    except (ValueError, IndexError):
        raise DeliveryError(f"cannot address a message to {email_address!r}: not a valid email address") from None


def recipient_values(email_address: str, name: str, unsubscribe_url: str) -> dict[str, str]:
    """The plain-text value of each placeholder for one recipient (escaped or encoded later, per part)."""
    name = one_line(name)
    return {
        "greeting": f"Hi \u2068{name}\u2069," if name else "Hello,",
        "sent_to": f"This email was sent to {email_address}.",
        "unsubscribe_url": unsubscribe_url,
        "unsubscribe_label": "Unsubscribe",
    }


def one_line(text: str) -> str:
    """Text fit for one header line: control characters dropped, every run of whitespace (CR, LF…) one space."""
    return " ".join(strip_controls(text).split())


def strip_controls(text: str) -> str:
    """The text without control characters that are not whitespace (no mail client shows them)."""
    return _CONTROLS.sub("", text)
