"""Booking requests from the site's form, end to end: the form's fields posted over real HTTP to the service on
127.0.0.1, the emails to the therapist and the client received by a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import email.utils
import html
import logging
from contextlib import ExitStack
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest

from publisher.config import load_config
from publisher.errors import Problems

from ..fixtures_smtp import free_port
from ..fixtures_web import SECRET, START, Clock, Service, running, site_config, write_posts

THERAPIST = "david@massageinyork.co.uk"
CLIENT = "ann.lee@example.com"
# The booking form as the site's booking page carries it: these names are the contract with the service.
FORM = """
<form method="post" action="/book">
  <input name="name" required> <input name="phone" type="tel"> <input name="email" type="email">
  <select name="service"><option>Sports massage</option><option>Deep tissue massage</option></select>
  <input name="when"> <input name="area"> <textarea name="message"></textarea>
  <input type="hidden" name="page" value="https://example.com/booking/">
  <p hidden><input name="website" tabindex="-1" autocomplete="off"></p>
  <button type="submit">Send my booking request</button>
</form>
"""


class _FormFields(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names: list[str] = []

    def handle_starttag(self, tag, attrs):
        name = dict(attrs).get("name")
        if tag in ("input", "select", "textarea") and name:
            self.names.append(name)


def filled(**values: str) -> dict[str, str]:
    """The form as a client sends it: every field of FORM, the given values, the rest empty (page as set)."""
    parser = _FormFields()
    parser.feed(FORM)
    assert set(values) <= set(parser.names), values
    base = {name: "" for name in parser.names} | {"page": "https://example.com/booking/"}
    return base | values


GOOD = {"name": "Ann Lee", "phone": "07700 900123", "email": CLIENT, "service": "Sports massage",
        "when": "Tuesday evenings", "area": "YO10 5DD", "message": "Sore shoulder after running.\nPlease bring a couch."}


@pytest.fixture
def start_service(tmp_path, smtp_server):
    """start_service(notify=""): the service for a site whose [booking] email is the therapist's, and whose
    [booking] notify is `notify`."""
    with ExitStack() as stack:
        def start(notify: str = "") -> Service:
            root = tmp_path / "site"
            write_posts(root, 1)
            config = site_config(root, f"http://127.0.0.1:{free_port()}",
                                 f'\n[delivery]\nsmtp_url = "{smtp_server.url}"\n')
            if notify:
                path = root / "publisher.toml"
                path.write_text(path.read_text().replace("[booking]\n", f'[booking]\nnotify = "{notify}"\n'))
                config = load_config(path, env={"PUBLISHER_SECRET_KEY": SECRET})
            return stack.enter_context(running(config, smtp_server, Clock(START)))
        yield start


@pytest.fixture
def service(start_service) -> Service:
    return start_service()


def book(service: Service, /, **values: str):
    return service.post("/book", filled(**values))


def bodies(msg) -> tuple[str, str]:
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def test_the_therapist_gets_the_request_with_reply_to_the_client_and_the_client_a_copy(service):
    reply = book(service, **GOOD)
    assert reply.status == 303
    assert reply.headers["Location"] == f"{service.url}/book/sent?copy=sent"
    thanks = service.get(reply.headers["Location"])
    assert thanks.status == 200 and "Ann Author has your request and will reply soon" in thanks.text
    assert "A copy of your request is on its way" in thanks.text

    [request] = service.mails(THERAPIST)
    assert request["Subject"] == "Booking request: Ann Lee, Sports massage"
    assert request["Reply-To"] == f"Ann Lee <{CLIENT}>"
    assert request.get_content_type() == "multipart/alternative"
    [ack] = service.mails(CLIENT)
    assert ack["Subject"] == "Your booking request to Test Site"
    assert ack["To"] == f"Ann Lee <{CLIENT}>" and ack["Reply-To"] == THERAPIST
    for msg in (request, ack):
        for body in bodies(msg):
            for value in ("Ann Lee", "07700 900123", CLIENT, "Sports massage", "Tuesday evenings", "YO10 5DD",
                          "Sore shoulder after running.", "Please bring a couch.", "https://example.com/booking/"):
                assert value in body, (value, msg["Subject"])
    assert "07713 250352" in bodies(ack)[0] and THERAPIST in bodies(ack)[0]
    assert 'href="tel:+447713250352"' in bodies(ack)[1]
    assert "List-Unsubscribe" not in request and "List-Unsubscribe" not in ack
    assert len(service.smtp.received) == 2


def test_a_request_with_only_a_phone_number_goes_to_the_therapist_alone(service):
    reply = book(service, name="Bob", phone="+44 7700 900456")
    assert reply.headers["Location"].endswith("/book/sent?copy=none")
    [request] = service.mails(THERAPIST)
    assert request["Subject"] == "Booking request: Bob, no service chosen"
    assert request["Reply-To"] == THERAPIST
    assert "Email: (not given)" in bodies(request)[0]
    assert len(service.smtp.received) == 1


def test_the_clients_words_are_escaped_in_both_emails(service):
    book(service, **(GOOD | {"name": 'Ann <b>"Lee"</b>', "message": "<script>alert(1)</script> & more"}))
    for msg in service.mails(THERAPIST) + service.mails(CLIENT):
        text, markup = bodies(msg)
        assert "<script>" not in markup and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in markup
        assert "<b>" not in markup and "<script>alert(1)</script> & more" in text


@pytest.mark.parametrize("field", ["name", "email", "service", "area"])
def test_a_line_break_in_a_one_line_field_is_refused_and_no_header_is_added(service, field):
    forged = {"name": "Ann\r\nBcc: eve@example.com", "email": f"{CLIENT}\r\nBcc: eve@example.com",
              "service": "Sports\nBcc: eve@example.com", "area": "York\rBcc: eve@example.com"}[field]
    reply = book(service, **(GOOD | {field: forged}))
    assert reply.status == 400 and f"{field}: remove the line breaks and control characters" in reply.text
    assert service.smtp.received == []


def test_a_name_that_looks_like_addresses_stays_the_reply_to_display_name(service):
    book(service, **(GOOD | {"name": f"Eve, eve@example.com <eve@example.com>", "service": "Sports massage"}))
    [request] = service.mails(THERAPIST)
    [(_, address)] = email.utils.getaddresses(request.get_all("Reply-To"))
    assert address == CLIENT
    assert "Bcc" not in request and "Cc" not in request
    assert {r for received in service.smtp.received for r in received.rcpt_tos} == {THERAPIST, CLIENT}


def test_every_field_at_fault_is_named_and_the_form_comes_back_filled_in(service):
    reply = book(service, name="", phone="call me", email="", message="x" * 2_001, area="<York>")
    assert reply.status == 400 and "Please check your booking request" in reply.text
    for problem in ("name: enter your name", "phone: &#39;call me&#39; is not a phone number",
                    "message: at most 2,000 characters"):
        assert problem in reply.text
    assert 'value="&lt;York&gt;"' in reply.text and "x" * 2_001 in reply.text
    assert service.smtp.received == []


def test_without_phone_or_email_the_client_is_asked_for_one(service):
    reply = book(service, name="Ann Lee", message="Hello")
    assert reply.status == 400 and "phone or email: give at least one" in reply.text
    reply = book(service, name="Ann Lee", email="ann@")
    assert reply.status == 400 and "email: &#39;ann@&#39; is not a valid email address" in reply.text
    assert service.smtp.received == []


def test_the_honeypot_stops_a_form_filled_in_by_a_robot(service):
    reply = book(service, **(GOOD | {"website": "https://spam.example.com"}))
    assert reply.status == 400 and "website: leave this field empty" in reply.text
    assert service.smtp.received == []


def test_a_sent_from_page_off_the_site_is_left_out(service):
    book(service, **(GOOD | {"page": "https://phish.example.net/login"}))
    [request] = service.mails(THERAPIST)
    assert "phish" not in bodies(request)[0] and "Sent from: (not given)" in bodies(request)[0]


def test_the_per_client_rate_limit_applies(service):
    for n in range(5):
        assert book(service, name=f"Client {n}", phone="07700 900123").status == 303
    reply = book(service, name="Client 6", phone="07700 900123")
    assert reply.status == 429 and "too many requests" in reply.text and 'href="tel:+447713250352"' in reply.text
    assert len(service.mails(THERAPIST)) == 5


def test_a_body_over_the_cap_gets_413_and_sends_nothing(service):
    reply = service.post("/book", urlencode(filled(**(GOOD | {"message": "x" * 20_000}))).encode())
    assert reply.status == 413 and "larger than our forms accept" in reply.text
    assert service.smtp.received == []


def test_a_request_that_cannot_reach_the_therapist_is_shown_back_and_not_lost_silently(service, caplog):
    service.smtp.reply_at_rcpt(THERAPIST, "550 5.1.1 No such user", times=None)
    with caplog.at_level(logging.ERROR):
        reply = book(service, **GOOD)
    assert reply.status == 503 and "could not be sent just now" in reply.text
    assert 'href="tel:+447713250352"' in reply.text and f'href="mailto:{THERAPIST}"' in reply.text
    assert 'value="Tuesday evenings"' in reply.text and "Sore shoulder after running." in reply.text
    assert service.mails(CLIENT) == []
    assert "could not be sent to the therapist" in caplog.text
    assert "Ann Lee" not in caplog.text and "Sore shoulder" not in caplog.text


def test_when_only_the_clients_copy_fails_the_request_still_stands(service, caplog):
    service.smtp.reply_at_rcpt(CLIENT, "550 5.1.1 No such user", times=None)
    with caplog.at_level(logging.ERROR):
        reply = book(service, **GOOD)
    assert reply.headers["Location"].endswith("/book/sent?copy=failed")
    assert "could not email you a copy" in service.get(reply.headers["Location"]).text
    assert len(service.mails(THERAPIST)) == 1
    assert CLIENT not in caplog.text and "Sore shoulder" not in caplog.text


def test_booking_notify_sends_requests_to_another_address(start_service):
    service = start_service(notify="bookings@example.com")
    book(service, **GOOD)
    [request] = service.mails("bookings@example.com")
    assert request["Reply-To"] == f"Ann Lee <{CLIENT}>" and service.mails(THERAPIST) == []


def test_an_unusable_notify_address_is_a_config_error(tmp_path):
    (tmp_path / "publisher.toml").write_text(
        '[site]\ntitle = "T"\nurl = "https://example.com"\n[booking]\nnotify = "not an address"\n', encoding="utf-8")
    with pytest.raises(Problems, match="booking.notify: expected an email address"):
        load_config(tmp_path / "publisher.toml", env={})


def test_the_clients_copy_goes_to_one_address_at_most_three_times_an_hour(service):
    answers = [book(service, **(GOOD | {"name": f"Someone {n}"})).headers["Location"] for n in range(4)]
    assert [a.rsplit("=", 1)[1] for a in answers] == ["sent", "sent", "sent", "none"]
    assert len(service.mails(CLIENT)) == 3 and len(service.mails(THERAPIST)) == 4


class _BuiltForm(HTMLParser):
    """The booking form as the built site carries it: its action, and each field's name and preset value."""

    def __init__(self):
        super().__init__()
        self.action, self.fields, self._in_form = "", {}, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("action") or "").endswith("/book"):
            self.action, self._in_form = attrs["action"], True
        elif self._in_form and tag in ("input", "select", "textarea") and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False


