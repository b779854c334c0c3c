"""Delivering one EmailMessage: over SMTP (TLS, AUTH, one reused connection per transport) or into a Maildir.

Errors say what the campaign runner should do next:
  TransientError  retry this message later (4xx replies, dropped connections, timeouts); `uncertain` when the
                  message had been sent and only the server's answer was missing, so it may have arrived;
  ServerBusy      a TransientError of the whole server, not of one message (421, a connection turned away or
                  not greeted): wait before connecting again, and stop the campaign if it goes on;
  PermanentError  give up on this message (5xx replies); `mailbox_unknown` when the address does not exist;
                  `mailbox_full(reply)` tells a full mailbox (552, X.2.2), tried again by the next campaign;
  DeliveryError   anything else stops the campaign, because it would fail for every message
                  (untrusted certificate, login refused, server unreachable, no STARTTLS on a remote host).
No message ever contains the SMTP password.
"""

from __future__ import annotations

import email.policy
import functools
import ipaddress
import mailbox
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from ..config import Config
from ..errors import (
    ConfigError,
    DeliveryError,
    PermanentError,
    ServerBusy,
    TransientError,
)
from ..mail.mime import to_bytes

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
_UNKNOWN_MAILBOX = re.compile(
    r"unknown|no such|does not exist|doesn't exist|not found|invalid (recipient|mailbox|address)"
    r"|mailbox unavailable|user not local|not allowed", re.IGNORECASE)


