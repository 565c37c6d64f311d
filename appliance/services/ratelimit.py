"""Sliding-window rate limits per key (an address, an account), held in memory.

Memory is bounded: keys whose window has passed are dropped as new keys arrive, and the table
never grows past `max_keys` (the oldest keys go first).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

from appliance.services.errors import RateLimitedError


class RateLimiter:
    def __init__(
        self,
        count: int,
        per_seconds: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.count = count
        self.per_seconds = per_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def _window(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            hits = deque()
            self._hits[key] = hits
            self._evict(now)
        horizon = now - self.per_seconds
        while hits and hits[0] <= horizon:
            hits.popleft()
        return hits

    def _evict(self, now: float) -> None:
        horizon = now - self.per_seconds
        while len(self._hits) > self._max_keys:
            self._hits.popitem(last=False)
        for key in list(self._hits)[:16]:  # amortised sweep of stale keys from the old end
            hits = self._hits[key]
            if not hits or hits[-1] <= horizon:
                del self._hits[key]

    def check(self, key: str) -> None:
        """Raise RateLimitedError if `key` has used up its window."""
        now = self._clock()
        hits = self._window(key, now)
        if len(hits) >= self.count:
            raise RateLimitedError(hits[0] + self.per_seconds - now)

    def hit(self, key: str) -> None:
        """Count one event for `key`, raising first if the window is full."""
        self.check(key)
        self._hits[key].append(self._clock())
        self._hits.move_to_end(key)

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)
