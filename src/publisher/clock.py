"""The one clock: the current time, in UTC. PUBLISHER_NOW (ISO 8601; a time without a zone is read as UTC) sets
the time a command starts at, for rehearsing a schedule ("what would publish do on Friday at 9?") and for tests
of the real commands; from there the clock runs on as usual, so retries and timeouts still come due."""

from __future__ import annotations

import datetime as dt
import os
import time

from .errors import ConfigError

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
