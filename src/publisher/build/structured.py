"""Structured data for search engines (schema.org JSON-LD): the business, and each post as a BlogPosting.

The business is a `HealthAndBeautyBusiness`: schema.org has no massage therapist type, and that is the most
specific type that fits (its subtypes are salons, spas and health clubs). Keys are left out when the setting
behind them is empty, never written as null. Templates print these with `tojson`, which escapes <, > and &
so that no title can end the <script> element early.
"""

from __future__ import annotations

from ..config import Config
from ..content.posts import Post


def business_data(config: Config) -> dict:
    """The business behind the site, from [site] and [booking]."""
    site, booking = config.site, config.booking
    data = {"@context": "https://schema.org", "@type": "HealthAndBeautyBusiness", "name": site.title,
            "url": site.url + "/", "description": site.description, "telephone": booking.tel.removeprefix("tel:"),
            "email": booking.email, "image": _absolute(config, site.image), "priceRange": booking.price_range,
            "openingHours": list(booking.hours), "areaServed": _place(booking.area or site.locality),
            "address": _address(config)}
    return _without_empty(data)


def post_data(post: Post, config: Config) -> dict:
    """A post as a BlogPosting, with its own image or else the site's default one."""
    data = {"@context": "https://schema.org", "@type": "BlogPosting", "headline": post.title,
            "description": post.summary, "datePublished": post.date.isoformat(timespec="seconds"),
            "dateModified": (post.updated or post.date).isoformat(timespec="seconds"), "url": post.url,
            "mainEntityOfPage": post.url, "inLanguage": config.site.language, "keywords": ", ".join(post.tags),
            "image": post.image or _absolute(config, config.site.image),
            "author": {"@type": "Person", "name": config.site.author or config.site.title},
            "publisher": {"@type": "Organization", "name": config.site.title, "url": config.site.url + "/"}}
    return _without_empty(data)


def _address(config: Config) -> dict:
    site = config.site
    return _without_empty({"@type": "PostalAddress", "addressLocality": site.locality,
                           "addressRegion": site.region, "addressCountry": site.country})


def _place(name: str) -> dict:
    return {"@type": "City", "name": name} if name else {}


def _absolute(config: Config, path: str) -> str:
    return config.site.url + path if path.startswith("/") else path


def _without_empty(data: dict) -> dict:
    """The keys with a value: no null, empty text or list, and no object with nothing but its @type."""
    return {key: value for key, value in data.items()
            if value not in ("", None, [], {}) and not (isinstance(value, dict) and set(value) == {"@type"})}
