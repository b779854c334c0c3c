"""Provider webhooks on the service: what Mailgun, Postmark and Amazon SES (through SNS) report after a send,
applied to the list as the bounce mailbox's reports are (`feedback.events.apply_events`).

    POST /webhooks/mailgun    signed with PUBLISHER_MAILGUN_SIGNING_KEY (HMAC-SHA256 of timestamp + token)
    POST /webhooks/postmark   HTTP Basic user 'postmark', password PUBLISHER_POSTMARK_WEBHOOK_PASSWORD
    POST /webhooks/ses        an SNS message from [webhooks] ses_topic_arn, signed by SNS

A provider that is not set up answers 404. A call that is unsigned, forged, too old or a replay (a call
handled before: Mailgun's token, SNS's MessageId, Postmark's record ID) answers 403 and changes nothing; a
genuine call whose body is not what the provider documents answers 400. Each refusal is one line in the
log, without any secret.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable

from flask import Flask, Response, request

from ..config import Config
from ..errors import WebhookInvalid, WebhookRefused
from ..feedback.events import FeedbackEvent, apply_events
from ..feedback.providers import mailgun, postmark, ses, sns
from ..store import Store

MAX_WEBHOOK_BYTES = 65_536  # an SES notification with the original headers runs to a few kilobytes
log = logging.getLogger(__name__)


class Webhooks:
    """The rules of each provider's endpoint, over the site's store and clock."""

    def __init__(self, config: Config, store: Store, clock: Callable[[], dt.datetime], fetch: sns.Fetch):
        self.config, self.store, self.clock, self.fetch = config, store, clock, fetch
        self.certificates = sns.Certificates(fetch)

    def mailgun(self, body: bytes) -> str:
        """Apply a Mailgun event once its signature, age and one-time token are checked."""
        now = self.clock()
        call = mailgun.read_call(body, self.config.secrets.mailgun_signing_key, now, self._bounce_address)
        self._refuse_replay(mailgun.NAME, call.token, 2 * mailgun.MAX_AGE)
        said = self._apply(call.events)
        self.store.note_call(mailgun.NAME, call.token, forget_before=now - 2 * mailgun.MAX_AGE, now=now)
        return said

    def postmark(self, body: bytes, authorization: str) -> str:
        """Apply a Postmark bounce or spam complaint once the call's password is checked, and once only (a
        record's ID seen again within postmark.REMEMBER is a replay)."""
        postmark.check_password(authorization, self.config.secrets.postmark_password)
        now, events = self.clock(), postmark.read_call(body)
        for event in events:
            self._refuse_replay(postmark.NAME, event.key, postmark.REMEMBER)
        said = self._apply(events)
        for event in events:
            self.store.note_call(postmark.NAME, event.key, forget_before=now - postmark.REMEMBER, now=now)
        return said

    def ses(self, body: bytes) -> str:
        """Apply an SES notification, or confirm the SNS subscription, once the SNS message is verified."""
        now = self.clock()
        message = sns.read_message(body, self.config.webhooks.ses_topic_arn, self.certificates, now)
        message_id = str(message.get("MessageId") or "")
        self._refuse_replay(sns.NAME, message_id, 2 * sns.MAX_AGE)
        if message["Type"] == sns.NOTIFICATION:
            said = self._apply(ses.events_of(message.get("Message"), self._bounce_address))
        else:
            said = self._subscription(message)
        self.store.note_call(sns.NAME, message_id, forget_before=now - 2 * sns.MAX_AGE, now=now)
        return said

    @property
    def _bounce_address(self) -> str:
        return self.config.delivery.bounce_address

    def _refuse_replay(self, provider: str, call_id: str, remember: dt.timedelta) -> None:
        if self.store.call_seen(provider, call_id, since=self.clock() - remember):
            raise WebhookRefused(f"{provider}: this call ({call_id[:60]}) was handled before; a replay changes "
                                 "nothing")

    def _keys(self) -> tuple[str, ...]:
        """The keys a bounce tag may be signed with: the current one, then those retired since."""
        return (self.config.secrets.secret_key, *self.config.secrets.old_secret_keys)

    def _apply(self, events: tuple[FeedbackEvent, ...]) -> str:
        summary = apply_events(self.store, events, self.clock(), secret=self._keys(),
                               soft_bounce_limit=self.config.delivery.soft_bounce_limit)
        results = Counter(applied.result for applied in summary.applied)
        return ", ".join(f"{n} {result}" for result, n in results.items()) or "nothing to apply"

    def _subscription(self, message: dict) -> str:
        """Confirm our topic's subscription (logged), or, when that fails, log the URL for the author to open."""
        if message["Type"] != sns.CONFIRMATION:
            log.info("Amazon SNS: %s for %s", message["Type"], message["TopicArn"])
            return "noted"
        try:
            url = sns.confirm_subscription(message, self.fetch)
        except WebhookRefused as exc:
            log.warning("Amazon SNS subscription to %s not confirmed (%s); open its SubscribeURL to confirm: %s",
                        message["TopicArn"], exc, message.get("SubscribeURL"))
            return "subscription not confirmed: see the log"
        log.info("Amazon SNS: confirmed the subscription to %s (%s)", message["TopicArn"], url.split("?")[0])
        return "subscription confirmed"


def add_webhook_routes(app: Flask, config: Config, store: Store, clock: Callable[[], dt.datetime],
                       fetch: sns.Fetch = sns.fetch_https) -> None:
    """The three endpoints; each provider's answers 404 until it is set up."""
    hooks = Webhooks(config, store, clock, fetch)
    ready = {"mailgun": bool(config.secrets.mailgun_signing_key),
             "postmark": bool(config.secrets.postmark_password),
             "ses": bool(config.webhooks.ses_topic_arn)}

    @app.post("/webhooks/<provider>")
    def webhook(provider: str) -> Response:
        if not ready.get(provider):
            return _text(f"no {provider} webhook is set up here\n", 404)
        body = _body()
        handle = {"mailgun": lambda: hooks.mailgun(body), "ses": lambda: hooks.ses(body),
                  "postmark": lambda: hooks.postmark(body, request.headers.get("Authorization", ""))}[provider]
        return _answer(handle)


def _body() -> bytes:
    """The request body, allowed to be larger than the forms' (MAX_WEBHOOK_BYTES)."""
    request.max_content_length = MAX_WEBHOOK_BYTES
    return request.get_data(cache=False)


def _answer(handle: Callable[[], str]) -> Response:
    try:
        return _text(f"ok: {handle()}\n", 200)
    except WebhookRefused as exc:
        log.warning("webhook refused: %s", exc)
        return _text("forbidden\n", 403)
    except WebhookInvalid as exc:
        log.warning("webhook not understood: %s", exc)
        return _text(f"bad request: {exc}\n", 400)


def _text(text: str, status: int) -> Response:
    return Response(text, status, content_type="text/plain; charset=utf-8")
