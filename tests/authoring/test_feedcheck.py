"""Feed validation: what a feed validator rejects is found, with its line; what the build makes passes."""

from __future__ import annotations

import datetime as dt
import json

from publisher.authoring.feedcheck import check_atom, check_json_feed, check_rss
from publisher.build.pipeline import build_site
from publisher.config import load_config

from ..fixtures_site import post_text

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel>
    <title>Site</title>
    <link>https://example.com/</link>
    <description>About things</description>
    <language>en-GB</language>
    <item>
      <title>A post</title>
      <link>{link}</link>
      <guid>https://example.com/posts/a/</guid>
      <pubDate>{date}</pubDate>
      <content:encoded>{content}</content:encoded>
    </item>
  </channel>
</rss>
"""
GOOD = {"link": "https://example.com/posts/a/", "date": "Fri, 03 May 2024 09:00:00 +0100",
        "content": "&lt;p&gt;&lt;a href=&quot;https://example.com/&quot;&gt;Home&lt;/a&gt;&lt;/p&gt;"}

ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <id>https://example.com/</id>
  <title>Site</title>
  <updated>2024-05-03T09:00:00+01:00</updated>
  <author><name>Ann</name></author>
  <entry>
    <id>https://example.com/posts/a/</id>
    <title>A post</title>
    <updated>{updated}</updated>
    <link href="{href}" rel="alternate"/>
  </entry>
</feed>
"""


def rss(**values: str) -> bytes:
    return RSS.format(**{**GOOD, **values}).encode()


def test_a_valid_rss_feed_has_no_issues():
    assert check_rss(rss()) == []


def test_rss_that_is_not_well_formed_names_the_line():
    [issue] = check_rss(rss(content="<p>unescaped & broken"))
    assert issue.line == 13 and issue.message.startswith("not well-formed XML")


def test_rss_dates_must_be_rfc_822_with_the_right_weekday():
    [issue] = check_rss(rss(date="2024-05-03T09:00:00Z"))
    assert (issue.line, issue.entry, issue.field) == (12, "https://example.com/posts/a/", "date")
    assert "is not an RFC 822 date" in issue.message
    assert check_rss(rss(date="Mon, 03 May 2024 09:00:00 +0100")) != [], "3 May 2024 was a Friday"
    assert check_rss(rss(date="03 May 2024 09:00 GMT")) == []


def test_rss_links_and_content_urls_must_be_absolute():
    issues = check_rss(rss(link="/posts/a/", content="&lt;img src=&quot;images/x.png&quot;&gt;"))
    assert [(i.line, i.message) for i in issues] == [
        (10, "<link> '/posts/a/' is not an absolute URL; feed readers cannot follow it"),
        (13, "a link in the content 'images/x.png' is not an absolute URL; feed readers cannot follow it"),
    ]


def test_rss_needs_its_channel_elements_and_a_language_code():
    broken = rss().replace(b"<title>Site</title>", b"").replace(b"en-GB", b"English")
    messages = [i.message for i in check_rss(broken)]
    assert messages == ["<channel> needs a non-empty <title>",
                        "the language 'English' is not a language code like 'en' or 'en-GB'"]
    assert check_rss(b"<feed/>")[0].message.startswith("not an RSS 2.0 document")


def test_atom_needs_rfc_3339_dates_and_absolute_links():
    good = ATOM.format(updated="2024-05-03T09:00:00Z", href="https://example.com/posts/a/").encode()
    assert check_atom(good) == []
    bad = ATOM.format(updated="3 May 2024", href="posts/a/").encode()
    assert [(i.line, i.field) for i in check_atom(bad)] == [(10, "updated"), (11, "url")]
    no_author = good.replace(b"<author><name>Ann</name></author>", b"")
    assert [i.message for i in check_atom(no_author)] == ["an <entry> needs an <author> when the feed has none"]


def test_json_feed_items_need_ids_content_and_rfc_3339_dates():
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Site", "home_page_url": "https://example.com/",
            "items": [{"id": "https://example.com/posts/a/", "url": "/posts/a/", "date_published": "3 May 2024"}]}
    data = json.dumps(feed, indent=2).encode()
    messages = [(i.line, i.message) for i in check_json_feed(data)]
    assert messages == [
        (7, 'an item needs "content_html" or "content_text"'),
        (7, "\"url\" '/posts/a/' is not an absolute URL; feed readers cannot follow it"),
        (7, "\"date_published\" '3 May 2024' is not an RFC 3339 date"),
    ]
    assert check_json_feed(b'{"version": ')[0].message.startswith("not valid JSON")


def test_the_feeds_of_a_real_build_pass(site_dir):
    site_dir.post("a.md", post_text("Füße & <Rücken>", summary="Dehnen.", tags="[back pain]", updated="2024-06-01",
                                    body="[Home](/), ![x](/images/x.png), a footnote[^1].\n\n[^1]: Note."))
    config = load_config(site_dir.root / "publisher.toml")
    files = build_site(config, dt.datetime(2025, 1, 15, tzinfo=dt.timezone.utc)).files
    assert check_rss(files["feed.xml"]) == []
    assert check_atom(files["atom.xml"]) == []
    assert check_json_feed(files["feed.json"]) == []


def test_markup_validators_call_a_security_risk_is_reported_once_each():
    content = ("&lt;p onclick=&quot;x()&quot;&gt;Hi&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;"
               "&lt;a href=&quot;https://example.com/&quot; aria-label=&quot;Home&quot;&gt;H&lt;/a&gt;"
               "&lt;p onclick=&quot;y()&quot;&gt;Again&lt;/p&gt;")
    issues = check_rss(rss(content=content))
    assert [(i.line, i.message.split(",")[0]) for i in issues] == [
        (13, "the content has <script>"), (13, "the content has the onclick attribute"),
        (13, "the content has the aria-label attribute")]
    assert all(i.entry == "https://example.com/posts/a/" for i in issues)
