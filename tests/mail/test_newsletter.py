"""The newsletter: compiled once per post, personalised per recipient into a well-formed, well-behaved email."""

import datetime as dt
import email
import email.policy
import email.utils
import html as html_lib
import re
from email.header import decode_header, make_header
from html.parser import HTMLParser
from pathlib import Path

import mjml
import pytest

from publisher.build.theme import make_env
from publisher.config import load_config
from publisher.content.posts import parse_post
from publisher.errors import ConfigError, ContentError, DeliveryError, PublisherError
from publisher.mail.compose import compile_mjml
from publisher.mail.newsletter import (
    Addressee,
    compile_newsletter,
    make_renderer,
    personalise,
    render_web_version,
)
from publisher.mail.tokens import UNSUBSCRIBE, LinkTokens
from publisher.store import Subscriber

from ..fixtures_site import BASIC_TOML, BOOKING_TOML, post_text

SECRET = "a-test-secret-that-is-long-enough"
TOKENS = LinkTokens(SECRET)
PUBLIC_ID = "3f2a9c0d5b7e41a8a6c1d2e3f4a5b6c7"
NOW = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.timezone.utc)
BODY = """Sciatica is pain along the [sciatic nerve](https://www.nhs.uk/conditions/sciatica/).

## What helps

![A stretch for the lower back](/img/stretch.jpg "Hold for 30 seconds")

> Keep moving, gently.

- Walking
- Massage[^1]

[^1]: Deep tissue massage eases the piriformis.
"""
HOSTILE = "<script>alert(1)</script>\r\nBcc: evil@example.com 😀 שלום"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "publisher.toml"
    path.write_text(BASIC_TOML + 'address = "1 High St, York YO1 1AA"\n' + BOOKING_TOML
                    + '\n[newsletter]\nsubject_prefix = "[Massage in York]"\n', encoding="utf-8")
    return load_config(path, env={"PUBLISHER_SECRET_KEY": SECRET})


def make_post(config, body=BODY, title="Sciatica and lower back pain", **meta):
    meta.setdefault("summary", '"How massage helps a trapped nerve."')
    meta.setdefault("image", "/img/hero.jpg")
    meta.setdefault("image_alt", "A therapist at work")
    text = post_text(title, "2024-05-03", body, **meta)
    return parse_post(Path("posts/sciatica.md"), text, config.site.url, config.tz).post


def compiled(config, **kwargs):
    return compile_newsletter(make_post(config, **kwargs), config, make_env())


def send(newsletter, address="ann@example.com", name="Ann"):
    """The message as a mail server receives it, parsed back the way a mail client reads it."""
    msg = personalise(newsletter, Addressee(address, name, PUBLIC_ID), tokens=TOKENS, now=NOW)
    raw = msg.as_bytes(policy=email.policy.SMTP)
    return raw, email.message_from_bytes(raw, policy=email.policy.default)


def parts(msg):
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return text, html


def shown(markup: str) -> str:
    """HTML with character references turned back into characters: what the reader sees in the text."""
    return html_lib.unescape(markup)


def decoded(raw: bytes, name: str) -> str:
    """A header as RFC 2047 says to decode it (adjacent encoded words joined without the space between)."""
    value = email.message_from_bytes(raw, policy=email.policy.compat32)[name]
    return str(make_header(decode_header(value.replace("\r\n", ""))))


class Elements(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self, markup):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_mjml_is_compiled_once_for_fifty_recipients(config, monkeypatch):
    calls = []

    def counting_compile(source):
        calls.append(source)
        return compile_mjml(source)

    newsletter = compile_newsletter(make_post(config), config, make_env(), mjml_to_html=counting_compile)
    monkeypatch.setattr(mjml, "mjml2html", lambda *a, **k: pytest.fail("MJML compiled while personalising"))
    messages = [personalise(newsletter, Addressee(f"reader{i}@example.com", f"Reader {i}"), tokens=TOKENS, now=NOW)
                for i in range(50)]
    assert len(calls) == 1
    assert len({m["To"] for m in messages}) == 50
    assert "Hi \u2068Reader 7\u2069," in shown(messages[7].get_body(("html",)).get_content())


