"""`publisher email SLUG`: the complete message for one recipient, as a file any mail client opens."""

import email
import email.policy
import re
from email.header import decode_header, make_header

from ..fixtures_site import post_text

ENV = {"PUBLISHER_SECRET_KEY": "a-test-secret-that-is-long-enough", "PUBLISHER_NOW": "2025-01-15T12:00:00+00:00"}
BODY = "Sciatica is pain along the [sciatic nerve](https://www.nhs.uk/conditions/sciatica/).\n"
HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "Reply-To", "List-Id", "List-Unsubscribe",
           "List-Unsubscribe-Post", "MIME-Version", "Content-Type")


def read_eml(data: bytes):
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert [part.defects for part in msg.walk()] == [[], [], []]
    return msg


def test_writes_a_complete_eml_file(site_dir):
    site_dir.post("2024-05-03-sciatica.md", post_text("Sciatica and you", body=BODY))
    out = site_dir.root / "sciatica.eml"
    result = site_dir.run("email", "sciatica", "--to", "ann@example.com", "--name", "Ann", "-o", str(out), env=ENV)
    assert result.exit_code == 0, result.output
    assert "Wrote the newsletter for 'sciatica' to ann@example.com" in result.output
    raw = out.read_bytes()
    assert b"\n" not in raw.replace(b"\r\n", b"") and max(map(len, raw.split(b"\r\n"))) <= 998
    msg = read_eml(raw)
    assert all(msg[name] for name in HEADERS)
    assert str(msg["To"]) == "Ann <ann@example.com>"
    assert msg["Subject"] == "Sciatica and you"
    assert msg["Date"].datetime.isoformat() == "2025-01-15T12:00:00+00:00"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


def test_both_parts_carry_the_booking_phone_email_and_button(site_dir):
    site_dir.post("sciatica.md", post_text("Sciatica and you", body=BODY))
    result = site_dir.run("email", "sciatica", "--to", "ann@example.com", env=ENV)
    msg = read_eml(result.stdout_bytes)
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for part in (text, html):
        assert "07713 250352" in part
        assert "david@massageinyork.co.uk" in part
        assert "https://massageinyork.co.uk/booking/" in part
    assert "tel:+447713250352" in html and "mailto:david@massageinyork.co.uk?subject=" in html
    assert re.search(r'href="https://massageinyork.co.uk/booking/"[^>]*>Book a massage</a>', html)


def test_a_hostile_title_is_escaped_in_html_and_encoded_in_the_subject(site_dir):
    title = '"<script>alert(1)</script>\\r\\nBcc: evil@example.com 😀 שלום"'
    site_dir.post("hostile.md", post_text(title, body=BODY, slug="hostile"))
    result = site_dir.run("email", "hostile", "--to", "ann@example.com", "--name", "Eve\r\nBcc: x@example.com",
                          env=ENV)
    raw = result.stdout_bytes
    head = raw.split(b"\r\n\r\n")[0]
    assert head.isascii() and b"\r\nBcc:" not in head
    msg = read_eml(raw)
    subject = email.message_from_bytes(raw, policy=email.policy.compat32)["Subject"].replace("\r\n", "")
    assert str(make_header(decode_header(subject))) == \
        "<script>alert(1)</script> Bcc: evil@example.com 😀 שלום"
    html = msg.get_body(("html",)).get_content()
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert msg["To"].addresses[0].addr_spec == "ann@example.com"


def test_without_to_it_goes_to_the_sender_for_a_proof(site_dir):
    site_dir.post("sciatica.md", post_text("Sciatica and you", body=BODY))
    msg = read_eml(site_dir.run("email", "sciatica", env=ENV).stdout_bytes)
    assert msg["To"].addresses[0].addr_spec == "david@massageinyork.co.uk"


def test_a_draft_can_be_proofread_as_an_email(site_dir):
    site_dir.post("draft.md", post_text("Work in progress", body=BODY, draft="true"))
    result = site_dir.run("email", "draft", "--to", "ann@example.com", env=ENV)
    assert result.exit_code == 0
    assert read_eml(result.stdout_bytes)["Subject"] == "Work in progress"


