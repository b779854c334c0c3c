"""The rules of the subscription service, over the store, the signed tokens and the service's emails:
sign up (double opt-in), confirm (once, then a welcome), unsubscribe (one click). app.py puts them on HTTP,
where opening a confirm or unsubscribe link only shows what its button will do.

Signing up answers the same whatever the address's state, so the form tells nobody who is subscribed:
every address gets a confirmation email (at most CONFIRMATIONS_PER_ADDRESS an hour, counted in the store so
the limit holds across processes, for sign-ups and the author's invitations together). A new address becomes
pending; one that unsubscribed, bounced or complained stays so until the reader opens the link: a sign-up
alone never makes anyone mailable again. Confirming an address that is already active changes nothing. Each
step is written to the subscriber's consent history with the request's IP address as its evidence.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import jinja2

from ..build.pipeline import load_site
from ..config import Config
from ..content.posts import Post
from ..content.schedule import is_published
from ..content.sources import find_posts
from ..errors import PublisherError, SignUpError, TokenError
from ..mail.tokens import CONFIRM, UNSUBSCRIBE, LinkTokens, TokenData
from ..store import CONTROL_CHARACTERS, SUPPRESSED_STATUSES, Store, Subscriber
from .emails import (
    WELCOME_POSTS,
    Notice,
    compile_confirmation,
    compile_welcome,
    personalise_notice,
)
from .subscriber_csv import validate_address

HONEYPOT = "website"
MAX_ADDRESS = 254
MAX_NAME = 100
ONE_CLICK = ("List-Unsubscribe", "One-Click")
CONFIRMATIONS_PER_ADDRESS = 3  # per CONFIRMATION_WINDOW: the form cannot be used to flood someone's inbox
CONFIRMATION_WINDOW = dt.timedelta(hours=1)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignUp:
    email: str
    name: str = ""


def read_sign_up(form: Mapping[str, str]) -> SignUp:
    """The address and name from the subscribe form, checked: a SignUpError for anything a person would not send."""
    if form.get(HONEYPOT, ""):
        raise SignUpError("please fill in only your email address and send the form again")
    email, name = form.get("email", ""), form.get("name", "")
    if not email.strip():
        raise SignUpError("email: enter your email address")
    for field, value, limit in (("email", email, MAX_ADDRESS), ("name", name, MAX_NAME)):
        if CONTROL_CHARACTERS.search(value):
            raise SignUpError(f"{field}: remove the line breaks and control characters")
        if len(value) > limit:
            raise SignUpError(f"{field}: at most {limit} characters, please")
    try:
        return SignUp(validate_address(email), " ".join(name.split()))
    except ValueError as exc:
        raise SignUpError(f"email: {exc}") from None


class Subscriptions:
    """Subscribe, confirm and unsubscribe for one site; `deliver(msg)` sends one email (or raises DeliveryError)."""

    def __init__(self, config: Config, store: Store, env: jinja2.Environment,
                 deliver: Callable[[EmailMessage], object], clock: Callable[[], dt.datetime]):
        self.config = config
        self._store = store
        self._env = env
        self._deliver = deliver
        self._clock = clock
        self._tokens = LinkTokens(config.secrets.secret_key, config.secrets.old_secret_keys)
        self._confirmation = compile_confirmation(config, env)
        self._welcome: tuple[tuple, Notice] | None = None
        self._posts: tuple[tuple, tuple[Post, ...]] | None = None

    def subscribe(self, sign_up: SignUp, ip: str = "") -> bool:
        """Record the sign-up (from IP address `ip`) and send the confirmation email; False, recording and
        sending nothing, when the address has had its confirmation emails for the hour (DeliveryError when
        the email cannot go)."""
        return self._ask(sign_up, "subscribed", "form", ip)

    def invite(self, sign_up: SignUp) -> tuple[str, str]:
        """The author's invitation: the same confirmation email, recorded as 'invited'. Returns 'already'
        (active: nothing sent), 'too_many' (the hour's confirmation emails were sent: nothing sent) or
        'invited', with the address as the list has it."""
        subscriber = self._store.get_subscriber(sign_up.email)
        email = subscriber.email if subscriber else sign_up.email
        if subscriber is not None and subscriber.status == "active":
            return "already", email
        return ("invited" if self._ask(sign_up, "invited", "cli", "") else "too_many"), email

    def _ask(self, sign_up: SignUp, kind: str, how: str, detail: str) -> bool:
        """Record a sign-up or invitation and send the confirmation email, unless the hour's limit is reached."""
        now = self._clock()
        if self._store.confirmations_since(sign_up.email, now - CONFIRMATION_WINDOW) >= CONFIRMATIONS_PER_ADDRESS:
            return False
        subscriber = self._store.request_subscription(sign_up.email, sign_up.name, now=now, kind=kind, how=how,
                                                      detail=detail)
        self._deliver(personalise_notice(self._confirmation, subscriber, tokens=self._tokens, now=now))
        return True

    def check_confirm(self, token: str) -> tuple[str, str]:
        """What `confirm` would answer, changing nothing, and the link's address: 'confirm' while the address
        waits for this link, else 'already' or 'stale'; the same errors as `confirm` for a bad link."""
        data = self._read_confirm(token, self._clock())
        subscriber = self._subscriber(data)
        if subscriber is None:
            return "stale", ""
        if subscriber.status == "active":
            return "already", subscriber.email
        waiting = (subscriber.status == "pending" and subscriber.updated_at <= _pending_by(data)
                   or subscriber.status in SUPPRESSED_STATUSES and subscriber.updated_at < data.issued)
        return ("confirm" if waiting else "stale"), subscriber.email

    def confirm(self, token: str, ip: str = "") -> str:
        """'confirmed' (and the welcome sent), 'already' (active before), or 'stale' (unsubscribed since, or
        unknown); TokenError when the link is not genuine or dated in the future, TokenExpired when too old.
        The confirmation is recorded with the IP address `ip` it came from."""
        now = self._clock()
        data = self._read_confirm(token, now)
        subscriber = self._subscriber(data)
        if subscriber is None:
            return "stale"
        if self._store.confirm_subscriber(subscriber.email, _pending_by(data), now=now, left_by=data.issued,
                                          how="link", detail=ip):
            self._send_welcome(subscriber.email)
            return "confirmed"
        current = self._store.get_subscriber(subscriber.email)
        return "already" if current and current.status == "active" else "stale"

    def check_unsubscribe(self, token: str) -> tuple[str, str]:
        """'unsubscribe' and the address a genuine unsubscribe link is for, or 'gone' and no address when the
        list no longer knows whom it was for; TokenError for a bad link."""
        subscriber = self._subscriber(self._read(UNSUBSCRIBE, token, None, self._clock()))
        return ("unsubscribe", subscriber.email) if subscriber else ("gone", "")

    def unsubscribe(self, token: str, how: str = "link", ip: str = "") -> tuple[str, str]:
        """Unsubscribe the link's subscriber (if still subscribed): 'unsubscribed' and the address, or 'gone'
        and no address when the list no longer knows them; TokenError for a bad link. `how` is 'one-click' for
        a mail program's RFC 8058 request, 'link' for the button on the page."""
        message, email = self.check_unsubscribe(token)
        if not email:
            return message, email
        self._store.unsubscribe(email, now=self._clock(), how=how, detail=ip)
        return "unsubscribed", email

    def _subscriber(self, data: TokenData) -> Subscriber | None:
        """Whom a genuine link is for: by opaque id, or by address for a link of the format used before."""
        if data.email:
            return self._store.get_subscriber(data.email)
        return self._store.get_subscriber_by_public_id(data.public_id)

    def _read_confirm(self, token: str, now: dt.datetime) -> TokenData:
        return self._read(CONFIRM, token, dt.timedelta(hours=self.config.subscriptions.confirm_hours), now)

    def _read(self, purpose: str, token: str, max_age: dt.timedelta | None, now: dt.datetime) -> TokenData:
        data = self._tokens.read(purpose, token, max_age, now)
        if data.list_id != self.config.list_id:
            raise TokenError("this link is for another newsletter")
        return data

    def _send_welcome(self, email: str) -> None:
        """The welcome email, when [newsletter] welcome is on; a failure is logged, the confirmation stands."""
        if not self.config.newsletter.welcome:
            return
        subscriber = self._store.get_subscriber(email)
        try:
            self._deliver(personalise_notice(self._welcome_notice(), subscriber, tokens=self._tokens,
                                             now=self._clock()))
        except PublisherError as exc:
            log.error("the welcome email could not be sent: %s", exc)

    def _welcome_notice(self) -> Notice:
        """The welcome compiled for the newest posts, recompiled only when those change."""
        posts = self._newest_posts()
        if self._welcome is None or self._welcome[0] != posts:
            self._welcome = (posts, compile_welcome(self.config, self._env, posts))
        return self._welcome[1]

    def _newest_posts(self) -> tuple[Post, ...]:
        """The newest published posts. Every post is parsed again only when a post file has changed (a large
        site takes a second), and scheduled ones join the list as their time comes."""
        now = self._clock()
        try:
            signature = _posts_signature(self.config.path(self.config.paths.posts))
            if self._posts is None or self._posts[0] != signature:
                site, _ = load_site(self.config, now, drafts=True)
                self._posts = (signature, site.posts)
        except PublisherError as exc:
            log.warning("the welcome email lists no posts, as they cannot be read: %s", exc)
            return ()
        return tuple(p for p in self._posts[1] if is_published(p, now))[:WELCOME_POSTS]


def _pending_by(data: TokenData) -> dt.datetime:
    """A confirm link confirms only an address pending since the second it was made (tokens count whole seconds),
    so a link sent before someone last unsubscribed confirms nothing. Someone who left is confirmed only by a
    link made in a later second than their leaving (`data.issued`, strictly): never by one made before it."""
    return data.issued + dt.timedelta(seconds=1)


def _posts_signature(posts_dir: Path) -> tuple:
    """What changes when a post file is added, removed or edited."""
    return tuple((str(path), st.st_mtime_ns, st.st_size) for path, st in find_posts(posts_dir))
