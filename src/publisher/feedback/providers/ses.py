"""Amazon SES's bounce and complaint notifications, as SNS delivers them (the SNS message's `Message` is the
SES notification, JSON in a string). A bounce of bounceType Permanent is a hard bounce, Transient and
Undetermined soft bounces; a complaint is a complaint unless its feedback type is `not-spam`. Each
recipient named is one event, matched by the tag of our bounce address (SES reports it as `mail.source`),
else the message's Message-ID, else the address.

https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html
https://docs.aws.amazon.com/ses/latest/dg/notification-examples.html
"""

from __future__ import annotations

from ...errors import WebhookInvalid
from ...mail.verp import find_tag
from ..events import COMPLAINT, HARD_BOUNCE, SOFT_BOUNCE, FeedbackEvent
from . import angle_brackets, field, iso_time, part, read_json

NAME = "amazon-ses"
BOUNCE_KINDS = {"Permanent": HARD_BOUNCE, "Transient": SOFT_BOUNCE, "Undetermined": SOFT_BOUNCE}


def events_of(notification_text: str, bounce_address: str = "") -> tuple[FeedbackEvent, ...]:
    """The bounces or complaints of one SES notification (none for deliveries and the like)."""
    if not isinstance(notification_text, str):
        raise WebhookInvalid(f"{NAME}: the SNS Message is not text")
    note = read_json(notification_text.encode(), NAME)
    kind = note.get("notificationType") or note.get("eventType")
    if kind == "Bounce":
        return _bounces(note, bounce_address)
    if kind == "Complaint":
        return _complaints(note, bounce_address)
    return ()


def _bounces(note: dict, bounce_address: str) -> tuple[FeedbackEvent, ...]:
    bounce = part(note, "bounce")
    kind = BOUNCE_KINDS.get(bounce.get("bounceType"), SOFT_BOUNCE)
    return tuple(_event(note, bounce, kind, recipient, bounce_address, _diagnosis(bounce, recipient))
                 for recipient in _recipients(bounce, "bouncedRecipients"))


def _diagnosis(bounce: dict, recipient: dict) -> str:
    """The recipient's status and the server's words, else SES's subtype of the bounce."""
    said = recipient.get("diagnosticCode") or bounce.get("bounceSubType") or ""
    return f"{recipient.get('status') or ''} {said}"


def _complaints(note: dict, bounce_address: str) -> tuple[FeedbackEvent, ...]:
    complaint = part(note, "complaint")
    feedback_type = str(complaint.get("complaintFeedbackType") or "")
    if feedback_type == "not-spam":
        return ()
    return tuple(_event(note, complaint, COMPLAINT, recipient, bounce_address, f"complaint {feedback_type}")
                 for recipient in _recipients(complaint, "complainedRecipients"))


def _recipients(report: dict, name: str) -> list[dict]:
    return [r for r in field(report, name, list, NAME) if isinstance(r, dict)]


def _event(note: dict, report: dict, kind: str, recipient: dict, bounce_address: str, detail: str) -> FeedbackEvent:
    mail = part(note, "mail")
    return FeedbackEvent(
        kind, f"{NAME}:{field(report, 'feedbackId', str, NAME)}", NAME, " ".join(detail.split()),
        iso_time(field(report, "timestamp", str, NAME), NAME),
        tag=find_tag(bounce_address, str(mail.get("source") or "")),
        message_id=angle_brackets(str(part(mail, "commonHeaders").get("messageId") or "")),
        address=str(recipient.get("emailAddress") or ""))
