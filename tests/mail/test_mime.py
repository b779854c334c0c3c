"""Prepared MIME bodies and headers: what personalisation fills in comes out exactly as the standard library
would write it, with every line short enough for SMTP."""

import email
import email.policy
import email.utils
import quopri
import re
from email.header import decode_header, make_header
from email.message import EmailMessage
from html.parser import HTMLParser

import pytest

from publisher.mail.mime import (
    MAX_LINE,
    address_header,
    assemble,
    fold_header,
    list_id_header,
    normalise_html,
    prepare_html,
    prepare_text,
    raw_header,
    text_header,
    text_part,
    to_bytes,
)

SLOTS = re.compile(r"__slot_(\w+?)__")
VALUES = {"name": "Zoë <b>", "url": "https://example.com/unsubscribe?token=abc&x=1"}


class Tokens(HTMLParser):
    """What a browser sees: tags, attributes and text, whitespace inside tags irrelevant."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.items = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.items.append(("start", tag, tuple(attrs)))

    def handle_endtag(self, tag):
        self.items.append(("end", tag))

    def handle_data(self, data):
        self.items.append(("text", data))


def long_html() -> str:
    cells = "".join(f'<td class="cell c{i}" style="padding: 4px; color: #333" title="Zoë’s note {i}">text {i} é</td>'
                    for i in range(60))
    return f'<table role="presentation"><tr>{cells}</tr></table><p>Hi __slot_name__, <a href="__slot_url__">leave</a></p>'


def test_normalised_html_is_short_ascii_lines_that_mean_the_same_to_a_parser():
    original = long_html()
    normal = normalise_html(original)
    assert normal.isascii()
    assert max(len(line) for line in normal.split("\n")) <= 800
    assert Tokens(normal).items == Tokens(original).items


def test_angle_brackets_in_attribute_values_are_escaped():
    normal = normalise_html('<img alt="a <script> tag" src="x.png"><p>1 &lt; 2</p>')
    assert "<script>" not in normal
    assert Tokens(normal).items[0] == ("start", "img", (("alt", "a <script> tag"), ("src", "x.png")))


def test_a_7bit_body_fills_in_escaped_values():
    body = prepare_html(normalise_html(long_html()), SLOTS, "=_b")
    html, cte = body.fill(VALUES)
    assert cte == "7bit"
    assert "Hi Zo&#235; &lt;b&gt;, <a" in html
    assert 'href="https://example.com/unsubscribe?token=abc&amp;x=1"' in html
    assert max(len(line) for line in html.split("\n")) <= MAX_LINE


def test_a_value_too_long_for_its_line_falls_back_to_quoted_printable():
    body = prepare_html(normalise_html(long_html()), SLOTS, "=_b")
    values = {**VALUES, "name": "ü" * 300}
    html, cte = body.fill(values)
    assert cte == "quoted-printable"
    assert max(len(line) for line in html.split("\n")) <= 76
    assert ("Hi " + "&#252;" * 300 + ",") in quopri.decodestring(html.encode()).decode()


def test_a_body_that_cannot_be_broken_is_quoted_printable():
    body = prepare_html(normalise_html("<p>" + "word " * 400 + "__slot_name__</p>"), SLOTS, "=_b")
    assert body.cte == "quoted-printable"
    html, cte = body.fill(VALUES)
    assert quopri.decodestring(html.encode()).decode() == "<p>" + "word " * 400 + "Zo&#235; &lt;b&gt;</p>"


def test_a_text_body_decodes_to_the_text_with_the_values_in_place():
    text = "Hi __slot_name__,\n\nUnsubscribe: __slot_url__\nCafé ends with a space \n" + "long " * 40 + "\n"
    filled, cte = prepare_text(text, SLOTS).fill(VALUES)
    assert cte == "quoted-printable"
    assert max(len(line) for line in filled.split("\n")) <= 76
    expected = text.replace("__slot_name__", VALUES["name"]).replace("__slot_url__", VALUES["url"])
    assert quopri.decodestring(filled.encode()).decode() == expected


def standard_fold(name, value, policy=email.policy.SMTP) -> str:
    msg = EmailMessage(policy=policy)
    msg[name] = value
    return msg.as_string(policy=policy).split(policy.linesep * 2)[0] + policy.linesep


def read_address(header) -> tuple[str, str]:
    """The name and address a mail client shows (RFC 2047 decoding joins adjacent encoded words)."""
    raw = email.message_from_string(header.folded + "\r\n", policy=email.policy.compat32)["To"]
    name, address = email.utils.parseaddr(raw.replace("\r\n", ""))
    return str(make_header(decode_header(name))), address


@pytest.mark.parametrize("name", ["Ann Smith", "Ann O'Brien-Smith", "Smith, Ann", 'Ann "Nan" \\ Smith',
                                  "Zoë Ångström", "Zoë 😀 " * 12, "=?utf-8?q?spoof?=", "سارا"])
def test_address_headers_read_back_as_the_same_name_and_address(name):
    header = address_header("To", name, "ann@example.com")
    assert read_address(header) == (name.strip(), "ann@example.com")
    parsed = email.message_from_string(header.folded + "\r\n", policy=email.policy.default)
    assert not parsed["To"].defects and parsed["To"].addresses[0].addr_spec == "ann@example.com"
    assert all(len(line) <= 78 for line in header.folded.split("\r\n"))
    assert all(len(word) <= 75 for word in re.findall(r"=\?utf-8\?b\?[^?]*\?=", header.folded))


def legacy_decode(header) -> str:
    value = email.message_from_string(header.folded + "\r\n", policy=email.policy.compat32)[header.name]
    return str(make_header(decode_header(value.replace("\r\n", ""))))


@pytest.mark.parametrize("subject", ["Sciatica: five things that help", "Zoë’s tips 😀 שלום and more " * 4,
                                     "Looks =?utf-8?q?encoded?= but is not", "Line\r\nBcc: evil@example.com"])
def test_subjects_read_back_exactly_on_one_header_line(subject):
    header = text_header("Subject", subject)
    assert legacy_decode(header) == " ".join(subject.split())
    assert all(len(line) <= 78 for line in header.folded.split("\r\n"))
    parsed = email.message_from_string(header.folded + "\r\n", policy=email.policy.default)
    assert list(parsed.keys()) == ["Subject"]


def test_a_list_id_carries_the_site_name_and_the_identifier():
    assert list_id_header("Massage in York", "newsletter.example.com").folded == \
        "List-Id: Massage in York <newsletter.example.com>\r\n"
    assert legacy_decode(list_id_header("Zoë’s site", "news.example.com")) == "Zoë’s site <news.example.com>"
    assert list_id_header("", "news.example.com").folded == "List-Id: <news.example.com>\r\n"


def test_a_very_long_name_is_cut_short_in_the_header():
    assert read_address(address_header("To", "Ann " * 100, "ann@example.com"))[0] == ("Ann " * 25).strip()


def test_a_name_with_line_breaks_cannot_add_a_header():
    header = address_header("To", "Ann\r\nBcc: evil@example.com", "ann@example.com")
    msg = email.message_from_string(header.fold(policy=email.policy.SMTP) + "\r\n", policy=email.policy.default)
    assert msg["Bcc"] is None and msg["To"].addresses[0].addr_spec == "ann@example.com"


@pytest.mark.parametrize("address", ["ann@example.com\r\nBcc: evil@example.com", "no-at-sign", "a b@example.com",
                                     "<ann@example.com>"])
def test_something_that_is_not_an_address_is_refused(address):
    with pytest.raises(ValueError):
        address_header("To", "Ann", address)


def test_an_international_address_is_written_for_smtputf8():
    header = address_header("To", "Zoë", "zoë@exämple.com")
    assert header.folded == "To: Zoë <zoë@exämple.com>\r\n"


def test_folded_headers_serialise_exactly_like_the_standard_ones():
    for name, value in [("Subject", "Sciatica: 5 things that help " * 3), ("Date", "Wed, 15 Jan 2025 12:00:00 +0000")]:
        header = fold_header(name, value)
        for policy in (email.policy.SMTP, email.policy.default):
            assert header.fold(policy=policy) == standard_fold(name, value, policy)


def test_an_assembled_message_parses_without_defects():
    parts = [text_part(raw_header("Content-Type", 'text/plain; charset="utf-8"'),
                       {"quoted-printable": raw_header("Content-Transfer-Encoding", "quoted-printable")},
                       "Caf=C3=A9\n", "quoted-printable")]
    msg = assemble([address_header("From", "Ann", "ann@example.com"), raw_header("MIME-Version", "1.0"),
                    raw_header("Content-Type", 'multipart/alternative; boundary="=_b"')], parts)
    parsed = email.message_from_bytes(msg.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)
    assert [p.defects for p in parsed.walk()] == [[], []]
    assert parsed.get_body(("plain",)).get_content().splitlines() == ["Café"]
    assert msg["From"] == "Ann <ann@example.com>"


@pytest.mark.parametrize("name", ["", "Ann", "Zoë Müller", "Ann \"The Quill\", Esq.", "😀 שלום", "x" * 300])
@pytest.mark.parametrize("policy", [email.policy.SMTP, email.policy.SMTPUTF8])
def test_to_bytes_is_exactly_what_the_email_package_writes(name, policy):
    slots = re.compile(r"__slot_(name)__")
    html_body = prepare_html(normalise_html(long_html() + "<p>Hi __slot_name__</p>\n.dot\n"), slots, "=_b")
    text_body = prepare_text("Hi __slot_name__\n.\nA line that is only a dot.\n", slots)
    ctes = {cte: raw_header("Content-Transfer-Encoding", cte) for cte in ("7bit", "quoted-printable")}
    parts = [text_part(raw_header("Content-Type", 'text/plain; charset="utf-8"'), ctes, *text_body.fill({"name": name})),
             text_part(raw_header("Content-Type", 'text/html; charset="utf-8"'), ctes, *html_body.fill({"name": name}))]
    msg = assemble([address_header("From", "News", "news@example.com"), address_header("To", name, "ann@example.com"),
                    text_header("Subject", f"For {name}"), raw_header("MIME-Version", "1.0"),
                    raw_header("Content-Type", 'multipart/alternative; boundary="=_b"')], parts)
    msg["X-Added-Later"] = f"a plain header for {name}"
    assert to_bytes(msg, policy) == msg.as_bytes(policy=policy)


def test_to_bytes_hands_other_messages_to_the_email_package():
    plain = EmailMessage()
    plain["From"], plain["To"], plain["Subject"] = "a@example.com", "b@example.com", "Hi"
    plain.set_content("Zoë\n.\n")
    assert to_bytes(plain) == plain.as_bytes(policy=email.policy.SMTP)
    plain.add_alternative("<p>Zoë</p>", subtype="html")
    plain.preamble = "This is a MIME message."
    assert to_bytes(plain) == plain.as_bytes(policy=email.policy.SMTP)

