"""The newsletter's images: an image from the site's static files is sent as its email copy, named
`<name>-email.<ext>` beside it, at most 1,200 px wide (shown at 600 px, sharp on high-density screens) and in
the original's PNG or JPEG format, never WebP, which many mail clients cannot show. The build writes these
copies (build/images.py); the rule for their names lives here, where the newsletter needs it.
"""

from __future__ import annotations

import re
from posixpath import splitext

EMAIL_WIDTH = 1_200
RESIZED_SUFFIXES = (".png", ".jpg", ".jpeg")  # the formats the build resizes (others are used as they are)
_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")([^"]*)(")', re.IGNORECASE)


def email_copy_path(path: str) -> str:
    """images/photo.png -> images/photo-email.png (a path in the site)."""
    stem, ext = splitext(path)
    return f"{stem}-email{ext}"


def email_copy_original(path: str) -> str:
    """images/photo-email.png -> images/photo.png: the image an email copy is made from ('' for other paths)."""
    stem, ext = splitext(path)
    if not stem.endswith("-email") or ext.lower() not in RESIZED_SUFFIXES:
        return ""
    return stem.removesuffix("-email") + ext


def email_image(url: str, site_url: str) -> str:
    """The address of the email copy of an image on this site that the build resizes; any other unchanged."""
    prefix = site_url.rstrip("/") + "/"
    if not url.startswith(prefix) or not url.lower().endswith(RESIZED_SUFFIXES) or "?" in url or "#" in url:
        return url
    return prefix + email_copy_path(url[len(prefix):])


def email_images(html: str, site_url: str) -> str:
    """The post's HTML with each `<img>` of this site pointing at its email copy."""
    return _SRC.sub(lambda m: m[1] + email_image(m[2], site_url) + m[3], html)
