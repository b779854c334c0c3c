"""The subscription service's own emails, in the newsletter's look: the confirmation a new subscriber is asked
for, and the welcome sent once they have confirmed.

Like a newsletter, each is compiled once by the email compile step (mail/compose.py) and personalised per
recipient by filling in placeholders: the greeting, the address and the recipient's own link, a confirm link
that expires or an unsubscribe link that the newsletter's unsubscribe handling also accepts.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

import jinja2

from ..build.theme import format_date
from ..config import Config
from ..content.posts import Post
from ..mail.compose import Compiled, Draft, compile_email, compile_mjml
from ..mail.frame import one_line, recipient_values
from ..mail.plaintext import WIDTH, booking_text, wrap
from ..mail.newsletter import Recipient
from ..mail.tokens import CONFIRM, UNSUBSCRIBE, LinkTokens

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
    email: Compiled
    link_base: str
    list_id: str


def compile_confirmation(config: Config, env: jinja2.Environment, *,
                         mjml_to_html: Callable[[str], str] = compile_mjml) -> Notice:
    """The confirmation email: a button to the recipient's confirm link, which works for confirm_hours."""
    hours = config.subscriptions.confirm_hours
    subject = one_line(f"Confirm your subscription to {config.site.title}")
    draft = _draft(CONFIRM_TEMPLATE, subject, "Confirm your address and you are subscribed.", {"hours": hours},
                   lambda marks: _confirm_text(config, marks, hours), config)
    return _compile(config, env, draft, CONFIRM, mjml_to_html)


def compile_welcome(config: Config, env: jinja2.Environment, posts: Sequence[Post], *,
                    mjml_to_html: Callable[[str], str] = compile_mjml) -> Notice:
    """The welcome email, with links to the newest posts (`posts` newest first; the first few are shown)."""
    newest = tuple(posts[:WELCOME_POSTS])
    subject = one_line(f"Welcome to {config.site.title}")
    draft = _draft(WELCOME_TEMPLATE, subject, "Thank you for subscribing. Here is what to read first.",
                   {"posts": newest}, lambda marks: _welcome_text(config, marks, newest), config)
    return _compile(config, env, draft, UNSUBSCRIBE, mjml_to_html)


def _draft(template: str, subject: str, preheader: str, context: dict, text: Callable[[dict[str, str]], str],
           config: Config) -> Draft:
    """What a notice is made from; its placeholders' names hash the template, its own context and the config."""
    return Draft(template, subject, {"preheader": preheader, **context}, text, SLOT_NAMES,
                 key=repr((template, context, config)), css_variable="notice_css")


def _compile(config: Config, env: jinja2.Environment, draft: Draft, purpose: str,
             mjml_to_html: Callable[[str], str]) -> Notice:
    """The notice compiled once, with the base of its link: the confirm page, or the unsubscribe page."""
    compiled = compile_email(draft, config, env, mjml_to_html=mjml_to_html)
    page = "confirm" if purpose == CONFIRM else "unsubscribe"
    prepared = _Prepared(email=compiled, link_base=f"{config.subscribe_base}/{page}?token=", list_id=config.list_id)
    return Notice(purpose=purpose, subject=draft.subject, html=compiled.html, text=compiled.text, prepared=prepared)


def personalise_notice(notice: Notice, recipient: Recipient, *, tokens: LinkTokens,
                       now: dt.datetime) -> EmailMessage:
    """The notice for one recipient, with their own signed link (a confirm link carries `now`, so it expires)."""
    p = notice.prepared
    issued = now if notice.purpose == CONFIRM else None
    link = p.link_base + tokens.make(notice.purpose, recipient.public_id, p.list_id, issued)
    address, name = recipient.email, recipient.name
    values = {**recipient_values(address, name, link), "link": link}
    frame = p.email.frame
    return frame.message(address, name, values, now=now,
                         message_id=email.utils.make_msgid(domain=frame.message_domain),
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
