"""Newsletters: a Post compiled once into a `Newsletter`, then personalised into an EmailMessage per recipient.

Compiling (once per post) runs templates/newsletter.mjml through the email compile step (compose.py) and
checks the size. Personalising (once per recipient) only fills the recipient's values into the prepared
strings: no template, no MJML, no CSS. The placeholders' names carry a hash of the post, so no text an author
writes can ever be mistaken for one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit

import jinja2
from markupsafe import Markup, escape

from ..config import Config
from ..content.posts import Post
from ..errors import ContentError
from . import mime
from .clicks import tracked_urls, with_tracked_links
from .compose import Compiled, Draft, compile_email, compile_mjml
from .frame import one_line, recipient_values, strip_controls
from .images import email_image, email_images
from .plaintext import Slots, render_text
from .tokens import UNSUBSCRIBE, LinkTokens

TEMPLATE = "newsletter.mjml"
SLOT_NAMES = ("greeting", "sent_to", "unsubscribe_url", "unsubscribe_label")
PREHEADER_LENGTH = 140
RECIPIENT_RESERVE = 1_000  # bytes allowed for a recipient's name, address and link when checking the size
_SHORTENERS = {"bit.ly", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "cutt.ly",
               "shorturl.at", "tiny.cc", "rb.gy", "t.ly", "bl.ink", "lnkd.in", "s.id"}
_LINK = re.compile(r'<a href="([^"]*)"[^>]*>(.*?)</a>', re.S)


class Recipient(Protocol):
    """Whom a message goes to: the store's Subscriber fits. Links name them by `public_id`, never the address."""
    email: str
    name: str
    public_id: str


@dataclass(frozen=True)
class Addressee:
    """A recipient who need not be on the list (a test copy, a sample): with no `public_id`, the unsubscribe link
    opens the service's "not on the list" page and changes nothing."""
    email: str
    name: str = ""
    public_id: str = ""


@dataclass(frozen=True)
class Newsletter:
    """One post, compiled for email: `html` and `text` hold placeholders for the per-recipient fields."""
    slug: str
    source: Path
    subject: str
    preheader: str
    html: str
    text: str
    post_url: str
    web_url: str
    list_id: str
    prepared: _Prepared = field(repr=False, compare=False)
    warnings: tuple[ContentError, ...] = ()


@dataclass(frozen=True)
class _Prepared:
    """Everything personalise needs, built once: the compiled email and the fixed parts of the links."""
    email: Compiled
    unsubscribe_base: str
    unsubscribe_mailto: str
    web_values: dict[str, str]


def compile_newsletter(post: Post, config: Config, env: jinja2.Environment, *,
                       mjml_to_html: Callable[[str], str] = compile_mjml) -> Newsletter:
    """Render, compile and check the newsletter for `post`; a ContentError names the post when it cannot be sent."""
    subject = one_line(f"{config.newsletter.subject_prefix} {post.title}")
    web_url = f"{config.site.url}/newsletter/{post.slug}/"
    excerpt = config.newsletter.content == "excerpt"
    draft = Draft(TEMPLATE, subject, _context(post, config, web_url, excerpt),
                  _plain_text(post, config, web_url, excerpt), SLOT_NAMES,
                  key=repr((post, config.site, config.booking)), css_variable="newsletter_css",
                  content_source=post.source)
    compiled = compile_email(draft, config, env, mjml_to_html=mjml_to_html)
    _check_size(post, config, compiled.frame.html_body)
    return Newsletter(
        slug=post.slug, source=post.source, subject=subject, preheader=_preheader(post.summary),
        html=compiled.html, text=compiled.text, post_url=post.url, web_url=web_url, list_id=config.list_id,
        warnings=tuple(_spam_warnings(post)), prepared=_prepare(config, compiled),
    )


def _context(post: Post, config: Config, web_url: str, excerpt: bool) -> dict:
    b = config.booking
    mailto = f"mailto:{b.email}?subject={quote('Booking: ' + one_line(post.title), safe='')}" if b.email else ""
    site_url = config.site.url
    return {
        "post": dataclasses.replace(post, image=email_image(post.image, site_url)) if post.image else post,
        "preheader": _preheader(post.summary), "body": Markup(email_images(strip_controls(post.html), site_url)),
        "excerpt": excerpt, "web_url": web_url, "booking_mailto": mailto,
    }


def _plain_text(post: Post, config: Config, web_url: str, excerpt: bool) -> Callable[[dict[str, str]], str]:
    """How the plain-text part is written once the placeholders are known."""
    return lambda marks: render_text(post, config, Slots(marks["greeting"], marks["sent_to"],
                                                         marks["unsubscribe_url"]), web_url, excerpt)


def _check_size(post: Post, config: Config, body: mime.Body) -> None:
    size = sum(len(piece) for piece in body.pieces) + RECIPIENT_RESERVE
    limit = config.newsletter.max_html_bytes
    if size > limit:
        raise ContentError(
            f"the newsletter's HTML is {size:,} bytes, over newsletter.max_html_bytes ({limit:,}); Gmail cuts "
            "off longer messages. Shorten the post, or set content = \"excerpt\" under [newsletter] in "
            "publisher.toml to send the summary with a link", post.source)


