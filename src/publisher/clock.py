"""The one clock: the current time, in UTC. PUBLISHER_NOW (ISO 8601; a time without a zone is read as UTC) sets
the time a command starts at, for rehearsing a schedule ("what would publish do on Friday at 9?") and for tests
of the real commands; from there the clock runs on as usual, so retries and timeouts still come due."""

from __future__ import annotations

import datetime as dt
import os
import re
import time

from .errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+)\s*(day|hour)s?\s*$", re.I)
_started: tuple[str, dt.datetime, float] | None = None  # (PUBLISHER_NOW, its time, monotonic clock then)


def now() -> dt.datetime:
    """The current time with its time zone: the system clock, or PUBLISHER_NOW plus the time since the command
    started."""
    global _started
    pinned = os.environ.get("PUBLISHER_NOW")
    if not pinned:
        return dt.datetime.now(dt.UTC)
    if _started is None or _started[0] != pinned:
        _started = (pinned, _parse(pinned), time.monotonic())
    return _started[1] + dt.timedelta(seconds=time.monotonic() - _started[2])


def restart() -> None:
    """Begin a new command: a pinned clock starts again at PUBLISHER_NOW."""
    global _started
    _started = None


def _parse(pinned: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(pinned)
    except ValueError:
        raise ConfigError(f"PUBLISHER_NOW: expected an ISO date like 2025-01-31T09:00+00:00, got {pinned!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def parse_duration(value: object) -> dt.timedelta | None:
    """A span of time from a setting: a whole number of days (7), or text such as "7 days" or "36 hours"; None
    when `value` is neither, or not above zero."""
    if isinstance(value, int) and not isinstance(value, bool):
        return dt.timedelta(days=value) if value > 0 else None
    found = _DURATION.match(value) if isinstance(value, str) else None
    if not found or int(found[1]) == 0:
        return None
    return dt.timedelta(**{found[2].lower() + "s": int(found[1])})


def describe_duration(span: dt.timedelta) -> str:
    """The span as a setting would say it: "7 days", "1 day", "36 hours"."""
    days, hours = span.days, span.seconds // 3600
    if hours or not days:
        count, unit = days * 24 + hours, "hour"
    else:
        count, unit = days, "day"
    return f"{count} {unit}{'' if count == 1 else 's'}"