def test_the_message_is_multipart_alternative_text_then_html_in_utf8(config):
    raw, msg = send(compiled(config))
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in msg.iter_parts())
    assert [p.defects for p in msg.walk()] == [[], [], []]


def test_every_line_is_crlf_terminated_and_at_most_998_octets(config):
    raw, _ = send(compiled(config, body=BODY + "\n" + "A very long paragraph of text. " * 200), name="Zoë " * 60)
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_all_the_headers_are_there(config):
    newsletter = compiled(config)
    raw, msg = send(newsletter)
    assert str(msg["From"]) == "Ann Author <david@massageinyork.co.uk>"
    assert str(msg["Reply-To"]) == "david@massageinyork.co.uk"
    assert str(msg["To"]) == "Ann <ann@example.com>"
    assert msg["Subject"] == "[Massage in York] Sciatica and lower back pain"
    assert msg["Date"].datetime == NOW
    assert re.fullmatch(r"<[0-9a-f]{32}\.sciatica@massageinyork\.co\.uk>", msg["Message-ID"])
    assert msg["List-Id"] == "Test Site <newsletter.example.com>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["MIME-Version"] == "1.0"
    https, mailto = re.fullmatch(r"<(https://[^>]+)>, <(mailto:[^>]+)>", msg["List-Unsubscribe"]).groups()
    assert mailto == "mailto:david@massageinyork.co.uk?subject=unsubscribe"
    token = https.removeprefix("https://example.com/unsubscribe?token=")
    assert TOKENS.read(UNSUBSCRIBE, token).public_id == PUBLIC_ID


def test_the_unsubscribe_link_in_both_parts_is_the_one_in_the_header(config):
    _, msg = send(compiled(config))
    url = re.match(r"<([^>]+)>", msg["List-Unsubscribe"])[1]
    text, html = parts(msg)
    assert f"Unsubscribe: {url}" in text
    assert ("href", url) in [(k, v) for tag, attrs in Elements(html).tags if tag == "a" for k, v in attrs.items()]


def test_the_message_id_is_stable_per_post_and_subscriber(config):
    newsletter = compiled(config)
    first, again, other = (send(newsletter, a)[1]["Message-ID"]
                           for a in ("ann@example.com", "Ann@Example.com", "bob@example.com"))
    assert first == again != other
    other_post = compile_newsletter(make_post(config, slug="other"), config, make_env())
    assert send(other_post)[1]["Message-ID"] != first


def test_booking_phone_email_and_button_are_in_both_parts(config):
    text, html = parts(send(compiled(config))[1])
    for part in (text, html):
        assert "07713 250352" in part
        assert "david@massageinyork.co.uk" in part
        assert "https://massageinyork.co.uk/booking/" in part
    links = {attrs.get("href"): tag for tag, attrs in Elements(html).tags if tag == "a"}
    assert "tel:+447713250352" in links
    assert "mailto:david@massageinyork.co.uk?subject=Booking%3A%20Sciatica%20and%20lower%20back%20pain" in links
    button = re.search(r'<a href="https://massageinyork\.co\.uk/booking/"[^>]*>Book a massage</a>', html)
    assert button, "the booking button links to the booking page"


def test_a_hostile_title_and_name_are_escaped_in_html_and_encoded_in_headers(config):
    newsletter = compiled(config, title=f'"{HOSTILE}"')
    raw, msg = send(newsletter, name=HOSTILE)
    assert msg["Bcc"] is None and raw.count(b"\r\nBcc:") == 0
    assert raw.split(b"\r\n\r\n")[0].isascii()
    one_line = " ".join(HOSTILE.split())
    assert decoded(raw, "Subject") == f"[Massage in York] {one_line}"
    assert decoded(raw, "To") == f"{one_line} <ann@example.com>"
    assert msg["To"].addresses[0].addr_spec == "ann@example.com"
    text, html = parts(msg)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f"Hi \u2068{one_line}\u2069," in shown(html)
    assert f"Hi \u2068{one_line}\u2069," in text


