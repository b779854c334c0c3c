"""Newsletters: a Post compiled once into a `Newsletter`, then personalised into an EmailMessage per recipient.

Compiling (once per post) renders templates/newsletter.mjml, compiles the MJML, inlines the CSS, writes the
plain text, checks the size and prepares the encoded bodies and folded headers. Personalising (once per
recipient) only fills the recipient's values into those prepared strings: no template, no MJML, no CSS.
The per-recipient values sit in the compiled HTML and text as placeholders whose names carry a hash of the
post, so no text an author writes can ever be mistaken for one.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit

import css_inline
import jinja2
import mjml
from markupsafe import Markup, escape

from ..config import CONFIG_NAME, Config
from ..content.posts import Post
from ..errors import ConfigError, ContentError, DeliveryError
from . import mime
from .plaintext import Slots, render_text
from .tokens import UNSUBSCRIBE, check_secret, make_token

TEMPLATE = "newsletter.mjml"
SLOT_NAMES = ("greeting", "sent_to", "unsubscribe_url", "unsubscribe_label")
PREHEADER_LENGTH = 140
RECIPIENT_RESERVE = 1_000  # bytes allowed for a recipient's name, address and link when checking the size
_SHORTENERS = {"bit.ly", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "cutt.ly",
               "shorturl.at", "tiny.cc", "rb.gy", "t.ly", "bl.ink", "lnkd.in", "s.id"}
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")  # control characters that are not whitespace
_LINK = re.compile(r'<a href="([^"]*)"[^>]*>(.*?)</a>', re.S)


class Recipient(Protocol):
    """Whom a message goes to: the store's Subscriber fits."""
    email: str
    name: str


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
class Frame:
    """What every email the site sends is made of, built once per compile: the two encoded bodies with their
    placeholders, the folded headers that are the same for everyone, and the domain of the Message-IDs.
    `message` fills in one recipient; the newsletter and the service's emails (service/emails.py) both use it."""
    html_body: mime.Body
    text_body: mime.Body
    headers: dict[str, mime.FoldedHeader]
    message_domain: str

    def message(self, email_address: str, name: str, values: dict[str, str], *, now: dt.datetime,
                message_id: str, list_unsubscribe: str = "") -> EmailMessage:
        """The multipart/alternative message for one recipient; the list headers only with `list_unsubscribe`."""
        h = self.headers
        headers = [h["From"], _to_header(email_address, one_line(name)), h["Subject"],
                   mime.raw_header("Date", email.utils.format_datetime(now)),
                   mime.raw_header("Message-ID", message_id), h["Reply-To"]]
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


@dataclass(frozen=True)
class _Prepared:
    """Everything personalise needs, built once: the frame and the fixed parts of the links."""
    frame: Frame
    slot_pattern: re.Pattern
    unsubscribe_base: str
    unsubscribe_mailto: str
    web_values: dict[str, str]


def compile_mjml(source: str) -> str:
    """MJML to HTML with mjml-python (MRML). No web fonts: the template declares its own font stack."""
    return mjml.mjml2html(source, fonts={})


def compile_newsletter(post: Post, config: Config, env: jinja2.Environment, *,
                       mjml_to_html: Callable[[str], str] = compile_mjml) -> Newsletter:
    """Render, compile and check the newsletter for `post`; a ContentError names the post when it cannot be sent."""
    nonce, marks, slot_pattern = _placeholders(post, config)
    subject = one_line(f"{config.newsletter.subject_prefix} {post.title}")
    web_url = f"{config.site.url}/newsletter/{post.slug}/"
    excerpt = config.newsletter.content == "excerpt"
    module = env.get_template(TEMPLATE).make_module(
        _context(post, config, subject, web_url, excerpt, marks))
    markup = mime.normalise_html(
        inline_css(_compile(mjml_to_html, str(module), post), str(getattr(module, "newsletter_css", ""))))
    text = render_text(post, config, Slots(marks["greeting"], marks["sent_to"], marks["unsubscribe_url"]),
                       web_url, excerpt)
    boundary = f"=_publisher_{nonce}"
    html_body = mime.prepare_html(markup, slot_pattern, boundary)
    _check_size(post, config, html_body)
    return Newsletter(
        slug=post.slug, source=post.source, subject=subject, preheader=_preheader(post.summary),
        html=markup, text=text, post_url=post.url, web_url=web_url, list_id=config.list_id,
        warnings=tuple(_spam_warnings(post)),
        prepared=_prepare(config, subject, html_body, mime.prepare_text(text, slot_pattern), slot_pattern, boundary),
    )


def _placeholders(post: Post, config: Config) -> tuple[str, dict[str, str], re.Pattern]:
    """Placeholder names that carry a hash of everything the author wrote, so no text of theirs can match one."""
    nonce = hashlib.sha256(repr((post, config.site, config.booking)).encode()).hexdigest()[:16]
    marks = {name: f"__publisher_{nonce}_{name}__" for name in SLOT_NAMES}
    return nonce, marks, re.compile(rf"__publisher_{nonce}_({'|'.join(SLOT_NAMES)})__")


def _context(post: Post, config: Config, subject: str, web_url: str, excerpt: bool, marks: dict) -> dict:
    b = config.booking
    mailto = f"mailto:{b.email}?subject={quote('Booking: ' + one_line(post.title), safe='')}" if b.email else ""
    return {
        "config": config, "post": post, "subject": subject, "preheader": _preheader(post.summary),
        "body": Markup(_strip_controls(post.html)), "excerpt": excerpt,
        "web_url": web_url, "booking_mailto": mailto,
        "slots": {name: Markup(mark) for name, mark in marks.items()},
    }


