"""Posts: parse front matter and body into `Post`, validate with file:line errors."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from ..errors import ContentError, Problems
from ..parallel import MIN_PAGES, map_parallel
from .markdown import RAW_HTML_OMITTED, first_paragraph, render_markdown
from .post_ids import check_unique_ids, id_problem
from .sources import Source, source_digest

KNOWN_KEYS = ("title", "date", "summary", "tags", "draft", "slug", "image", "image_alt", "updated", "email", "id")
_SLUG_OK = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}-")
_EMPTY_ALT = re.compile(r'<img src="[^"]*" alt=""')
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # what XML 1.0, so feeds, cannot carry


@dataclass(frozen=True)
class Post:
    source: Path
    slug: str
    title: str
    date: dt.datetime
    summary: str
    body: str
    html: str
    url: str
    tags: tuple[str, ...] = ()
    draft: bool = False
    updated: dt.datetime | None = None
    image: str = ""
    image_alt: str = ""
    email: bool = True  # False keeps the post out of the newsletter
    id: str = ""  # stable across slug and file name changes; written on the post's first publish

    @property
    def path(self) -> str:
        """The post's folder in the output, e.g. 'posts/sciatica/'."""
        return f"posts/{self.slug}/"


@dataclass(frozen=True)
class ParsedPost:
    post: Post
    warnings: tuple[ContentError, ...] = ()


