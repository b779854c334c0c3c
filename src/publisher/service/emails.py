"""The subscription service's own emails, in the newsletter's look: the confirmation a new subscriber is asked
for, and the welcome sent once they have confirmed.

Like a newsletter, each is compiled once (template, MJML, CSS, plain text, encoded bodies, folded headers) and
personalised per recipient by filling in placeholders: the greeting, the address and the recipient's own link,
a confirm link that expires or an unsubscribe link that the newsletter's unsubscribe handling also accepts.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

import jinja2
from markupsafe import Markup

from ..build.theme import format_date
from ..config import Config
from ..content.posts import Post
from ..errors import ContentError
from ..mail import mime
from ..mail.newsletter import (
    Frame,
    compile_mjml,
    inline_css,
    make_frame,
    one_line,
    recipient_values,
)
from ..mail.plaintext import WIDTH, booking_text, wrap
from ..mail.tokens import CONFIRM, UNSUBSCRIBE, make_token

CONFIRM_TEMPLATE = "confirm.mjml"
WELCOME_TEMPLATE = "welcome.mjml"
SLOT_NAMES = ("greeting", "sent_to", "link")
WELCOME_POSTS = 3


@dataclass(frozen=True)
class Notice:
    """One of the service's emails, compiled: `html` and `text` hold placeholders for the per-recipient fields."""
    purpose: str
    subject: str
    html: str
    text: str
    prepared: _Prepared = field(repr=False, compare=False)


@dataclass(frozen=True)
class _Prepared:
    frame: Frame
    link_base: str
    list_id: str


@dataclass(frozen=True)
class _Draft:
    """What a notice is made from: its template and context, its plain text, and the purpose of its link."""
    template: str
    purpose: str
    subject: str
    preheader: str
    context: dict
    text: Callable[[dict[str, str]], str]


def compile_confirmation(config: Config, env: jinja2.Environment, *,
                         mjml_to_html: Callable[[str], str] = compile_mjml) -> Notice:
    """The confirmation email: a button to the recipient's confirm link, which works for confirm_hours."""
    hours = config.subscriptions.confirm_hours
    draft = _Draft(CONFIRM_TEMPLATE, CONFIRM, one_line(f"Confirm your subscription to {config.site.title}"),
                   "Confirm your address and you are subscribed.", {"hours": hours},
                   lambda marks: _confirm_text(config, marks, hours))
    return _compile(config, env, draft, mjml_to_html)


def compile_welcome(config: Config, env: jinja2.Environment, posts: Sequence[Post], *,
                    mjml_to_html: Callable[[str], str] = compile_mjml) -> Notice:
    """The welcome email, with links to the newest posts (`posts` newest first; the first few are shown)."""
    newest = tuple(posts[:WELCOME_POSTS])
    draft = _Draft(WELCOME_TEMPLATE, UNSUBSCRIBE, one_line(f"Welcome to {config.site.title}"),
                   "Thank you for subscribing. Here is what to read first.", {"posts": newest},
                   lambda marks: _welcome_text(config, marks, newest))
    return _compile(config, env, draft, mjml_to_html)


def _compile(config: Config, env: jinja2.Environment, draft: _Draft, mjml_to_html: Callable[[str], str]) -> Notice:
    nonce = hashlib.sha256(repr((draft.template, draft.context, config)).encode()).hexdigest()[:16]
    marks = {name: f"__publisher_{nonce}_{name}__" for name in SLOT_NAMES}
    slot_pattern = re.compile(rf"__publisher_{nonce}_({'|'.join(SLOT_NAMES)})__")
    module = env.get_template(draft.template).make_module({
        "config": config, "subject": draft.subject, "preheader": draft.preheader,
        "slots": {name: Markup(mark) for name, mark in marks.items()}, **draft.context})
    try:
        compiled = mjml_to_html(str(module))
    except ValueError as exc:
        raise ContentError(f"the email could not be compiled ({exc}); check the template", draft.template) from None
    markup = mime.normalise_html(inline_css(compiled, str(getattr(module, "notice_css", ""))))
    text = draft.text(marks)
    boundary = f"=_publisher_{nonce}"
    prepared = _prepare(config, draft, mime.prepare_html(markup, slot_pattern, boundary),
                        mime.prepare_text(text, slot_pattern), boundary)
    return Notice(purpose=draft.purpose, subject=draft.subject, html=markup, text=text, prepared=prepared)


def _prepare(config: Config, draft: _Draft, html_body: mime.Body, text_body: mime.Body, boundary: str) -> _Prepared:
    page = "confirm" if draft.purpose == CONFIRM else "unsubscribe"
    return _Prepared(frame=make_frame(config, draft.subject, html_body, text_body, boundary),
                     link_base=f"{config.subscribe_base}/{page}?token=", list_id=config.list_id)


def personalise_notice(notice: Notice, email_address: str, name: str = "", *, secret: str,
                       now: dt.datetime) -> EmailMessage:
    """The notice for one recipient, with their own signed link (a confirm link carries `now`, so it expires)."""
    p = notice.prepared
    issued = now if notice.purpose == CONFIRM else None
    link = p.link_base + make_token(secret, notice.purpose, email_address, p.list_id, issued)
    values = {**recipient_values(email_address, name, link), "link": link}
    return p.frame.message(email_address, name, values, now=now,
                           message_id=email.utils.make_msgid(domain=p.frame.message_domain),
                           list_unsubscribe=f"<{link}>" if notice.purpose == UNSUBSCRIBE else "")


def _confirm_text(config: Config, marks: dict[str, str], hours: int) -> str:
    sections = [
        config.site.title,
        marks["greeting"],
        wrap(f"Someone, hopefully you, asked to receive the {config.site.title} newsletter: one email for each "
             "new article. Please confirm that this is your address by opening this link:"),
        marks["link"],
        wrap(f"The link works for {hours} hours. If you did not ask for this, ignore this email: without a "
             "confirmation you will not hear from us again."),
        _footer(config, [marks["sent_to"]]),
    ]
    return "\n\n".join(sections) + "\n"


def _welcome_text(config: Config, marks: dict[str, str], posts: tuple[Post, ...]) -> str:
    heading = f"Welcome to {config.site.title}"
    sections = [
        config.site.title,
        f"{heading}\n{'=' * min(len(heading), WIDTH)}",
        marks["greeting"],
        "Thank you for confirming. Each new article will now arrive in this inbox.",
        *([_latest(len(posts))] + [_post_text(p) for p in posts] if posts else []),
        f"Visit {config.site.title}: {config.site.url}/",
        booking_text(config),
        _footer(config, [wrap(f"You are receiving this because you subscribed to the {config.site.title} "
                              "newsletter."), marks["sent_to"], f"Unsubscribe: {marks['link']}"]),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _latest(count: int) -> str:
    return f"While you wait, here {'is the latest article' if count == 1 else 'are the latest articles'}:"


def _post_text(post: Post) -> str:
    lines = [wrap(one_line(post.title)), format_date(post.date)]
    lines += [wrap(one_line(post.summary))] if post.summary else []
    return "\n".join(lines + [post.url])


def _footer(config: Config, lines: list[str]) -> str:
    return "\n".join(["-" * 24, *lines, *([config.site.address] if config.site.address else [])])
