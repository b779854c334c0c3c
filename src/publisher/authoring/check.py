"""Checking a site: everything the build would refuse or warn about, and what it cannot see by itself.

Pure: `check_build` takes a finished in-memory `Build` and the texts it needs to point at lines (`Sources`, read
by the caller) and returns `Problem`s, each with its file and, where there is one, its line. On top of the
build's own warnings it finds internal links and images that point nowhere, posts without a summary,
newsletters near the size at which Gmail clips them, a missing booking block and feeds that would not validate.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urljoin

import frontmatter
import jinja2

from ..build.pipeline import Build
from ..build.theme import template_error
from ..config import Config
from ..content.posts import Post, front_matter_end, key_line
from ..content.site import Site
from ..errors import Problems, PublisherError
from ..mail.newsletter import Addressee, Newsletter, compile_newsletter, personalise
from ..mail.tokens import LinkTokens
from .feedcheck import FeedIssue, check_atom, check_json_feed, check_rss

ERROR = "error"
WARNING = "warning"
NEAR_LIMIT = 0.9  # a newsletter this close to newsletter.max_html_bytes gets a warning
# The sample subscriber, with an id as long as a real one so the measured size is what a reader gets.
SAMPLE = Addressee("sam.reader@example.com", "Sam Reader", public_id="0" * 32)
SAMPLE_SECRET = "sample-key-for-previews-and-checks"  # signs the sample's unsubscribe link, which nobody can use
SITE_KEYS = {"title": "title", "url": "url", "description": "description", "language": "language"}
_PAGE_URL = re.compile(r'\s(href|src)="([^"]*)"')
_SOURCE_URL = re.compile(r'\]\(\s*<?([^)\s>]+)|^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)|(?:href|src)\s*=\s*"([^"]*)"'
                         r'|(https?://[^\s)<>"]+)')


@dataclass(frozen=True)
class Problem:
    """One thing found: how bad (error or warning), what and how to fix it, and where."""
    severity: str
    message: str
    path: Path | None = None
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.severity}: {self.message}" if self.where else f"{self.severity}: {self.message}"

    @property
    def where(self) -> str:
        """'posts/a.md:3', 'publisher.toml', or '' when the problem has no file."""
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    @property
    def sort_key(self) -> tuple:
        return str(self.path or ""), self.line or 0, self.message


@dataclass(frozen=True)
class Sources:
    """What the checks read besides the build: the texts of publisher.toml and of each post, and static/."""
    config_name: Path
    config_text: str
    posts: Mapping[Path, str]  # keyed by Post.source
    static_files: frozenset[str]  # paths under static/, as they appear in the site


def problems_from_error(exc: PublisherError | jinja2.TemplateError, root: Path) -> list[Problem]:
    """The problems behind a failed build: every one of a Problems, or the template file and line."""
    if isinstance(exc, Problems):
        return [from_error(p) for p in exc.problems]
    if isinstance(exc, PublisherError):
        return [from_error(exc)]
    return [from_error(template_error(exc, root))]


def from_error(error: PublisherError, severity: str = ERROR) -> Problem:
    return Problem(severity, error.message, error.path, error.line)


def check_build(build: Build, env: jinja2.Environment, sources: Sources) -> list[Problem]:
    """Every problem in a built site, sorted by file and line."""
    found = [from_error(w, WARNING) for w in build.warnings]
    found += check_summaries(build.site, sources)
    found += check_links(build, sources)
    found += check_newsletters(build.site, env, sources)
    found += check_booking(build, sources)
    found += check_feeds(build, sources)
    return sorted(dict.fromkeys(found), key=lambda p: p.sort_key)


def check_summaries(site: Site, sources: Sources) -> list[Problem]:
    """Posts whose front matter has no summary (the first paragraph stands in, often badly)."""
    found = []
    for post in site.posts:
        text = sources.posts.get(post.source, "")
        if not str(frontmatter.parse(text)[0].get("summary") or "").strip():
            found.append(Problem(WARNING, "no summary; the home page, the feeds and the email preheader show the "
                                          "first paragraph instead. Add 'summary: …' (one or two sentences)",
                                 post.source, key_line(text, "summary") or front_matter_end(text)))
    return found


def check_links(build: Build, sources: Sources) -> list[Problem]:
    """Internal links and images that point at no page or file of the site (posts: errors; templates: warnings)."""
    site = build.site
    known = frozenset(build.files) | sources.static_files
    services = _service_urls(site.config)
    found, seen = [], set()
    for post in (*site.posts, *site.pages):
        image = getattr(post, "image", "")
        for attr, url in _post_urls(post.html, image):
            target = _missing(url, site.url, known, services)
            if target is not None:
                seen.add(url)
                text = sources.posts.get(post.source, "")
                line = key_line(text, "image") if url == image else _source_line(text, post.url, url)
                found.append(Problem(ERROR, _nowhere(attr, target, site.config), post.source, line))
    return found + _template_links(build, known, services, seen)


def _template_links(build: Build, known: frozenset[str], services: tuple[str, ...], seen: set[str]) -> list[Problem]:
    templates = Path(build.site.config.paths.templates)
    found = []
    for path, data in sorted(build.files.items()):
        if not path.endswith(".html"):
            continue
        for _, raw in _PAGE_URL.findall(data.decode("utf-8", "replace")):
            url = html.unescape(raw)
            target = None if url in seen else _missing(url, build.site.url, known, services)
            if target is not None:
                seen.add(url)
                found.append(Problem(WARNING, f"the page /{path.removesuffix('index.html')} links to {url}, but the "
                                              f"site has no {target}; check the templates", templates))
    return found


def _nowhere(attr: str, target: str, config: Config) -> str:
    if attr == "src":
        return (f"the image {target} does not exist; put the file at {config.paths.static}{target} "
                "or correct the path")
    return f"the link to {target} points nowhere: the site has no such page or file"


def _post_urls(body: str, image: str) -> list[tuple[str, str]]:
    urls = [(attr, html.unescape(url)) for attr, url in _PAGE_URL.findall(body)]
    return urls + [("src", image)] if image else urls


def _service_urls(config: Config) -> tuple[str, ...]:
    """Addresses on the site's domain served by something else (the subscription service; the booking service
    when the booking URL is not one of the site's pages)."""
    booking = config.booking_url
    inside = booking == config.site.url or booking.startswith(config.site.url + "/")
    return tuple(url for url in ("" if inside else booking, config.subscriptions.url) if url)


