"""Pages: the site's Markdown files in pages/ (About, Services, Contact…), each shown at /<slug>/.

A page is written like a post, front matter then Markdown, and read by the same rules and errors; it has no
date and no tags, but may join the header's navigation (`nav: 1`, smaller first) and choose a layout.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ContentError, Problems
from .markdown import RAW_HTML_OMITTED, first_paragraph, render_markdown
from .posts import _SLUG_OK, _fail, _split, _text, decode_post, key_line, slugify

PAGE_KEYS = ("title", "summary", "nav", "layout", "slug")
LAYOUTS = ("page", "contact", "booking")


@dataclass(frozen=True)
class Page:
    source: Path
    slug: str
    title: str
    summary: str
    html: str
    url: str
    nav: int | None = None
    layout: str = "page"

    @property
    def path(self) -> str:
        """The page's folder in the output, e.g. 'about/'."""
        return f"{self.slug}/"


@dataclass(frozen=True)
class ParsedPage:
    page: Page
    warnings: tuple[ContentError, ...] = ()


def read_pages(pages_dir: Path, root: Path, site_url: str, allow_html: bool = False) -> list[ParsedPage]:
    """Every pages/*.md parsed, sorted by file name; every error raised together."""
    parsed, errors = [], []
    for file in sorted(pages_dir.glob("*.md")) if pages_dir.is_dir() else []:
        shown = file.relative_to(root) if file.is_relative_to(root) else file
        try:
            parsed.append(parse_page(shown, decode_post(shown, file.read_bytes()), site_url, allow_html))
        except ContentError as exc:
            errors.append(exc)
    errors += _duplicate_slugs([p.page for p in parsed])
    if errors:
        raise Problems(errors)
    return parsed


def _duplicate_slugs(pages: list[Page]) -> list[ContentError]:
    seen: dict[str, Page] = {}
    errors = []
    for page in pages:
        if page.slug in seen:
            errors.append(ContentError(f"slug '{page.slug}' is already used by {seen[page.slug].source}; give one "
                                       f"of them a different 'slug:' in its front matter", page.source))
        seen.setdefault(page.slug, page)
    return errors


def parse_page(path: Path, text: str, site_url: str, allow_html: bool = False) -> ParsedPage:
    """Front matter + Markdown into a Page; raises ContentError naming the field and the fix."""
    meta, body = _split(path, text)
    warnings = [_unknown_key(path, text, key) for key in meta if key not in PAGE_KEYS]
    slug = _slug(path, text, meta)
    url = f"{site_url}/{slug}/"
    html = render_markdown(body, url, allow_html)
    if RAW_HTML_OMITTED in html:
        warnings.append(ContentError("raw HTML in the body was left out; set raw_html = true under [content] in "
                                     "publisher.toml, or use Markdown", path))
    page = Page(source=path, slug=slug, title=_text(path, text, meta, "title", required=True),
                summary=_text(path, text, meta, "summary") or first_paragraph(html), html=html, url=url,
                nav=_nav(path, text, meta), layout=_layout(path, text, meta))
    return ParsedPage(page, tuple(warnings))


def _slug(path: Path, text: str, meta: dict) -> str:
    slug = _text(path, text, meta, "slug") or slugify(path.stem)
    if not _SLUG_OK.match(slug):
        raise _fail(path, text, "slug", f"'{slug}' must be lower-case letters, digits and hyphens, "
                                        f"e.g. '{slugify(slug)}'")
    return slug


def _nav(path: Path, text: str, meta: dict) -> int | None:
    value = meta.get("nav")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(path, text, "nav", f"expected a whole number (its place in the navigation, 1 first), "
                                       f"got {value!r}")
    return value


def _layout(path: Path, text: str, meta: dict) -> str:
    layout = _text(path, text, meta, "layout") or "page"
    if layout not in LAYOUTS:
        raise _fail(path, text, "layout", f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    return layout


def _unknown_key(path: Path, text: str, key) -> ContentError:
    close = difflib.get_close_matches(str(key), PAGE_KEYS, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(PAGE_KEYS)}"
    return ContentError(f"unknown front matter key '{key}' is ignored; {hint}", path, key_line(text, str(key)))
