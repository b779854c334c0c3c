"""Every `<img>` of a page that shows one of the site's images, made to fit the screen: `width` and `height` from
the file (the layout does not jump as it loads), `srcset` and `sizes` over its resized copies, a WebP `<source>`
in a `<picture>` around it, and `loading="lazy"` on all but the page's first image. The alt text and any other
attribute stay as written; `src` stays the original, for browsers that know no `srcset`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from posixpath import splitext
from urllib.parse import quote, unquote, urlsplit

from ..content.pages import Page
from ..content.posts import Post
from ..content.site import Site
from ..errors import ContentError
from .images import Picture, copy_path

SIZES = "(max-width: 44rem) calc(100vw - 2rem), 42rem"  # the text column: --measure in assets/style.css
_IMG = re.compile(r"<img\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_SRC = re.compile(r"""<img\b[^>]*?\ssrc\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def site_path(url: str, site_url: str) -> str:
    """The path in the site of an address on it ('' for any other address)."""
    prefix = site_url.rstrip("/") + "/"
    if url.startswith(prefix):
        url = url[len(prefix) - 1:]
    elif not url.startswith("/") or url.startswith("//"):
        return ""
    return unquote(urlsplit(url).path).lstrip("/")


def fit_pictures(page: str, pictures: Mapping[str, Picture], site_url: str) -> str:
    """The page with each `<img>` of a site image made responsive (see the module's docstring)."""
    seen = 0

    def one(match: re.Match) -> str:
        nonlocal seen
        seen += 1
        attributes = _attributes(match[0])
        picture = pictures.get(site_path(html.unescape(attributes.get("src", "")), site_url))
        if picture is None or picture.problem:
            return match[0]
        return _picture(picture, attributes, site_url, lazy=seen > 1)
    return _IMG.sub(one, page)


def post_images(post: Post, site_url: str) -> list[str]:
    """The paths in the site of the images a post shows from the site itself (hero first, then the body's)."""
    urls = ([post.image] if post.image else []) + _SRC.findall(post.html)
    return [path for url in urls if (path := site_path(html.unescape(url), site_url))]


def page_images(page: Page, site_url: str) -> list[str]:
    """The paths in the site of the images a page shows from the site itself."""
    return [path for url in _SRC.findall(page.html) if (path := site_path(html.unescape(url), site_url))]


def check_pictures(site: Site, pictures: Mapping[str, Picture], static: str) -> None:
    """A ContentError naming the post or page and the file when it shows an image of the site that cannot be
    read (such an image would go out without its width, height and smaller copies)."""
    shown = [(post.source, post_images(post, site.url)) for post in site.posts]
    shown += [(page.source, page_images(page, site.url)) for page in site.pages]
    for source, paths in shown:
        for path in paths:
            picture = pictures.get(path)
            if picture is not None and picture.problem:
                raise ContentError(f"image: {static}/{picture.path} is {picture.problem}; replace it with a PNG "
                                   "or JPEG file", source)


def _attributes(tag: str) -> dict[str, str]:
    inside = tag[4:].rstrip(">").rstrip("/")
    found = {}
    for match in _ATTRIBUTE.finditer(inside):
        value = next((v for v in match.groups()[1:] if v is not None), "")
        found[match[1].lower()] = html.unescape(value)
    return found


def _picture(picture: Picture, attributes: dict[str, str], site_url: str, lazy: bool) -> str:
    ext = splitext(picture.path)[1]
    attributes.setdefault("width", str(picture.width))
    attributes.setdefault("height", str(picture.height))
    attributes |= {"srcset": _srcset(picture, ext, site_url), "sizes": SIZES, "decoding": "async"}
    if lazy:
        attributes.setdefault("loading", "lazy")
    img = "<img" + "".join(f' {name}="{html.escape(value)}"' for name, value in attributes.items()) + ">"
    webp = _srcset(picture, ".webp", site_url)
    return f'<picture><source type="image/webp" srcset="{html.escape(webp)}" sizes="{SIZES}">{img}</picture>'


def _srcset(picture: Picture, ext: str, site_url: str) -> str:
    base = site_url.rstrip("/") + "/"
    return ", ".join(f"{base}{quote(copy_path(picture.path, width, ext))} {width}w" for width in picture.widths)
