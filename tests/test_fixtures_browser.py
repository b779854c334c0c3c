"""The shared browser fixtures measure what the layout tests rely on, and the pre-test check speaks up."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser_check import find_chromium
from tests.fixtures_browser import horizontal_overflow, is_loopback_url

ROOT = Path(__file__).resolve().parent.parent
CHECK_SCRIPT = ROOT / "tests" / "browser_check.py"
WIDE_PAGE = '<!doctype html><meta name="viewport" content="width=device-width"><div style="width:600px">wide</div>'
FLUID_PAGE = (
    '<!doctype html><meta name="viewport" content="width=device-width">'
    '<img style="max-width:100%" width="600" height="10" alt="">'
    "<p>" + "A long line of text that wraps at any width. " * 20 + "</p>"
)


@pytest.mark.browser
def test_page_has_the_requested_viewport(browser_page):
    page = browser_page(width=375)
    assert page.evaluate("[window.innerWidth, window.innerHeight]") == [375, 800]


@pytest.mark.browser
def test_a_600px_element_overflows_a_375px_screen(browser_page):
    page = browser_page(width=375)
    page.set_content(WIDE_PAGE)
    assert horizontal_overflow(page) > 0


@pytest.mark.browser
def test_a_fluid_page_does_not_overflow_a_375px_screen(browser_page):
    page = browser_page(width=375)
    page.set_content(FLUID_PAGE)
    assert horizontal_overflow(page) <= 0


@pytest.fixture
def loopback_site(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving one page, torn down after the test."""
    (tmp_path / "index.html").write_text("<!doctype html><title>Served locally</title>", encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.mark.browser
def test_pages_reach_loopback_servers(browser_page, loopback_site):
    page = browser_page(width=800)
    page.goto(loopback_site)
    assert page.title() == "Served locally"


@pytest.mark.browser
def test_pages_are_blocked_from_other_hosts(browser_page):
    from playwright.sync_api import Error

    page = browser_page(width=800)
    with pytest.raises(Error, match="ERR_BLOCKED_BY_CLIENT"):
        page.goto("http://publisher-test.invalid/")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8000/a.css", True),
        ("http://localhost/", True),
        ("http://[::1]:5000/", True),
        ("data:text/html,hi", True),
        ("https://fonts.googleapis.com/css", False),
        ("http://192.0.2.1/", False),
    ],
)
def test_only_loopback_urls_are_allowed(url, allowed):
    assert is_loopback_url(url) is allowed


def fake_browser(folder: Path, name: str) -> Path:
    """An executable that answers `--version` like Chromium does."""
    path = folder / name
    path.write_text("#!/bin/sh\necho 'Chromium 1.2.3 fake'\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_finds_a_browser_under_another_name_on_path(tmp_path):
    browser = fake_browser(tmp_path, "chromium-browser")
    assert find_chromium({"PATH": str(tmp_path)}) == str(browser)


def clean_env(**env: str) -> dict[str, str]:
    """This process's environment without CI or PUBLISHER_CHROMIUM, plus `env`."""
    return {k: v for k, v in os.environ.items() if k not in {"CI", "PUBLISHER_CHROMIUM"}} | env


def run_check(**env: str) -> subprocess.CompletedProcess[str]:
    """Run browser_check.py as `make test` does."""
    return subprocess.run([sys.executable, str(CHECK_SCRIPT)], capture_output=True, text=True, env=clean_env(**env))


def test_check_names_the_browser_it_will_use(tmp_path):
    browser = fake_browser(tmp_path, "my-chrome")
    done = run_check(PUBLISHER_CHROMIUM=str(browser))
    assert done.returncode == 0
    assert done.stdout.strip() == f"Browser tests will use {browser} (Chromium 1.2.3 fake)"


def test_check_warns_loudly_but_passes_without_a_browser(tmp_path):
    done = run_check(PUBLISHER_CHROMIUM=str(tmp_path / "absent"))
    assert done.returncode == 0
    assert "!!!" in done.stderr and "SKIPPED" in done.stderr
    assert "apt-get install chromium" in done.stderr and ".ci/run" in done.stderr
    assert str(tmp_path / "absent") in done.stderr


def test_check_fails_under_ci_without_a_browser(tmp_path):
    done = run_check(PUBLISHER_CHROMIUM=str(tmp_path / "absent"), CI="true")
    assert done.returncode == 1
    assert "apt-get install chromium" in done.stderr and "FAILS" in done.stderr


def test_browser_tests_are_skipped_with_the_fix_when_no_browser_exists(tmp_path):
    test_file = tmp_path / "test_needs_browser.py"
    test_file.write_text("import pytest\n\n@pytest.mark.browser\ndef test_page(browser_page):\n    browser_page()\n")
    args = ["-p", "tests.fixtures_browser", "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml")]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "--rootdir", str(tmp_path), str(test_file)],
        cwd=ROOT, capture_output=True, text=True, env=clean_env(PUBLISHER_CHROMIUM=str(tmp_path / "absent")),
    )
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
    assert "browser tests SKIPPED" in done.stdout and "no Chromium found" in done.stdout
