"""Feed validation with the standard library: what the W3C Feed Validation Service would reject.

Each check takes a feed's bytes and returns `FeedIssue`s: not well-formed XML or JSON, a required element
missing, a URL that is not absolute, a date that is not RFC 822 (RSS) or RFC 3339 (Atom, JSON Feed), a language
that is not a language code. An issue carries the line in the feed and, for an entry, the entry's URL and the
field it came from, so the caller can point at the post or the setting to change.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import json
import re
import xml.parsers.expat
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
_RFC822 = re.compile(r"^(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|"
                     r"Nov|Dec) (\d{4}) \d{2}:\d{2}(?::\d{2})? (?:[+-]\d{4}|GMT|UT|EST|EDT|CST|CDT|MST|MDT|PST|PDT)$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_CONTENT_URL = re.compile(r"""\s(?:href|src)\s*=\s*["']([^"']*)["']""")
# Markup the W3C validator reports as a security risk in feed content: active elements, event handlers, and the
# accessibility attributes its list of safe attributes predates.
_RISKY_ELEMENT = re.compile(r"<(script|iframe|object|embed|applet|style|link|meta|base|frame|frameset)\b", re.I)
_RISKY_ATTRIBUTE = re.compile(r"""<[a-z][^>]*?\s(on[a-z]+|aria-[a-z]+|role)\s*=""", re.I)


@dataclass(frozen=True)
class FeedIssue:
    feed: str
    line: int | None
    message: str
    entry: str = ""  # the entry's URL; "" for the feed as a whole
    field: str = ""  # where the value came from: title, date, updated, summary, language, url


@dataclass
class _Node:
    """An XML element with the line it starts on (ElementTree does not keep lines)."""
    name: str
    line: int
    attrs: dict[str, str]
    children: list[_Node] = field(default_factory=list)
    chunks: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.chunks).strip()

    def find(self, name: str) -> _Node | None:
        return next((c for c in self.children if c.name == name), None)

    def findall(self, name: str) -> list[_Node]:
        return [c for c in self.children if c.name == name]


def parse_xml(data: bytes) -> _Node:
    """The document's root element; xml.parsers.expat.ExpatError (with .lineno) when it is not well-formed."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    stack = [_Node("", 0, {})]

    def start(name: str, attrs: dict[str, str]) -> None:
        node = _Node(name.replace(" ", ":", 1) if " " in name else name, parser.CurrentLineNumber, attrs)
        stack[-1].children.append(node)
        stack.append(node)

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda name: stack.pop()
    parser.CharacterDataHandler = lambda text: stack[-1].chunks.append(text)
    parser.Parse(data, True)
    return stack[0].children[0]


def _well_formed(feed: str, data: bytes) -> tuple[_Node | None, list[FeedIssue]]:
    try:
        return parse_xml(data), []
    except xml.parsers.expat.ExpatError as exc:
        reason = xml.parsers.expat.errors.messages[exc.code]
        return None, [FeedIssue(feed, exc.lineno, f"not well-formed XML ({reason})")]


def check_rss(data: bytes, feed: str = "feed.xml") -> list[FeedIssue]:
    """RSS 2.0: a channel with title, link and description; items with a title, absolute links, RFC 822 dates."""
    root, issues = _well_formed(feed, data)
    if root is None:
        return issues
    channel = root.find("channel")
    if root.name != "rss" or root.attrs.get("version") != "2.0" or channel is None:
        return [FeedIssue(feed, root.line, "not an RSS 2.0 document: expected <rss version=\"2.0\"> with a <channel>")]
    for name, source in (("title", "title"), ("link", "url"), ("description", "description")):
        issues += _required(feed, channel, name, source)
    issues += _url(feed, channel.find("link"), "url")
    language = channel.find("language")
    if language is not None:
        issues += _language(feed, language.line, language.text)
    issues += _rfc822(feed, channel.find("lastBuildDate"), "", "date")
    for link in channel.findall(f"{ATOM}:link"):
        issues += _absolute(feed, link.line, link.attrs.get("href", ""), "<atom:link href>", "", "url")
    for item in channel.findall("item"):
        issues += _rss_item(feed, item)
    return issues