class _YAML(YAMLHandler):
    """Front matter read by YAML's safe loader, libyaml's when PyYAML has it (ten times faster than pure Python)."""

    def load(self, fm: str, **kwargs: object):
        kwargs.setdefault("Loader", getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return super().load(fm, **kwargs)


_FRONT_MATTER = _YAML()


@functools.lru_cache(maxsize=4096)  # a tag's slug is asked for once per post that has it
def slugify(text: str) -> str:
    """'Sciatica & Lower Back Pain!' -> 'sciatica-lower-back-pain'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "post"


def decode_post(path: Path, raw: bytes) -> str:
    """The file's text, or a ContentError naming the line with the first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContentError("not UTF-8 text; re-save the file with UTF-8 encoding", path, line) from None


def parse_post(path: Path, text: str, site_url: str, tz: ZoneInfo, allow_html: bool = False) -> ParsedPost:
    """Front matter + Markdown into a Post; raises ContentError naming the field and the fix."""
    meta, body = _split(path, text)
    warnings = [_unknown_key(path, text, k) for k in meta if k not in KNOWN_KEYS]
    if _CONTROL.search(body):
        body = _CONTROL.sub("", body)
        warnings.append(ContentError("control characters in the body were left out; feeds cannot carry them",
                                     path, _control_line(text)))
    title = _text(path, text, meta, "title", required=True)
    date = _datetime(path, text, meta, "date", tz, required=True)
    slug = _slug(path, text, meta)
    url = f"{site_url}/posts/{slug}/"
    body_html = render_markdown(body, url, allow_html)
    image = _image(path, text, meta)
    image_alt = _text(path, text, meta, "image_alt")
    if image and not image_alt:
        warnings.append(ContentError("image has no image_alt; describe the picture for screen readers",
                                     path, key_line(text, "image")))
    if _EMPTY_ALT.search(body_html):
        warnings.append(ContentError("an image in the body has no alt text; write ![what it shows](…)", path))
    if RAW_HTML_OMITTED in body_html:
        warnings.append(ContentError("raw HTML in the body was left out; set raw_html = true under [content] in publisher.toml, or use Markdown",
                                     path))
    post = Post(
        source=path, slug=slug, title=title, date=date, body=body, html=body_html, url=url,
        summary=_text(path, text, meta, "summary") or first_paragraph(body_html),
        tags=_tags(path, text, meta), draft=_bool(path, text, meta, "draft"),
        updated=_datetime(path, text, meta, "updated", tz),
        image=urljoin(site_url + "/", image) if image else "", image_alt=image_alt,
        email=_bool(path, text, meta, "email", default=True), id=_post_id(path, text, meta),
    )
    return ParsedPost(post, tuple(warnings))


def check_unique_slugs(posts: list[Post]) -> None:
    """Two posts may not share a URL."""
    seen: dict[str, Post] = {}
    for post in posts:
        if post.slug in seen:
            raise ContentError(
                f"slug '{post.slug}' is already used by {seen[post.slug].source}; "
                f"give one of them a different 'slug:' in its front matter", post.source)
        seen[post.slug] = post


def _split(path: Path, text: str) -> tuple[dict, str]:
    if not text.startswith("---"):
        raise ContentError("no front matter; start the file with a '---' line, then title: and date:, then '---'",
                           path, 1)
    try:
        meta, body = frontmatter.parse(text, handler=_FRONT_MATTER)
    except ValueError as exc:
        line = _impossible_date_line(text)
        raise ContentError(f"front matter holds an impossible date ({exc}); use a real YYYY-MM-DD date",
                           path, line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or "cannot be read"
        raise ContentError(f"front matter is not valid YAML ({problem}); check quotes and colons", path,
                           line) from None
    if not meta and text.count("---") < 2:
        raise ContentError("front matter is not closed; add a '---' line after the last field", path, 1)
    if not isinstance(meta, dict):
        raise ContentError("front matter must be 'key: value' lines", path, 2)
    return meta, body


def _impossible_date_line(text: str) -> int | None:
    for number, line in enumerate(text.splitlines()[:50], start=1):
        m = re.match(r"^\w+\s*:\s*(\d{4}-\d{2}-\d{2})", line)
        if m:
            try:
                dt.date.fromisoformat(m[1])
            except ValueError:
                return number
    return None


def key_line(text: str, key: str) -> int | None:
    """The line of `key:` in a post's front matter; None when it is not there (a line of the body never counts)."""
    end = front_matter_end(text)
    for number, line in enumerate(text.split("\n")[:end], start=1):
        if re.match(rf"{re.escape(key)}\s*:", line):
            return number
    return None


def front_matter_end(text: str) -> int:
    """The line of the '---' that closes the front matter (1 when there is none)."""
    lines = text.split("\n")
    return next((n for n, line in enumerate(lines[1:], start=2) if line.strip() == "---"), 1)


def _unknown_key(path: Path, text: str, key) -> ContentError:
    close = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(KNOWN_KEYS)}"
    return ContentError(f"unknown front matter key '{key}' is ignored; {hint}", path, key_line(text, str(key)))


def _fail(path: Path, text: str, key: str, msg: str) -> ContentError:
    return ContentError(f"{key}: {msg}", path, key_line(text, key) or 1)


def _text(path: Path, text: str, meta: dict, key: str, required: bool = False) -> str:
    value = meta.get(key)
    if value is None or value == "":
        if required:
            raise _fail(path, text, key, f"missing; add '{key}: …' to the front matter")
        return ""
    if isinstance(value, (dict, list)):
        raise _fail(path, text, key, "expected text, got a list or table; put the value on one line in quotes")
    return _no_control(path, text, key, str(value).strip())


def _no_control(path: Path, text: str, key: str, value: str) -> str:
    """The value, unless it holds a control character (say a form feed pasted in), which no feed can carry."""
    found = _CONTROL.search(value)
    if found:
        raise _fail(path, text, key, f"holds a control character (U+{ord(found[0]):04X}) that pages and feeds "
                                     f"cannot carry; remove it")
    return value


def _control_line(text: str) -> int | None:
    """The line of the first control character in the file."""
    found = _CONTROL.search(text)
    return text.count("\n", 0, found.start()) + 1 if found else None


def _image(path: Path, text: str, meta: dict) -> str:
    """The hero image's address: a path on the site or an http(s) URL, never another scheme (javascript:…)."""
    image = _text(path, text, meta, "image")
    parts = urlsplit(image)
    if parts.scheme.lower() in ("http", "https") and parts.netloc or not (parts.scheme or parts.netloc):
        return image
    raise _fail(path, text, "image", f"{image!r} is neither a path on this site nor an http(s) address; "
                                     f"write e.g. /images/photo.jpg or https://example.com/photo.jpg")


def _bool(path: Path, text: str, meta: dict, key: str, default: bool = False) -> bool:
    value = meta.get(key, default)
    if not isinstance(value, bool):
        raise _fail(path, text, key, f"expected true or false, got {value!r}")
    return value


def _post_id(path: Path, text: str, meta: dict) -> str:
    """The post's stable id, as `publish` writes it; a hand-edited one that lost its shape is refused."""
    problem = id_problem(meta.get("id"))
    if problem:
        raise _fail(path, text, "id", problem)
    return meta.get("id") or ""


def _tags(path: Path, text: str, meta: dict) -> tuple[str, ...]:
    value = meta.get("tags") or []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or any(isinstance(t, (dict, list)) for t in value):
        raise _fail(path, text, "tags", "expected a list like [health, back pain]")
    tags = [_no_control(path, text, "tags", str(t).strip()) for t in value if str(t).strip()]
    return tuple(dict.fromkeys(tags))


def _slug(path: Path, text: str, meta: dict) -> str:
    slug = _text(path, text, meta, "slug")
    if slug and not _SLUG_OK.match(slug):
        raise _fail(path, text, "slug", f"'{slug}' must be lower-case letters, digits and hyphens, "
                                        f"e.g. '{slugify(slug)}'")
    return slug or slugify(_DATE_PREFIX.sub("", path.stem))


def _datetime(path: Path, text: str, meta: dict, key: str, tz: ZoneInfo, required: bool = False):
    value = meta.get(key)
    if value is None:
        if required:
            raise _fail(path, text, key, "missing; add e.g. 'date: 2024-05-03' to the front matter")
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise _fail(path, text, key, f"expected YYYY-MM-DD or YYYY-MM-DD HH:MM, got {value!r}") from None
    if isinstance(value, dt.datetime):
        return value.astimezone(tz) if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=tz)
    raise _fail(path, text, key, f"expected YYYY-MM-DD, got {value!r}")


