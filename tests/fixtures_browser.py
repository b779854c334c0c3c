"""Headless Chromium for tests marked `browser`: one browser per session, one page per call, loopback only.

The browser is the system's Chromium (see `tests/browser_check.py`), driven by Playwright with
`executable_path`, so Playwright never downloads one. Tests marked `browser` are skipped only when no
executable exists, with a reason naming the fix; a browser that exists but fails to start is an error.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.browser_check import describe, find_chromium, missing_reason

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
NETWORK_SCHEMES = {"http", "https", "ws", "wss", "ftp"}


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than its viewport; > 0 means the reader must scroll sideways."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def is_loopback_url(url: str) -> bool:
    """True for URLs that stay on this machine: loopback hosts, or schemes that use no network (data:, about:)."""
    parts = urlsplit(url)
    if parts.scheme not in NETWORK_SCHEMES:
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allow_loopback_only(route: Route) -> None:
    """Let requests to this machine through and block the rest, so no browser test reaches the internet."""
    if is_loopback_url(route.request.url):
        route.continue_()
    else:
        route.abort("blockedbyclient")


def pytest_report_header(config: pytest.Config) -> str:
    """Say at the top of every run which browser the browser tests use, or loudly that they are skipped."""
    path = find_chromium()
    if path:
        return f"browser tests: {describe(path)}"
    return f"!!! browser tests SKIPPED: {missing_reason()} (or run .ci/run) !!!"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked `browser` when, and only when, there is no browser executable to drive."""
    if find_chromium():
        return
    skip_browser = pytest.mark.skip(reason=missing_reason())
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip_browser)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Chromium shared by the whole session; pages are cheap, browsers are not."""
    from playwright.sync_api import sync_playwright

    path = find_chromium()
    if path is None:
        pytest.fail(f"{missing_reason()}; a test using the browser must be marked `browser` to be skipped instead")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Browser) -> Iterator[Callable[..., Page]]:
    """A factory: `browser_page(width=375)` opens a fresh, isolated page that viewport size, closed at teardown."""
    pages: list[Page] = []

    def open_page(*, width: int = 1280, height: int = 800) -> Page:
        page = chromium.new_page(viewport={"width": width, "height": height})
        page.route("**/*", allow_loopback_only)
        pages.append(page)
        return page

    yield open_page
    for page in pages:
        page.close()
