"""Classifying what arrives at the bounce address: real Postfix DSNs, ARF reports written from RFC 5965's
examples, auto-replies in many languages, and broken input that must never raise or point at the wrong person."""

from __future__ import annotations

import datetime as dt
from email.header import Header
from pathlib import Path

import pytest

from publisher.feedback.classify import ARF, AUTO_REPLY, DSN, NOT_UNDERSTOOD, UNSUBSCRIBE_MAIL, classify

SAMPLES = Path(__file__).parent / "samples"
BOUNCES = "bounces@example.com"
AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
HARD_TAG = "1-haczcy6bl5whs7oh"  # in postfix-hard.eml, made with the tests' secret for delivery 1

# RFC 5965, Appendix B.1 ("Simple Report") and B.2 ("Report with Optional Fields"), as a mailbox provider's
# feedback loop would send them about one of our newsletters: the reported message's headers are ours.
ARF_B1 = """\
From: <abusedesk@example.com>
Date: Thu, 8 Mar 2005 17:40:36 EDT
Subject: FW: Earn money
To: <{to}>
Message-ID: <report-b1@example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.  For more information
about this format please see http://www.mipassoc.org/arf/.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: SomeGenerator/1.0
Version: 1

--part1_13d.2e68ed54_boundary
Content-Type: text/rfc822-headers

Received: from mailserver.example.net
        (mailserver.example.net [192.0.2.1])
        by example.com with ESMTP id M63d4137594e46;
        Thu, 08 Mar 2005 14:00:00 -0400
From: <news@example.com>
To: <Undisclosed Recipients>
Subject: Earn money
MIME-Version: 1.0
Content-type: text/plain
Message-ID: {message_id}
Date: Thu, 02 Sep 2004 12:31:03 -0500

--part1_13d.2e68ed54_boundary--
"""
ARF_B2 = """\
From: <abusedesk@example.com>
Date: Thu, 8 Mar 2005 17:40:36 EDT
Subject: FW: Earn money
To: <abuse@example.net>
Message-ID: <report-b2@example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.  For more information
about this format please see http://www.mipassoc.org/arf/.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <{mail_from}>
Original-Rcpt-To: <{rcpt}>
Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT
Reporting-MTA: dns; mail.example.com
Source-IP: 192.0.2.1
Authentication-Results: mail.example.com;
               spf=fail smtp.mail=somespammer@example.com
Reported-Domain: example.net
Reported-Uri: http://example.net/earn_money.html
Reported-Uri: mailto:user@example.com
Removal-Recipient: user@example.com

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

From: <news@example.com>
Received: from mailserver.example.net (mailserver.example.net
        [192.0.2.1]) by example.com with ESMTP id M63d4137594e46;
        Thu, 08 Mar 2005 14:00:00 -0400
To: <Undisclosed Recipients>
Subject: Earn money
MIME-Version: 1.0
Content-type: text/plain
Message-ID: <newsletter-1.first@example.com>
Date: Thu, 02 Sep 2004 12:31:03 -0500

Spam Spam Spam
--part1_13d.2e68ed54_boundary--
"""
VACATION_SUBJECTS = [
    "Out of Office: First", "Abwesenheitsnotiz: First", "Réponse automatique : First",
    "Respuesta automática: First", "Risposta automatica: First", "Resposta automática: First",
    "Automatisch antwoord: First", "Autosvar: First", "Odpowiedź automatyczna: First", "Автоответ: First",
    "自動応答: First", "自动回复: First", "Otomatik yanıt: First",
]


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def test_a_real_postfix_bounce_for_an_unknown_user_is_one_hard_bounce_for_the_tagged_delivery():
    verdict = classify(sample("postfix-hard.eml"), BOUNCES, AT)
    [event] = verdict.events
    assert (verdict.kind, event.kind, event.how, event.tag) == (DSN, "hard_bounce", "dsn", HARD_TAG)
    assert (event.message_id, event.address) == ("<newsletter-1.first@example.com>", "no-such-user@readers.example.com")
    assert event.detail == '5.1.1 X-Postfix; unknown user: "no-such-user"'
    assert event.key == "<20261130204646.1F196276012@mx.example.com>"


def test_a_real_postfix_report_of_a_temporary_failure_is_a_soft_bounce():
    [event] = classify(sample("postfix-soft.eml"), BOUNCES, AT).events
    assert (event.kind, event.tag) == ("soft_bounce", "2-7f4hwecik3o324o3")
    assert event.detail.startswith("4.4.1 X-Postfix; connect to 127.0.0.1")


