"""The service's emails: the confirmation and the welcome, compiled once and personalised per recipient."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from html import unescape
from pathlib import Path

import pytest

from publisher.build.theme import make_env
from publisher.config import load_config
from publisher.content.posts import parse_post
from publisher.errors import ContentError, TokenExpired
from publisher.mail.compose import compile_mjml
from publisher.mail.newsletter import Addressee, compile_newsletter
from publisher.mail.tokens import CONFIRM, UNSUBSCRIBE, LinkTokens
from publisher.service.emails import (
    compile_confirmation,
    compile_welcome,
    personalise_notice,
)

from ..fixtures_site import BASIC_TOML, BOOKING_TOML, post_text

SECRET = "a-test-secret-that-is-long-enough"
TOKENS = LinkTokens(SECRET)
PUBLIC_IDS = {"ann@example.com": "3f2a9c0d5b7e41a8a6c1d2e3f4a5b6c7", "bob@example.com": "8e1d6b2c9a0f47e3b5d4c3b2a1f0e9d8"}
NOW = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)


def make_config(tmp_path: Path, extra: str = ""):
    path = tmp_path / "publisher.toml"
    path.write_text(BASIC_TOML + 'address = "1 High St, York"\n' + BOOKING_TOML
                    + '\n[subscriptions]\nurl = "https://subscribe.example.com"\n' + extra, encoding="utf-8")
    return load_config(path, env={"PUBLISHER_SECRET_KEY": SECRET})


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path)


def posts(config, count: int):
    made = [parse_post(Path(f"posts/p{n}.md"), post_text(f"Post {n} & more", f"2024-05-{n:02d}",
                                                         summary=f'"Summary {n}."'),
                       config.site.url, config.tz).post for n in range(1, count + 1)]
    return made[::-1]


def wire(msg) -> bytes:
    return msg.as_bytes(policy=email.policy.SMTP)


def parsed(msg):
    return email.message_from_bytes(wire(msg), policy=email.policy.default)


def link_in(msg, path: str) -> str:
    text = parsed(msg).get_body(("plain",)).get_content()
    return next(word for word in text.split() if f"/{path}?token=" in word)


def test_the_confirmation_is_compiled_once_and_differs_per_recipient_only_in_their_fields(config):
    calls = []
    notice = compile_confirmation(config, make_env(), mjml_to_html=lambda s: calls.append(1) or compile_mjml(s))
    ann = personalise_notice(notice, Addressee("ann@example.com", "Ann", PUBLIC_IDS["ann@example.com"]), tokens=TOKENS, now=NOW)
    bob = personalise_notice(notice, Addressee("bob@example.com", "", PUBLIC_IDS["bob@example.com"]), tokens=TOKENS, now=NOW)
    assert len(calls) == 1
    link = link_in(ann, "confirm")
    assert link.startswith("https://subscribe.example.com/confirm?token=")
    data = TOKENS.read(CONFIRM, link.partition("token=")[2], dt.timedelta(hours=48), NOW)
    assert (data.public_id, data.list_id, data.issued) == (PUBLIC_IDS["ann@example.com"], "newsletter.example.com",
                                                           NOW)
    html = {name: unescape(parsed(m).get_body(("html",)).get_content()) for name, m in (("ann", ann), ("bob", bob))}
    assert f'href="{link}"' in html["ann"] and "Hi \u2068Ann\u2069," in html["ann"]
    same = html["bob"].replace(link_in(bob, "confirm"), link).replace("bob@", "ann@").replace(
        "Hello,", "Hi \u2068Ann\u2069,")
    assert same == html["ann"]
    assert "__publisher_" not in wire(ann).decode()
    headers = parsed(ann)
    assert headers["Subject"] == "Confirm your subscription to Test Site"
    assert headers["From"] == "Ann Author <david@massageinyork.co.uk>"
    assert headers["To"] == "Ann <ann@example.com>" and headers["List-Unsubscribe"] is None
    assert "works for 48 hours" in headers.get_body(("plain",)).get_content()


def test_the_confirm_link_lasts_as_long_as_confirm_hours_says(tmp_path):
    config = make_config(tmp_path, "confirm_hours = 2\n")
    msg = personalise_notice(compile_confirmation(config, make_env()), Addressee("ann@example.com", PUBLIC_IDS["ann@example.com"]), tokens=TOKENS, now=NOW)
    token = link_in(msg, "confirm").partition("token=")[2]
    TOKENS.read(CONFIRM, token, dt.timedelta(hours=2), NOW + dt.timedelta(hours=1, minutes=59))
    with pytest.raises(TokenExpired):
        TOKENS.read(CONFIRM, token, dt.timedelta(hours=2), NOW + dt.timedelta(hours=2, minutes=1))
    assert "works for 2 hours" in parsed(msg).get_body(("html",)).get_content()


def test_the_welcome_links_the_three_newest_posts_and_unsubscribes_in_one_click(config):
    notice = compile_welcome(config, make_env(), posts(config, 5))
    msg = parsed(personalise_notice(notice, Addressee("ann@example.com", "Ann", PUBLIC_IDS["ann@example.com"]), tokens=TOKENS, now=NOW))
    html, text = msg.get_body(("html",)).get_content(), msg.get_body(("plain",)).get_content()
    for n in (5, 4, 3):
        assert f'href="https://example.com/posts/p{n}/"' in html and f"Post {n} &amp; more" in html
        assert f"Post {n} & more" in text and f"https://example.com/posts/p{n}/" in text
    assert "Post 2" not in html + text
    assert text.index("Post 5") < text.index("Post 4") < text.index("Post 3")
    unsubscribe = msg["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("https://subscribe.example.com/unsubscribe?token=")
    assert TOKENS.read(UNSUBSCRIBE, unsubscribe.partition("token=")[2]).public_id == PUBLIC_IDS["ann@example.com"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{unsubscribe}"' in html and f"Unsubscribe: {unsubscribe}" in text
    assert msg["Subject"] == "Welcome to Test Site" and msg["List-Id"] == "Test Site <newsletter.example.com>"


def test_a_welcome_without_posts_says_nothing_about_them(config):
    msg = parsed(personalise_notice(compile_welcome(config, make_env(), []), Addressee("ann@example.com", PUBLIC_IDS["ann@example.com"]), tokens=TOKENS, now=NOW))
    assert "latest" not in msg.get_body(("plain",)).get_content()
    assert "latest" not in msg.get_body(("html",)).get_content()


def test_hostile_names_cannot_add_headers_or_markup(config):
    hostile = "<b>Ann</b>\r\nBcc: evil@example.org"
    for notice in (compile_confirmation(config, make_env()), compile_welcome(config, make_env(), [])):
        raw = wire(personalise_notice(notice, Addressee("ann@example.com", hostile, PUBLIC_IDS["ann@example.com"]), tokens=TOKENS, now=NOW))
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert msg["Bcc"] is None and msg["To"].addresses[0].addr_spec == "ann@example.com"
        assert "<b>Ann</b>" not in msg.get_body(("html",)).get_content()
        assert all(len(line) <= 998 for line in raw.split(b"\r\n")) and b"\n" not in raw.replace(b"\r\n", b"")


def test_a_template_that_does_not_compile_names_itself(config):
    def broken(source: str) -> str:
        raise ValueError("unexpected element mj-bogus")
    with pytest.raises(ContentError, match=r"confirm\.mjml: the email could not be compiled \(unexpected"):
        compile_confirmation(config, make_env(), mjml_to_html=broken)


def test_a_site_can_restyle_its_confirmation(tmp_path, config):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "confirm.mjml").write_text(
        '{% extends "_notice.mjml" %}{% block heading %}One more step{% endblock %}'
        '{% block content %}<mj-button href="{{ slots.link }}">Yes, sign me up</mj-button>{% endblock %}',
        encoding="utf-8")
    msg = personalise_notice(compile_confirmation(config, make_env(templates)), Addressee("ann@example.com", PUBLIC_IDS["ann@example.com"]), tokens=TOKENS, now=NOW)
    html = parsed(msg).get_body(("html",)).get_content()
    assert "One more step" in html and "Yes, sign me up" in html
    assert 'href="https://subscribe.example.com/confirm?token=' in html


def test_the_welcome_carries_the_booking_call_to_action_in_both_parts(config, tmp_path):
    msg = parsed(personalise_notice(compile_welcome(config, make_env(), posts(config, 1)), Addressee("ann@example.com", PUBLIC_IDS["ann@example.com"]), tokens=TOKENS, now=NOW))
    html, text = msg.get_body(("html",)).get_content(), msg.get_body(("plain",)).get_content()
    assert "Book a mobile massage" in html and 'href="https://massageinyork.co.uk/booking/"' in html
    assert 'href="tel:+447713250352"' in html and 'href="mailto:david@massageinyork.co.uk"' in html
    assert "Book a massage: https://massageinyork.co.uk/booking/" in text and "Phone: 07713 250352" in text
    plain = load_config_without_booking(tmp_path)
    bare = parsed(personalise_notice(compile_welcome(plain, make_env(), []), Addressee("ann@example.com", PUBLIC_IDS["ann@example.com"]), tokens=TOKENS, now=NOW))
    assert "Book" not in bare.get_body(("html",)).get_content() + bare.get_body(("plain",)).get_content()


def load_config_without_booking(tmp_path: Path):
    path = tmp_path / "bare" / "publisher.toml"
    path.parent.mkdir(parents=True)
    path.write_text(BASIC_TOML, encoding="utf-8")
    return load_config(path, env={"PUBLISHER_SECRET_KEY": SECRET})


def test_a_site_confirmation_that_mjml_refuses_names_its_file_and_line(tmp_path, config):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "confirm.mjml").write_text(
        '{% extends "_notice.mjml" %}\n{% block heading %}One more step{% endblock %}\n{% block content %}\n'
        '        <mj-include path="buttons.mjml" />\n{% endblock %}\n', encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        compile_confirmation(config, make_env(templates))
    assert str(caught.value).startswith("templates/confirm.mjml:4: the email could not be compiled (unable to load")


def dark_mode_rules(html: str) -> str:
    return next(style.split("</style>")[0] for style in html.split("<style")[1:] if "color-scheme: dark" in style)


def test_every_email_shares_one_head_that_a_site_overrides_in_one_file(tmp_path, config):
    post = posts(config, 1)[0]
    emails = [compile_newsletter(post, config, make_env()).html, compile_confirmation(config, make_env()).html,
              compile_welcome(config, make_env(), [post]).html]
    assert len({dark_mode_rules(html) for html in emails}) == 1
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "_email_head.mjml").write_text(
        '  <mj-head>\n    <mj-title>{{ subject }}</mj-title>\n    <mj-attributes>\n'
        '      <mj-all font-family="Georgia, serif" />\n    </mj-attributes>\n  </mj-head>\n', encoding="utf-8")
    env = make_env(templates)
    for html in (compile_newsletter(post, config, env).html, compile_confirmation(config, env).html,
                 compile_welcome(config, env, [post]).html):
        assert "font-family:Georgia, serif" in html and "Segoe UI" not in html