def _missing(url: str, site_url: str, known: frozenset[str], services: tuple[str, ...]) -> str | None:
    """The path inside the site that `url` needs, when the build makes no such page or file; None otherwise."""
    if not (url == site_url or url.startswith(site_url + "/")) or url.startswith(services):
        return None
    rel = unquote(re.split(r"[?#]", url[len(site_url):], maxsplit=1)[0]).lstrip("/")
    wanted = [rel + "index.html"] if rel == "" or rel.endswith("/") else [rel, rel + "/index.html"]
    return None if any(path in known for path in wanted) else "/" + rel


def _source_line(text: str, base_url: str, url: str) -> int | None:
    """The line of the post's file whose link or image, made absolute, is `url`."""
    target = unquote(url)
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _SOURCE_URL.finditer(line):
            written = next(group for group in match.groups() if group)
            if unquote(urljoin(base_url, html.unescape(written))) == target:
                return number
    return None


def check_newsletters(site: Site, env: jinja2.Environment, sources: Sources) -> list[Problem]:
    """Spam-filter warnings, and newsletters within 10 % of the size at which Gmail clips them."""
    limit = site.config.newsletter.max_html_bytes
    found = []
    for post in site.posts[: site.config.site.feed_entries]:
        newsletter = compile_newsletter(post, site.config, env)
        found += [from_error(w, WARNING) for w in newsletter.warnings]
        size = html_size(sample_message(newsletter, site.now))
        if size >= NEAR_LIMIT * limit:
            found.append(Problem(
                WARNING, f"the newsletter's HTML is {size:,} bytes, {size / limit:.0%} of newsletter.max_html_bytes "
                         f"({limit:,}); Gmail clips messages over 102 KB. Shorten the post, or set content = "
                         "\"excerpt\" under [newsletter] in publisher.toml",
                post.source, front_matter_end(sources.posts.get(post.source, "")) + 1))
    return found


