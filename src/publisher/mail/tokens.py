"""Signed tokens for the links in an email: unsubscribe (valid for ever) and confirm (valid for a while).

A token is `payload.signature`, both base64url without padding. The payload is the JSON list
`[email, list_id, issued]` (`issued` in Unix seconds, 0 for a token that never expires); the signature is
HMAC-SHA256 over the purpose and the payload, keyed by PUBLISHER_SECRET_KEY, so a token made for one purpose
never passes for another and nobody without the key can make one. Tokens hold no secrets: the address is
readable by whoever holds the link, which is the subscriber.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

from .. import clock
from ..errors import ConfigError, TokenError, TokenExpired

UNSUBSCRIBE = "unsubscribe"
CONFIRM = "confirm"
MIN_SECRET_LENGTH = 16


@dataclass(frozen=True)
class TokenData:
    email: str
    list_id: str
    issued: dt.datetime | None


def check_secret(secret: str) -> bytes:
    """The key as bytes; a ConfigError naming the variable and the fix when it is missing or too short."""
    if len(secret) < MIN_SECRET_LENGTH:
        state = "is not set" if not secret else f"is shorter than {MIN_SECRET_LENGTH} characters"
        raise ConfigError(
            f"PUBLISHER_SECRET_KEY {state}; it signs the unsubscribe and confirm links. Set it in the "
            "environment to a long random value, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, and keep it the same from send to send")
    return secret.encode("utf-8")


def make_token(secret: str, purpose: str, email: str, list_id: str, now: dt.datetime | None = None) -> str:
    """A URL-safe token for `email` on `list_id`; with `now` it carries its issue time and can expire."""
    issued = int(now.timestamp()) if now is not None else 0
    payload = _b64encode(json.dumps([email, list_id, issued], ensure_ascii=False, separators=(",", ":")).encode())
    return f"{payload}.{_sign(check_secret(secret), purpose, payload)}"


def read_token(secret: str, purpose: str, token: str, max_age: dt.timedelta | None = None,
               now: dt.datetime | None = None) -> TokenData:
    """What a genuine token says; TokenError when forged or garbled, TokenExpired when older than `max_age`."""
    payload, _, signature = token.strip().partition(".")
    expected = _sign(check_secret(secret), purpose, payload)
    if not hmac.compare_digest(signature.encode("ascii", "replace"), expected.encode("ascii")):
        raise TokenError("this link is not valid: it may have been cut short when copied; use the whole link")
    data = _decode_payload(payload)
    if max_age is not None:
        _check_age(data, max_age, now or clock.now())
    return data


def _sign(key: bytes, purpose: str, payload: str) -> str:
    message = purpose.encode("utf-8") + b"\0" + payload.encode("ascii", "replace")
    return _b64encode(hmac.new(key, message, hashlib.sha256).digest())


def _decode_payload(payload: str) -> TokenData:
    """The signed payload; only a token we made gets here, so a bad shape means a changed format."""
    try:
        email, list_id, issued = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError, binascii.Error):
        raise TokenError("this link is not valid: its contents cannot be read") from None
    when = dt.datetime.fromtimestamp(issued, dt.timezone.utc) if issued else None
    return TokenData(email=email, list_id=list_id, issued=when)


def _check_age(data: TokenData, max_age: dt.timedelta, now: dt.datetime) -> None:
    if data.issued is None:
        raise TokenError("this link is not valid here: it carries no date")
    if data.issued > now:
        raise TokenError("this link is not valid: it is dated in the future")
    if now - data.issued > max_age:
        raise TokenExpired("this link has expired; ask for a new one")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
