"""Read and validate publisher.toml (plus environment overrides) into frozen dataclasses.

Every problem in the file is collected and reported at once, each naming the key and the fix.
Secrets never live in the file: they come from the environment and are hidden from repr().
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .clock import parse_duration
from .errors import ConfigError, Problems

CONFIG_NAME = "publisher.toml"


@dataclass(frozen=True)
class SiteConfig:
    title: str
    url: str
    description: str = ""
    author: str = ""
    language: str = "en"
    timezone: str = "UTC"
    posts_per_page: int = 10
    feed_entries: int = 20
    address: str = ""
    logo: str = ""
    headline: str = ""  # the home page's heading, saying who and where (the title when empty)
    image: str = ""  # the default og:image of every page without a picture of its own
    locality: str = ""  # the town, for search engines' local results (schema.org addressLocality)
    region: str = ""
    country: str = ""
    nav: tuple[str, ...] = ()  # the header's links: page slugs and "articles", "archive", "topics"


@dataclass(frozen=True)
class BookingConfig:
    heading: str = ""
    text: str = ""
    phone: str = ""
    country_code: str = ""
    email: str = ""
    url: str = ""
    button: str = "Book now"
    services: tuple[str, ...] = ()
    area: str = ""  # where the business serves (schema.org areaServed); the locality when empty
    prices: tuple[str, ...] = ()  # lines such as "Sports massage, 60 minutes: £50", shown only when set
    price_range: str = ""  # schema.org priceRange, e.g. "£40-£60"
    hours: tuple[str, ...] = ()  # opening hours as "Mo-Fr 09:00-18:00" (schema.org openingHours)
    in_post: str = "both"  # where posts show the booking block: "after_intro", "end" or "both"
    intro_paragraphs: int = 3  # the introduction's length, in paragraphs, for in_post "after_intro"
    notify: str = ""  # where booking requests from the site's form go; booking.email when empty

    @property
    def enabled(self) -> bool:
        return bool(self.heading)

    @property
    def notify_address(self) -> str:
        """The therapist's address for booking requests sent to `publisher serve` ('' when there is none)."""
        return self.notify or self.email

    @property
    def tel(self) -> str:
        """The phone number as a tel: URI in international form (07713 250352 -> tel:+447713250352)."""
        digits = re.sub(r"[^\d+]", "", self.phone)
        if digits.startswith("0") and self.country_code:
            digits = "+" + self.country_code.lstrip("+") + digits[1:]
        return f"tel:{digits}" if digits else ""

    @property
    def internal(self) -> bool:
        """Whether the booking URL is a path inside the site (like "/booking/") rather than another service."""
        return self.url.startswith("/") and not self.url.startswith("//")


@dataclass(frozen=True)
class ContentConfig:
    raw_html: bool = False
    max_post_bytes: int = 1_000_000  # a post file larger than this is refused before it is read


@dataclass(frozen=True)
class NewsletterConfig:
    content: str = "full"
    subject_prefix: str = ""
    from_name: str = ""
    from_address: str = ""
    reply_to: str = ""
    list_id: str = ""
    max_html_bytes: int = 102_000
    welcome: bool = True
    max_age: dt.timedelta = dt.timedelta(days=7)  # a post first seen older than this is archived, not mailed
    track_clicks: bool = False


@dataclass(frozen=True)
class DeliveryConfig:
    smtp_url: str = ""
    allow_plaintext: bool = False
    maildir: str = "outbox"
    rate: float = 0.0
    connections: int = 4
    max_attempts: int = 5
    retry_delay: float = 2.0
    timeout: float = 30.0
    bounce_address: str = ""
    soft_bounce_limit: int = 3


@dataclass(frozen=True)
class InboxConfig:
    """Where the bounce address's mail is read by `publisher inbox`: a Maildir folder or an IMAP mailbox."""
    maildir: str = ""
    imap_url: str = ""
    timeout: float = 30.0


@dataclass(frozen=True)
class WebhooksConfig:
    """Provider webhooks on `publisher serve`: the Amazon SNS topic SES reports to (its signing keys and
    passwords come from the environment)."""
    ses_topic_arn: str = ""


