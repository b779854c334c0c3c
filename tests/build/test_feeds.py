"""Feeds: RSS 2.0, Atom and JSON Feed 1.1 read cleanly by a real feed parser, with absolute URLs everywhere."""

import json
import re

import feedparser
import jsonschema
import pytest

from ..fixtures_site import post_text

HOSTILE = "<script>alert(1)</script> & \"quotes\" ]]> 'apos'"

JSON_FEED_11 = {
    "type": "object",
    "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"},
        "title": {"type": "string"},
        "home_page_url": {"type": "string", "pattern": "^https?://"},
        "feed_url": {"type": "string", "pattern": "^https?://"},
        "language": {"type": "string"},
        "authors": {"type": "array", "items": {"type": "object", "required": ["name"]}},
        "items": {"type": "array", "items": {
            "type": "object",
            "required": ["id"],
            "anyOf": [{"required": ["content_html"]}, {"required": ["content_text"]}],
            "properties": {
                "id": {"type": "string"},
                "url": {"type": "string", "pattern": "^https?://"},
                "image": {"type": "string", "pattern": "^https?://"},
                "date_published": {"type": "string", "format": "date-time"},
                "date_modified": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        }},
    },
}


@pytest.fixture
def built(site_dir):
    site_dir.post("2024-03-12-first.md", post_text(
        "First post", "2024-03-12", "See [the second](../second/).\n\n![Spine](/img/s.svg \"Cap\")\n\nNote[^1].\n\n"
        "[^1]: Ref.", tags="[back pain, sciatica]"))
    site_dir.post("2024-06-18-second.md", post_text("Second post", "2024-06-18", "Body two.", image="/img/h.jpg",
                                                    image_alt="Hero"))
    assert site_dir.run("build").exit_code == 0
    return site_dir


@pytest.mark.parametrize("name", ["feed.xml", "atom.xml"])
def test_xml_feeds_parse_without_errors_and_list_posts_newest_first(built, name):
    feed = feedparser.parse(built.out / name)
    assert not feed.bozo, feed.get("bozo_exception")
    assert [e.title for e in feed.entries] == ["Second post", "First post"]
    assert [e.link for e in feed.entries] == ["https://example.com/posts/second/", "https://example.com/posts/first/"]


@pytest.mark.parametrize("name", ["feed.xml", "atom.xml", "feed.json"])
def test_every_url_inside_feeds_is_absolute(built, name):
    text = built.read(name)
    urls = re.findall(r'(?:href|src)=(?:\\?"|&quot;)([^"&\\]+)', text)
    assert urls, "the feed content carries links"
    assert all(u.startswith("https://example.com/") for u in urls), urls
    assert "https://example.com/posts/second/" in urls and "https://example.com/img/s.svg" in urls


def test_rss_has_the_fields_feed_readers_and_validators_expect(built):
    rss = built.read("feed.xml")
    assert '<atom:link href="https://example.com/feed.xml" rel="self"' in rss
    assert '<guid isPermaLink="true">https://example.com/posts/first/</guid>' in rss
    assert "<pubDate>Tue, 12 Mar 2024 00:00:00 +0000</pubDate>" in rss
    feed = feedparser.parse(rss)
    first = feed.entries[1]
    assert [t.term for t in first.tags] == ["back pain", "sciatica"]
    assert "<figure>" in first.content[0].value and first.summary == "See the second."


def test_atom_entries_have_ids_authors_and_updated(built):
    feed = feedparser.parse(built.out / "atom.xml")
    assert feed.version == "atom10"
    assert feed.feed.author == "Ann Author"
    assert all(e.id.startswith("https://example.com/posts/") and e.updated for e in feed.entries)
    assert any(link.rel == "self" and link.href == "https://example.com/atom.xml" for link in feed.feed.links)


def test_json_feed_follows_the_1_1_rules(built):
    feed = json.loads(built.read("feed.json"))
    jsonschema.validate(feed, JSON_FEED_11, format_checker=jsonschema.FormatChecker())
    assert [i["title"] for i in feed["items"]] == ["Second post", "First post"]
    assert [i["url"] for i in feed["items"]] == ["https://example.com/posts/second/", "https://example.com/posts/first/"]
    assert feed["items"][0]["image"] == "https://example.com/img/h.jpg"
    assert feed["items"][1]["date_published"] == "2024-03-12T00:00:00+00:00"


def test_feeds_hold_the_newest_entries_only(site_dir):
    site_dir.config(site_dir.root.joinpath("publisher.toml").read_text().replace(
        'author = "Ann Author"', 'author = "Ann Author"\nfeed_entries = 3'))
    for day in range(1, 6):
        site_dir.post(f"p{day}.md", post_text(f"Post {day}", f"2024-01-0{day}"))
    site_dir.run("build")
    assert [e.title for e in feedparser.parse(site_dir.out / "atom.xml").entries] == ["Post 5", "Post 4", "Post 3"]


def test_hostile_text_is_escaped_in_every_feed(site_dir):
    site_dir.post("evil.md", post_text(json.dumps(HOSTILE), "2024-01-01", "Body",
                                       summary=json.dumps(HOSTILE), tags=json.dumps([HOSTILE])))
    assert site_dir.run("build").exit_code == 0
    for name in ("feed.xml", "atom.xml"):
        feed = feedparser.parse(site_dir.out / name)
        assert not feed.bozo
        assert feed.entries[0].title == HOSTILE
        assert "<script>" not in site_dir.read(name)
    assert json.loads(site_dir.read("feed.json"))["items"][0]["title"] == HOSTILE


# The attributes the W3C Feed Validation Service accepts in feed content without a warning (its
# HTMLValidator.acceptable_attributes, the ones an article can use), besides data-*.
W3C_ACCEPTED_ATTRIBUTES = {
    "abbr", "align", "alt", "border", "cellpadding", "cellspacing", "cite", "class", "colspan", "datetime", "dir",
    "height", "href", "hreflang", "id", "lang", "loading", "name", "rel", "rowspan", "scope", "span", "src",
    "srcset", "start", "summary", "title", "type", "valign", "width", "reversed", "sizes", "headers", "target"}


@pytest.mark.parametrize("name", ["feed.xml", "atom.xml"])
def test_feed_content_uses_only_attributes_the_w3c_validator_accepts(built, name):
    feed = feedparser.parse(built.out / name, sanitize_html=False)
    for entry in feed.entries:
        markup = entry.content[0].value
        attributes = {a.lower() for tag in re.findall(r"<[a-z][^>]*>", markup)
                      for a in re.findall(r"\s([a-zA-Z-]+)(?==|\s|/?>)", tag)}
        assert {a for a in attributes if not a.startswith("data-")} <= W3C_ACCEPTED_ATTRIBUTES, entry.link
    assert 'aria-label="Back to reference 1"' in built.read("posts/first/index.html")


def test_a_site_without_posts_dates_its_feeds_by_the_second_the_build_ran(site_dir):
    assert site_dir.run("build", env={"PUBLISHER_NOW": "2024-06-01T09:00+00:00"}).exit_code == 0
    assert "<updated>2024-06-01T10:00:00+01:00</updated>" in site_dir.read("atom.xml")  # in the site's zone
    assert "<lastBuildDate>Sat, 01 Jun 2024 10:00:00 +0100</lastBuildDate>" in site_dir.read("feed.xml")
