"""Rate limits kept in the store, so that they hold across every service process and host sharing it (two
gunicorn workers, or two machines behind a load balancer, allow a client what one process would)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ..store import Store


class SharedLimiter:
    """At most `limit` requests from one client in any `window` seconds (a sliding log of allowed requests, kept
    in the store and shared by every process using it). A limit of 0 or less means no limit."""

    def __init__(self, store: Store, name: str, limit: int, window: float, clock: Callable[[], dt.datetime]):
        self.store, self.name, self.limit, self.window, self._clock = store, name, limit, window, clock

    def allow(self, client: str) -> bool:
        if self.limit <= 0:
            return True
        return self.store.allow_request(f"{self.name}:{client}", self.limit, self.window, now=self._clock())