@dataclass(frozen=True)
class DatabaseConfig:
    path: str = "publisher.db"
    busy_timeout: float = 10.0
    url: str = ""  # postgresql://user@host/database: a PostgreSQL server instead of the SQLite file at `path`


@dataclass(frozen=True)
class SubscriptionsConfig:
    url: str = ""
    confirm_hours: int = 48
    rate_limit: int = 5


@dataclass(frozen=True)
class DkimConfig:
    selector: str = ""
    domain: str = ""
    key_file: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.selector and self.domain and self.key_file)


@dataclass(frozen=True)
class PathsConfig:
    posts: str = "posts"
    pages: str = "pages"
    templates: str = "templates"
    static: str = "static"
    output: str = "_site"
    cache: str = ".publisher-cache"


@dataclass(frozen=True)
class Secrets:
    """Values read only from the environment; never printed."""

    smtp_password: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)
    smtp_url: str = field(default="", repr=False)
    old_secret_keys: tuple[str, ...] = field(default=(), repr=False)  # retired link keys, still accepted
    imap_password: str = field(default="", repr=False)
    mailgun_signing_key: str = field(default="", repr=False)
    postmark_password: str = field(default="", repr=False)
    database_password: str = field(default="", repr=False)
    database_url: str = field(default="", repr=False)


@dataclass(frozen=True)
class Config:
    root: Path
    site: SiteConfig
    booking: BookingConfig = BookingConfig()
    content: ContentConfig = ContentConfig()
    newsletter: NewsletterConfig = NewsletterConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    inbox: InboxConfig = InboxConfig()
    webhooks: WebhooksConfig = WebhooksConfig()
    database: DatabaseConfig = DatabaseConfig()
    subscriptions: SubscriptionsConfig = SubscriptionsConfig()
    dkim: DkimConfig = DkimConfig()
    paths: PathsConfig = PathsConfig()
    secrets: Secrets = field(default=Secrets(), repr=False)

    def path(self, relative: str) -> Path:
        """A path from the config resolved against the site's folder."""
        return (self.root / relative).resolve()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.site.timezone)

    @property
    def domain(self) -> str:
        return urlsplit(self.site.url).hostname or "localhost"

    @property
    def subscribe_base(self) -> str:
        """Base URL of the subscription service (/subscribe, /confirm, /unsubscribe live under it)."""
        return (self.subscriptions.url or self.site.url).rstrip("/")

    @property
    def from_address(self) -> str:
        return self.newsletter.from_address or self.booking.email or f"newsletter@{self.domain}"

    @property
    def from_name(self) -> str:
        return self.newsletter.from_name or self.site.author or self.site.title

    @property
    def database_url(self) -> str:
        """The PostgreSQL database to use, if any: PUBLISHER_DATABASE_URL wins over [database] url."""
        return self.secrets.database_url or self.database.url

    @property
    def smtp_url_setting(self) -> str:
        """Where delivery's SMTP URL was set, to name in its errors: PUBLISHER_SMTP_URL wins over the file."""
        return "PUBLISHER_SMTP_URL" if self.secrets.smtp_url else "delivery.smtp_url"

    @property
    def list_id(self) -> str:
        return self.newsletter.list_id or f"newsletter.{self.domain}"

    @property
    def booking_url(self) -> str:
        """The booking URL as an absolute address (a path inside the site joined to site.url)."""
        return self.site.url + self.booking.url if self.booking.internal else self.booking.url

    def with_site_url(self, url: str) -> "Config":
        """The same config serving from another base URL (used by preview on 127.0.0.1)."""
        return dataclasses.replace(self, site=dataclasses.replace(self.site, url=url.rstrip("/")))


SECTIONS: dict[str, type] = {
    "site": SiteConfig,
    "booking": BookingConfig,
    "content": ContentConfig,
    "newsletter": NewsletterConfig,
    "delivery": DeliveryConfig,
    "inbox": InboxConfig,
    "webhooks": WebhooksConfig,
    "database": DatabaseConfig,
    "subscriptions": SubscriptionsConfig,
    "dkim": DkimConfig,
    "paths": PathsConfig,
}


