"""The pages in a real headless Chromium: no sideways scrolling on a phone or a desktop."""

import functools
import http.server
import threading

import pytest

from ..fixtures_browser import horizontal_overflow
from ..fixtures_site import BOOKING_TOML, post_text
from ..fixtures_smtp import free_port

LONG_BODY = """Intro paragraph with a very long unbroken word: Pneumonoultramicroscopicsilicovolcanoconiosis-and-more.

![A wide diagram](/images/wide.svg "A caption under a wide picture")

| Muscle | Where it hurts | What helps most |
|---|---|---|
| Gluteus medius | Belt line and lower spine | Massage of both areas, then stretching |

```
a_long_line_of_code_that_would_overflow_a_phone_screen_if_the_pre_block_did_not_scroll_by_itself()
```

Note[^1].

[^1]: A footnote.
"""


@pytest.fixture
def served(site_dir):
    """The built site served over HTTP on 127.0.0.1, its base URL pointing there."""
    port = free_port()
    site_dir.config(f'[site]\ntitle = "Massage in York"\nurl = "http://127.0.0.1:{port}"\n'
                    'description = "Health articles"\n' + BOOKING_TOML)
    (site_dir.root / "static" / "images").mkdir(parents=True)
    (site_dir.root / "static" / "images" / "wide.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="300"><rect width="1200" height="300"/></svg>')
    site_dir.post("a.md", post_text("Sciatica And Lower Back Pain – How Massage Helps", "2024-03-12", LONG_BODY,
                                    tags="[sciatica, lower back pain, sports massage]"))
    assert site_dir.run("build").exit_code == 0
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site_dir.out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("path", ["/", "/posts/a/"])
def test_no_horizontal_scroll(browser_page, served, width, path):
    page = browser_page(width=width)
    response = page.goto(served + path)
    assert response.status == 200
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui"), "stylesheet loaded"
    assert horizontal_overflow(page) <= 0


@pytest.mark.browser
def test_booking_button_is_a_comfortable_tap_target_on_a_phone(browser_page, served):
    page = browser_page(width=375)
    page.goto(served + "/posts/a/")
    box = page.locator(".booking .button").bounding_box()
    assert box["height"] >= 44
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375


@pytest.mark.browser
def test_an_old_newsletter_link_lands_on_its_article_through_the_404_page(browser_page, site_dir):
    """Static hosts answer unknown paths with 404.html; from there the reader is sent on to the article."""
    port = free_port()
    site_dir.config(f'[site]\ntitle = "Site"\nurl = "http://127.0.0.1:{port}"\nfeed_entries = 1\n' + BOOKING_TOML)
    site_dir.post("old.md", post_text("Old news", "2024-01-01"))
    site_dir.post("new.md", post_text("New news", "2024-02-01"))
    assert site_dir.run("build").exit_code == 0
    not_found = (site_dir.out / "404.html").read_bytes()

    class StaticHost(http.server.SimpleHTTPRequestHandler):
        def send_error(self, code, message=None, explain=None):
            if code != 404:
                return super().send_error(code, message, explain)
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(not_found)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(StaticHost, directory=str(site_dir.out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = browser_page(width=375)
        page.goto(f"http://127.0.0.1:{port}/newsletter/old/")
        page.wait_for_url(f"http://127.0.0.1:{port}/posts/old/")
        assert page.locator("h1").first.inner_text() == "Old news"
    finally:
        server.shutdown()
        server.server_close()
