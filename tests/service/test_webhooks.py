"""Provider webhooks over real HTTP on 127.0.0.1, into a real SQLite store: Mailgun (HMAC signature), Postmark
(HTTP Basic password) and Amazon SES through SNS (certificate signature, served from a loopback HTTPS server).
Each payload is written from the provider's own documentation (URL beside it). Each kind of report changes
the right subscriber and only that one; a forged, unsigned, stale or replayed call gets 403 and changes
nothing."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json

import pytest

from publisher.errors import WebhookRefused
from publisher.feedback.providers.sns import Certificates, check_sns_url
from publisher.mail.verp import bounce_address

from ..fixtures_smtp import free_port
from ..fixtures_sns import CERT_URL, TOPIC
from ..fixtures_web import SECRET, START, Clock, running, site_config, write_posts

MAILGUN_KEY = "key-0123456789abcdef-test-signing"
POSTMARK_PASSWORD = "a-postmark-webhook-password"
READERS = ["ann@example.com", "bob@example.com", "cy@example.com"]
STAMP = str(int(START.timestamp()))


@pytest.fixture
def hooks(tmp_path, smtp_server, fake_sns):
    """The service with all three providers set up, and a campaign 'news' sent to READERS."""
    root = tmp_path / "site"
    write_posts(root, 1)
    extra = (f'\n[delivery]\nsmtp_url = "{smtp_server.url}"\nbounce_address = "bounces@example.com"\n'
             f'[webhooks]\nses_topic_arn = "{TOPIC}"\n')
    env = {"PUBLISHER_MAILGUN_SIGNING_KEY": MAILGUN_KEY, "PUBLISHER_POSTMARK_WEBHOOK_PASSWORD": POSTMARK_PASSWORD}
    config = site_config(root, f"http://127.0.0.1:{free_port()}", extra, env=env)
    with running(config, smtp_server, Clock(START), fetch=fake_sns.fetch) as service:
        for email in READERS:
            service.store.add_subscriber(email, now=START)
        campaign = service.store.create_campaign("news", "News", now=START)
        while (delivery := service.store.claim_next(campaign.id, START)) is not None:
            service.store.mark_sent(delivery, "250 OK", f"<{delivery.id}.news@example.com>", now=START)
        yield service


def statuses(service) -> dict[str, str]:
    return {email: service.status(email) for email in READERS}


def post_json(service, path: str, payload: dict, headers: dict | None = None):
    return service.request("POST", path, json.dumps(payload).encode(),
                           {"Content-Type": "application/json", **(headers or {})})


# --- Mailgun ---

def mailgun_signed(event_data: dict, token: str = "a" * 50, timestamp: str = STAMP, key: str = MAILGUN_KEY) -> dict:
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": event_data}


def mailgun_failed(recipient: str, message_id: str, severity: str = "permanent") -> dict:
    """The 'failed' event of https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/webhook-payloads
    (Permanent Failure / Temporary Failure), with our recipient and Message-ID (Mailgun drops the brackets)."""
    return {
        "event": "failed", "id": f"G9Bn5sl1TC6nu79C8C0bwg-{recipient}-{severity}", "timestamp": START.timestamp(),
        "log-level": "error", "severity": severity, "reason": "bounce" if severity == "permanent" else "generic",
        "envelope": {"sender": "news@example.com", "transport": "smtp", "targets": recipient},
        "flags": {"is-routed": False, "is-authenticated": True, "is-system-test": False, "is-test-mode": False},
        "message": {"headers": {"to": recipient, "message-id": message_id.strip("<>"), "from": "news@example.com",
                                "subject": "News"}, "attachments": [], "size": 111},
        "recipient": recipient, "recipient-domain": recipient.split("@")[1],
        "delivery-status": {"attempt-no": 1, "code": 550 if severity == "permanent" else 452,
                            "message": "5.1.1 The email account that you tried to reach does not exist",
                            "description": "", "session-seconds": 0.4},
        "storage": {"url": "https://se.api.mailgun.net/v3/domains/example.com/messages/message_key", "key": "k"},
        "user-variables": {}, "tags": [], "campaigns": []}


def mailgun_complained(recipient: str, message_id: str) -> dict:
    """The 'complained' event of the same page."""
    return {"event": "complained", "id": f"ncV2XwymRUKbPek_MIM-Gw-{recipient}", "timestamp": START.timestamp(),
            "log-level": "warn", "envelope": {"sending-ip": "173.193.210.33"}, "flags": {"is-test-mode": False},
            "message": {"headers": {"to": recipient, "message-id": message_id.strip("<>"), "from": "news@example.com",
                                    "subject": "News"}, "attachments": [], "size": 111},
            "recipient": recipient, "tags": [], "campaigns": [], "user-variables": {}}


def test_mailgun_permanent_failure_bounces_that_reader_and_only_them(hooks):
    reply = post_json(hooks, "/webhooks/mailgun", mailgun_signed(mailgun_failed(READERS[1], "<2.news@example.com>")))
    assert reply.status == 200 and "1 bounced" in reply.text
    assert statuses(hooks) == {READERS[0]: "active", READERS[1]: "bounced", READERS[2]: "active"}


def test_mailgun_complaint_and_temporary_failure(hooks):
    complained = post_json(hooks, "/webhooks/mailgun",
                           mailgun_signed(mailgun_complained(READERS[0], "<1.news@example.com>"), token="c" * 50))
    temporary = post_json(hooks, "/webhooks/mailgun",
                          mailgun_signed(mailgun_failed(READERS[2], "<3.news@example.com>", "temporary"), "t" * 50))
    assert complained.status == temporary.status == 200 and "1 counted" in temporary.text
    assert statuses(hooks) == {READERS[0]: "complained", READERS[1]: "active", READERS[2]: "active"}


@pytest.mark.parametrize("tamper", ["wrong key", "unsigned", "stale", "from the future", "not hex"])
def test_mailgun_calls_that_are_not_mailguns_get_403_and_change_nothing(hooks, tamper):
    event = mailgun_failed(READERS[0], "<1.news@example.com>")
    payload = {"wrong key": lambda: mailgun_signed(event, key="key-someone-else"),
               "unsigned": lambda: {"event-data": event},
               "stale": lambda: mailgun_signed(event, timestamp=str(int(START.timestamp()) - 16 * 60)),
               "from the future": lambda: mailgun_signed(event, timestamp=str(int(START.timestamp()) + 16 * 60)),
               "not hex": lambda: {**mailgun_signed(event), "signature": {"timestamp": STAMP, "token": "a" * 50,
                                                                          "signature": "\u00e9" * 64}}}[tamper]()
    reply = post_json(hooks, "/webhooks/mailgun", payload)
    assert reply.status == 403 and reply.text == "forbidden\n"
    assert set(statuses(hooks).values()) == {"active"}


def test_a_replayed_mailgun_call_gets_403(hooks):
    payload = mailgun_signed(mailgun_failed(READERS[0], "<1.news@example.com>", "temporary"))
    assert post_json(hooks, "/webhooks/mailgun", payload).status == 200
    replay = post_json(hooks, "/webhooks/mailgun", payload)
    assert replay.status == 403
    with hooks.store._write() as conn:
        assert conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 1


def test_a_signed_mailgun_call_with_no_event_is_400_and_not_json_is_400(hooks):
    reply = post_json(hooks, "/webhooks/mailgun", {**mailgun_signed({}), "event-data": "nothing"})
    assert reply.status == 400 and "'event-data'" in reply.text
    garbage = hooks.request("POST", "/webhooks/mailgun", b"{not json", {"Content-Type": "application/json"})
    assert garbage.status == 400 and "not JSON" in garbage.text


# --- Postmark ---

def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


POSTMARK = basic("postmark", POSTMARK_PASSWORD)


def postmark_bounce(email: str, kind: str = "HardBounce", record_id: int = 4323372036854775807) -> dict:
    """https://postmarkapp.com/developer/webhooks/bounce-webhook (the example payload)."""
    return {"RecordType": "Bounce", "MessageStream": "outbound", "ID": record_id, "Type": kind, "TypeCode": 1,
            "Name": "Hard bounce", "Tag": "Test", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Metadata": {"a_key": "a_value"}, "ServerID": 23,
            "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
            "Details": "Test bounce details", "Email": email, "From": "news@example.com",
            "BouncedAt": "2025-01-15T12:00:54.9070259Z", "DumpAvailable": True, "Inactive": True,
            "CanActivate": True, "Subject": "News", "Content": "Return-Path:..."}