def find_config(start: Path) -> Path:
    """The publisher.toml in `start` (a folder or the file itself)."""
    path = start if start.suffix == ".toml" else start / CONFIG_NAME
    if not path.is_file():
        raise ConfigError(
            f"no {CONFIG_NAME} here; run `publisher init DIR` to create a site, or pass --config",
            path=path,
        )
    return path


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Parse publisher.toml and the PUBLISHER_* environment into a validated Config."""
    env = os.environ if env is None else env
    data = _read_toml(path)
    problems: list[ConfigError] = []
    sections = {}
    for name in data:
        if name not in SECTIONS:
            problems.append(_unknown(path, name, SECTIONS, "section"))
    for name, cls in SECTIONS.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            problems.append(ConfigError(f"[{name}] must be a table", path=path))
            table = {}
        sections[name] = _build_section(path, name, cls, table, problems)
    if env.get("PUBLISHER_SMTP_URL"):
        sections["delivery"] = dataclasses.replace(sections["delivery"], smtp_url=env["PUBLISHER_SMTP_URL"])
    if sections["site"] is not None:
        _check_semantics(path, sections, problems)
    _check_header_values(path, sections, problems)
    if problems:
        raise Problems(problems)
    secrets = Secrets(
        smtp_password=env.get("PUBLISHER_SMTP_PASSWORD", ""),
        secret_key=env.get("PUBLISHER_SECRET_KEY", ""),
        smtp_url=env.get("PUBLISHER_SMTP_URL", ""),
        old_secret_keys=tuple(key.strip() for key in env.get("PUBLISHER_OLD_SECRET_KEYS", "").split(",")
                              if key.strip()),
        imap_password=env.get("PUBLISHER_IMAP_PASSWORD", ""),
        mailgun_signing_key=env.get("PUBLISHER_MAILGUN_SIGNING_KEY", ""),
        postmark_password=env.get("PUBLISHER_POSTMARK_WEBHOOK_PASSWORD", ""),
        database_password=env.get("PUBLISHER_DATABASE_PASSWORD", ""),
        database_url=env.get("PUBLISHER_DATABASE_URL", ""),
    )
    return Config(root=path.parent.resolve(), secrets=secrets, **sections)


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text; save the file as UTF-8", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ConfigError(f"not valid TOML: {exc}", path=path, line=int(line[1]) if line else None) from None


def _unknown(path: Path, key: str, known, what: str) -> ConfigError:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(known)}"
    return ConfigError(f"unknown {what} '{key}'{hint}", path=path)


def _build_section(path: Path, name: str, cls: type, table: dict, problems: list):
    """The section's dataclass; a wrong-typed value is reported and stood in for, so later checks still run."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in table.items():
        if key not in fields:
            problems.append(_unknown(path, f"{name}.{key}", [f"{name}.{k}" for k in fields], "key"))
            continue
        coerced = _coerce(value, hints[key])
        if coerced is None:
            problems.append(ConfigError(
                f"{name}.{key}: expected {_type_name(hints[key])}, got {value!r}", path=path))
            coerced = hints[key]()
        values[key] = coerced
    missing = [f.name for f in fields.values()
               if f.default is dataclasses.MISSING and f.name not in values]
    for key in missing:
        problems.append(ConfigError(f"[{name}] needs '{key}', e.g. {key} = \"…\"", path=path))
    return None if missing else cls(**values)


def _coerce(value, hint):
    if hint is bool:
        return value if isinstance(value, bool) else None
    if hint is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if hint is float:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if hint is str:
        return value if isinstance(value, str) else None
    if hint is dt.timedelta:
        return parse_duration(value)
    if typing.get_origin(hint) is tuple:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return tuple(value) if ok else None
    return None


def _type_name(hint) -> str:
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string in quotes",
             dt.timedelta: 'a number of days above 0 (max_age = 7) or hours in quotes (max_age = "36 hours")'}
    return names.get(hint, "a list of strings")


