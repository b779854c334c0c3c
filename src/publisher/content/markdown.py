"""Markdown to HTML: CommonMark + GitHub tables and footnotes (cmark-gfm), figures, absolute URLs.

Raw HTML in a post is dropped unless the site allows it; every link and image URL in the
output is made absolute against the post's own URL, so the same HTML works in pages, feeds and email.
"""

from __future__ import annotations

import functools
import html
import re
from urllib.parse import urljoin, urlsplit, urlunsplit

import cmarkgfm
from cmarkgfm.cmark import Options

_SAFE = Options.CMARK_OPT_FOOTNOTES | Options.CMARK_OPT_SMART
_UNSAFE = _SAFE | Options.CMARK_OPT_UNSAFE
RAW_HTML_OMITTED = "<!-- raw HTML omitted -->"

# cmark-gfm always writes attributes double-quoted and escaped, so its output is regular enough to match.
_FIGURE = re.compile(r'<p><img src="([^"]*)" alt="([^"]*)" title="([^"]*)" /></p>')
_URL_ATTR = re.compile(r'(<(?:a|img)\b[^>]*?\s(?:href|src))="([^"]*)"')
_TAG = re.compile(r"<[^>]+>")
_FIRST_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.S)


def render_markdown(text: str, base_url: str, allow_html: bool = False) -> str:
    """Render a post body to HTML whose URLs are all absolute against `base_url`."""
    body = cmarkgfm.github_flavored_markdown_to_html(text, options=_UNSAFE if allow_html else _SAFE)
    body = _FIGURE.sub(_figure, body)
    return absolutize(body, base_url)


def absolutize(body: str, base_url: str) -> str:
    """Make every href/src in an HTML fragment absolute against `base_url`."""
    origin = _origin(base_url)
    plain_base = "#" not in base_url and urlunsplit(urlsplit(base_url)) == base_url

    def repl(m: re.Match) -> str:
        url = html.unescape(m[2]) if "&" in m[2] else m[2]
        if url.startswith(_PATH_FREE) and not url.startswith("//"):
            return f'{m[1]}="{_absolute(origin, url)}"'
        if url.startswith("#") and len(url) > 1 and plain_base:  # a footnote: what urljoin gives here too
            return f'{m[1]}="{html.escape(base_url + url, quote=True)}"'
        return f'{m[1]}="{html.escape(urljoin(base_url, url), quote=True)}"'
    return _URL_ATTR.sub(repl, body)


# URLs whose absolute form depends only on the base URL's scheme and host, not its path: worth remembering,
# since every post links to the same few (other posts, images, the same external sites).
_PATH_FREE = ("/", "https://", "http://", "mailto:")


@functools.lru_cache(maxsize=8192)
def _absolute(origin: str, url: str) -> str:
    return html.escape(urljoin(origin, url), quote=True)


def _origin(base_url: str) -> str:
    """urljoin(base_url, "/"): the scheme and host of an absolute base URL, then a slash."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme and parts.netloc else urljoin(base_url, "/")


def _figure(m: re.Match) -> str:
    src, alt, caption = m.groups()
    return (f'<figure><img src="{src}" alt="{alt}" loading="lazy" />'
            f"<figcaption>{caption}</figcaption></figure>")


def strip_tags(fragment: str) -> str:
    """Plain text of an HTML fragment, whitespace folded."""
    return " ".join(html.unescape(_TAG.sub("", fragment)).split())


def first_paragraph(body_html: str) -> str:
    """The plain text of the first paragraph, used when a post has no summary."""
    m = _FIRST_PARAGRAPH.search(body_html)
    return strip_tags(m[1]) if m else ""