def test_the_article_carries_inline_styles(config):
    html = compiled(config).html
    styled = {tag for tag, attrs in Elements(html).tags if "style" in attrs}
    assert {"a", "h1", "h2", "figure", "figcaption", "blockquote", "ul", "li", "section", "sup"} <= styled
    assert 'class="footnotes"' in html
    assert "fonts.googleapis" not in html and "<link" not in html
    assert "font-family:-apple-system" in html


def test_the_content_comes_in_order(config):
    html = compiled(config).html
    order = ["How massage helps a trapped nerve.", ">Test Site</a>", "Sciatica and lower back pain</h1>",
             'src="https://example.com/img/hero-email.jpg"', "__greeting__", "sciatic nerve</a>",
             "Book a mobile massage</h2>", "Book a massage</a>", "tel:+447713250352", "View in your browser</a>",
             "__unsubscribe_url__", "1 High St, York YO1 1AA"]
    positions = [html.index(part) if not part.startswith("__") else html.index(part.strip("_") + "__")
                 for part in order]
    assert positions == sorted(positions)


def test_the_hero_image_has_alt_and_width_but_no_fixed_height(config):
    hero = next(attrs for tag, attrs in Elements(compiled(config).html).tags
                if tag == "img" and attrs["src"].endswith("/img/hero-email.jpg"))
    assert hero["alt"] == "A therapist at work"
    assert hero["width"] == "600"
    assert hero.get("height") in (None, "auto") and "height:auto" in hero["style"]


def test_html_has_a_language_and_layout_tables_are_presentational(config):
    html = compiled(config, body=BODY + "\n| A | B |\n|---|---|\n| 1 | 2 |\n").html
    tags = Elements(html).tags
    assert tags[0] == ("html", tags[0][1]) and tags[0][1]["lang"] == "en-GB"
    tables = [attrs for tag, attrs in tags if tag == "table"]
    layout = [attrs for attrs in tables if "border-collapse: collapse" not in attrs.get("style", "")]
    assert len(layout) >= 8 and all(attrs.get("role") == "presentation" for attrs in layout)
    assert len(tables) - len(layout) == 1, "the article's own data table keeps its meaning"


def test_every_url_is_absolute(config):
    html = compiled(config).html
    urls = [v for tag, attrs in Elements(html).tags for k, v in attrs.items() if k in ("href", "src")]
    assert urls and all(re.match(r"(https://|mailto:|tel:|__publisher_)", u) for u in urls)


def test_dark_mode_friendly_colours(config):
    html = compiled(config).html
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "@media (prefers-color-scheme: dark)" in html
    for tag, attrs in Elements(html).tags:
        style = attrs.get("style", "").replace(" ", "")
        if re.search(r"(^|;)color:#fff(fff)?\b", style):
            assert "display:none" in style or "background:#1f6f5c" in style, (tag, style)


def test_a_newsletter_over_the_size_limit_fails_naming_the_post_and_size(config, tmp_path):
    path = tmp_path / "publisher.toml"
    path.write_text(BASIC_TOML + "\n[newsletter]\nmax_html_bytes = 20000\n", encoding="utf-8")
    small = load_config(path, env={})
    with pytest.raises(ContentError) as info:
        compiled(small, body="A paragraph of text that goes on. " * 400)
    message = str(info.value)
    assert message.startswith("posts/sciatica.md: ")
    assert re.search(r"HTML is [\d,]+ bytes, over newsletter\.max_html_bytes \(20,000\)", message)
    assert 'content = "excerpt"' in message


def test_excerpt_mode_sends_the_summary_and_a_read_more_button(config, tmp_path):
    path = tmp_path / "publisher.toml"
    path.write_text(BASIC_TOML + BOOKING_TOML + '\n[newsletter]\ncontent = "excerpt"\n', encoding="utf-8")
    excerpt = load_config(path, env={})
    text, html = parts(send(compiled(excerpt))[1])
    assert "How massage helps a trapped nerve." in html
    assert re.search(r'<a href="https://example.com/posts/sciatica/"[^>]*>Read the full article</a>', html)
    assert "sciatic nerve" not in html and "sciatic nerve" not in text
    assert "Read the full article: https://example.com/posts/sciatica/" in text