def test_the_booking_page_the_build_makes_reaches_both_inboxes_without_javascript(service):
    from click.testing import CliRunner

    from publisher.cli import main
    root = service.config.root
    config_file = root / "publisher.toml"
    config_file.write_text(config_file.read_text().replace('url = "https://massageinyork.co.uk/booking/"',
                                                           'url = "/booking/"'))
    (root / "pages").mkdir()
    (root / "pages" / "booking.md").write_text("---\ntitle: Book a massage\nlayout: booking\n---\nTell me when.\n")
    built = CliRunner().invoke(main, ["--config", str(root), "build"], catch_exceptions=False)
    assert built.exit_code == 0, built.output
    form = _BuiltForm()
    form.feed((root / "_site" / "booking" / "index.html").read_text(encoding="utf-8"))
    assert form.action == f"{service.url}/book" and "<script" not in form.rawdata
    assert {"name", "phone", "email", "service", "when", "area", "message", "website", "page"} <= set(form.fields)
    sent = service.post(form.action, form.fields | {k: v for k, v in GOOD.items() if k in form.fields})
    assert sent.status == 303 and service.get(sent.headers["Location"]).status == 200
    [request], [ack] = service.mails(THERAPIST), service.mails(CLIENT)
    assert request["Reply-To"] == f"Ann Lee <{CLIENT}>" and "Sore shoulder after running." in bodies(request)[0]
    assert form.fields["page"] == "https://example.com/booking/" and "https://example.com/booking/" in bodies(ack)[0]
