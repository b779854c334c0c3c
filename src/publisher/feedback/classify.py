"""Reading one message from the bounce mailbox: is it a delivery status notification (RFC 3464, or one of the
other formats real servers send), a complaint (RFC 5965, the Abuse Reporting Format), an emailed unsubscribe,
an auto-reply, or something we do not understand? Pure: bytes in, a `Verdict` with its events out.

Bounces are read by `flufl.bounce`, GNU Mailman's detectors; the status code of a standard report decides
between permanent (5.x.x, a hard bounce) and temporary (4.x.x, a soft one). Auto-replies (RFC 3834, and the
vacation messages that do not say so) are never counted as bounces.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser, HeaderParser

import flufl.bounce

from ..mail.frame import one_line
from ..mail.verp import find_tag
from .events import COMPLAINT, HARD_BOUNCE, SOFT_BOUNCE, UNSUBSCRIBE_REQUEST, FeedbackEvent

# A detector that fails logs its traceback before it raises; we report such a message as not understood instead.
logging.getLogger("flufl.bounce").addHandler(logging.NullHandler())

MAX_BYTES = 5_000_000  # larger than any report or request, so never read whole: a bounce quotes one newsletter
DETAIL_LENGTH = 300
# What a verdict says to do with the message:
DSN, ARF, UNSUBSCRIBE_MAIL, AUTO_REPLY, NOT_UNDERSTOOD = "dsn", "arf", "mailto", "auto-reply", "not understood"
_COMPLAINT_TYPES = ("abuse", "fraud")
_MAILER_DAEMON = re.compile(r"mailer-daemon@|postmaster@|mail delivery (system|subsystem)", re.IGNORECASE)
_RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "To", "Envelope-To", "X-Envelope-To", "Cc")
# Vacation and out-of-office subjects in the languages mail servers most often write them in.
_AUTO_SUBJECT = re.compile(
    r"out of (the )?office|auto(matic|mated)?[ -]?(reply|response|answer)|\bauto:|vacation|away from|"
    r"abwesenheit|automatische antwort|r[ée]ponse automatique|absence|absent|"
    r"respuesta autom[áa]tica|fuera de la oficina|risposta automatica|fuori (sede|ufficio)|"
    r"resposta autom[áa]tica|ausente|automatisch antwoord|afwezig|autosvar|fr[åa]nvaro|ferie|"
    r"automaattinen vastaus|poza biurem|odpowied[źz] automatyczna|otomatik yan[ıi]t|"
    r"автоответ|автоматический ответ|вне офиса|отпуск|自動応答|自動返信|不在|自动回复|休假|자동 응답|"
    r"αυτόματη απάντηση|automatická odpověď|mimo kancelář", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """What a message is (one of the constants above), the events it brings, and why, for the report line."""

    kind: str
    events: tuple[FeedbackEvent, ...] = ()
    reason: str = ""


def classify(raw: bytes, bounce_address: str, received_at: dt.datetime) -> Verdict:
    """The verdict on one message from the bounce mailbox (`bounce_address` is the untagged address)."""
    if len(raw) > MAX_BYTES:
        return Verdict(NOT_UNDERSTOOD, reason=f"{len(raw) / 1e6:.0f} MB, larger than any report; left for you")
    msg = BytesParser(policy=email.policy.compat32).parsebytes(raw)
    key = _header(msg, "Message-ID") or "sha256:" + hashlib.sha256(raw).hexdigest()
    report = Report(msg, key, bounce_address, received_at)
    for reader in (report.complaint, report.delivery_status, report.auto_reply, report.unsubscribe,
                   report.other_bounce):
        verdict = reader()
        if verdict is not None:
            return verdict
    return Verdict(NOT_UNDERSTOOD, reason="neither a bounce, a complaint nor an unsubscribe request; left for you")


@dataclass(frozen=True)
class Report:
    """One parsed message and what every reader needs from it."""

    msg: Message
    key: str
    bounce_address: str
    at: dt.datetime

    def complaint(self) -> Verdict | None:
        """An ARF report (multipart/report; report-type=feedback-report) of abuse or fraud: a complaint."""
        if not _is_report(self.msg, "feedback-report"):
            return None
        fields = _fields(next(_parts(self.msg, "message/feedback-report"), None))
        feedback_type = fields.get("feedback-type", "").strip().lower()
        if feedback_type not in _COMPLAINT_TYPES:
            return Verdict(NOT_UNDERSTOOD, reason=f"a feedback report of type {feedback_type or 'unknown'!r}, "
                                                  "not a complaint; left for you")
        original = self._original()
        tag = self._tag(fields.get("original-mail-from", ""), _header(original, "Return-Path"))
        detail = one_line(f"feedback report: {feedback_type}; {fields.get('user-agent', '')}".strip(" ;"))
        event = FeedbackEvent(COMPLAINT, self.key, "arf", detail, self.at, tag=tag,
                              message_id=_header(original, "Message-ID"),
                              address=_address(fields.get("original-rcpt-to", "")) or _address(_header(original, "To")))
        return Verdict(ARF, (event,), "complaint")

    def delivery_status(self) -> Verdict | None:
        """An RFC 3464 report (multipart/report; report-type=delivery-status): one event per failed or delayed
        recipient, hard for a 5.x.x status and soft for 4.x.x."""
        if not _is_report(self.msg, "delivery-status"):
            return None
        temporary, permanent = _failures(self.msg)
        blocks = [b for b in _recipient_blocks(self.msg) if _failed(b)]
        if not blocks and not (temporary or permanent):
            return Verdict(NOT_UNDERSTOOD, reason="a delivery report of success or relay, not a bounce; left for you")
        original = self._original()
        tag, message_id = self._tag(_header(original, "Return-Path")), _header(original, "Message-ID")
        events = [self._bounce(block, tag, message_id) for block in blocks] or [
            self._event(SOFT_BOUNCE if address in temporary else HARD_BOUNCE, "", tag, message_id, address)
            for address in sorted(temporary | permanent)]
        return Verdict(DSN, tuple(events), ", ".join(sorted({e.kind.replace("_", " ") for e in events})))

    def auto_reply(self) -> Verdict | None:
        """An auto-reply (RFC 3834 Auto-Submitted, the older X-Autoreply and Precedence headers, or a
        vacation subject in one of many languages): never a bounce. A mail server's own non-standard bounce
        (Exim's, say) is marked auto-replied too, so mail from a mailer daemon is left to the bounce readers."""
        if _MAILER_DAEMON.search(_header(self.msg, "From")):
            return None
        auto = _header(self.msg, "Auto-Submitted").lower()
        flagged = (auto.startswith("auto-replied") or _header(self.msg, "X-Autoreply")
                   or _header(self.msg, "X-Autorespond") or _header(self.msg, "Precedence").lower() == "auto_reply")
        if flagged or _AUTO_SUBJECT.search(_decoded(self.msg, "Subject")):
            return Verdict(AUTO_REPLY, reason="an auto-reply, never counted as a bounce")
        return None

    def unsubscribe(self) -> Verdict | None:
        """Mail to a subscriber's own tagged unsubscribe address: a request to unsubscribe them."""
        tag = self._tag()
        if not tag.startswith("u-"):
            return None
        event = FeedbackEvent(UNSUBSCRIBE_REQUEST, self.key, "mailto",
                              one_line(f"emailed request: {_decoded(self.msg, 'Subject')}")[:DETAIL_LENGTH], self.at,
                              tag=tag)
        return Verdict(UNSUBSCRIBE_MAIL, (event,), "unsubscribe request")

    def other_bounce(self) -> Verdict | None:
        """A bounce in one of the non-standard formats flufl.bounce knows (Exim, qmail, Exchange and others)."""
        temporary, permanent = _failures(self.msg)
        if not (temporary or permanent):
            return None
        tag, message_id = self._tag(), _header(self._original(), "Message-ID")
        events = [self._event(SOFT_BOUNCE if address in temporary else HARD_BOUNCE,
                              f"non-standard bounce: {_decoded(self.msg, 'Subject')}", tag, message_id, address)
                  for address in sorted(temporary | permanent)]
        return Verdict(DSN, tuple(events), ", ".join(sorted({e.kind.replace("_", " ") for e in events})))

    def _bounce(self, block: Message, tag: str, message_id: str) -> FeedbackEvent:
        status = (block.get("Status") or "").strip()
        kind = SOFT_BOUNCE if status.startswith("4") or (block.get("Action") or "").lower().startswith("delayed") \
            else HARD_BOUNCE
        diagnostic = block.get("Diagnostic-Code") or ""
        address = _address(block.get("Original-Recipient") or "") or _address(block.get("Final-Recipient") or "")
        return self._event(kind, f"{status} {diagnostic}", tag, message_id, address)

    def _event(self, kind: str, detail: str, tag: str, message_id: str, address: str) -> FeedbackEvent:
        return FeedbackEvent(kind, self.key, "dsn", one_line(str(detail))[:DETAIL_LENGTH], self.at, tag=tag,
                             message_id=message_id, address=address)

    def _tag(self, *more: str) -> str:
        """Our tag in the given values, else in the headers that say whom this message was delivered to."""
        texts = [*more, *(str(v) for name in _RECIPIENT_HEADERS for v in self.msg.get_all(name, []))]
        return next((tag for tag in (find_tag(self.bounce_address, t) for t in texts) if tag), "")

    def _original(self) -> Message:
        """The headers of the message the report is about (message/rfc822 or text/rfc822-headers)."""
        part = next(_parts(self.msg, "message/rfc822", "text/rfc822-headers"), None)
        if part is None:
            return Message()
        payload = part.get_payload()
        if isinstance(payload, list) and payload:
            return payload[0]
        return HeaderParser().parsestr(part.get_payload(decode=True).decode("utf-8", "replace")
                                       if part.get_content_maintype() == "text" else str(payload))


def _is_report(msg: Message, report_type: str) -> bool:
    return msg.get_content_type() == "multipart/report" and \
        (msg.get_param("report-type") or "").lower() == report_type


def _parts(msg: Message, *types: str) -> Iterator[Message]:
    return (part for part in msg.walk() if part.get_content_type() in types)


def _fields(part: Message | None) -> dict[str, str]:
    """A report part's fields (message/feedback-report), lower-case names; {} when missing."""
    if part is None:
        return {}
    payload = part.get_payload()
    block = payload[0] if isinstance(payload, list) and payload else HeaderParser().parsestr(str(payload))
    return {name.lower(): str(value) for name, value in block.items()}


def _recipient_blocks(msg: Message) -> list[Message]:
    """The per-recipient blocks of every message/delivery-status part (the first block is per message)."""
    blocks: list[Message] = []
    for part in _parts(msg, "message/delivery-status"):
        payload = part.get_payload()
        if isinstance(payload, list):
            blocks += [b for b in payload[1:] if isinstance(b, Message)]
    return blocks


def _failed(block: Message) -> bool:
    return (block.get("Action") or "").strip().lower().startswith(("fail", "delayed", "error"))


def _failures(msg: Message) -> tuple[set[str], set[str]]:
    """The temporary and permanent failures flufl.bounce's detectors find, as lower-case text addresses; none
    when a detector chokes on a malformed message (it is then simply not understood)."""
    try:
        temporary, permanent = flufl.bounce.all_failures(msg)
    except Exception:  # heuristics over hostile input: any failure of theirs means "not a bounce we know"
        return set(), set()
    return _as_text(temporary), _as_text(permanent) - _as_text(temporary)


def _as_text(addresses: frozenset[bytes]) -> set[str]:
    return {address.decode("ascii", "replace").lower() for address in addresses}


def _address(value: str) -> str:
    """The address in a report field ('rfc822; ann@example.com', '<ann@example.com>'), '' when none."""
    found = re.search(r"[^\s<>;:,\"]+@[^\s<>;:,\"]+", value or "")
    return found[0] if found else ""


def _header(msg: Message, name: str) -> str:
    return " ".join(str(msg.get(name) or "").split())


def _decoded(msg: Message, name: str) -> str:
    """A header's text with encoded words decoded (a subject in Japanese, say)."""
    try:
        return str(make_header(decode_header(_header(msg, name))))
    except (UnicodeError, LookupError, ValueError):
        return _header(msg, name)
