"""One message on its own connection, DKIM-signed when [dkim] is set up, to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import pytest

from publisher.errors import PermanentError
from publisher.sending.single import single_sender
from publisher.sending.transports import make_transport

from ..mail.test_dkim import DKIM_TOML, key_pair, message, site, verifies  # noqa: F401  (key_pair is a fixture)


def smtp_site(tmp_path, key: bytes | None, url: str, extra: str = DKIM_TOML):
    config = site(tmp_path, key, extra + f'\n[delivery]\nsmtp_url = "{url}"\n')
    return config, make_transport(config)


def test_each_message_is_signed_and_delivered_on_its_own_connection(tmp_path, key_pair, smtp_server):
    key, txt = key_pair
    config, connect = smtp_site(tmp_path, key, smtp_server.url)
    send = single_sender(config, connect)
    assert send(message(config)).startswith("250")
    assert send(message(config)).startswith("250")
    assert [r.rcpt_tos for r in smtp_server.received] == [("ann@example.com",), ("ann@example.com",)]
    assert all(verifies(r.raw, txt) for r in smtp_server.received)


def test_without_dkim_the_message_goes_unsigned_and_a_refusal_reaches_the_caller(tmp_path, smtp_server):
    config, connect = smtp_site(tmp_path, None, smtp_server.url, extra="")
    smtp_server.reply_at_rcpt("ann@example.com", "550 5.1.1 No such user")
    send = single_sender(config, connect)
    with pytest.raises(PermanentError, match="550 5.1.1 No such user") as refused:
        send(message(config))
    assert refused.value.mailbox_unknown
    assert send(message(config)).startswith("250")
    assert len(smtp_server.received) == 1 and "DKIM-Signature" not in smtp_server.received[0].message
