"""Link tokens in tests: a token made exactly as the format used before made it (links of that format are in
inboxes and must keep working), and a check that no link in a message gives away its recipient's address."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
import zlib
from email.message import EmailMessage
from html import unescape
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

LINK = re.compile(r"""(?:https?|mailto):[^\s"'<>]+""")


def old_format_token(secret: str, purpose: str, email: str, list_id: str, now: dt.datetime | None = None) -> str:
    """A token exactly as the format used before made it: base64url JSON [email, list_id, issued], a dot, and
    base64url HMAC-SHA256 over purpose NUL payload, keyed by the secret's UTF-8 bytes (no padding anywhere)."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
    issued = int(now.timestamp()) if now is not None else 0
    payload = b64(json.dumps([email, list_id, issued], ensure_ascii=False, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), purpose.encode() + b"\0" + payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{b64(signature)}"


def links_in(msg: EmailMessage) -> list[str]:
    """Every link in a message: in its headers (List-Unsubscribe) and in each text and HTML part."""
    text = "\n".join(str(value) for _, value in msg.items())
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            text += "\n" + unescape(part.get_content())
    return LINK.findall(text)


def reveals(link: str, address: str) -> bool:
    """Whether a link carries the address: as written, in any case, URL-quoted, or base64 (standard or URL-safe,
    padded or not, compressed or not) in any dot-separated piece of its token."""
    lowered = link.lower()
    if any(form.lower() in lowered for form in (address, quote(address, safe=""), quote_plus(address))):
        return True
    token = parse_qs(urlsplit(link).query).get("token", [""])[0]
    return any(address.lower().encode() in piece.lower() for piece in _decoded_pieces(token))


def _decoded_pieces(token: str) -> list[bytes]:
    found = []
    for piece in filter(None, token.split(".")):
        for decode in (base64.urlsafe_b64decode, base64.standard_b64decode):
            try:
                raw = decode(piece + "=" * (-len(piece) % 4))
            except (binascii.Error, ValueError):
                continue
            found.append(raw)
            try:
                found.append(zlib.decompress(raw))
            except zlib.error:
                pass
    return found