def parse_sources(sources: list[Source], site_url: str, tz: ZoneInfo, allow_html: bool = False,
                  known: Mapping[str, ParsedPost] | None = None) -> dict[str, ParsedPost]:
    """Each source parsed (or taken from `known`, by digest), keyed by digest in the order of `sources`; all
    errors raised together as Problems.

    Many posts are parsed on every core (see `parallel`); parsing is pure, so the result is the same.
    """
    known = known or {}
    fresh = [s for s in sources if s.digest is None or s.digest not in known]
    parse = functools.partial(_parse_source, site_url=site_url, tz=tz, allow_html=allow_html)
    results = dict(zip((s.name for s in fresh), map_parallel(parse, fresh, MIN_PAGES)))
    errors = [result for _, result in results.values() if isinstance(result, ContentError)]
    parsed = dict(results.get(s.name) or (s.digest, known[s.digest]) for s in sources)
    if not errors:
        try:
            check_unique_slugs([p.post for p in parsed.values()])
            check_unique_ids([p.post for p in parsed.values()])
        except ContentError as exc:
            errors.append(exc)
    if errors:
        raise Problems(errors)
    return parsed


def _parse_source(source: Source, site_url: str, tz: ZoneInfo,
                  allow_html: bool) -> tuple[str, ParsedPost | ContentError]:
    """The source's digest and its parse (or the error that stopped it)."""
    path = source.path
    if source.raw is None:
        with open(source.file, "rb") as f:
            raw = f.read()
    else:
        raw = source.raw
    digest = source.digest or source_digest(source.name, raw)
    try:
        return digest, parse_post(path, decode_post(path, raw), site_url, tz, allow_html)
    except ContentError as exc:
        return digest, exc