def _check_semantics(path: Path, s: dict, problems: list) -> None:
    site, news, delivery = s["site"], s["newsletter"], s["delivery"]
    if not _is_http_url(site.url):
        problems.append(ConfigError(
            f"site.url: expected an absolute http(s) URL like 'https://example.com', got {site.url!r}", path=path))
    else:
        s["site"] = dataclasses.replace(site, url=site.url.rstrip("/"))
    try:
        ZoneInfo(site.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(ConfigError(
            f"site.timezone: unknown time zone {site.timezone!r}; use a name like 'Europe/London'", path=path))
    for key in ("posts_per_page", "feed_entries"):
        if getattr(site, key) < 1:
            problems.append(ConfigError(f"site.{key}: must be at least 1", path=path))
    if s["content"].max_post_bytes < 1:
        problems.append(ConfigError("content.max_post_bytes: must be at least 1", path=path))
    if news.content not in ("full", "excerpt"):
        problems.append(ConfigError(
            f"newsletter.content: expected 'full' or 'excerpt', got {news.content!r}", path=path))
    problems.extend(ConfigError(f"delivery.{problem}", path=path) for problem in _delivery_problems(delivery))
    problems.extend(ConfigError(problem, path=path) for problem in _inbox_problems(s["inbox"]))
    if s["database"].busy_timeout < 0:
        problems.append(ConfigError("database.busy_timeout: must be 0 or more seconds", path=path))
    problems.extend(ConfigError(f"database.url: {problem}", path=path) for problem in _database_url_problems(
        s["database"].url))
    booking = s["booking"]
    if booking.url and not (booking.internal or _is_http_url(booking.url)):
        problems.append(ConfigError(f"booking.url: expected a page of this site like \"/booking/\" or an absolute "
                                    f"http(s) URL, got {booking.url!r}", path=path))
    url = s["subscriptions"].url
    if url and not _is_http_url(url):
        problems.append(ConfigError(f"subscriptions.url: expected an absolute http(s) URL, got {url!r}", path=path))
    problems.extend(ConfigError(message, path=path) for message in _booking_problems(booking))


def _database_url_problems(url: str) -> list[str]:
    """What is wrong with [database] url as written in publisher.toml: not PostgreSQL's, or holding a password,
    which belongs in the environment (PUBLISHER_DATABASE_PASSWORD) and is never repeated here."""
    if not url:
        return []
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        return ["expected a PostgreSQL URL like 'postgresql://publisher@db.example.com/publisher'"]
    if parts.password is not None:
        return ["holds a password; remove it from the file and set PUBLISHER_DATABASE_PASSWORD (or PGPASSWORD, or "
                "~/.pgpass) instead"]
    return []


_HOURS = re.compile(r"(Mo|Tu|We|Th|Fr|Sa|Su)([-,](Mo|Tu|We|Th|Fr|Sa|Su))* \d\d:\d\d-\d\d:\d\d")


def _booking_problems(booking: BookingConfig) -> list[str]:
    """What is wrong with where posts show the booking block and with the opening hours, each with its fix."""
    found = []
    if booking.in_post not in ("after_intro", "end", "both"):
        found.append(f"booking.in_post: expected \"after_intro\", \"end\" or \"both\", got {booking.in_post!r}")
    if booking.intro_paragraphs < 1:
        found.append("booking.intro_paragraphs: must be at least 1, e.g. intro_paragraphs = 3")
    found += [f"booking.hours: expected days and times like \"Mo-Fr 09:00-18:00\", got {hours!r}"
              for hours in booking.hours if not _HOURS.fullmatch(hours)]
    return found


# Text that may run over several lines; every other value is one line, since it can reach an email header.
PROSE_KEYS = {"site.description", "booking.text"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_PROSE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LIST_ID = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)+")
_DNS_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")
_TOPIC_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}")
ADDRESS = re.compile(r"[^\s<>()\[\],;:\\\"@]+@[^\s<>()\[\],;:\\\"@]+")
# A bounce address gains a tag of up to 40 characters in its local part, which SMTP limits to 64 (mail/verp.py).
BOUNCE_ADDRESS = re.compile(r"[A-Za-z0-9._-]{1,24}@[A-Za-z0-9.-]+")


