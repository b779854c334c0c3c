"""Postmark's bounce and spam complaint webhooks. Postmark signs nothing: its documented protection is HTTP
Basic authentication, the user name and password written into the webhook's URL
(https://postmark:PASSWORD@example.com/webhooks/postmark), checked here against
PUBLISHER_POSTMARK_WEBHOOK_PASSWORD. Postmark resends a call only when it was not answered 200, so the
same record ID again within REMEMBER is refused as a replay by the caller (and after that, it is still
applied once only, by its ID).

A bounce of Type HardBounce or BadEmailAddress is a hard bounce; Transient, SoftBounce and DnsError are soft
bounces; a SpamComplaint record is a complaint. Auto-responders, blocks of the message itself, challenge
mails and the rest change nothing. Postmark's MessageID is its own, not the message's Message-ID header, so
a report is matched by the address it names, and only if that address was sent to.

https://postmarkapp.com/developer/webhooks/webhooks-overview
https://postmarkapp.com/developer/webhooks/bounce-webhook
https://postmarkapp.com/developer/webhooks/spam-complaint-webhook
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac

from ...errors import WebhookRefused
from ..events import COMPLAINT, HARD_BOUNCE, SOFT_BOUNCE, FeedbackEvent
from . import field, iso_time, read_json

NAME = "postmark"
USER = "postmark"
HARD = ("HardBounce", "BadEmailAddress")
SOFT = ("Transient", "SoftBounce", "DnsError")
REMEMBER = dt.timedelta(days=30)


def check_password(authorization: str, password: str) -> None:
    """WebhookRefused unless the Authorization header is Basic with user 'postmark' and `password`."""
    scheme, _, encoded = authorization.partition(" ")
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        given = b""
    expected = f"{USER}:{password}".encode()
    if scheme.lower() != "basic" or not hmac.compare_digest(given, expected):
        raise WebhookRefused(f"{NAME}: the call does not carry the user '{USER}' and "
                             "PUBLISHER_POSTMARK_WEBHOOK_PASSWORD (put both in the webhook's URL)")


def read_call(body: bytes) -> tuple[FeedbackEvent, ...]:
    """The bounce or complaint one webhook call reports (none for records that change nothing)."""
    record = read_json(body, NAME)
    kind = _kind(record)
    if kind is None:
        return ()
    detail = " ".join(str(record.get(k) or "") for k in ("Type", "Description", "Details")).strip()
    return (FeedbackEvent(kind, f"{NAME}:{field(record, 'ID', int, NAME)}", NAME, detail,
                          iso_time(field(record, "BouncedAt", str, NAME), NAME),
                          address=field(record, "Email", str, NAME)),)


def _kind(record: dict) -> str | None:
    kind = record.get("Type")
    if record.get("RecordType") == "SpamComplaint" or kind == "SpamComplaint":
        return COMPLAINT
    if record.get("RecordType") != "Bounce":
        return None
    return HARD_BOUNCE if kind in HARD else SOFT_BOUNCE if kind in SOFT else None