def _compile(mjml_to_html: Callable[[str], str], source: str, post: Post) -> str:
    try:
        return mjml_to_html(source)
    except ValueError as exc:
        raise ContentError(f"the newsletter could not be compiled from {TEMPLATE} ({exc}); check the template "
                           f"and any raw HTML in the post", post.source) from None


def inline_css(markup: str, css: str) -> str:
    """Apply the template's CSS as style attributes (mail clients drop <style>); <head> styles stay as they are."""
    if not css.strip():
        return markup
    inliner = css_inline.CSSInliner(inline_style_tags=False, keep_style_tags=True, keep_link_tags=True,
                                    load_remote_stylesheets=False, extra_css=css)
    return inliner.inline(markup)


def _check_size(post: Post, config: Config, body: mime.Body) -> None:
    size = sum(len(piece) for piece in body.pieces) + RECIPIENT_RESERVE
    limit = config.newsletter.max_html_bytes
    if size > limit:
        raise ContentError(
            f"the newsletter's HTML is {size:,} bytes, over newsletter.max_html_bytes ({limit:,}); Gmail cuts "
            "off longer messages. Shorten the post, or set content = \"excerpt\" under [newsletter] in "
            "publisher.toml to send the summary with a link", post.source)


def _prepare(config: Config, subject: str, html_body: mime.Body, text_body: mime.Body, slot_pattern: re.Pattern,
             boundary: str) -> _Prepared:
    return _Prepared(
        frame=make_frame(config, subject, html_body, text_body, boundary), slot_pattern=slot_pattern,
        unsubscribe_base=f"{config.subscribe_base}/unsubscribe?token=",
        unsubscribe_mailto=f"mailto:{quote(config.from_address, safe='@')}?subject=unsubscribe",
        web_values={"greeting": "Hello,", "sent_to": "", "unsubscribe_url": f"{config.site.url}/#subscribe",
                    "unsubscribe_label": "Subscribe"},
    )


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


def personalise(newsletter: Newsletter, email_address: str, name: str = "", *, secret: str,
                now: dt.datetime) -> EmailMessage:
    """The message for one recipient: string substitution into the compiled newsletter, never a recompile."""
    p = newsletter.prepared
    unsubscribe = p.unsubscribe_base + make_token(secret, UNSUBSCRIBE, email_address, newsletter.list_id)
    return p.frame.message(email_address, name, recipient_values(email_address, name, unsubscribe), now=now,
                           message_id=message_id(newsletter, email_address, p.frame.message_domain),
                           list_unsubscribe=f"<{unsubscribe}>,\r\n <{p.unsubscribe_mailto}>")


def recipient_values(email_address: str, name: str, unsubscribe_url: str) -> dict[str, str]:
    """The plain-text value of each placeholder for one recipient (escaped or encoded later, per part)."""
    name = one_line(name)
    return {
        "greeting": f"Hi \u2068{name}\u2069," if name else "Hello,",
        "sent_to": f"This email was sent to {email_address}.",
        "unsubscribe_url": unsubscribe_url,
        "unsubscribe_label": "Unsubscribe",
    }


def message_id(newsletter: Newsletter, email_address: str, domain: str) -> str:
    """The same Message-ID every time this post goes to this address, so a resend is recognisable."""
    key = f"{newsletter.list_id}\n{newsletter.slug}\n{email_address.strip().lower()}"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}.{newsletter.slug[:40]}@{domain}>"


def _to_header(email_address: str, name: str) -> mime.FoldedHeader:
    try:
        return mime.address_header("To", name, email_address)
    except (ValueError, IndexError):
        raise DeliveryError(f"cannot address a message to {email_address!r}: not a valid email address") from None


def make_renderer(newsletter: Newsletter, secret: str, clock: Callable[[], dt.datetime],
                  sign: Callable[[EmailMessage], EmailMessage] | None = None) -> Callable[[Recipient], EmailMessage]:
    """The per-recipient callback a campaign runner calls: `render(subscriber) -> EmailMessage`.

    The secret is checked here, once, so a missing PUBLISHER_SECRET_KEY stops a campaign before its first message.
    """
    check_secret(secret)

    def render(recipient: Recipient) -> EmailMessage:
        msg = personalise(newsletter, recipient.email, recipient.name, secret=secret, now=clock())
        return sign(msg) if sign else msg
    return render


def render_web_version(newsletter: Newsletter) -> bytes:
    """The newsletter as a web page for "View in your browser": no recipient's data, a subscribe link instead."""
    values = newsletter.prepared.web_values
    page = newsletter.prepared.slot_pattern.sub(lambda m: str(escape(values[m[1]])), newsletter.html)
    head = (f'<link rel="canonical" href="{newsletter.post_url}">\n'
            '<meta name="robots" content="noindex">\n</head>')
    return page.replace("</head>", head, 1).encode("ascii", "xmlcharrefreplace")


def one_line(text: str) -> str:
    """Text fit for one header line: control characters dropped, every run of whitespace (CR, LF…) one space."""
    return " ".join(_strip_controls(text).split())


def _strip_controls(text: str) -> str:
    return _CONTROLS.sub("", text)


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

