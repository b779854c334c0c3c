"""Tagged return addresses (VERP): `bounces+TAG@example.com`, where TAG names one delivery (or, for emailed
unsubscribes, one subscriber) and carries a short signature, so whatever comes back to that address says
whom it is about without the subscriber's address, and nobody without PUBLISHER_SECRET_KEY can make a tag
that points at another subscriber.

A tag is `N-MAC` for a delivery and `u-N-MAC` for a subscriber's unsubscribe address: N the record's number,
MAC the first 80 bits of HMAC-SHA256 over the purpose and N, in lower-case base32. Only letters, digits and
hyphens, so it survives servers that fold the case of an address, and a whole address stays well inside
the 64 characters SMTP allows a local part (RFC 5321, section 4.5.3.1.1).
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import TokenError
from .tokens import check_secret

BOUNCE = "bounce"
UNSUBSCRIBE = "unsubscribe"
MAC_BYTES = 10
MAX_LOCAL_PART = 64
TAG_ROOM = 40  # the most a tag (with its '+') adds to a local part: 'u-', 20 digits, '-', 16 characters
_PREFIX = {BOUNCE: "", UNSUBSCRIBE: "u-"}
_TAG = re.compile(r"(u-)?(\d{1,20})-([a-z2-7]{16})")


@dataclass(frozen=True)
class Tag:
    """What a genuine tag names: a delivery (purpose BOUNCE) or a subscriber (purpose UNSUBSCRIBE)."""

    purpose: str
    number: int


def make_tag(secret: str, purpose: str, number: int) -> str:
    """The tag naming record `number` for `purpose`."""
    return f"{_PREFIX[purpose]}{number}-{_mac(check_secret(secret), purpose, number)}"


def tagged_address(base: str, tag: str) -> str:
    """`base` (bounces@example.com) with the tag added to its local part: bounces+TAG@example.com."""
    local, _, domain = base.rpartition("@")
    return f"{local}+{tag}@{domain}"


def bounce_address(base: str, secret: str, delivery_id: int) -> str:
    """The envelope sender of one delivery's message: `base` tagged with the delivery."""
    return tagged_address(base, make_tag(secret, BOUNCE, delivery_id))


def unsubscribe_mailto(base: str, secret: str, subscriber_id: int) -> str:
    """The List-Unsubscribe mailto: URI of one subscriber: `base` tagged with them, subject 'unsubscribe'."""
    return f"mailto:{tagged_address(base, make_tag(secret, UNSUBSCRIBE, subscriber_id))}?subject=unsubscribe"


def find_tag(base: str, text: str) -> str:
    """The tag of the first address in `text` that is `base` with a tag, in any case; '' when there is none
    (always, without a `base`)."""
    local, _, domain = base.rpartition("@")
    if not local or not domain:
        return ""
    found = re.search(rf"(?<![\w.+-]){re.escape(local)}\+([A-Za-z0-9-]{{1,{TAG_ROOM}}})@{re.escape(domain)}\b",
                      text, re.IGNORECASE)
    return found[1].lower() if found else ""


def read_tag(secret: str | Sequence[str], tag: str, purpose: str) -> Tag:
    """What a tag made for `purpose` names; TokenError when it is garbled, altered or made for another purpose.
    `secret` may be several keys (the current one and those in PUBLISHER_OLD_SECRET_KEYS): a bounce of mail sent
    before a key was changed still names its delivery."""
    shape = _TAG.fullmatch(tag.strip().lower())
    if shape is None or bool(shape[1]) != (purpose == UNSUBSCRIBE):
        raise TokenError(f"the tag {tag!r} is not one of ours for {purpose}")
    number = int(shape[2])
    keys = [secret] if isinstance(secret, str) else list(secret)
    if not any(hmac.compare_digest(shape[3], _mac(check_secret(key), purpose, number)) for key in keys):
        raise TokenError(f"the tag {tag!r} does not carry this site's signature: it was altered or forged")
    return Tag(purpose, number)


def _mac(key: bytes, purpose: str, number: int) -> str:
    digest = hmac.digest(key, f"verp\0{purpose}\0{number}".encode("ascii"), "sha256")
    return base64.b32encode(digest[:MAC_BYTES]).decode("ascii").lower()
