"""Booking clicks, end to end: `publisher send` with [newsletter] track_clicks writes newsletters whose HTML
links go through the service's /c/ redirect (the same link for every reader) while the plain text keeps the
direct links; the service on 127.0.0.1 counts each click and redirects only to a URL that newsletter
carried; `publisher status SLUG` shows the booking button's clicks first. Real SQLite, real HTTP, the real
CLI."""

from __future__ import annotations

import mailbox
import re
import sqlite3
from email import message_from_bytes, policy

import pytest
from click.testing import CliRunner

from publisher.cli import main
from publisher.mail.clicks import click_url

from ..fixtures_site import post_text
from ..fixtures_smtp import free_port
from ..fixtures_web import SECRET, START, Clock, running, site_config

ENV = {"PUBLISHER_SECRET_KEY": SECRET, "PUBLISHER_NOW": "2025-01-15T12:00:00+00:00"}
BOOKING = "https://massageinyork.co.uk/booking/"
PRICES = "https://example.org/prices?a=1&b=2"
BODY = f"See [the prices]({PRICES}), [the team](https://example.com/team/) and [the prices again]({PRICES})."


def cli(root, *args: str):
    return CliRunner().invoke(main, ["--config", str(root), *args], env=ENV, catch_exceptions=False)


@pytest.fixture
def sent(tmp_path):
    """A site with track_clicks whose post 'news' was mailed to three readers (Maildir outbox)."""
    root = tmp_path / "site"
    config = site_config(root, f"http://127.0.0.1:{free_port()}", "\n[newsletter]\ntrack_clicks = true\n")
    (root / "posts").mkdir()
    (root / "posts" / "news.md").write_text(post_text("News", "2025-01-10", body=BODY), encoding="utf-8")
    for n in range(3):
        assert cli(root, "subscribers", "add", f"reader{n}@example.com").exit_code == 0
    assert cli(root, "send", "news").exit_code == 0
    return root, config


def parts(root) -> list[tuple[str, str]]:
    """(html, text) of each message in the outbox."""
    found = []
    for raw in mailbox.Maildir(root / "outbox", create=False):
        msg = message_from_bytes(raw.as_bytes(), policy=policy.default)
        found.append((msg.get_body(("html",)).get_content(), msg.get_body(("plain",)).get_content()))
    return found


def click_links(markup: str) -> list[str]:
    return re.findall(r'href="(http://127\.0\.0\.1:\d+/c/[^"]+)"', markup)


def test_html_links_go_through_the_redirect_alike_for_every_reader_and_the_text_keeps_direct_links(sent):
    root, config = sent
    messages = parts(root)
    links = [click_links(html) for html, _ in messages]
    assert len(messages) == 3 and links[0] == links[1] == links[2] and len(set(links[0])) == 5
    assert all(PRICES.replace("&", "&amp;") not in html and 'href="https://example.com/team/"' not in html
               for html, _ in messages)
    assert all(PRICES in text and "https://example.com/team/" in text and "/c/" not in text for _, text in messages)
    assert all("/unsubscribe?token=" in html for html, _ in messages)
    with sqlite3.connect(root / "publisher.db") as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(clicks)")]
        recorded = db.execute("SELECT link, url, count FROM clicks ORDER BY link").fetchall()
    assert columns == ["campaign_id", "link", "url", "count"]
    assert [url for _, url, _ in recorded] == ["https://example.com/", PRICES, "https://example.com/team/",
                                               BOOKING, "https://example.com/newsletter/news/"]


def test_each_click_is_counted_and_redirected_and_status_shows_the_booking_button_first(sent, smtp_server):
    root, config = sent
    html = parts(root)[0][0]
    links = list(dict.fromkeys(click_links(html)))
    by_target = {}
    with running(config, smtp_server, Clock(START)) as service:
        for link in links:
            reply = service.get(link)
            assert reply.status == 302
            by_target[reply.headers["Location"]] = link
        service.get(by_target[BOOKING])
        service.get(by_target[BOOKING])
        assert service.request("HEAD", by_target[PRICES]).status == 302
    assert set(by_target) == {"https://example.com/", PRICES, "https://example.com/team/", BOOKING,
                              "https://example.com/newsletter/news/"}
    lines = cli(root, "status", "news").output.splitlines()
    start = lines.index("  Clicks (counted, never who clicked):")
    assert [line.split() for line in lines[start + 1:start + 4]] == [
        ["3", "booking", "button:", BOOKING], ["1", "https://example.com/"], ["1", PRICES]]


def test_a_redirect_anywhere_the_newsletter_did_not_link_is_refused(sent, smtp_server):
    root, config = sent
    base = config.subscribe_base
    genuine = click_links(parts(root)[0][0])[0]
    forged = [
        genuine[:-1] + ("a" if genuine[-1] != "a" else "b"),          # the signature altered
        click_url(base, SECRET, 1, 1, "https://evil.example/"),        # signed, but not the URL link 1 carried
        click_url(base, SECRET, 1, 99, "https://evil.example/"),       # a link the newsletter never had
        click_url(base, SECRET, 2, 1, PRICES),                         # a campaign that does not exist
        click_url(base, "another-secret-that-is-long", 1, 1, PRICES),  # not our key
        f"{base}/c/1-1", f"{base}/c/..%2F..%2Fetc",
    ]
    with running(config, smtp_server, Clock(START)) as service:
        for link in forged:
            reply = service.get(link)
            assert reply.status == 404 and "Location" not in reply.headers, link
    with sqlite3.connect(root / "publisher.db") as db:
        assert db.execute("SELECT SUM(count) FROM clicks").fetchone()[0] == 0


def test_without_track_clicks_the_links_are_direct(tmp_path):
    root = tmp_path / "plain"
    site_config(root, "http://127.0.0.1:9")
    (root / "posts").mkdir()
    (root / "posts" / "news.md").write_text(post_text("News", "2025-01-10", body=BODY), encoding="utf-8")
    cli(root, "subscribers", "add", "reader@example.com")
    assert cli(root, "send", "news").exit_code == 0
    [(html, _)] = parts(root)
    assert click_links(html) == [] and 'href="https://example.com/team/"' in html
