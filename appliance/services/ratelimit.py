"""Sliding-window rate limits per key (an address, an account), held in memory, and the
per-person limits several services share (`Limits`, built once from config).

Memory is bounded: the table keeps at most `max_keys` keys, least recently used first
out, and keys whose window has passed are swept a few at a time as new ones arrive. Going
over is a 429 with Retry-After (REST) or a `rate_limited` result with `retry_after`
(WebSocket).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from appliance.clock import Clock
from appliance.config import LimitSettings, RateLimit
from appliance.services.errors import RateLimitedError

_SWEEP = 16  # stale keys looked at per new key: amortised, never a full scan on a hot path


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

    def __len__(self) -> int:
        return len(self._hits)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is not None:
            horizon = now - self.per_seconds
            while hits and hits[0] <= horizon:
                hits.popleft()
        return hits

    def check(self, key: str) -> None:
        """Raise RateLimitedError if `key` has used up its window."""
        now = self._clock()
        hits = self._recent(key, now)
        if hits is not None and len(hits) >= self.count:
            raise RateLimitedError(hits[0] + self.per_seconds - now)

    def hit(self, key: str) -> None:
        """Count one event for `key`, raising first if the window is full."""
        self.check(key)
        now = self._clock()
        hits = self._hits.get(key)
        if hits is None:
            self._sweep(now)
            hits = self._hits[key] = deque()
        hits.append(now)
        self._hits.move_to_end(key)

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)

    def _sweep(self, now: float) -> None:
        horizon = now - self.per_seconds
        for key in list(self._hits)[:_SWEEP]:
            if self._hits[key][-1] <= horizon:
                del self._hits[key]
        while len(self._hits) >= self._max_keys:
            self._hits.popitem(last=False)


def limiter(limit: RateLimit, clock: Clock) -> RateLimiter:
    return RateLimiter(limit.count, limit.per_seconds, clock=clock.monotonic)


@dataclass(frozen=True, slots=True)
class Limits:
    messages: RateLimiter  # messages sent
    changes: RateLimiter  # edits, deletes, reactions, pins, chat and member changes, contacts
    chats: RateLimiter  # chats opened or created, people added, invite links made or used

    @classmethod
    def from_config(cls, limits: LimitSettings, clock: Clock) -> Limits:
        return cls(
            messages=limiter(limits.messages_per_user, clock),
            changes=limiter(limits.changes_per_user, clock),
            chats=limiter(limits.chats_per_user, clock),
        )
