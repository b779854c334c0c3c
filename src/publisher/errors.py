"""Errors a user can act on, every one the project raises on purpose. Each carries where the problem is and how to
fix it. Anything else that escapes is a bug: the CLI shows its traceback only with --debug.

What each becomes:

| error | raised when | the author or reader sees |
|---|---|---|
| ConfigError | publisher.toml, the environment or [database] path cannot be used | `Error: publisher.toml: key: fix`, exit 1; `serve` does not start |
| ContentError | a post, page or template is wrong | `Error: posts/x.md:3: field: fix`, exit 1; the preview shows it as a page; `check` lists it |
| Problems | several of the above found in one pass | one `Error:` line each, exit 1 |
| DatabaseBusy | another process held the database past [database] busy_timeout | one line, exit 1; the service answers 503 with Retry-After |
| DatabaseUnavailable | the PostgreSQL server cannot be reached, refuses the login, or the connection is lost | one line without the password, exit 1; the service answers 503 with Retry-After |
| Busy | another `send` or `publish` holds the site's sending lock | a line saying so; exit 0, so cron does not count it as a failure |
| DeliveryError | mail cannot be handed over at all (say, the Maildir outbox cannot be written) | one line, exit 1 |
| TransientError | one message was deferred (4xx) or its outcome is unknown | nothing: the campaign retries it with backoff, then records it failed |
| ServerBusy | the server turned a connection away (421, refused, silence) | nothing at first: the campaign backs off, then SendingStopped |
| PermanentError | the server refused one recipient (5xx) | that delivery failed (the subscriber bounced if the mailbox is unknown); exit 1 |
| SendingStopped | nothing can be sent now (unreachable, TLS or login refused, outage) | how many are still queued and that a rerun resumes; exit 1 |
| InboxError | the bounce mailbox cannot be read (unreachable, login refused, connection lost halfway) | one line saying a rerun finishes the job; exit 1 |
| TokenError, TokenExpired | a confirm or unsubscribe link is forged, cut short or too old | the service's "link not valid" or "link expired" page |
| SignUpError | the subscribe form is filled in wrongly | the form's page with the problem, 400 |
| BookingError | the booking request form is filled in wrongly | the form again, filled in, with one line per field, 400 |
| WebhookRefused | a provider's webhook call is unsigned, forged, too old or a replay | 403 and one log line; nothing changes |
| WebhookInvalid | a genuine webhook call's body cannot be read | 400 and one log line; nothing changes |
"""

from __future__ import annotations

from pathlib import Path


class PublisherError(Exception):
    """Base class: an error the CLI prints as one clear line, without a traceback."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


class ConfigError(PublisherError):
    """publisher.toml or the environment holds a value that cannot be used."""


class ContentError(PublisherError):
    """A post cannot be read or parsed."""


class DeliveryError(PublisherError):
    """A message could not be handed to the mail transport."""


class DatabaseBusy(PublisherError):
    """Another process held the database's write lock for longer than the busy timeout: nothing was written."""

    def __init__(self, path: Path, timeout: float):
        super().__init__(f"the database {path} is busy: another publisher process (or another program) has held "
                         f"it for more than {timeout:g} s; try again when it has finished")


class DatabaseUnavailable(PublisherError):
    """The database server cannot be reached or refuses the login, or the connection to it was lost: nothing
    more was written, and what was in flight is as a rerun finds it."""


class TokenError(PublisherError):
    """The token was not made with this site's key for this purpose (forged, altered or cut short)."""


class TokenExpired(TokenError):
    """The token is genuine but older than it may be."""


class SignUpError(PublisherError):
    """The form cannot be accepted: the message says which field and what to do."""


class BookingError(PublisherError):
    """The booking form cannot be accepted: one message per field at fault, each saying what to do."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


class WebhookRefused(PublisherError):
    """A webhook call that cannot be shown to come from the provider (no or a wrong signature or password, a
    certificate from elsewhere, a timestamp too old) or that was handled before."""


class WebhookInvalid(PublisherError):
    """A webhook call whose body is not what the provider documents (not JSON, a field of the wrong kind)."""


class Busy(PublisherError):
    """Another process holds the lock."""


class TransientError(DeliveryError):
    """The message was not accepted this time; trying again later may work. `uncertain`: the whole message
    reached the server before the connection broke or timed out, so it may have been delivered after all."""

    def __init__(self, message: str, reply: str = "", uncertain: bool = False):
        super().__init__(message)
        self.reply = reply or message
        self.uncertain = uncertain


class ServerBusy(TransientError):
    """The server turned the connection away or is closing it (a 421 reply, a refusal or silence while connecting):
    the message did not get through, and no other will until the server recovers."""


class PermanentError(DeliveryError):
    """The server refused the message for good (a 5xx reply)."""

    def __init__(self, message: str, code: int, reply: str, mailbox_unknown: bool = False):
        super().__init__(message)
        self.code = code
        self.reply = reply
        self.mailbox_unknown = mailbox_unknown


class SendingStopped(DeliveryError):
    """Nothing can be sent now (the server is unreachable or kept turning connections away, TLS or login was
    refused, the outbox cannot be written): the run stopped with every delivery not yet made still queued."""


class InboxError(DeliveryError):
    """The bounce mailbox cannot be read now (unreachable, login refused, connection lost): what was done so far
    is kept, and a rerun finishes the job."""


class Problems(PublisherError):
    """Several problems found in one pass, reported together (every one of them, then fail once)."""

    def __init__(self, problems: list[PublisherError]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