def test_a_dsn_cut_short_anywhere_never_raises_and_never_points_at_anyone_else():
    raw = sample("postfix-hard.eml")
    for cut in range(0, len(raw), 41):
        verdict = classify(raw[:cut], BOUNCES, AT)
        for event in verdict.events:
            assert event.kind == "hard_bounce" and event.tag in ("", HARD_TAG)
            assert event.address in ("", "no-such-user@readers.example.com")


@pytest.mark.parametrize("template", [ARF_B1, ARF_B2], ids=["rfc5965-b1", "rfc5965-b2"])
def test_an_abuse_report_in_the_abuse_reporting_format_is_a_complaint(template):
    raw = crlf(template.format(to="fbl@example.com", feedback_type="abuse",
                               message_id="<newsletter-1.first@example.com>",
                               mail_from=f"bounces+{HARD_TAG}@example.com", rcpt="reader@example.org"))
    verdict = classify(raw, BOUNCES, AT)
    [event] = verdict.events
    assert (verdict.kind, event.kind, event.how, event.message_id) == (ARF, "complaint", "arf",
                                                                       "<newsletter-1.first@example.com>")
    assert event.tag == (HARD_TAG if template is ARF_B2 else "")
    assert event.detail == "feedback report: abuse; SomeGenerator/1.0"


def test_a_feedback_report_that_is_not_a_complaint_is_left_alone():
    raw = crlf(ARF_B1.format(to="fbl@example.com", feedback_type="not-spam", message_id="<m@example.com>"))
    verdict = classify(raw, BOUNCES, AT)
    assert (verdict.kind, verdict.events) == (NOT_UNDERSTOOD, ())


@pytest.mark.parametrize("subject", VACATION_SUBJECTS)
def test_a_vacation_reply_in_any_of_many_languages_is_never_a_bounce(subject):
    raw = crlf(f"From: Ann <ann@example.org>\nTo: bounces+{HARD_TAG}@example.com\n"
               f"Subject: {Header(subject, 'utf-8').encode()}\nMessage-ID: <v@example.org>\n"
               "Content-Type: text/plain; charset=utf-8\n\n"
               "I am away until Monday; your message to ann@example.org was not delivered to me yet.\n")
    verdict = classify(raw, BOUNCES, AT)
    assert (verdict.kind, verdict.events) == (AUTO_REPLY, ())


@pytest.mark.parametrize("header", ["Auto-Submitted: auto-replied (vacation)", "X-Autoreply: yes",
                                    "Precedence: auto_reply"])
def test_an_auto_reply_marked_in_its_headers_is_never_a_bounce(header):
    raw = crlf(f"From: ann@example.org\nTo: bounces+{HARD_TAG}@example.com\nSubject: Re: First\n{header}\n\n"
               "Delivery to this mailbox failed permanently: user unknown\n")
    assert classify(raw, BOUNCES, AT).kind == AUTO_REPLY


def test_a_mail_servers_own_bounce_marked_auto_replied_is_still_a_bounce():
    marked = b"Auto-Submitted: auto-replied\nX-Failed-Recipients:"
    exim = (SAMPLES / "flufl" / "exim_01.eml").read_bytes().replace(b"X-Failed-Recipients:", marked)
    [event] = classify(exim, BOUNCES, AT).events
    assert (event.kind, event.address) == ("hard_bounce", "userx@its.example.nl")


def test_mail_to_a_tagged_unsubscribe_address_is_an_unsubscribe_request_with_that_tag_only():
    raw = crlf("From: someone@example.org\nTo: Bounces+U-7-ABCDEFGHIJKLMNOP@Example.com\nSubject: unsubscribe\n\n")
    verdict = classify(raw, BOUNCES, AT)
    [event] = verdict.events
    assert (verdict.kind, event.kind, event.tag, event.address) == (UNSUBSCRIBE_MAIL, "unsubscribe",
                                                                   "u-7-abcdefghijklmnop", "")
    assert event.key.startswith("sha256:")
    untagged = crlf("From: reader@example.org\nTo: bounces@example.com\nSubject: unsubscribe\n\n")
    assert classify(untagged, BOUNCES, AT).kind == NOT_UNDERSTOOD


def test_a_message_too_large_to_be_a_report_is_not_even_parsed():
    raw = b"Subject: big\r\n\r\n" + b"x" * 20_000_000
    verdict = classify(raw, BOUNCES, AT)
    assert (verdict.kind, verdict.reason) == (NOT_UNDERSTOOD, "20 MB, larger than any report; left for you")


MALFORMED = [b"", b"\x00\xff\xfe garbage", b"Content-Type: multipart/report; boundary=x\r\n\r\n--x",
             b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
             b"--b\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\nStatus: 5.1.1"]


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_messages_are_classified_without_raising(raw):
    verdict = classify(raw, BOUNCES, AT)
    assert all(event.address == "" and event.tag == "" for event in verdict.events)
