"""The frame: headers shared by every recipient, and one recipient's message assembled by filling placeholders."""

import datetime as dt
import email
import email.policy
import re

import pytest

from publisher.config import load_config
from publisher.errors import DeliveryError
from publisher.mail import mime
from publisher.mail.frame import make_frame, one_line, recipient_values

from ..fixtures_site import BASIC_TOML

NOW = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)
SLOTS = re.compile(r"__slot_(greeting|sent_to)__")


def config_with(tmp_path):
    path = tmp_path / "publisher.toml"
    path.write_text(BASIC_TOML + '\n[newsletter]\nfrom_address = "news@example.com"\n', encoding="utf-8")
    return load_config(path, env={})


def frame(config):
    boundary = "=_test"
    html = mime.prepare_html("<html><body><p>__slot_greeting__</p></body></html>", SLOTS, boundary)
    text = mime.prepare_text("__slot_greeting__\n__slot_sent_to__\n", SLOTS)
    return make_frame(config, "Hello\r\nBcc: evil@example.com", html, text, boundary)


def wire(msg):
    return email.message_from_bytes(msg.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)


def test_a_message_fills_in_the_recipient_and_carries_list_headers_only_when_asked(tmp_path):
    made = frame(config_with(tmp_path))
    values = recipient_values("ann@example.com", "Ann\r\nBcc: evil@example.com", "https://example.com/u")
    plain = wire(made.message("ann@example.com", "Ann\r\nBcc: evil@example.com", values, now=NOW,
                              message_id="<1@example.com>"))
    listed = wire(made.message("ann@example.com", "Ann", values, now=NOW, message_id="<2@example.com>",
                               list_unsubscribe="<https://example.com/u>"))
    assert plain["Bcc"] is None and plain["Subject"] == "Hello Bcc: evil@example.com"
    assert plain["List-Unsubscribe"] is None and listed["List-Unsubscribe"] == "<https://example.com/u>"
    assert "This email was sent to ann@example.com." in plain.get_body(("plain",)).get_content()
    assert "Hi &#8296;Ann Bcc: evil@example.com&#8297;," in plain.get_body(("html",)).get_content()


def test_a_recipient_address_that_is_not_one_is_refused(tmp_path):
    with pytest.raises(DeliveryError, match="not a valid email address"):
        frame(config_with(tmp_path)).message("nobody", "", {}, now=NOW, message_id="<3@example.com>")


def test_one_line_drops_controls_and_folds_whitespace():
    assert one_line(" A\r\n\tB\x00C\x1b ") == "A BC"