def sample_message(newsletter: Newsletter, now) -> EmailMessage:
    """The newsletter as the sample subscriber gets it."""
    return personalise(newsletter, SAMPLE, tokens=LinkTokens(SAMPLE_SECRET), now=now)


def html_size(msg: EmailMessage) -> int:
    """Bytes of the HTML part as sent (what Gmail measures before clipping)."""
    return len(msg.get_body(("html",)).get_payload().encode("utf-8"))


def check_booking(build: Build, sources: Sources) -> list[Problem]:
    """The booking call-to-action: configured, and shown on every post page and in every newsletter."""
    config = build.site.config
    booking = config.booking
    if not booking.enabled:
        return [Problem(WARNING, "no booking block: [booking] has no heading, so posts and newsletters go out "
                                 "without a way to book; add heading = \"Book …\" and a phone, email or url under "
                                 "[booking]", sources.config_name, toml_line(sources.config_text, "booking"))]
    found = _booking_settings(build.site, sources)
    posts = build.site.posts
    pages = {"post.html": [p.path + "index.html" for p in posts],
             "newsletter.mjml": [f"newsletter/{p.slug}/index.html" for p in posts[: config.site.feed_entries]]}
    for template, paths in pages.items():
        lacking = [p for p in paths if booking.heading not in html.unescape(build.files[p].decode("utf-8", "replace"))]
        if lacking:
            found.append(Problem(
                WARNING, f"no booking block on /{lacking[0].removesuffix('index.html')} ({len(lacking)} of "
                         f"{len(paths)} pages made from {template}); the default {template} shows [booking], "
                         "compare yours with it", Path(config.paths.templates) / template))
    return found


def _booking_settings(site: Site, sources: Sources) -> list[Problem]:
    """A booking block with no way to book, an outside booking URL that is not https, and a booking form with no
    service to send it to."""
    config, found = site.config, []
    booking, where = config.booking, (sources.config_name, toml_line(sources.config_text, "booking"))
    if not (booking.phone or booking.email or booking.url):
        found.append(Problem(WARNING, "the booking block gives no way to book; add phone, email or url under "
                                      "[booking]", *where))
    if booking.url.startswith("http://"):
        found.append(Problem(WARNING, f"booking.url {booking.url} is not https: browsers mark the booking page "
                                      "as not secure; use its https:// address", sources.config_name,
                             toml_line(sources.config_text, "booking", "url")))
    return found


def check_feeds(build: Build, sources: Sources) -> list[Problem]:
    """What a feed validator would reject in the RSS, Atom and JSON feeds, pointed at the post or setting."""
    files = build.files
    issues = check_rss(files["feed.xml"]) + check_atom(files["atom.xml"]) + check_json_feed(files["feed.json"])
    posts = {post.url: post for post in build.site.posts}
    feeds: dict[Problem, list[str]] = {}  # one problem in several feeds is reported once, naming them all
    for issue in issues:
        feeds.setdefault(_feed_problem(issue, posts, build.site.config, sources), []).append(issue.feed)
    return [Problem(p.severity, f"{_and(names)} would not validate: {p.message}", p.path, p.line)
            for p, names in feeds.items()]


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _feed_problem(issue: FeedIssue, posts: Mapping[str, Post], config: Config, sources: Sources) -> Problem:
    message = issue.message
    post = posts.get(issue.entry)
    if post is not None:
        text = sources.posts.get(post.source, "")
        return Problem(ERROR, message, post.source, key_line(text, issue.field) if issue.field else None)
    if not issue.entry and issue.field in SITE_KEYS:
        key = SITE_KEYS[issue.field]
        return Problem(ERROR, f"{message}; check site.{key}", sources.config_name,
                       toml_line(sources.config_text, "site", key))
    return Problem(ERROR, message, Path(config.paths.output) / issue.feed, issue.line)


def toml_line(text: str, section: str, key: str | None = None) -> int | None:
    """The line of `[section]`, or of `key = …` inside it."""
    current = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"\[\s*([^\]\s]+)\s*\]", stripped)
        if header:
            current = header[1]
            if current == section and key is None:
                return number
        elif current == section and key and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return None