def test_the_web_version_has_no_recipient_data_and_a_subscribe_link(config):
    newsletter = compiled(config)
    page = render_web_version(newsletter).decode("ascii")
    assert "token=" not in page and "sent to" not in page and "__publisher_" not in page
    assert re.search(r'<a\s+href="https://example.com/#subscribe"[^>]*>Subscribe</a>', page)
    assert '<link rel="canonical" href="https://example.com/posts/sciatica/">' in page
    assert newsletter.web_url == "https://example.com/newsletter/sciatica/"
    assert 'href="https://example.com/newsletter/sciatica/"' in page


def test_text_that_looks_like_a_placeholder_stays_as_written(config):
    newsletter = compiled(config)
    fake = re.search(r"__publisher_\w+?_greeting__", newsletter.html)[0]
    text, html = parts(send(compiled(config, body=f"Literally `{fake}` here."))[1])
    assert "Literally <code style=" in html and f">{fake}</code> here." in html
    assert f"Literally {fake} here." in text


def test_spam_filter_complaints_become_warnings(config):
    assert compiled(config).warnings == ()
    shouting = compiled(config, title="FREE MASSAGE TODAY")
    assert any("all capitals" in w.message for w in shouting.warnings)
    shortened = compiled(config, body="[Book](https://bit.ly/abc)")
    assert any("link shortener" in w.message for w in shortened.warnings)
    mismatched = compiled(config, body="[https://www.nhs.uk/](https://evil.example.com/)")
    assert any("phishing" in w.message for w in mismatched.warnings)


def test_an_address_that_is_not_one_is_a_delivery_error(config):
    with pytest.raises(DeliveryError, match="not a valid email address"):
        personalise(compiled(config), Addressee("ann@example.com\r\nBcc: evil@example.com"), tokens=TOKENS, now=NOW)


def test_the_renderer_makes_a_message_per_subscriber(config):
    render = make_renderer(compiled(config), SECRET, clock=lambda: NOW)
    subscriber = Subscriber(id=1, email="zoe@example.com", name="Zoë", status="active", source="test",
                            created_at=NOW, updated_at=NOW, public_id=PUBLIC_ID)
    msg = render(subscriber)
    assert msg["To"] == "Zoë <zoe@example.com>"
    token = re.match(r"<[^>]+token=([^>]+)>", msg["List-Unsubscribe"])[1]
    assert TOKENS.read(UNSUBSCRIBE, token).public_id == PUBLIC_ID
    assert email.utils.parsedate_to_datetime(msg["Date"]) == NOW


def test_the_renderer_refuses_to_start_without_a_secret(config):
    with pytest.raises(ConfigError, match="PUBLISHER_SECRET_KEY is not set"):
        make_renderer(compiled(config), "", clock=lambda: NOW)


def test_a_from_address_that_is_not_one_is_refused_before_any_newsletter_is_made(tmp_path):
    path = tmp_path / "publisher.toml"
    path.write_text(BASIC_TOML + '\n[newsletter]\nfrom_address = "news at example.com"\n', encoding="utf-8")
    with pytest.raises(PublisherError, match="newsletter.from_address: expected an email address like "
                                             "news@example.com, got 'news at example.com'"):
        load_config(path, env={})


def test_a_sender_name_beyond_ascii_is_encoded(tmp_path):
    path = tmp_path / "publisher.toml"
    path.write_text(BASIC_TOML + '\n[newsletter]\nfrom_name = "Zoë’s Clinic"\nfrom_address = "news@example.com"\n',
                    encoding="utf-8")
    raw, msg = send(compiled(load_config(path, env={})))
    assert raw.split(b"\r\n\r\n")[0].isascii()
    assert decoded(raw, "From") == "Zoë’s Clinic <news@example.com>"


def test_a_site_newsletter_that_mjml_refuses_names_its_file_and_line_not_the_post(config, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "newsletter.mjml").write_text(
        "<mjml>\n  <mj-body>\n    <mj-section><mj-column><mj-text>{{ post.title }}</mj-text></mj-column>"
        "</mj-section>\n    <mj-include path=\"footer.mjml\" />\n  </mj-body>\n</mjml>\n", encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        compile_newsletter(make_post(config), config, make_env(templates))
    assert str(caught.value).startswith("templates/newsletter.mjml:4: the email could not be compiled (unable to")