def _rss_item(feed: str, item: _Node) -> list[FeedIssue]:
    link = item.find("link")
    entry = link.text if link is not None else ""
    issues = []
    if item.find("title") is None and item.find("description") is None:
        issues.append(FeedIssue(feed, item.line, "an <item> needs a <title> or a <description>", entry, "title"))
    issues += _url(feed, link, "", entry)
    guid = item.find("guid")
    if guid is not None and guid.attrs.get("isPermaLink", "true") == "true":
        issues += _absolute(feed, guid.line, guid.text, "<guid>", entry, "")
    issues += _rfc822(feed, item.find("pubDate"), entry, "date")
    for name in ("description", f"{CONTENT}:encoded"):
        issues += _content_urls(feed, item.find(name), entry)
    return issues


def check_atom(data: bytes, feed: str = "atom.xml") -> list[FeedIssue]:
    """Atom (RFC 4287): id, title and updated on the feed and every entry, an author, absolute links."""
    root, issues = _well_formed(feed, data)
    if root is None:
        return issues
    if root.name != f"{ATOM}:feed":
        return [FeedIssue(feed, root.line, "not an Atom document: expected <feed xmlns=\"http://www.w3.org/2005/Atom\">")]
    issues += _atom_common(feed, root, "", {"title": "title", "id": "url"})
    issues += _language(feed, root.line, root.attrs.get("http://www.w3.org/XML/1998/namespace lang"))
    has_author = root.find(f"{ATOM}:author") is not None
    for entry in root.findall(f"{ATOM}:entry"):
        issues += _atom_entry(feed, entry, has_author)
    return issues


def _atom_entry(feed: str, entry: _Node, feed_has_author: bool) -> list[FeedIssue]:
    id_node = entry.find(f"{ATOM}:id")
    url = id_node.text if id_node is not None else ""
    issues = _atom_common(feed, entry, url, {"title": "title", "id": ""})
    if not feed_has_author and entry.find(f"{ATOM}:author") is None:
        issues.append(FeedIssue(feed, entry.line, "an <entry> needs an <author> when the feed has none", url))
    issues += _rfc3339(feed, entry.find(f"{ATOM}:published"), url, "date")
    for name in ("summary", "content"):
        issues += _content_urls(feed, entry.find(f"{ATOM}:{name}"), url)
    return issues


def _atom_common(feed: str, node: _Node, entry: str, sources: dict[str, str]) -> list[FeedIssue]:
    issues = []
    for name in ("id", "title", "updated"):
        issues += _required(feed, node, f"{ATOM}:{name}", sources.get(name, "updated"), entry, f"<{name}>")
    issues += _url(feed, node.find(f"{ATOM}:id"), sources["id"], entry)
    issues += _rfc3339(feed, node.find(f"{ATOM}:updated"), entry, "updated" if entry else "date")
    for link in node.findall(f"{ATOM}:link"):
        issues += _absolute(feed, link.line, link.attrs.get("href", ""), "<link href>", entry, "url")
    return issues


def check_json_feed(data: bytes, feed: str = "feed.json") -> list[FeedIssue]:
    """JSON Feed 1.1: version, title and items; every item an id, content, absolute URLs, RFC 3339 dates."""
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return [FeedIssue(feed, getattr(exc, "lineno", None), f"not valid JSON ({exc})")]
    text = data.decode("utf-8")
    if not isinstance(doc, dict) or doc.get("version") != JSON_FEED_VERSION:
        return [FeedIssue(feed, 1, f"not a JSON Feed: expected \"version\": \"{JSON_FEED_VERSION}\"")]
    issues = []
    if not isinstance(doc.get("title"), str) or not doc["title"].strip():
        issues.append(FeedIssue(feed, 1, "the feed needs a \"title\"", field="title"))
    for key in ("home_page_url", "feed_url"):
        if key in doc:
            issues += _absolute(feed, _json_line(text, key, doc[key]), str(doc[key]), f'"{key}"', "", "url")
    if "language" in doc and not _LANGUAGE.match(str(doc["language"])):
        issues.append(_bad_language(feed, _json_line(text, "language", doc["language"]), doc["language"]))
    items = doc.get("items")
    if not isinstance(items, list):
        return issues + [FeedIssue(feed, 1, "the feed needs an \"items\" list")]
    for item in items:
        issues += _json_item(feed, text, item)
    return issues


