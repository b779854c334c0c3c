"""The service in a real headless Chromium with JavaScript turned off, on a phone-sized screen: a reader
subscribes from a page of the built site, confirms and unsubscribes with the one button on each link's page,
and every page the service shows is styled by the site's stylesheet."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest
from click.testing import CliRunner

from publisher.cli import main

from ..fixtures_browser import allow_loopback_only, horizontal_overflow
from ..fixtures_smtp import free_port
from ..fixtures_web import START, Clock, confirm_link, running, site_config, write_posts


@pytest.fixture
def static_site(tmp_path):
    """The built site served from 127.0.0.1, as a static host would: (site folder, base URL)."""
    root, port = tmp_path / "site", free_port()
    write_posts(root, 2)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root / "_site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 375, "height": 740})
    context.route("**/*", allow_loopback_only)
    yield context.new_page()
    context.close()


def assert_styled(page) -> None:
    """The site's stylesheet applied (its 44 px buttons), and nothing wider than the screen."""
    box = page.locator("main button, .subscribe-form button").first.bounding_box()
    assert box["height"] >= 44
    assert horizontal_overflow(page) == 0


@pytest.mark.browser
def test_subscribe_confirm_and_unsubscribe_in_a_browser_without_javascript(static_site, smtp_server, phone):
    root, site_url = static_site
    config = site_config(root, f"http://127.0.0.1:{free_port()}", f'\n[delivery]\nsmtp_url = "{smtp_server.url}"\n',
                         site_url=site_url)
    built = CliRunner().invoke(main, ["--config", str(root), "build"], env={"PUBLISHER_NOW": START.isoformat()},
                               catch_exceptions=False)
    assert built.exit_code == 0
    with running(config, smtp_server, Clock(START)) as service:
        phone.goto(f"{site_url}/posts/post-2/")
        phone.fill("#subscribe-email", "ann@example.com")
        phone.click(".subscribe-form button[type=submit]")
        assert phone.url == f"{service.url}/subscribe"
        assert phone.locator("h1").inner_text() == "Check your inbox"
        assert_styled(phone)

        phone.goto(confirm_link(service.mails("ann@example.com")[0]))
        assert phone.locator("h1").inner_text() == "Confirm your subscription"
        assert_styled(phone)
        assert service.status("ann@example.com") == "pending"
        phone.click("main button")
        assert phone.locator("h1").inner_text() == "You are subscribed"
        assert service.status("ann@example.com") == "active"

        phone.goto(service.mails("ann@example.com")[-1]["List-Unsubscribe"].strip("<>"))
        assert phone.locator("h1").inner_text() == "Unsubscribe"
        assert_styled(phone)
        assert service.status("ann@example.com") == "active"
        phone.click("main button")
        assert phone.locator("h1").inner_text() == "You are unsubscribed"
        assert service.status("ann@example.com") == "unsubscribed"