def _prepare(config: Config, compiled: Compiled) -> _Prepared:
    return _Prepared(
        email=compiled,
        unsubscribe_base=f"{config.subscribe_base}/unsubscribe?token=",
        unsubscribe_mailto=f"mailto:{quote(config.from_address, safe='@')}?subject=unsubscribe",
        web_values={"greeting": "Hello,", "sent_to": "", "unsubscribe_url": f"{config.site.url}/#subscribe",
                    "unsubscribe_label": "Subscribe"},
    )


def personalise(newsletter: Newsletter, recipient: Recipient, *, tokens: LinkTokens,
                now: dt.datetime, unsubscribe_mailto: str = "") -> EmailMessage:
    """The message for one recipient: string substitution into the compiled newsletter, never a recompile.
    `unsubscribe_mailto` replaces the List-Unsubscribe mailto: (the From address) with the recipient's own."""
    p = newsletter.prepared
    address, name = recipient.email, recipient.name
    unsubscribe = p.unsubscribe_base + tokens.make(UNSUBSCRIBE, recipient.public_id, newsletter.list_id)
    frame = p.email.frame
    return frame.message(address, name, recipient_values(address, name, unsubscribe), now=now,
                         message_id=message_id(newsletter, address, frame.message_domain),
                         list_unsubscribe=f"<{unsubscribe}>,\r\n <{unsubscribe_mailto or p.unsubscribe_mailto}>")


def message_id(newsletter: Newsletter, email_address: str, domain: str) -> str:
    """The same Message-ID every time this post goes to this address, so a resend is recognisable."""
    key = f"{newsletter.list_id}\n{newsletter.slug}\n{email_address.strip().lower()}"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}.{newsletter.slug[:40]}@{domain}>"


def make_renderer(newsletter: Newsletter, secret: str, clock: Callable[[], dt.datetime],
                  sign: Callable[[EmailMessage], EmailMessage] | None = None,
                  mailto: Callable[[Recipient], str] | None = None) -> Callable[[Recipient], EmailMessage]:
    """The per-recipient callback a campaign runner calls: `render(subscriber) -> EmailMessage`; `mailto`
    gives each recipient's List-Unsubscribe mailto: URI when they have one of their own.

    The secret is checked here, once, so a missing PUBLISHER_SECRET_KEY stops a campaign before its first message.
    """
    tokens = LinkTokens(secret)

    def render(recipient: Recipient) -> EmailMessage:
        msg = personalise(newsletter, recipient, tokens=tokens, now=clock(),
                          unsubscribe_mailto=mailto(recipient) if mailto else "")
        return sign(msg) if sign else msg
    return render


def web_links(newsletter: Newsletter) -> list[str]:
    """The web links of the newsletter's HTML part, in order, each once (the unsubscribe link is not one)."""
    return tracked_urls(newsletter.prepared.email.html, newsletter.prepared.email.slot_pattern)


def track_links(newsletter: Newsletter, targets: dict[str, str]) -> Newsletter:
    """The newsletter with each link of its HTML part that `targets` names (by URL) pointing at its target; the
    plain-text part keeps the direct links. Done once per campaign: every recipient gets the same links."""
    email = newsletter.prepared.email
    markup = with_tracked_links(email.html, targets)
    prepared = dataclasses.replace(newsletter.prepared, email=email.with_html(markup))
    return dataclasses.replace(newsletter, html=markup, prepared=prepared)


def render_web_version(newsletter: Newsletter) -> bytes:
    """The newsletter as a web page for "View in your browser": no recipient's data, a subscribe link instead."""
    values = newsletter.prepared.web_values
    page = newsletter.prepared.email.slot_pattern.sub(lambda m: str(escape(values[m[1]])), newsletter.html)
    head = (f'<link rel="canonical" href="{newsletter.post_url}">\n'
            '<meta name="robots" content="noindex">\n</head>')
    return page.replace("</head>", head, 1).encode("ascii", "xmlcharrefreplace")


def _preheader(summary: str) -> str:
    text = one_line(summary)
    if len(text) <= PREHEADER_LENGTH:
        return text
    return text[:PREHEADER_LENGTH].rsplit(" ", 1)[0] + "…"


def _spam_warnings(post: Post) -> list[ContentError]:
    """What spam filters would hold against this newsletter, as warnings the author can act on."""
    found = []
    letters = [c for c in post.title if c.isalpha()]
    if len(letters) >= 6 and all(c.isupper() for c in letters):
        found.append(ContentError("the title is all capitals, which spam filters count against a subject line; "
                                  "write it in sentence case", post.source))
    for href, inner in _LINK.findall(post.html):
        host = (urlsplit(href).hostname or "").lower()
        if host in _SHORTENERS:
            found.append(ContentError(f"the link to {href} uses a link shortener, which spam filters distrust; "
                                      "link to the real address", post.source))
        shown = re.sub(r"<[^>]+>", "", inner).strip()
        if re.match(r"(?i)^(https?://|www\.)\S+$", shown) and _host(shown) != host.removeprefix("www."):
            found.append(ContentError(f"the link text {shown!r} shows another address than the link ({href}), "
                                      "which spam filters treat as phishing; make them match", post.source))
    return found


def _host(shown: str) -> str:
    url = shown if "://" in shown else "http://" + shown
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")

