"""`publisher preview`: a real HTTP server on 127.0.0.1 that rebuilds on every save and reloads open pages."""

from __future__ import annotations

import datetime as dt
import html
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from PIL import Image

from publisher.authoring.preview import Preview, Rebuilt
from publisher.build.pipeline import build_site
from publisher.config import load_config

from ..fixtures_site import SiteDir, post_text

NOW = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.timezone.utc)
RELOAD_SCRIPT = re.compile(r"<script>/\* publisher preview.*?</script>\n", re.S)


def fetch(url: str) -> tuple[int, str]:
    """GET over real HTTP: the status and the body, error pages included."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def served_within(url: str, wanted: Callable[[int, str], bool], seconds: float) -> tuple[int, str]:
    """Poll `url` until `wanted(status, body)` holds, for at most `seconds`; the last response either way."""
    deadline = time.monotonic() + seconds
    while True:
        status, body = fetch(url)
        if wanted(status, body) or time.monotonic() > deadline:
            return status, body
        time.sleep(0.02)


@pytest.fixture
def reports() -> list[Rebuilt]:
    """What the preview told the terminal, one entry per build."""
    return []


@pytest.fixture
def preview(site_dir: SiteDir, reports: list[Rebuilt]) -> Iterator[Preview]:
    site_dir.post("2024-05-03-stretches.md", post_text("Five stretches", summary="Loosen up.", body="Version one."))
    with Preview(site_dir.root / "publisher.toml", 0, clock=lambda: NOW, report=reports.append) as server:
        yield server


def test_editing_a_post_changes_the_served_page_within_a_second(site_dir, preview):
    url = f"{preview.url}/posts/stretches/"
    assert "Version one." in fetch(url)[1]
    site_dir.post("2024-05-03-stretches.md", post_text("Five stretches", summary="Loosen up.", body="Version two."))
    status, body = served_within(url, lambda s, b: "Version two." in b, seconds=1)
    assert status == 200 and "Version two." in body and "Version one." not in body


def test_a_rebuild_serves_exactly_what_a_clean_build_makes_rendering_only_what_changed(site_dir, preview, reports):
    site_dir.post("2024-05-04-second.md", post_text("Second", date="2024-05-04", summary="Two.", tags="[stretching]"))
    served_within(f"{preview.url}/", lambda s, b: "Second" in b, seconds=5)
    site_dir.post("2024-05-03-stretches.md", post_text("Five stretches", summary="Changed.", body="Version two."))
    served_within(f"{preview.url}/", lambda s, b: "Changed." in b, seconds=5)
    config = load_config(site_dir.root / "publisher.toml").with_site_url(preview.url)
    clean = build_site(config, NOW, drafts=True).files
    for path, data in clean.items():
        if path.startswith("newsletter/"):
            continue  # the preview shows the email there, as a subscriber gets it
        status, body = fetch(f"{preview.url}/{path}")
        assert status == 200, path
        assert RELOAD_SCRIPT.sub("", body) == data.decode("utf-8"), path
    assert 0 < reports[-1].rendered < len(clean)


def test_a_post_in_a_new_sub_folder_is_served(site_dir, preview):
    (site_dir.posts / "2025").mkdir()
    site_dir.post("2025/2025-01-02-new-year.md", post_text("New year", date="2025-01-02", summary="Hello."))
    status, body = served_within(f"{preview.url}/posts/new-year/", lambda s, b: s == 200, seconds=5)
    assert status == 200 and "New year" in body


def test_broken_front_matter_shows_an_error_page_then_recovers_when_fixed(site_dir, preview):
    url = f"{preview.url}/posts/stretches/"
    site_dir.post("2024-05-03-stretches.md", '---\ntitle: "Five stretches\ndate: 2024-05-03\n---\n\nBody.\n')
    status, body = served_within(url, lambda s, b: s == 500, seconds=5)
    assert status == 500
    text = html.unescape(re.sub(r"<[^>]+>", " ", body))
    assert "The site did not build" in text
    assert "posts/2024-05-03-stretches.md:" in text and "front matter is not valid YAML" in text
    assert fetch(f"{preview.url}/")[0] == 500, "every page shows the problem, not only the broken post"

    site_dir.post("2024-05-03-stretches.md", post_text("Five stretches", summary="Loosen up.", body="Fixed now."))
    status, body = served_within(url, lambda s, b: s == 200, seconds=5)
    assert status == 200 and "Fixed now." in body


def test_a_broken_config_is_shown_then_recovers_when_fixed(site_dir, preview):
    good = (site_dir.root / "publisher.toml").read_text()
    site_dir.config(good.replace("[site]", "[site]\ntitel = 'Typo'"))
    status, body = served_within(f"{preview.url}/", lambda s, b: s == 500, seconds=5)
    assert status == 500 and "publisher.toml" in body and "unknown key &#39;site.titel&#39;" in body
    site_dir.config(good)
    assert served_within(f"{preview.url}/", lambda s, b: s == 200, seconds=5)[0] == 200


def test_the_error_page_escapes_what_it_shows(site_dir, preview):
    site_dir.post("2024-05-03-stretches.md", post_text("Five stretches", date='"<script>alert(1)</script>"'))
    status, body = served_within(f"{preview.url}/", lambda s, b: s == 500, seconds=5)
    assert status == 500
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert" not in body


def test_a_broken_template_is_shown_with_its_file_and_line(site_dir, preview):
    templates = site_dir.root / "templates"
    templates.mkdir()
    (templates / "post.html").write_text('{% extends "base.html" %}\n{% block main %}\n{{ post.title | shout }}\n{% endblock %}\n')
    status, body = served_within(f"{preview.url}/posts/stretches/", lambda s, b: s == 500, seconds=5)
    assert status == 500
    assert "templates/post.html:3" in body and "No filter named &#39;shout&#39;" in body


@pytest.mark.parametrize("template, line, message", [
    ('{% extends "base.html" %}\n{% block main %}\n{{ 1/0 }}\n{% endblock %}\n'.encode(), 3,
     "template error: ZeroDivisionError: division by zero"),
    ('{% extends "base.html" %}\n{% block main %}\nCaf\xe9{% endblock %}\n'.encode("latin-1"), 3, "not UTF-8 text"),
])
def test_a_template_that_fails_as_it_renders_or_is_not_utf8_is_shown_with_its_file(site_dir, preview, reports,
                                                                                    template, line, message):
    templates = site_dir.root / "templates"
    templates.mkdir()
    (templates / "post.html").write_bytes(template)
    status, body = served_within(f"{preview.url}/posts/stretches/", lambda s, b: s == 500, seconds=5)
    assert status == 500 and f"templates/post.html:{line}" in body and message in body
    failed = next(r for r in reports if r.problems)
    assert failed.bug is None and [p.where for p in failed.problems] == [f"templates/post.html:{line}"]


def test_drafts_and_future_posts_are_shown_marked_and_links_stay_in_the_preview(site_dir):
    site_dir.post("draft.md", post_text("Half written", summary="Soon.", draft="true"))
    site_dir.post("later.md", post_text("Next month", date="2025-02-20", summary="Later."))
    with Preview(site_dir.root / "publisher.toml", 0, clock=lambda: NOW) as preview:
        status, home = fetch(f"{preview.url}/")
        assert status == 200
        assert re.search(r"Half written.*?badge\">draft<", home, re.S)
        assert re.search(r"Next month.*?badge\">scheduled<", home, re.S)
        assert f'href="{preview.url}/posts/draft/"' in home
        assert "https://example.com/" not in home
        assert fetch(f"{preview.url}/posts/later/")[0] == 200


def test_open_pages_are_told_to_reload_when_the_site_changes(site_dir, preview):
    body = fetch(f"{preview.url}/posts/stretches/")[1]
    shown = re.search(r'var shown = "([^"]+)"', body)[1]
    events = http.client.HTTPConnection("127.0.0.1", int(preview.url.rsplit(":", 1)[1]), timeout=5)
    events.request("GET", "/_publisher/events")
    stream = events.getresponse()
    assert stream.headers["Content-Type"] == "text/event-stream"
    assert read_event(stream) == shown, "a page that is up to date is not reloaded"
    site_dir.post("2024-05-03-stretches.md", post_text("Five stretches", summary="Loosen up.", body="Version two."))
    assert read_event(stream) != shown
    events.close()


def read_event(stream) -> str:
    """The data of the next Server-Sent Event (comments and the retry line skipped)."""
    while True:
        line = stream.fp.readline().decode().strip()
        if line.startswith("data: "):
            return line.removeprefix("data: ")


def test_saving_without_a_change_does_not_reload_pages(site_dir, preview, reports):
    before = re.search(r'var shown = "([^"]+)"', fetch(f"{preview.url}/")[1])[1]
    post = site_dir.post("2024-05-03-stretches.md", post_text("Five stretches", summary="Loosen up.", body="Version one."))
    deadline = time.monotonic() + 5
    while not any(post in r.changed for r in reports) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any(post in r.changed for r in reports), "the save was seen and rebuilt"
    assert re.search(r'var shown = "([^"]+)"', fetch(f"{preview.url}/")[1])[1] == before


def test_new_templates_settings_and_static_files_are_picked_up(site_dir, preview):
    templates = site_dir.root / "templates"
    templates.mkdir()
    (templates / "404.html").write_text("<!doctype html><title>Lost</title><body><p>Custom lost page</p></body>\n")
    status, body = served_within(f"{preview.url}/nowhere/", lambda s, b: "Custom lost page" in b, seconds=5)
    assert status == 404 and "Custom lost page" in body

    site_dir.config((site_dir.root / "publisher.toml").read_text().replace("Test Site", "Renamed Site"))
    status, home = served_within(f"{preview.url}/", lambda s, b: "Renamed Site" in b, seconds=5)
    assert "Renamed Site" in home

    (site_dir.root / "static" / "images").mkdir(parents=True)
    (site_dir.root / "static" / "images" / "x.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    status, body = served_within(f"{preview.url}/images/x.svg", lambda s, b: s == 200, seconds=5)
    assert status == 200 and "<svg" in body


def test_only_the_site_is_served(site_dir, preview):
    (site_dir.root / "static").mkdir()
    (site_dir.root / "static" / "ok.txt").write_text("public")
    port = int(preview.url.rsplit(":", 1)[1])
    assert fetch(f"{preview.url}/ok.txt") == (200, "public")
    for path in ("/../publisher.toml", "/%2e%2e/publisher.toml", "/..%2fpublisher.toml", "/static/../../publisher.toml",
                 "/%00"):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 404 and b"[site]" not in response.read(), path
        connection.close()


def test_the_newsletter_preview_shows_what_a_subscriber_gets(site_dir):
    site_dir.post("2024-05-03-stretches.md", post_text(
        '"Stretches <for> \\"desk\\" workers & you"', summary="Loosen up.", body="Try **this** first."))
    with Preview(site_dir.root / "publisher.toml", 0, clock=lambda: NOW) as preview:
        status, page = fetch(f"{preview.url}/newsletter/stretches/")
        index = fetch(f"{preview.url}/newsletter/")[1]
    assert status == 200
    assert 'href="' + preview.url + '/newsletter/stretches/"' in index
    assert "<for>" not in page and "Stretches &lt;for&gt; &#34;desk&#34; workers &amp; you" in page
    srcdoc = html.unescape(re.search(r'<iframe[^>]*srcdoc="([^"]*)"', page)[1])
    assert "<strong>this</strong>" in srcdoc and "Book a massage" in srcdoc
    assert "Sam Reader" in srcdoc and "sam.reader@example.com" in srcdoc
    text_part = html.unescape(re.search(r"<pre>(.*?)</pre>", page, re.S)[1])
    assert "Try this first." in text_part and "07713 250352" in text_part
    assert "Sam Reader &lt;sam.reader@example.com&gt;" in page
    assert 'id="width-phone"' in page and 'id="width-desktop"' in page


def test_the_real_build_has_no_reload_script(site_dir):
    site_dir.post("a.md", post_text("A post"))
    assert site_dir.run("build").exit_code == 0
    for page in site_dir.out.rglob("*.html"):
        assert "_publisher" not in page.read_text(), page


def test_the_command_serves_until_interrupted(site_dir):
    site_dir.post("a.md", post_text("A post", summary="S."))
    env = {**os.environ, "PUBLISHER_NOW": NOW.isoformat()}
    process = subprocess.Popen([sys.executable, "-m", "publisher", "--config", str(site_dir.root), "preview",
                                "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first, second = process.stdout.readline(), process.stdout.readline()
        assert first.startswith("Built in ")
        url = re.search(r"http://127\.0\.0\.1:\d+", second)[0]
        assert fetch(f"{url}/posts/a/")[0] == 200
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Stopped" in out and "Traceback" not in err


def test_a_busy_port_gives_one_clear_line(site_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = site_dir.run("preview", "--port", str(port))
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "--port" in result.output
    assert "Traceback" not in result.output


@pytest.mark.browser
def test_an_open_tab_reloads_itself_after_a_save(site_dir, preview, browser_page):
    page = browser_page(width=800)
    page.goto(f"{preview.url}/posts/stretches/")
    assert "Version one." in page.inner_text("main")
    site_dir.post("2024-05-03-stretches.md", post_text("Five stretches", summary="Loosen up.", body="Version two."))
    page.wait_for_function("document.body.innerText.includes('Version two.')", timeout=5000)


@pytest.mark.browser
def test_the_newsletter_preview_toggles_between_phone_and_desktop_width(site_dir, preview, browser_page):
    page = browser_page(width=1400)
    page.goto(f"{preview.url}/newsletter/stretches/")
    frame = page.locator("iframe")
    assert frame.bounding_box()["width"] == pytest.approx(375, abs=2)
    page.click("label[for=width-desktop]")
    assert frame.bounding_box()["width"] == pytest.approx(800, abs=2)
    assert "Version one." in page.frame_locator("iframe").locator("body").inner_text()
    page.click("label[for=width-phone]")
    assert frame.bounding_box()["width"] == pytest.approx(375, abs=2)


def test_a_new_or_edited_page_is_served(site_dir, preview):
    pages = site_dir.root / "pages"
    pages.mkdir()
    (pages / "about.md").write_text("---\ntitle: About\nnav: 1\n---\nFirst words.\n")
    status, body = served_within(f"{preview.url}/about/", lambda s, b: "First words." in b, seconds=5)
    assert status == 200 and "First words." in body
    (pages / "about.md").write_text("---\ntitle: About\nnav: 1\n---\nSecond words.\n")
    status, body = served_within(f"{preview.url}/about/", lambda s, b: "Second words." in b, seconds=5)
    assert "Second words." in body


def test_the_newsletter_preview_shows_its_images_before_any_build(site_dir):
    (site_dir.root / "static" / "images").mkdir(parents=True)
    Image.new("RGB", (1600, 900), (30, 120, 90)).save(site_dir.root / "static" / "images" / "hero.png")
    site_dir.post("2024-05-03-stretches.md", post_text("Stretches", summary="Loosen up.", image="/images/hero.png",
                                                      image_alt="A therapist at work"))
    with Preview(site_dir.root / "publisher.toml", 0, clock=lambda: NOW) as preview:
        srcdoc = html.unescape(re.search(r'<iframe[^>]*srcdoc="([^"]*)"',
                                         fetch(f"{preview.url}/newsletter/stretches/")[1])[1])
        [hero] = re.findall(r'<img[^>]*src="([^"]*hero[^"]*)"', srcdoc)
        with urllib.request.urlopen(hero, timeout=5) as response:
            served = response.read()
    assert hero == f"{preview.url}/images/hero-email.png"
    assert served == (site_dir.root / "static" / "images" / "hero.png").read_bytes()
    assert not site_dir.out.exists()
