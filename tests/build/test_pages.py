"""Pages: the home, post, tag and archive pages a reader sees, with what search engines and feed readers need."""

import json
import re
from html.parser import HTMLParser

import pytest

from ..fixtures_site import BASIC_TOML, post_text

HOSTILE = "<script>alert(1)</script> & \"quotes\" 'apos' ]]>"


class Collect(HTMLParser):
    """The tags and attributes of a page, as a browser would see them."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


@pytest.fixture
def built(site_dir):
    site_dir.post("a.md", post_text("Sciatica and you", "2024-03-12", "Intro.\n\n## Causes\n\nText.",
                                    tags="[sciatica, back pain]", summary="About sciatica."))
    site_dir.post("b.md", post_text("Gluteus medius", "2024-06-18", "Glutes.", tags="[back pain]"))
    assert site_dir.run("build").exit_code == 0
    return site_dir


def test_every_page_is_written(built):
    for path in ("index.html", "posts/a/index.html", "posts/b/index.html", "tags/back-pain/index.html",
                 "tags/sciatica/index.html", "tags/index.html", "archive/index.html", "404.html",
                 "sitemap.xml", "robots.txt", "assets/style.css", "feed.xml", "atom.xml", "feed.json"):
        assert (built.out / path).is_file(), path


def test_post_page_has_metadata_booking_and_subscribe(built):
    page = Collect(built.read("posts/a/index.html"))
    assert page.find("html", lang="en-GB")
    assert page.find("link", rel="canonical", href="https://example.com/posts/a/")
    assert page.find("meta", property="og:title", content="Sciatica and you")
    assert page.find("link", rel="alternate", type="application/rss+xml", href="https://example.com/feed.xml")
    assert page.find("link", rel="alternate", type="application/atom+xml")
    assert page.find("link", rel="alternate", type="application/feed+json")
    ld = json.loads(page.scripts[0])
    assert ld["@type"] == "BlogPosting" and ld["headline"] == "Sciatica and you"
    assert ld["datePublished"] == "2024-03-12T00:00:00+00:00"
    assert page.find("a", href="tel:+447713250352")
    assert page.find("a", href="https://massageinyork.co.uk/booking/")
    assert page.find("form", action="https://example.com/subscribe", method="post")
    assert page.find("input", type="email", name="email")
    for landmark in ("header", "main", "nav", "footer", "article"):
        assert page.find(landmark), landmark


def test_home_is_paginated_newest_first(site_dir):
    site_dir.config(BASIC_TOML.replace('author = "Ann Author"', 'author = "A"\nposts_per_page = 2'))
    for day in range(1, 6):
        site_dir.post(f"p{day}.md", post_text(f"Post {day}", f"2024-01-0{day}"))
    site_dir.run("build")
    titles = re.findall(r'<h2><a href="[^"]+">([^<]+)</a></h2>', site_dir.read("index.html"))
    assert titles == ["Post 5", "Post 4"]
    assert re.findall(r'<h2><a href="[^"]+">([^<]+)</a></h2>', site_dir.read("page/3/index.html")) == ["Post 1"]
    assert 'href="https://example.com/page/2/"' in site_dir.read("index.html")


def test_tag_pages_and_archive_list_the_right_posts(built):
    assert "Sciatica and you" in built.read("tags/sciatica/index.html")
    assert "Gluteus medius" not in built.read("tags/sciatica/index.html")
    archive = built.read("archive/index.html")
    assert archive.index("Gluteus medius") < archive.index("Sciatica and you")


def test_sitemap_and_robots_use_absolute_urls(built):
    sitemap = built.read("sitemap.xml")
    assert "<loc>https://example.com/posts/a/</loc><lastmod>2024-03-12T00:00:00+00:00</lastmod>" in sitemap
    assert "404" not in sitemap
    assert "Sitemap: https://example.com/sitemap.xml" in built.read("robots.txt")


def test_drafts_and_future_posts_appear_only_with_drafts(site_dir):
    site_dir.post("d.md", post_text("Draft one", "2024-01-01", draft="true"))
    site_dir.post("f.md", post_text("Future one", "2999-01-01"))
    site_dir.post("p.md", post_text("Published", "2024-01-02"))
    site_dir.run("build")
    assert not (site_dir.out / "posts/d").exists() and not (site_dir.out / "posts/f").exists()
    assert "Draft one" not in site_dir.read("feed.xml")
    site_dir.run("build", "--drafts")
    assert 'class="badge">draft<' in site_dir.read("posts/d/index.html")
    assert 'class="badge">scheduled<' in site_dir.read("posts/f/index.html")


def test_hostile_title_tags_and_summary_are_escaped(site_dir):
    site_dir.post("evil.md", post_text(json.dumps(HOSTILE), "2024-01-01", "Body", summary=json.dumps(HOSTILE),
                                       tags=json.dumps([HOSTILE])))
    assert site_dir.run("build").exit_code == 0
    for path in ("posts/evil/index.html", "index.html", "tags/script-alert-1-script-quotes-apos/index.html"):
        html = site_dir.read(path)
        assert "<script>alert" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
    page = Collect(site_dir.read("posts/evil/index.html"))
    assert json.loads(page.scripts[0])["headline"] == HOSTILE
    assert page.find("meta", property="og:title", content=HOSTILE)