class Transport(Protocol):
    """Hands one message to the mail system and returns the server's reply (or where it was stored).
    `envelope_from`, when given, is where the mail system returns the message if it cannot be delivered (the
    SMTP MAIL FROM, recorded as Return-Path): a tagged bounce address; else the message's Sender or From."""

    def send(self, msg: EmailMessage, envelope_from: str = "") -> str: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect; built from an `smtp://` or `smtps://` URL by `parse_smtp_url`."""

    host: str
    port: int
    implicit_tls: bool = False
    username: str = ""
    password: str = field(default="", repr=False)
    allow_plaintext: bool = False
    timeout: float = 30.0
    helo: str = "localhost"
    setting: str = "delivery.smtp_url"

    @property
    def where(self) -> str:
        """The server as a URL to show people: never the password."""
        user = f"{self.username}@" if self.username else ""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{self.host}:{self.port}"

    @property
    def plaintext_ok(self) -> bool:
        """Plain text only to this machine, or when the config explicitly allows it."""
        return self.allow_plaintext or is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_smtp_url(url: str, *, password: str = "", allow_plaintext: bool = False, timeout: float = 30.0,
                   helo: str = "localhost", setting: str = "delivery.smtp_url") -> SmtpSettings:
    """`smtp://user@host:587` (STARTTLS) or `smtps://host:465` (implicit TLS) as settings, or a ConfigError that
    names `setting`, where the URL came from."""
    where = setting
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise ConfigError(f"{where}: expected smtp://host:port or smtps://host:port, got scheme {parts.scheme!r}")
    if parts.password is not None:
        raise ConfigError(f"{where}: remove the password from the URL and set PUBLISHER_SMTP_PASSWORD instead")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ConfigError(f"{where}: the port must be a number from 1 to 65535") from None
    if not parts.hostname:
        raise ConfigError(f"{where}: no host name; expected e.g. smtp://user@mail.example.com:587")
    username = unquote(parts.username or "")
    if username and not password:
        raise ConfigError(f"{where} logs in as {username!r}, but PUBLISHER_SMTP_PASSWORD is not set")
    return SmtpSettings(host=parts.hostname, port=port, implicit_tls=parts.scheme == "smtps", username=username,
                        password=password, allow_plaintext=allow_plaintext, timeout=timeout, helo=helo,
                        setting=setting)


class SmtpTransport:
    """One SMTP connection, opened on first use, kept for the next message and reopened after a drop."""

    def __init__(self, settings: SmtpSettings, ssl_context: ssl.SSLContext | None = None):
        self.settings = settings
        self._ssl = ssl_context or ssl.create_default_context()
        self._smtp: smtplib.SMTP | None = None

    def send(self, msg: EmailMessage, envelope_from: str = "") -> str:
        sender, recipients = envelope(msg)
        sender = envelope_from or sender
        international = not all(a.isascii() for a in (sender, *recipients))
        payload = to_bytes(msg, email.policy.SMTPUTF8 if international else email.policy.SMTP)
        smtp = self._connection()
        try:
            if not international and smtp.has_extn("pipelining"):
                return self._pipelined(smtp, sender, recipients, payload)
            return self._transaction(smtp, sender, recipients, payload, international)
        except OSError as exc:
            self._drop()
            raise TransientError(f"{self.settings.where}: connection lost while sending ({_reason(exc)})") from None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except OSError:
                pass
            self._drop()

    def _transaction(self, smtp: smtplib.SMTP, sender: str, recipients: list[str], payload: bytes,
                     international: bool) -> str:
        options = ["SMTPUTF8", "BODY=8BITMIME"] if international else []
        code, reply = smtp.mail(sender, options)
        self._expect(smtp, code, reply, "MAIL FROM", (250,))
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            self._expect(smtp, code, reply, f"RCPT TO <{recipient}>", (250, 251))
        code, reply = smtp.docmd("DATA")
        self._expect(smtp, code, reply, "DATA", (354,))
        return self._send_payload(smtp, payload)

    def _pipelined(self, smtp: smtplib.SMTP, sender: str, recipients: list[str], payload: bytes) -> str:
        """The same transaction with its commands sent together (RFC 2920): two round trips instead of four."""
        commands = [f"MAIL FROM:{smtplib.quoteaddr(sender)}", *(f"RCPT TO:{smtplib.quoteaddr(r)}" for r in recipients),
                    "DATA"]
        stages = ["MAIL FROM", *(f"RCPT TO <{r}>" for r in recipients), "DATA"]
        accepted = [(250,), *((250, 251) for _ in recipients), (354,)]
        smtp.send("".join(f"{command}\r\n" for command in commands))
        replies = [smtp.getreply() for _ in commands]
        for stage, (code, reply), ok in zip(stages, replies, accepted):
            if code not in ok:
                if replies[-1][0] == 354:
                    self._drop()  # the server is waiting for a message it must not get: hang up instead
                raise self._refused(smtp, code, reply, stage)
        return self._send_payload(smtp, payload)

    def _send_payload(self, smtp: smtplib.SMTP, payload: bytes) -> str:
        """Send the message after the server's 354 and return its verdict. Once the final dot is out, a lost
        connection or a timeout leaves the outcome unknown: the server may have taken the message."""
        smtp.send(_dot_stuffed(payload))
        try:
            code, reply = smtp.getreply()
        except OSError as exc:
            self._drop()
            raise TransientError(f"{self.settings.where}: connection lost after the message was sent "
                                 f"({_reason(exc)}); it may have arrived", uncertain=True) from None
        self._expect(smtp, code, reply, "DATA", (250,))
        return _reply_text(code, reply)

    def _expect(self, smtp: smtplib.SMTP, code: int, reply: bytes, stage: str, ok: tuple[int, ...]) -> None:
        if code not in ok:
            raise self._refused(smtp, code, reply, stage)

    def _refused(self, smtp: smtplib.SMTP, code: int, reply: bytes, stage: str) -> DeliveryError:
        """The error for a refusal, after resetting the session (or dropping it when the server said 421)."""
        text = _reply_text(code, reply)
        message = f"{self.settings.where} refused {stage}: {text}"
        if code == 421:
            self._drop()
            return ServerBusy(message, reply=text)
        self._reset(smtp)
        if code >= 500:
            unknown = stage.startswith("RCPT") and mailbox_unknown(code, text)
            return PermanentError(message, code=code, reply=text, mailbox_unknown=unknown)
        return TransientError(message, reply=text)

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            with self._connect_errors():
                self._smtp = self._open()
        return self._smtp

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        if s.implicit_tls:
            smtp = smtplib.SMTP_SSL(s.host, s.port, local_hostname=s.helo, timeout=s.timeout, context=self._ssl)
        else:
            smtp = smtplib.SMTP(s.host, s.port, local_hostname=s.helo, timeout=s.timeout)
        try:
            self._secure(smtp)
            if s.username:
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _secure(self, smtp: smtplib.SMTP) -> None:
        """Upgrade to TLS when the server offers STARTTLS; refuse plain text to a remote host unless allowed."""
        code, reply = smtp.ehlo()
        if 400 <= code < 500:
            raise smtplib.SMTPResponseException(code, reply)
        if self.settings.implicit_tls:
            return
        if smtp.has_extn("starttls"):
            smtp.starttls(context=self._ssl)
            smtp.ehlo()
        elif not self.settings.plaintext_ok:
            raise DeliveryError(
                f"{self.settings.where} does not offer STARTTLS, so mail would travel unencrypted; use smtps://, "
                "a server with STARTTLS, or set delivery.allow_plaintext = true if that is really intended")

    @contextmanager
    def _connect_errors(self) -> Iterator[None]:
        """Turn what can go wrong while connecting into ServerBusy (try later) or DeliveryError (stop)."""
        where = self.settings.where
        try:
            yield
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"{where}: login refused ({_reply_text(exc.smtp_code, exc.smtp_error)}); check "
                                "the user name in the URL and PUBLISHER_SMTP_PASSWORD") from None
        except smtplib.SMTPResponseException as exc:
            text = _reply_text(exc.smtp_code, exc.smtp_error)
            if 400 <= exc.smtp_code < 500:
                raise ServerBusy(f"{where}: server busy ({text})", reply=text) from None
            raise DeliveryError(f"{where}: server refused the connection ({text})") from None
        except smtplib.SMTPServerDisconnected as exc:
            raise ServerBusy(f"{where}: connection closed while connecting ({_reason(exc)})") from None
        except smtplib.SMTPException as exc:
            raise DeliveryError(f"{where}: {_reason(exc)}; check {self.settings.setting}") from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"{where}: the server's TLS certificate is not trusted ({exc.verify_message}); "
                                "use the host name the certificate was issued for") from None
        except ssl.SSLError as exc:
            raise DeliveryError(f"{where}: TLS failed ({exc.reason}); check the port and smtp:// vs smtps://") from None
        except (ConnectionRefusedError, socket.gaierror) as exc:
            raise DeliveryError(f"{where}: cannot connect ({_reason(exc)}); check the host and port in "
                                f"{self.settings.setting}") from None
        except OSError as exc:
            raise ServerBusy(f"{where}: cannot connect ({_reason(exc)})") from None

    def _reset(self, smtp: smtplib.SMTP) -> None:
        try:
            smtp.rset()
        except OSError:
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = None


class MaildirTransport:
    """Stores each message as a file in a Maildir (`mutt -f outbox` reads it): the default without SMTP."""

    _lock = threading.Lock()

    def __init__(self, path: Path):
        self.path = path

    def send(self, msg: EmailMessage, envelope_from: str = "") -> str:
        """Store the message, with the Return-Path a receiving server would give it when `envelope_from` is set."""
        if envelope_from:
            msg["Return-Path"] = f"<{envelope_from}>"
        try:
            with self._lock:
                key = mailbox.Maildir(self.path, create=True).add(msg)
        except OSError as exc:
            raise DeliveryError(f"cannot write the message ({_reason(exc)}); check delivery.maildir",
                                path=self.path) from None
        return f"stored in {self.path} as {key}"

    def close(self) -> None:
        """Nothing to close: every message is written and closed as it is stored."""


def make_transport(config: Config) -> Callable[[], Transport]:
    """A factory for transports (one per connection): SMTP when a URL is configured, else the Maildir outbox.
    Its SMTP transports share one TLS context, built here once: building one loads every trusted certificate."""
    d = config.delivery
    if not d.smtp_url:
        return functools.partial(MaildirTransport, config.path(d.maildir))
    settings = parse_smtp_url(d.smtp_url, password=config.secrets.smtp_password, allow_plaintext=d.allow_plaintext,
                              timeout=d.timeout, helo=config.domain, setting=config.smtp_url_setting)
    return functools.partial(SmtpTransport, settings, ssl.create_default_context())


def envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    """The SMTP sender (Sender or From) and recipients (To and Cc) of a message."""
    senders = _addresses(msg.get_all("Sender", []) or msg.get_all("From", []))
    recipients = [addr for _, addr in _addresses(msg.get_all("To", []) + msg.get_all("Cc", [])) if addr]
    if not senders or not senders[0][1] or not recipients:
        raise DeliveryError("the message needs a From and a To address; check the newsletter settings")
    return senders[0][1], recipients


def _addresses(values: list) -> list[tuple[str, str]]:
    """The (name, address) pairs of address headers; the address alone where the header already knows it."""
    known = [getattr(value, "addr_specs", None) for value in values]
    if values and all(known):
        return [("", addr) for specs in known for addr in specs]
    return _parsed_addresses(tuple(values))


@functools.lru_cache(maxsize=1024)
def _parsed_addresses(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return getaddresses(list(values))


def mailbox_unknown(code: int, text: str) -> bool:
    """Whether a refusal means the address does not exist (bounce), rather than e.g. a policy block."""
    if code not in (550, 551, 553):
        return False
    enhanced = re.search(r"\b5\.(\d{1,3})\.\d{1,3}\b", text)
    if enhanced:
        return enhanced[1] == "1"
    return bool(_UNKNOWN_MAILBOX.search(text))


def mailbox_full(reply: str) -> bool:
    """Whether a refusal ("552 5.2.2 Mailbox full", "452 4.2.2 ... over quota") says the reader's mailbox is full:
    the enhanced status X.2.2, or a bare 552 without one. It is the reader's problem for now, not the message's
    nor the list's, so the reader stays subscribed and the next campaign tries again; "552 5.3.4" (the message
    is too big) is not one."""
    enhanced = re.search(r"\b[245]\.(\d{1,3})\.(\d{1,3})\b", reply)
    if enhanced:
        return enhanced.groups() == ("2", "2")
    return reply.startswith("552")


def _dot_stuffed(payload: bytes) -> bytes:
    """The message as DATA content: lines starting with a dot doubled, ending with CRLF, then the lone dot."""
    data = (b"." if payload.startswith(b".") else b"") + payload.replace(b"\n.", b"\n..")
    return data + (b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n")


def _reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}".strip()


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
