"""Booking clicks, counted without knowing who clicked: with [newsletter] track_clicks, each web link in a
newsletter's HTML part becomes `SERVICE/c/TOKEN`, where TOKEN names the campaign and the link's number and
carries a signature over the campaign and the link's URL. The token is the same for every recipient of the
campaign (made once per link per campaign, not per recipient), so a click says which link of which
newsletter was followed and nothing about by whom. The plain-text part keeps the direct links.

TOKEN is `CAMPAIGN-LINK-MAC`: MAC the first 80 bits of HMAC-SHA256 over the purpose, campaign, link number and
URL, in lower-case base32, so nobody without PUBLISHER_SECRET_KEY can make the service redirect anywhere,
and a token stops working if the URL recorded for it is not the one it was made for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import TokenError
from .tokens import check_secret

MAC_BYTES = 10
_HREF = re.compile(r'(\shref=")(https?://[^"]*)(")', re.IGNORECASE)
_TOKEN = re.compile(r"(\d{1,18})-(\d{1,9})-([a-z2-7]{16})")


@dataclass(frozen=True)
class ClickToken:
    """What a click token says: the campaign, the link's number in it, and the signature to check."""

    campaign_id: int
    link: int
    mac: str


def tracked_urls(markup: str, placeholder: re.Pattern) -> list[str]:
    """The web (http, https) links of an HTML part, in order, each once; a link holding a per-recipient
    placeholder (the unsubscribe link) is never one of them."""
    found = [html.unescape(m[2]) for m in _HREF.finditer(markup) if not placeholder.search(m[2])]
    return list(dict.fromkeys(found))


def with_tracked_links(markup: str, targets: dict[str, str]) -> str:
    """The HTML with each link in `targets` (by URL) pointing at its target instead."""
    def swap(m: re.Match) -> str:
        target = targets.get(html.unescape(m[2]))
        return m[0] if target is None else f"{m[1]}{html.escape(target)}{m[3]}"
    return _HREF.sub(swap, markup)


def click_url(base: str, secret: str, campaign_id: int, link: int, url: str) -> str:
    """The redirect through the service for link number `link` (to `url`) of campaign `campaign_id`."""
    return f"{base}/c/{campaign_id}-{link}-{_mac(check_secret(secret), campaign_id, link, url)}"


def read_click_token(token: str) -> ClickToken:
    """The campaign and link a token names (not yet checked); TokenError when it has not our shape."""
    shape = _TOKEN.fullmatch(token)
    if shape is None:
        raise TokenError("this link is not one of ours")
    return ClickToken(int(shape[1]), int(shape[2]), shape[3])


def check_click(secret: str | Sequence[str], token: ClickToken, url: str) -> None:
    """TokenError unless the token was made for this campaign, link and URL, with `secret` or (several keys
    given: the current one and those retired since) any of them."""
    keys = [secret] if isinstance(secret, str) else list(secret)
    if not any(hmac.compare_digest(token.mac, _mac(check_secret(key), token.campaign_id, token.link, url))
               for key in keys):
        raise TokenError("this link does not carry this site's signature")


def _mac(key: bytes, campaign_id: int, link: int, url: str) -> str:
    digest = hmac.new(key, f"click\0{campaign_id}\0{link}\0{url}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:MAC_BYTES]).decode("ascii").lower()