def _check_header_values(path: Path, s: dict, problems: list) -> None:
    """Refuse values that could forge email headers: a line break or control character in any one-line value
    (and in the SMTP URL from the environment), and identifiers that do not have their standard shape."""
    for name, section in s.items():
        if section is None:
            continue
        for f in dataclasses.fields(section):
            key = f"{name}.{f.name}"
            values = getattr(section, f.name)
            for value in values if isinstance(values, tuple) else (values,):
                pattern = _PROSE_CONTROL if key in PROSE_KEYS else _CONTROL
                if isinstance(value, str) and pattern.search(value):
                    problems.append(ConfigError(
                        f"{key}: contains a line break or control character ({_first_control(value, pattern)}); "
                        "write it on one line of plain text", path=path))
                    break
    news, dkim = s["newsletter"], s["dkim"]
    checks = [
        ("newsletter.list_id", news.list_id, _LIST_ID, "a dotted name like 'newsletter.example.com' (RFC 2919)"),
        ("newsletter.from_address", news.from_address, ADDRESS, "an email address like news@example.com"),
        ("newsletter.reply_to", news.reply_to, ADDRESS, "an email address like hello@example.com"),
        ("booking.email", s["booking"].email, ADDRESS, "an email address like hello@example.com"),
        ("delivery.bounce_address", s["delivery"].bounce_address, BOUNCE_ADDRESS,
         "an ASCII address whose local part is at most 24 characters, like bounces@example.com"),
        ("booking.notify", s["booking"].notify, ADDRESS, "an email address like bookings@example.com"),
        ("webhooks.ses_topic_arn", s["webhooks"].ses_topic_arn, _TOPIC_ARN,
         "an SNS topic's ARN like 'arn:aws:sns:eu-west-1:123456789012:ses-feedback'"),
        ("dkim.selector", dkim.selector, _DNS_NAME, "a DNS label like 'mail' or '2026a'"),
        ("dkim.domain", dkim.domain, _DNS_NAME, "a domain name like 'example.com'"),
    ]
    for key, value, shape, expected in checks:
        if value and not _CONTROL.search(value) and not shape.fullmatch(value):
            problems.append(ConfigError(f"{key}: expected {expected}, got {value!r}", path=path))


def _first_control(value: str, pattern: re.Pattern) -> str:
    return f"U+{ord(pattern.search(value)[0]):04X}"


def _delivery_problems(delivery: DeliveryConfig) -> list[str]:
    """What is wrong with the [delivery] numbers, one line per key with its fix: caught here because each would
    otherwise fail only once sending had begun (a timeout of 0, below 0 or infinite breaks every connection)."""
    d = delivery
    checks = [("timeout", d.timeout, d.timeout > 0, "a number of seconds above 0", "30"),
              ("connections", d.connections, d.connections >= 1, "at least 1", "4"),
              ("max_attempts", d.max_attempts, d.max_attempts >= 1, "at least 1", "5"),
              ("rate", d.rate, d.rate >= 0, "messages per second, 0 (no limit) or more", "0"),
              ("retry_delay", d.retry_delay, d.retry_delay >= 0, "a number of seconds, 0 or more", "2.0"),
              ("soft_bounce_limit", d.soft_bounce_limit, d.soft_bounce_limit >= 1, "at least 1", "3")]
    return [f"{key}: expected {what}, got {value!r}; e.g. {key} = {example}"
            for key, value, ok, what, example in checks if not (ok and math.isfinite(value))]


def _inbox_problems(inbox: InboxConfig) -> list[str]:
    """What is wrong with [inbox]: one place to read from, an IMAP URL of the right shape, a usable timeout."""
    problems = []
    if inbox.maildir and inbox.imap_url:
        problems.append("inbox: set maildir or imap_url, not both; `publisher inbox` reads one mailbox")
    parts = urlsplit(inbox.imap_url)
    if inbox.imap_url and parts.password is not None:
        problems.append("inbox.imap_url: remove the password from the URL and set PUBLISHER_IMAP_PASSWORD instead")
    elif inbox.imap_url and (parts.scheme not in ("imaps", "imap") or not parts.hostname):
        problems.append(f"inbox.imap_url: expected imaps://user@host/INBOX, got {inbox.imap_url!r}")
    if not (inbox.timeout > 0 and math.isfinite(inbox.timeout)):
        problems.append(f"inbox.timeout: expected a number of seconds above 0, got {inbox.timeout!r}; "
                        "e.g. timeout = 30")
    return problems


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return not any(c.isspace() for c in url) and parts.scheme in ("http", "https") and bool(parts.netloc)
