"""Signed tokens for the links in an email: unsubscribe (valid for ever) and confirm (valid for a while).

A token is made by itsdangerous: the JSON list `[public_id, list_id]` (a confirm token adds its issue time in
Unix seconds), base64url, then an HMAC-SHA256 signature salted by the purpose, so a token made for one purpose
never passes for another and nobody without the key can make one. It names the subscriber by their opaque
`public_id`, never by address, so a link in a web server's log says nothing about who clicked it.

Keys rotate: PUBLISHER_SECRET_KEY signs, and every key in PUBLISHER_OLD_SECRET_KEYS still verifies. Tokens in
the format used before (`payload.signature`, the payload `[email, list_id, issued]`, HMAC-SHA256 over the
purpose and payload) are still read, with the same keys, so no link in an email already sent stops working.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from itsdangerous.encoding import base64_encode

from .. import clock
from ..errors import ConfigError, TokenError, TokenExpired

UNSUBSCRIBE = "unsubscribe"
CONFIRM = "confirm"
MIN_SECRET_LENGTH = 16
SALT_PREFIX = "publisher.link."
NOT_VALID = "this link is not valid: it may have been cut short when copied; use the whole link"
NEW_KEY_HINT = ("Set it in the environment to a long random value, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")


@dataclass(frozen=True)
class TokenData:
    """What a genuine token says: whom it is for (`public_id`, or `email` in a token of the format used before,
    which named the address), the list, and when it was issued (None for a token that never expires)."""
    public_id: str
    email: str
    list_id: str
    issued: dt.datetime | None


def check_secret(secret: str) -> bytes:
    """The key as bytes; a ConfigError naming the variable and the fix when it is missing or too short."""
    if len(secret) < MIN_SECRET_LENGTH:
        state = "is not set" if not secret else f"is shorter than {MIN_SECRET_LENGTH} characters"
        raise ConfigError(f"PUBLISHER_SECRET_KEY {state}; it signs the unsubscribe and confirm links. {NEW_KEY_HINT}"
                          ", and keep it the same from send to send (to change it, see 'Changing the secret key'"
                          " in the README)")
    return secret.encode("utf-8")


def check_keys(secret: str, old_secrets: Sequence[str] = ()) -> list[bytes]:
    """Every key that verifies, oldest first and the signing key last (itsdangerous's order); a ConfigError
    naming the variable, and which of the old keys, when one is too short. No key is ever shown."""
    for number, old in enumerate(old_secrets, start=1):
        if len(old) < MIN_SECRET_LENGTH:
            raise ConfigError(f"PUBLISHER_OLD_SECRET_KEYS: key {number} of {len(old_secrets)} is shorter than "
                              f"{MIN_SECRET_LENGTH} characters, so it cannot be a key this site signed with; list "
                              "only former values of PUBLISHER_SECRET_KEY, separated by commas")
    return [old.encode("utf-8") for old in old_secrets] + [check_secret(secret)]


class LinkTokens:
    """Makes tokens with the signing key and reads those made with it or an old key. Build it once: a campaign
    makes a token per recipient, so the serializers and their signers are made here, not per token."""

    def __init__(self, secret: str, old_secrets: Sequence[str] = ()):
        self._keys = check_keys(secret, old_secrets)
        self._serializers = {purpose: URLSafeSerializer(self._keys, salt=SALT_PREFIX + purpose,
                                                        signer_kwargs={"digest_method": hashlib.sha256})
                             for purpose in (UNSUBSCRIBE, CONFIRM)}
        self._signers = {purpose: serializer.make_signer() for purpose, serializer in self._serializers.items()}

    def make(self, purpose: str, public_id: str, list_id: str, issued: dt.datetime | None = None) -> str:
        """A URL-safe token for the subscriber `public_id` on `list_id`; with `issued` it can expire.

        The same bytes as the serializer's `dumps` (which its `loads` reads), at a quarter of the cost: the
        signer is made once and no compression is tried on a payload too short to gain from it."""
        payload = [public_id, list_id] if issued is None else [public_id, list_id, int(issued.timestamp())]
        encoded = base64_encode(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        return self._signers[purpose].sign(encoded).decode("ascii")

    def read(self, purpose: str, token: str, max_age: dt.timedelta | None = None,
             now: dt.datetime | None = None) -> TokenData:
        """What a genuine token says; TokenError when forged or garbled, TokenExpired when older than `max_age`."""
        token = token.strip()
        try:
            data = _from_payload(self._serializers[purpose].loads(token))
        except BadSignature:
            data = _read_old_format(self._keys, purpose, token)
        if max_age is not None:
            _check_age(data, max_age, now or clock.now())
        return data


def _from_payload(payload: object) -> TokenData:
    """The signed payload; only a token we made gets here, so a bad shape means a changed format."""
    if not (isinstance(payload, list) and len(payload) in (2, 3) and all(isinstance(v, str) for v in payload[:2])):
        raise TokenError("this link is not valid: its contents cannot be read")
    issued = _issued(payload[2]) if len(payload) == 3 else None
    return TokenData(public_id=payload[0], email="", list_id=payload[1], issued=issued)


def _read_old_format(keys: list[bytes], purpose: str, token: str) -> TokenData:
    """A token of the format used before (the address in base64 JSON, then HMAC-SHA256), checked with every key."""
    payload, _, signature = token.partition(".")
    given = signature.encode("ascii", "replace")
    if not any(hmac.compare_digest(given, _old_signature(key, purpose, payload).encode("ascii")) for key in keys):
        raise TokenError(NOT_VALID)
    try:
        email, list_id, issued = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError, binascii.Error):
        raise TokenError("this link is not valid: its contents cannot be read") from None
    return TokenData(public_id="", email=email, list_id=list_id, issued=_issued(issued) if issued else None)


def _old_signature(key: bytes, purpose: str, payload: str) -> str:
    message = purpose.encode("utf-8") + b"\0" + payload.encode("ascii", "replace")
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).rstrip(b"=").decode("ascii")


def _issued(seconds: object) -> dt.datetime:
    if not isinstance(seconds, int):
        raise TokenError("this link is not valid: its contents cannot be read")
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def _check_age(data: TokenData, max_age: dt.timedelta, now: dt.datetime) -> None:
    if data.issued is None:
        raise TokenError("this link is not valid here: it carries no date")
    if data.issued > now:
        raise TokenError("this link is not valid: it is dated in the future")
    if now - data.issued > max_age:
        raise TokenExpired("this link has expired; ask for a new one")