def test_an_unknown_slug_suggests_the_closest(site_dir):
    site_dir.post("sciatica.md", post_text("Sciatica and you", body=BODY))
    result = site_dir.run("email", "sciatic", env=ENV)
    assert result.exit_code == 1
    assert "no post with the slug 'sciatic'; did you mean sciatica?" in result.output


def test_without_the_secret_key_it_notes_the_local_key_and_with_smtp_says_how_to_set_it(site_dir):
    site_dir.post("sciatica.md", post_text("Sciatica and you", body=BODY))
    local = site_dir.run("email", "sciatica", env={"PUBLISHER_SECRET_KEY": ""})
    assert local.exit_code == 0 and "List-Unsubscribe: <https://" in local.output
    assert "PUBLISHER_SECRET_KEY is not set, so links in the outbox are signed with a key kept in" in local.output
    smtp = site_dir.run("email", "sciatica", env={"PUBLISHER_SECRET_KEY": "",
                                                  "PUBLISHER_SMTP_URL": "smtp://127.0.0.1:2525"})
    assert smtp.exit_code == 1
    assert "PUBLISHER_SECRET_KEY is not set" in smtp.output and "secrets.token_urlsafe" in smtp.output
    assert "Traceback" not in smtp.output


def test_a_bad_recipient_address_is_a_clear_error(site_dir):
    site_dir.post("sciatica.md", post_text("Sciatica and you", body=BODY))
    result = site_dir.run("email", "sciatica", "--to", "not an address", env=ENV)
    assert result.exit_code == 1
    assert "cannot address a message to 'not an address'" in result.output


def test_spam_warnings_are_shown(site_dir):
    site_dir.post("loud.md", post_text("FREE MASSAGE FOR EVERYONE", body="[Book](https://bit.ly/x)", slug="loud"))
    result = site_dir.run("email", "loud", "--to", "ann@example.com", "-o", str(site_dir.root / "x.eml"), env=ENV)
    assert result.exit_code == 0
    assert "Warning: posts/loud.md: the title is all capitals" in result.output
    assert "link shortener" in result.output


def test_writing_an_email_with_the_key_set_leaves_no_database_behind(site_dir):
    site_dir.post("sciatica.md", post_text("Sciatica and you", body=BODY))
    assert site_dir.run("email", "sciatica", env=ENV).exit_code == 0
    assert not (site_dir.root / "publisher.db").exists()


def test_a_header_injected_through_publisher_toml_writes_no_message(site_dir):
    from ..fixtures_site import BASIC_TOML, BOOKING_TOML
    site_dir.config(BASIC_TOML + BOOKING_TOML + '[newsletter]\nlist_id = "news.example.com>\\r\\nBcc: <evil@example.com"\n')
    site_dir.post("sciatica.md", post_text("Sciatica and you", body=BODY))
    out = site_dir.root / "sciatica.eml"
    result = site_dir.run("email", "sciatica", "--to", "ann@example.com", "-o", str(out), env=ENV)
    assert result.exit_code == 1
    assert "newsletter.list_id: contains a line break or control character" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_a_newsletter_template_that_fails_as_it_renders_names_its_file_and_line(site_dir):
    site_dir.post("sciatica.md", post_text("Sciatica and you", body=BODY))
    (site_dir.root / "templates").mkdir()
    (site_dir.root / "templates" / "newsletter.mjml").write_text('<mjml>\n<mj-body>\n{{ 1/0 }}\n</mj-body>\n</mjml>\n')
    out = site_dir.root / "sciatica.eml"
    result = site_dir.run("email", "sciatica", "-o", str(out), env=ENV)
    assert result.exit_code == 1 and not out.exists()
    assert result.output == "Error: templates/newsletter.mjml:3: template error: ZeroDivisionError: division by zero\n"
