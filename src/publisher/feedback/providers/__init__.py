"""What email providers report back over their webhooks, read into FeedbackEvents: each module checks that a
call comes from its provider (Mailgun's HMAC signature, Postmark's HTTP password, Amazon SNS's certificate
signature) and turns its bounces and complaints into the events `feedback.events` applies. Nothing here
speaks HTTP: the service hands each module the body it received."""

from __future__ import annotations

import datetime as dt
import json

from ...errors import WebhookInvalid


def read_json(body: bytes, provider: str) -> dict:
    """The call's body as a JSON object; WebhookInvalid naming the provider when it is not one."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookInvalid(f"{provider}: the body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookInvalid(f"{provider}: the body is not a JSON object")
    return payload


NUMBER = (int, float)
_KINDS = {str: "text", list: "list", dict: "object", NUMBER: "number"}


def field(data: dict, name: str, kind: type | tuple[type, ...], provider: str):
    """data[name] if it is a `kind` (str, list, dict or NUMBER); WebhookInvalid naming the field otherwise."""
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise WebhookInvalid(f"{provider}: '{name}' is missing or not {_KINDS[kind]}")
    return value


def part(data: dict, *names: str) -> dict:
    """The object at data[names[0]][names[1]]..., or {} where any step is missing or not an object."""
    for name in names:
        data = data.get(name) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def angle_brackets(message_id: str) -> str:
    """A Message-ID as our deliveries record it, <...>, whether or not the provider kept the brackets."""
    message_id = message_id.strip()
    return message_id if not message_id or message_id.startswith("<") else f"<{message_id}>"


def iso_time(text: str, provider: str) -> dt.datetime:
    """An ISO 8601 time from a payload ('2016-01-27T14:59:38.237Z'), in UTC when it names no zone."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise WebhookInvalid(f"{provider}: {text!r} is not a time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
