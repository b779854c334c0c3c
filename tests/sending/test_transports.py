"""SMTP and Maildir transports against a real aiosmtpd server on 127.0.0.1 and a real Maildir."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage

import pytest

from publisher.config import load_config
from publisher.errors import (
    ConfigError,
    DeliveryError,
    PermanentError,
    ServerBusy,
    TransientError,
)
from publisher.sending.transports import (
    MaildirTransport,
    SmtpSettings,
    SmtpTransport,
    mailbox_full,
    mailbox_unknown,
    make_transport,
    parse_smtp_url,
)

from ..fixtures_smtp import free_port, password_authenticator

SECRET = "s3cret-Pa55"


def message(to: str, subject: str = "Hello") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "News <news@example.com>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("First line\n.\nA line that is only a dot, above.\n")
    return msg


def transport(server, timeout: float = 5.0, **settings) -> SmtpTransport:
    return SmtpTransport(SmtpSettings(host=server.host, port=server.port, timeout=timeout, **settings))


def test_messages_share_one_connection_and_arrive_intact_with_crlf(smtp_server):
    smtp = transport(smtp_server)
    replies = [smtp.send(message("ann@example.com", "One")), smtp.send(message("bob@example.com", "Two"))]
    smtp.close()
    first, second = smtp_server.received
    assert all(reply.startswith("250") for reply in replies)
    assert (first.mail_from, first.rcpt_tos) == ("news@example.com", ("ann@example.com",))
    assert first.message["Subject"] == "One"
    assert second.message["To"] == "bob@example.com"
    assert first.message.get_content() == "First line\n.\nA line that is only a dot, above.\n"
    assert b"\r\n" in first.raw and b"\n" not in first.raw.replace(b"\r\n", b"")
    assert smtp_server.handler.connections == 1


def test_non_ascii_names_are_encoded_and_survive(smtp_server):
    smtp = transport(smtp_server)
    smtp.send(message('"Zoë Müller" <zoe@example.com>', "Café ☕ news"))
    smtp.close()
    [received] = smtp_server.received
    assert received.message["Subject"] == "Café ☕ news"
    assert received.message["To"].addresses[0].display_name == "Zoë Müller"
    assert received.raw.isascii()


def test_deferrals_are_transient_and_a_421_reconnects(smtp_server):
    smtp_server.reply_at_rcpt("ann@example.com", "451 4.3.0 Try again later")
    smtp_server.reply_at_rcpt("bob@example.com", "421 4.3.2 Shutting down")
    smtp = transport(smtp_server)
    with pytest.raises(TransientError) as deferred:
        smtp.send(message("ann@example.com"))
    with pytest.raises(TransientError) as closing:
        smtp.send(message("bob@example.com"))
    smtp.send(message("ann@example.com"))
    smtp.send(message("bob@example.com"))
    smtp.close()
    assert deferred.value.reply == "451 4.3.0 Try again later"
    assert closing.value.reply == "421 4.3.2 Shutting down"
    assert [r.rcpt_tos for r in smtp_server.received] == [("ann@example.com",), ("bob@example.com",)]
    assert smtp_server.handler.connections == 2


def test_a_421_at_the_greeting_or_mid_session_is_the_whole_server_being_busy(smtp_server):
    smtp_server.refuse_connections("421 4.3.2 Too many connections", times=1)
    smtp_server.reply_at_rcpt("bob@example.com", "421 4.3.2 Shutting down")
    smtp_server.reply_at_rcpt("cat@example.com", "451 4.3.0 Try again later")
    smtp = transport(smtp_server)
    with pytest.raises(ServerBusy, match="421 4.3.2 Too many connections"):
        smtp.send(message("ann@example.com"))
    with pytest.raises(ServerBusy, match="421 4.3.2 Shutting down"):
        smtp.send(message("bob@example.com"))
    with pytest.raises(TransientError) as deferred:
        smtp.send(message("cat@example.com"))
    smtp.send(message("ann@example.com"))
    smtp.close()
    assert not isinstance(deferred.value, ServerBusy)
    assert smtp_server.recipients() == {"ann@example.com": 1}


def test_unknown_mailbox_is_permanent_and_marked_as_such(smtp_server):
    smtp_server.reply_at_rcpt("gone@example.com", "550 5.1.1 <gone@example.com>: user unknown")
    smtp_server.reply_at_rcpt("spam@example.com", "550 5.7.1 Message rejected as spam")
    smtp = transport(smtp_server)
    with pytest.raises(PermanentError) as unknown:
        smtp.send(message("gone@example.com"))
    with pytest.raises(PermanentError) as policy:
        smtp.send(message("spam@example.com"))
    smtp.send(message("ann@example.com"))
    assert (unknown.value.code, unknown.value.mailbox_unknown) == (550, True)
    assert (policy.value.code, policy.value.mailbox_unknown) == (550, False)
    assert "gone@example.com" in str(unknown.value)
    assert [r.rcpt_tos for r in smtp_server.received] == [("ann@example.com",)]


@pytest.mark.parametrize("code, text, unknown", [
    (550, "5.1.1 <x@example.com>: Recipient address rejected: User unknown", True),
    (550, "No such user here", True),
    (553, "5.1.3 Bad recipient address syntax", True),
    (550, "5.7.1 Relaying denied", False),
    (554, "5.1.1 user unknown", False),
    (552, "Mailbox full", False),
])
def test_mailbox_unknown_tells_bounces_from_policy_refusals(code, text, unknown):
    assert mailbox_unknown(code, text) is unknown


@pytest.mark.parametrize("reply, full", [
    ("552 5.2.2 Mailbox full", True),
    ("452 4.2.2 The email account that you tried to reach is over quota", True),
    ("552 Requested mail action aborted: exceeded storage allocation", True),
    ("552 5.3.4 Message size exceeds fixed maximum message size", False),
    ("550 5.1.1 No such user", False),
    ("451 4.3.0 Try later", False),
])
def test_mailbox_full_tells_a_full_mailbox_from_other_refusals(reply, full):
    assert mailbox_full(reply) is full


def test_dropped_connection_during_data_is_transient_then_reconnects(smtp_server):
    smtp_server.drop_during_data("ann@example.com")
    smtp = transport(smtp_server)
    with pytest.raises(TransientError, match="connection lost"):
        smtp.send(message("ann@example.com"))
    smtp.send(message("ann@example.com"))
    smtp.close()
    assert smtp_server.recipients() == {"ann@example.com": 1}


def test_server_that_stalls_past_the_timeout_is_transient(smtp_server):
    smtp_server.stall_at_rcpt("ann@example.com", seconds=1.5)
    smtp = transport(smtp_server, timeout=0.6)
    with pytest.raises(TransientError, match="timed out"):
        smtp.send(message("ann@example.com"))
    smtp.send(message("bob@example.com"))
    smtp.close()
    assert smtp_server.recipients() == {"bob@example.com": 1}


def test_no_answer_after_the_message_was_sent_leaves_its_outcome_unknown(smtp_server):
    smtp_server.stall_at_rcpt("ann@example.com", seconds=1.5)
    smtp_server.answer_late("bob@example.com", seconds=1.5)
    smtp = transport(smtp_server, timeout=0.5)
    with pytest.raises(TransientError) as before_data:
        smtp.send(message("ann@example.com"))
    with pytest.raises(TransientError, match="may have arrived") as after_data:
        smtp.send(message("bob@example.com"))
    smtp.send(message("cat@example.com"))
    smtp.close()
    assert not before_data.value.uncertain and after_data.value.uncertain
    assert smtp_server.recipients() == {"bob@example.com": 1, "cat@example.com": 1}


def test_unreachable_server_stops_the_campaign_instead_of_failing_each_message():
    smtp = SmtpTransport(SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2))
    with pytest.raises(DeliveryError, match="cannot connect") as caught:
        smtp.send(message("ann@example.com"))
    assert not isinstance(caught.value, (TransientError, PermanentError))


def test_starttls_is_used_when_offered_and_the_certificate_is_checked(make_smtp_server, server_tls_context,
                                                                    client_tls_context):
    server = make_smtp_server(tls_context=server_tls_context, require_starttls=True)
    settings = SmtpSettings(host=server.host, port=server.port, timeout=5)
    trusting = SmtpTransport(settings, ssl_context=client_tls_context)
    trusting.send(message("ann@example.com"))
    trusting.close()
    with pytest.raises(DeliveryError, match="certificate is not trusted") as caught:
        SmtpTransport(settings).send(message("bob@example.com"))
    assert not isinstance(caught.value, TransientError)
    assert server.recipients() == {"ann@example.com": 1}


def test_implicit_tls_for_smtps(make_smtp_server, server_tls_context, client_tls_context):
    server = make_smtp_server(ssl_context=server_tls_context)
    settings = parse_smtp_url(f"smtps://{server.host}:{server.port}", timeout=5)
    smtp = SmtpTransport(settings, ssl_context=client_tls_context)
    smtp.send(message("ann@example.com"))
    smtp.close()
    assert server.recipients() == {"ann@example.com": 1}


def test_login_after_starttls_uses_the_password_and_never_shows_it(make_smtp_server, server_tls_context,
                                                                   client_tls_context):
    server = make_smtp_server(tls_context=server_tls_context, require_starttls=True, auth_required=True,
                              authenticator=password_authenticator("news@example.com", SECRET))
    url = f"smtp://news%40example.com@{server.host}:{server.port}"
    good = SmtpTransport(parse_smtp_url(url, password=SECRET, timeout=5), ssl_context=client_tls_context)
    good.send(message("ann@example.com"))
    good.close()
    bad = SmtpTransport(parse_smtp_url(url, password="wrong-" + SECRET, timeout=5), ssl_context=client_tls_context)
    with pytest.raises(DeliveryError, match="login refused") as caught:
        bad.send(message("bob@example.com"))
    assert SECRET not in str(caught.value) and SECRET not in repr(bad.settings)
    assert server.recipients() == {"ann@example.com": 1}


def test_plain_text_only_to_this_machine_unless_allowed():
    assert SmtpSettings(host="127.0.0.1", port=25).plaintext_ok
    assert SmtpSettings(host="::1", port=25).plaintext_ok
    assert SmtpSettings(host="localhost", port=25).plaintext_ok
    assert not SmtpSettings(host="mail.example.com", port=587).plaintext_ok
    assert SmtpSettings(host="mail.example.com", port=587, allow_plaintext=True).plaintext_ok


def test_smtp_urls_give_defaults_and_clear_errors():
    starttls = parse_smtp_url("smtp://me%40example.com@mail.example.com", password=SECRET)
    assert (starttls.host, starttls.port, starttls.implicit_tls, starttls.username) == (
        "mail.example.com", 587, False, "me@example.com")
    assert parse_smtp_url("smtps://mail.example.com").port == 465
    with pytest.raises(ConfigError, match="expected smtp://host:port"):
        parse_smtp_url("http://mail.example.com")
    with pytest.raises(ConfigError, match="PUBLISHER_SMTP_PASSWORD is not set"):
        parse_smtp_url("smtp://me@mail.example.com:587")
    with pytest.raises(ConfigError, match="remove the password") as caught:
        parse_smtp_url(f"smtp://me:{SECRET}@mail.example.com:587")
    assert SECRET not in str(caught.value)


def test_maildir_stores_each_message_readable_by_mail_clients(tmp_path):
    outbox = tmp_path / "outbox"
    maildir = MaildirTransport(outbox)
    reply = maildir.send(message("ann@example.com", "One"))
    maildir.send(message("bob@example.com", "Two"))
    maildir.close()
    subjects = sorted(m["Subject"] for m in mailbox.Maildir(outbox))
    assert subjects == ["One", "Two"] and str(outbox) in reply


def test_maildir_records_the_envelope_sender_as_return_path_and_smtp_sends_it_as_mail_from(tmp_path, smtp_server):
    outbox = tmp_path / "outbox"
    MaildirTransport(outbox).send(message("ann@example.com", "One"), "bounces+7-tag@example.com")
    MaildirTransport(outbox).send(message("bob@example.com", "Two"))
    paths = {m["Subject"]: m["Return-Path"] for m in mailbox.Maildir(outbox)}
    assert paths == {"One": "<bounces+7-tag@example.com>", "Two": None}
    smtp = SmtpTransport(parse_smtp_url(smtp_server.url))
    smtp.send(message("ann@example.com", "One"), "bounces+7-tag@example.com")
    smtp.close()
    [received] = smtp_server.received
    assert received.mail_from == "bounces+7-tag@example.com" and received.message["Return-Path"] is None


def test_factory_picks_maildir_by_default_and_smtp_when_configured(tmp_path):
    (tmp_path / "publisher.toml").write_text('[site]\ntitle = "T"\nurl = "https://example.com"\n')
    default = load_config(tmp_path / "publisher.toml", env={})
    configured = load_config(tmp_path / "publisher.toml",
                             env={"PUBLISHER_SMTP_URL": "smtp://news@127.0.0.1:2525",
                                  "PUBLISHER_SMTP_PASSWORD": SECRET})
    maildir = make_transport(default)()
    smtp = make_transport(configured)()
    assert isinstance(maildir, MaildirTransport) and maildir.path == tmp_path.resolve() / "outbox"
    assert smtp.settings.where == "smtp://news@127.0.0.1:2525"
    assert smtp.settings.password == SECRET and smtp.settings.helo == "example.com"


@pytest.fixture
def pipelining_server(smtp_server):
    """The aiosmtpd server, advertising PIPELINING (RFC 2920), so the transport sends its commands together."""
    plain_ehlo = smtp_server.handler.handle_EHLO

    async def handle_EHLO(server, session, envelope, hostname, responses):
        responses = await plain_ehlo(server, session, envelope, hostname, responses)
        return [responses[0], "250-PIPELINING", *responses[1:]]
    smtp_server.handler.handle_EHLO = handle_EHLO
    return smtp_server


def test_pipelined_messages_arrive_intact_including_a_line_that_is_only_a_dot(pipelining_server):
    smtp = transport(pipelining_server)
    replies = [smtp.send(message(f"reader{n}@example.com", f"Number {n}")) for n in range(3)]
    smtp.close()
    assert all(reply.startswith("250") for reply in replies)
    assert [r.rcpt_tos for r in pipelining_server.received] == [(f"reader{n}@example.com",) for n in range(3)]
    for received in pipelining_server.received:
        assert received.message.get_content() == "First line\n.\nA line that is only a dot, above.\n"
    assert pipelining_server.handler.connections == 1


def test_pipelined_refusals_are_reported_as_before_and_the_connection_goes_on(pipelining_server):
    pipelining_server.reply_at_rcpt("gone@example.com", "550 5.1.1 No such user")
    pipelining_server.reply_at_rcpt("busy@example.com", "451 4.3.0 Try again later")
    smtp = transport(pipelining_server)
    with pytest.raises(PermanentError) as permanent:
        smtp.send(message("gone@example.com"))
    with pytest.raises(TransientError):
        smtp.send(message("busy@example.com"))
    assert smtp.send(message("ann@example.com")).startswith("250")
    smtp.close()
    assert permanent.value.mailbox_unknown and "550 5.1.1" in permanent.value.reply
    assert [r.rcpt_tos for r in pipelining_server.received] == [("ann@example.com",)]


def test_envelope_of_prepared_address_headers_matches_the_parsed_one():
    from publisher.mail.mime import address_header, assemble
    from publisher.sending.transports import envelope
    prepared = assemble([address_header("From", "News, Weekly", "news@example.com"),
                         address_header("To", 'Zoë "Z" <Müller>', "zoe@example.com")], [])
    plain = message('"Zoë \\"Z\\" <Müller>" <zoe@example.com>')
    plain.replace_header("From", '"News, Weekly" <news@example.com>')
    assert envelope(prepared) == envelope(plain) == ("news@example.com", ["zoe@example.com"])
