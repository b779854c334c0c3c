"""The real site (this repository's posts, pages and static files) in headless Chromium at phone and desktop
width: Book and Call in view without scrolling on every kind of page, no accessibility violation axe-core can
find in light or dark mode, and no link to a page that does not exist."""

import functools
import http.server
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from ..fixtures_site import SiteDir
from ..fixtures_smtp import free_port

REPO = Path(__file__).parents[2]
PAGE_TYPES = {"home": "/", "post": "/posts/sciatica-and-lower-back-pain/", "tag": "/tags/sciatica/",
              "tags": "/tags/", "archive": "/archive/", "page": "/about/", "404": "/404.html",
              "booking": "/booking/"}
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
           "resultTypes": ["violations"]}
_LINK = re.compile(r'\s(?:href|src)="([^"]*)"')


def real_site(root: Path, url: str) -> SiteDir:
    """The repository's site, built for `url`, with a booking service to post its form to."""
    site = SiteDir(root)
    config = (REPO / "publisher.toml").read_text().replace('url = "https://massageinyork.co.uk"', f'url = "{url}"')
    site.config(config + f'\n[subscriptions]\nurl = "{url}"\n')
    for post in (REPO / "posts").glob("*.md"):
        shutil.copy(post, site.posts / post.name)
    shutil.copytree(REPO / "static", root / "static")
    shutil.copytree(REPO / "pages", root / "pages")
    result = site.run("build", env={"PUBLISHER_NOW": "2999-01-01T00:00:00"})
    assert result.exit_code == 0, result.output
    return site


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The real site served over HTTP on 127.0.0.1, its base URL pointing there."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    site = real_site(tmp_path_factory.mktemp("real") / "site", url)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site.out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield url, site
    server.shutdown()
    server.server_close()


@pytest.mark.browser
@pytest.mark.parametrize("width, height", [(375, 667), (1280, 800)])
@pytest.mark.parametrize("kind", PAGE_TYPES)
def test_book_and_call_are_in_view_without_scrolling(browser_page, served, kind, width, height):
    url, _ = served
    page = browser_page(width=width, height=height)
    page.goto(url + PAGE_TYPES[kind])
    for link in (page.locator(".header-cta a", has_text="Book"), page.locator(".header-cta a[href^='tel:']")):
        assert link.is_visible(), kind
        box = link.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height and box["x"] + box["width"] <= width, kind
        assert box["height"] >= 24  # WCAG 2.2 target size (minimum)


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("kind", PAGE_TYPES)
def test_axe_finds_no_wcag_aa_violation(browser_page, served, kind, scheme):
    from axe_playwright_python.sync_playwright import Axe

    url, _ = served
    page = browser_page(width=375, height=667)
    page.emulate_media(color_scheme=scheme)
    page.goto(url + PAGE_TYPES[kind])
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui"), "stylesheet loaded"
    violations = Axe().run(page, options=WCAG_AA).response["violations"]
    assert not violations, [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


@pytest.mark.browser
def test_the_booking_form_needs_no_javascript(chromium, served):
    url, _ = served
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 375, "height": 667})
    try:
        page = context.new_page()
        page.goto(url + "/booking/")
        form = page.locator("form.booking-form")
        assert form.get_attribute("action") == url + "/book" and form.get_attribute("method") == "post"
        page.fill("#book-name", "Sam")
        assert page.locator("#book-name").input_value() == "Sam"
    finally:
        context.close()


def test_no_page_links_to_a_missing_page(served):
    url, site = served
    built = {path.relative_to(site.out).as_posix() for path in site.out.rglob("*") if path.is_file()}
    missing = set()
    for page in (p for p in built if p.endswith(".html")):
        for link in _LINK.findall((site.out / page).read_text()):
            parts = urlsplit(link.replace("&amp;", "&"))
            if f"{parts.scheme}://{parts.netloc}" != url or parts.path in ("/book", "/subscribe"):
                continue
            path = unquote(parts.path).lstrip("/")
            if not ({path, path + "index.html", path + "/index.html"} & built):
                missing.add((page, link))
    assert not missing
