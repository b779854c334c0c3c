"""Mailgun's webhooks: a JSON body with `signature` (timestamp, token, and an HMAC-SHA256 of timestamp+token
keyed with the webhook signing key) and `event-data`. A call is genuine only with the right signature, a
timestamp within MAX_AGE of now, and a token not seen before (the caller remembers tokens). Mailgun's
signature covers the timestamp and token, not the event: that is why a token is good for one call only,
and why the endpoint belongs behind HTTPS.

Of the events, `failed` with severity `permanent` is a hard bounce (except reason `old`: Mailgun gave up
after retrying for hours, which is counted like a soft bounce), `failed` with severity `temporary` a soft
bounce, and `complained` a complaint; the rest (delivered, opened, ...) change nothing.

https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks
https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/webhook-payloads
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from ...errors import WebhookInvalid, WebhookRefused
from ...mail.verp import find_tag
from ..events import COMPLAINT, HARD_BOUNCE, SOFT_BOUNCE, FeedbackEvent
from . import NUMBER, angle_brackets, field, part, read_json

NAME = "mailgun"
MAX_AGE = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class MailgunCall:
    """A genuine call: its one-time token (to refuse the same call again) and what it reports."""

    token: str
    events: tuple[FeedbackEvent, ...]


def read_call(body: bytes, signing_key: str, now: dt.datetime, bounce_address: str = "") -> MailgunCall:
    """The call's events, once its signature and age are checked; WebhookRefused for a call that is not
    Mailgun's or is too old, WebhookInvalid for a signed body of the wrong shape."""
    payload = read_json(body, NAME)
    token = verify(payload.get("signature"), signing_key, now)
    data = payload.get("event-data")
    if not isinstance(data, dict):
        raise WebhookInvalid(f"{NAME}: 'event-data' is missing or not an object")
    return MailgunCall(token, events_of(data, bounce_address))


def verify(signature, signing_key: str, now: dt.datetime) -> str:
    """The call's token, if `signature` is Mailgun's for this key and recent; else WebhookRefused."""
    if not isinstance(signature, dict) or not all(isinstance(signature.get(k), str) and signature.get(k)
                                                  for k in ("timestamp", "token", "signature")):
        raise WebhookRefused(f"{NAME}: the call carries no signature")
    timestamp, token = signature["timestamp"], signature["token"]
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature["signature"].lower().encode()):
        raise WebhookRefused(f"{NAME}: the signature does not match PUBLISHER_MAILGUN_SIGNING_KEY")
    if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > MAX_AGE.total_seconds():
        raise WebhookRefused(f"{NAME}: the signature's timestamp {timestamp} is not within "
                             f"{MAX_AGE.seconds // 60} minutes of now")
    return token


def events_of(data: dict, bounce_address: str = "") -> tuple[FeedbackEvent, ...]:
    """The bounce or complaint one event reports (none for events that change nothing)."""
    kind = _kind(data)
    if kind is None:
        return ()
    status, headers = part(data, "delivery-status"), part(data, "message", "headers")
    detail = " ".join(str(status.get(k) or "") for k in ("code", "message", "description")).strip()
    return (FeedbackEvent(
        kind, f"{NAME}:{field(data, 'id', str, NAME)}", NAME, detail or f"{NAME} {data['event']}",
        dt.datetime.fromtimestamp(float(field(data, "timestamp", NUMBER, NAME)), dt.UTC),
        tag=find_tag(bounce_address, str(part(data, "envelope").get("sender") or "")),
        message_id=angle_brackets(str(headers.get("message-id") or "")),
        address=str(data.get("recipient") or "")),)


def _kind(data: dict) -> str | None:
    event, severity = data.get("event"), data.get("severity")
    if event == "complained":
        return COMPLAINT
    if event != "failed":
        return None
    return HARD_BOUNCE if severity == "permanent" and data.get("reason") != "old" else SOFT_BOUNCE