def postmark_complaint(email: str) -> dict:
    """https://postmarkapp.com/developer/webhooks/spam-complaint-webhook (the example payload)."""
    return {"RecordType": "SpamComplaint", "MessageStream": "outbound", "ID": 42, "Type": "SpamComplaint",
            "TypeCode": 512, "Name": "Spam complaint", "Tag": "Test",
            "MessageID": "00000000-0000-0000-0000-000000000000", "Metadata": {}, "ServerID": 1234,
            "Description": "", "Details": "Test spam complaint details", "Email": email, "From": "news@example.com",
            "BouncedAt": "2025-01-15T12:01:00.0000000Z", "DumpAvailable": True, "Inactive": True,
            "CanActivate": False, "Subject": "News", "Content": "<Abuse report dump>"}


def test_postmark_hard_bounce_and_spam_complaint_change_those_readers(hooks):
    bounced = post_json(hooks, "/webhooks/postmark", postmark_bounce(READERS[0]), POSTMARK)
    complained = post_json(hooks, "/webhooks/postmark", postmark_complaint(READERS[2]), POSTMARK)
    assert (bounced.status, complained.status) == (200, 200)
    assert statuses(hooks) == {READERS[0]: "bounced", READERS[1]: "active", READERS[2]: "complained"}


def test_postmark_transient_bounces_count_and_a_replayed_record_gets_403(hooks):
    first = post_json(hooks, "/webhooks/postmark", postmark_bounce(READERS[1], "Transient", 7), POSTMARK)
    again = post_json(hooks, "/webhooks/postmark", postmark_bounce(READERS[1], "Transient", 7), POSTMARK)
    auto = post_json(hooks, "/webhooks/postmark", postmark_bounce(READERS[0], "AutoResponder", 8), POSTMARK)
    assert "1 counted" in first.text and again.status == 403 and "nothing to apply" in auto.text
    assert set(statuses(hooks).values()) == {"active"}
    hooks.clock.advance(dt.timedelta(days=31))
    later = post_json(hooks, "/webhooks/postmark", postmark_bounce(READERS[1], "Transient", 7), POSTMARK)
    assert later.status == 200 and "1 repeat" in later.text


