"""The newsletter in a real headless Chromium: fits a phone and a desktop, a comfortable booking button,
and readable text in light and dark mode."""

import datetime as dt
import email
import email.policy
import functools
import http.server
import threading
from pathlib import Path

import pytest

from publisher.build.theme import make_env
from publisher.config import load_config
from publisher.content.posts import parse_post
from publisher.mail.newsletter import (
    Addressee,
    compile_newsletter,
    personalise,
    render_web_version,
)
from publisher.mail.tokens import LinkTokens

from ..fixtures_browser import horizontal_overflow
from ..fixtures_site import BOOKING_TOML, post_text
from ..fixtures_smtp import free_port

SECRET = "a-test-secret-that-is-long-enough"
WIDE_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="400"><rect width="1200" height="400"/></svg>'
BODY = """Intro with a very long unbroken word: Pneumonoultramicroscopicsilicovolcanoconiosis-and-more-and-more.

![A wide diagram](/img/wide.svg "A caption under a wide picture")

| Muscle | Where it hurts | What helps most |
|---|---|---|
| Gluteus medius | Belt line and lower spine | Massage of both areas, then stretching |

```
a_long_line_of_code_that_would_overflow_a_phone_screen_if_the_block_did_not_wrap_by_itself()
```

> A quotation that runs on for a while so that it has to wrap on a narrow screen.

Note[^1].

[^1]: A footnote.
"""
# What must stay readable, and where it sits: a selector and the text it should contain.
TEXTS = [("h1", "Sciatica"), (".nl-article p", "Intro"), (".nl-booking h2", "Book a mobile massage"),
         (".nl-contact a", "07713 250352"), (".nl-footer p", "You are receiving this"),
         (".nl-footer a", "View in your browser")]
CONTRAST = """([selector, text]) => {
  const el = [...document.querySelectorAll(selector)].find(e => e.textContent.includes(text));
  const rgb = c => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => v / 255).map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
                                    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  let bg = el;
  while (bg && rgb(getComputedStyle(bg).backgroundColor).length === 4 && rgb(getComputedStyle(bg).backgroundColor)[3] === 0) bg = bg.parentElement;
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(rgb(bg ? getComputedStyle(bg).backgroundColor : 'rgb(255,255,255)'))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.fixture
def served(tmp_path):
    """The newsletter as a subscriber's mail client shows it, and its web version, served on 127.0.0.1."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (tmp_path / "publisher.toml").write_text(f'[site]\ntitle = "Massage in York"\nurl = "{base}"\n'
                                             'address = "1 High St, York YO1 1AA"\n' + BOOKING_TOML)
    config = load_config(tmp_path / "publisher.toml", env={})
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "wide.svg").write_text(WIDE_SVG)
    text = post_text("Sciatica And Lower Back Pain – How Massage Helps", "2024-03-12", BODY,
                     image="/img/wide.svg", image_alt="A wide picture")
    newsletter = compile_newsletter(parse_post(Path("posts/a.md"), text, base, config.tz).post, config, make_env())
    msg = personalise(newsletter, Addressee("ann@example.com", "Ann"), tokens=LinkTokens(SECRET),
                      now=dt.datetime(2025, 1, 15, tzinfo=dt.timezone.utc))
    parsed = email.message_from_bytes(msg.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)
    (tmp_path / "email.html").write_text(parsed.get_body(("html",)).get_content(), encoding="utf-8")
    (tmp_path / "web.html").write_bytes(render_web_version(newsletter))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield base
    server.shutdown()
    server.server_close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [375, 800])
@pytest.mark.parametrize("page_name", ["email.html", "web.html"])
def test_no_horizontal_scroll(browser_page, served, width, page_name):
    page = browser_page(width=width)
    page.goto(f"{served}/{page_name}", wait_until="load")
    assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth === 1200)"), "images loaded"
    assert horizontal_overflow(page) <= 0
    hero = page.locator('img[alt="A wide picture"]').bounding_box()
    assert hero["x"] >= 0 and hero["x"] + hero["width"] <= width


@pytest.mark.browser
@pytest.mark.parametrize("width", [375, 800])
def test_the_booking_button_is_a_comfortable_tap_target(browser_page, served, width):
    page = browser_page(width=width)
    page.goto(f"{served}/email.html")
    button = page.get_by_role("link", name="Book a massage")
    box = button.bounding_box()
    assert box["height"] >= 44
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert button.get_attribute("href") == "https://massageinyork.co.uk/booking/"


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_stays_readable_in_light_and_dark_mode(browser_page, served, scheme):
    page = browser_page(width=375)
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{served}/email.html")
    for selector, text in TEXTS:
        assert page.evaluate(CONTRAST, [selector, text]) >= 4.5, (scheme, selector)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == (
        "rgb(12, 17, 16)" if scheme == "dark" else "rgb(241, 246, 244)")