def _json_item(feed: str, text: str, item) -> list[FeedIssue]:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
        return [FeedIssue(feed, None, "every item needs an \"id\" string")]
    entry = str(item.get("url") or item["id"])
    line = _json_line(text, "id", item["id"])
    issues = []
    if not item.get("content_html") and not item.get("content_text"):
        issues.append(FeedIssue(feed, line, "an item needs \"content_html\" or \"content_text\"", entry))
    for key in ("url", "image"):
        if key in item:
            issues += _absolute(feed, line, str(item[key]), f'"{key}"', entry, "image" if key == "image" else "")
    for key, source in (("date_published", "date"), ("date_modified", "updated")):
        if key in item and not _is_rfc3339(str(item[key])):
            issues.append(FeedIssue(feed, line, f'"{key}" {item[key]!r} is not an RFC 3339 date', entry, source))
    for url in _CONTENT_URL.findall(str(item.get("content_html", ""))):
        issues += _absolute(feed, line, html.unescape(url), "a link in \"content_html\"", entry, "")
    return issues


def _json_line(text: str, key: str, value) -> int | None:
    needle = f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def _required(feed: str, parent: _Node, name: str, source: str, entry: str = "", shown: str = "") -> list[FeedIssue]:
    node = parent.find(name)
    if node is not None and node.text:
        return []
    shown = shown or f"<{name}>"
    return [FeedIssue(feed, parent.line, f"<{parent.name.rpartition(':')[2]}> needs a non-empty {shown}", entry, source)]


def _url(feed: str, node: _Node | None, source: str, entry: str = "") -> list[FeedIssue]:
    if node is None:
        return []
    return _absolute(feed, node.line, node.text, f"<{node.name.rpartition(':')[2]}>", entry, source)


def _absolute(feed: str, line: int | None, url: str, what: str, entry: str, source: str) -> list[FeedIssue]:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc or parts.scheme in ("mailto", "tel", "data"):
        return []
    return [FeedIssue(feed, line, f"{what} {url!r} is not an absolute URL; feed readers cannot follow it",
                      entry, source)]


def _content_urls(feed: str, node: _Node | None, entry: str) -> list[FeedIssue]:
    if node is None:
        return []
    urls = _CONTENT_URL.findall(node.text)
    return [issue for url in urls
            for issue in _absolute(feed, node.line, html.unescape(url), "a link in the content", entry, "")
            ] + _risky_markup(feed, node, entry)


def _risky_markup(feed: str, node: _Node, entry: str) -> list[FeedIssue]:
    """Markup feed validators flag and feed readers strip: say what, so the post can do without it."""
    found = [f"<{m[1].lower()}>" for m in _RISKY_ELEMENT.finditer(node.text)]
    found += [f"the {m[1].lower()} attribute" for m in _RISKY_ATTRIBUTE.finditer(node.text)]
    return [FeedIssue(feed, node.line, f"the content has {what}, which feed validators report as a security "
                                       "risk and feed readers remove; leave it out of the post", entry)
            for what in dict.fromkeys(found)]


def _language(feed: str, line: int, value: str | None) -> list[FeedIssue]:
    if value is None or _LANGUAGE.match(value):
        return []
    return [_bad_language(feed, line, value)]


def _bad_language(feed: str, line: int | None, value) -> FeedIssue:
    return FeedIssue(feed, line, f"the language {value!r} is not a language code like 'en' or 'en-GB'",
                     field="language")


def _rfc822(feed: str, node: _Node | None, entry: str, source: str) -> list[FeedIssue]:
    if node is None or _is_rfc822(node.text):
        return []
    return [FeedIssue(feed, node.line, f"<{node.name}> {node.text!r} is not an RFC 822 date "
                                       "like 'Fri, 03 May 2024 09:00:00 +0100'", entry, source)]


def _is_rfc822(value: str) -> bool:
    m = _RFC822.match(value)
    if not m:
        return False
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return m[1] is None or parsed.strftime("%a") == m[1]


def _rfc3339(feed: str, node: _Node | None, entry: str, source: str) -> list[FeedIssue]:
    if node is None or _is_rfc3339(node.text):
        return []
    return [FeedIssue(feed, node.line, f"<{node.name.rpartition(':')[2]}> {node.text!r} is not an RFC 3339 date "
                                       "like '2024-05-03T09:00:00+01:00'", entry, source)]


def _is_rfc3339(value: str) -> bool:
    if not _RFC3339.match(value):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