@pytest.mark.parametrize("headers", [{}, basic("postmark", "guess"), basic("admin", POSTMARK_PASSWORD),
                                     {"Authorization": "Bearer " + POSTMARK_PASSWORD}])
def test_postmark_calls_without_the_password_get_403_and_change_nothing(hooks, headers):
    reply = post_json(hooks, "/webhooks/postmark", postmark_bounce(READERS[0]), headers)
    assert reply.status == 403 and POSTMARK_PASSWORD not in reply.text
    assert set(statuses(hooks).values()) == {"active"}


def test_a_postmark_address_that_was_never_sent_to_changes_nothing(hooks):
    hooks.store.add_subscriber("late@example.com", now=START)
    reply = post_json(hooks, "/webhooks/postmark", postmark_bounce("late@example.com"), POSTMARK)
    assert reply.status == 200 and "1 unknown" in reply.text and hooks.status("late@example.com") == "active"


# --- Amazon SES through SNS ---

def ses_bounce(email: str, source: str = "news@example.com", bounce_type: str = "Permanent") -> str:
    """'Bounce notification with a DSN' of https://docs.aws.amazon.com/ses/latest/dg/notification-examples.html,
    with our recipient, envelope sender (source) and Message-ID."""
    return json.dumps({
        "notificationType": "Bounce",
        "bounce": {"bounceType": bounce_type, "reportingMTA": "dns; email.example.com",
                   "bouncedRecipients": [{"emailAddress": email, "status": "5.1.1", "action": "failed",
                                          "diagnosticCode": f"smtp; 550 5.1.1 <{email}>... User"}],
                   "bounceSubType": "General", "timestamp": "2025-01-15T12:00:38.237Z",
                   "feedbackId": f"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-{email}",
                   "remoteMtaIp": "127.0.2.0"},
        "mail": {"timestamp": "2025-01-15T12:00:00.000Z", "source": source,
                 "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/example.com",
                 "sendingAccountId": "123456789012", "messageId": "00000138111222aa-33322211-cccc-cccc-cccc",
                 "destination": [email], "headersTruncated": False,
                 "headers": [{"name": "From", "value": "news@example.com"}, {"name": "To", "value": email}],
                 "commonHeaders": {"from": ["news@example.com"], "to": [email], "messageId": "<9.other@example.com>",
                                   "subject": "News"}}})


def ses_complaint(email: str, message_id: str) -> str:
    """'Complaint notification' of the same page."""
    return json.dumps({
        "notificationType": "Complaint",
        "complaint": {"userAgent": "AnyCompany Feedback Loop (V0.01)",
                      "complainedRecipients": [{"emailAddress": email}],
                      "complaintFeedbackType": "abuse", "arrivalDate": "2025-01-15T12:10:00.000Z",
                      "timestamp": "2025-01-15T12:10:00.000Z",
                      "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000"},
        "mail": {"timestamp": "2025-01-15T12:00:00.000Z", "source": "news@example.com",
                 "messageId": "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
                 "destination": [email], "commonHeaders": {"messageId": message_id}}})


def sns_notification(ses_message: str, message_id: str = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324") -> dict:
    """An SNS HTTP(S) notification, https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html"""
    return {"Type": "Notification", "MessageId": message_id, "TopicArn": TOPIC, "Message": ses_message,
            "Timestamp": "2025-01-15T12:00:40.000Z",
            "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x"}


def sns_confirmation(subscribe_url: str) -> dict:
    """The SubscriptionConfirmation of the same page."""
    return {"Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "2336412f37", "TopicArn": TOPIC, "Timestamp": "2025-01-15T11:59:00.000Z",
            "Message": f"You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the subscription, visit "
                       "the SubscribeURL included in this message.", "SubscribeURL": subscribe_url}


def test_ses_bounce_signed_with_version_1_bounces_the_reader_its_tag_names(hooks, fake_sns):
    tagged = bounce_address("bounces@example.com", SECRET, hooks.store.last_delivery_to(READERS[2]).id)
    reply = post_json(hooks, "/webhooks/ses", fake_sns.sign(sns_notification(ses_bounce(READERS[2], tagged)), "1"))
    assert reply.status == 200 and "1 bounced" in reply.text
    assert statuses(hooks) == {READERS[0]: "active", READERS[1]: "active", READERS[2]: "bounced"}


def test_ses_complaint_signed_with_version_2_and_the_certificate_fetched_once(hooks, fake_sns):
    complaint = fake_sns.sign(sns_notification(ses_complaint(READERS[1], "<2.news@example.com>")), "2")
    transient = fake_sns.sign(sns_notification(ses_bounce(READERS[0], bounce_type="Transient"), "m-2"), "2")
    assert post_json(hooks, "/webhooks/ses", complaint).status == 200
    assert "1 counted" in post_json(hooks, "/webhooks/ses", transient).text
    assert statuses(hooks) == {READERS[0]: "active", READERS[1]: "complained", READERS[2]: "active"}
    assert fake_sns.requested == [CERT_URL.split(".com", 1)[1]]


@pytest.mark.parametrize("tamper", ["altered", "other topic", "other host", "plain http", "no signature",
                                    "unknown version", "stale", "replayed"])
def test_sns_messages_that_are_not_from_our_topic_get_403_and_change_nothing(hooks, fake_sns, tamper):
    message = fake_sns.sign(sns_notification(ses_bounce(READERS[0])))
    changes = {
        "altered": lambda m: {**m, "Message": ses_bounce(READERS[1])},
        "other topic": lambda m: fake_sns.sign({**sns_notification(ses_bounce(READERS[0])),
                                                "TopicArn": "arn:aws:sns:eu-west-1:999999999999:theirs"}),
        "other host": lambda m: fake_sns.sign(sns_notification(ses_bounce(READERS[0])),
                                              cert_url="https://sns.eu-west-1.amazonaws.com.evil.example/c.pem"),
        "plain http": lambda m: fake_sns.sign(sns_notification(ses_bounce(READERS[0])),
                                              cert_url=CERT_URL.replace("https:", "http:")),
        "no signature": lambda m: {k: v for k, v in m.items() if k != "Signature"},
        "unknown version": lambda m: {**m, "SignatureVersion": "3"},
        "stale": lambda m: fake_sns.sign({**sns_notification(ses_bounce(READERS[0])),
                                          "Timestamp": "2025-01-15T10:59:00.000Z"}),
        "replayed": lambda m: m,
    }
    expected = statuses(hooks)
    if tamper == "replayed":
        assert post_json(hooks, "/webhooks/ses", copy.deepcopy(message)).status == 200
        expected = statuses(hooks)
        assert expected[READERS[0]] == "bounced"
    reply = post_json(hooks, "/webhooks/ses", changes[tamper](message))
    assert reply.status == 403
    assert statuses(hooks) == expected
    assert len([e for e in hooks.store.consent_history(READERS[0]) if e.kind == "bounced"]) == (tamper == "replayed")
    assert all(path.startswith("/SimpleNotificationService") for path in fake_sns.requested)


def test_the_subscription_to_our_topic_is_confirmed_on_the_sns_host_only(hooks, fake_sns, caplog):
    url = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=t&Token=2336412f37"
    reply = post_json(hooks, "/webhooks/ses", fake_sns.sign(sns_confirmation(url)))
    assert reply.status == 200 and "subscription confirmed" in reply.text
    assert fake_sns.requested[-1] == "/?Action=ConfirmSubscription&TopicArn=t&Token=2336412f37"
    elsewhere = "https://attacker.example/?Action=ConfirmSubscription"
    other = fake_sns.sign({**sns_confirmation(elsewhere), "MessageId": "another"})
    reply = post_json(hooks, "/webhooks/ses", other)
    assert reply.status == 200 and "not confirmed" in reply.text
    assert not any("attacker" in path for path in fake_sns.requested)
    assert "open its SubscribeURL to confirm: https://attacker.example/" in caplog.text


@pytest.mark.parametrize("url", [
    "http://sns.eu-west-1.amazonaws.com/c.pem", "https://sns.eu-west-1.amazonaws.com.evil.example/c.pem",
    "https://evil.example/sns.eu-west-1.amazonaws.com/c.pem", "https://user@sns.eu-west-1.amazonaws.com/c.pem",
    "https://sns.eu-west-1.amazonaws.com:8443/c.pem", "https://s3.amazonaws.com/c.pem", ""])
def test_only_https_urls_on_an_sns_host_are_ever_fetched(url):
    with pytest.raises(WebhookRefused, match="not on an Amazon SNS host"):
        check_sns_url(url, "certificate URL")
    assert check_sns_url(CERT_URL, "certificate URL") == CERT_URL


# --- not set up ---

def test_a_provider_that_is_not_set_up_answers_404(tmp_path, smtp_server):
    root = tmp_path / "plain"
    write_posts(root, 1)
    config = site_config(root, f"http://127.0.0.1:{free_port()}")
    with running(config, smtp_server, Clock(START)) as service:
        for provider in ("mailgun", "postmark", "ses", "sendgrid"):
            reply = post_json(service, f"/webhooks/{provider}", {"event-data": {}})
            assert reply.status == 404 and "set up" in reply.text


def test_genuine_calls_whose_body_is_not_what_the_provider_documents_get_400(hooks, fake_sns):
    garbled = post_json(hooks, "/webhooks/ses", fake_sns.sign(sns_notification("{not json")))
    no_email = post_json(hooks, "/webhooks/postmark", {**postmark_bounce(READERS[0]), "Email": None}, POSTMARK)
    no_time = post_json(hooks, "/webhooks/postmark", {**postmark_bounce(READERS[0]), "BouncedAt": "yesterday"},
                        POSTMARK)
    assert (garbled.status, no_email.status, no_time.status) == (400, 400, 400)
    assert "'Email' is missing" in no_email.text and "'yesterday' is not a time" in no_time.text
    assert set(statuses(hooks).values()) == {"active"}


def test_a_certificate_outside_its_validity_is_refused(fake_sns):
    with pytest.raises(WebhookRefused, match="not valid now"):
        Certificates(fake_sns.fetch).public_key(CERT_URL, dt.datetime(2019, 12, 31, tzinfo=dt.UTC))


@pytest.mark.parametrize("path", ["/moved.pem", "/missing.pem"])
def test_a_certificate_url_that_redirects_or_is_missing_is_refused(fake_sns, path):
    with pytest.raises(WebhookRefused, match="could not fetch"):
        Certificates(fake_sns.fetch).public_key(f"https://sns.eu-west-1.amazonaws.com{path}", START)
    assert fake_sns.requested == [path]
