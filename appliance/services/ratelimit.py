"""Sliding-window rate limits per key (an address, an account), and the per-person limits
several services share (`Limits`, built once from config).

A `Limiter` is awaited: `await limiter.hit(key)`. Where it counts is the `Limiters`' choice:
this process's memory (`MemoryLimiters`, one process), or one Redis every process shares
(`services/sharedlimits.py`, with `bus.url: redis://...`): otherwise N processes behind a
load balancer would allow N times the login guesses. Each limiter has a stable name, which
keeps its counts apart from the others' where they are shared.

In memory (`RateLimiter`) is bounded: the table keeps at most `max_keys` keys, least
recently used first out, and keys whose window has passed are swept a few at a time as new
ones arrive. Going over is a 429 with Retry-After (REST) or a `rate_limited` result with
`retry_after` (WebSocket).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from appliance.clock import Clock
from appliance.config import LimitSettings, RateLimit, Settings
from appliance.services.errors import RateLimitedError

_SWEEP = 16  # stale keys looked at per new key: amortised, never a full scan on a hot path


class Limiter(Protocol):
    """`count` events per `per_seconds` for each key, the window sliding."""

    async def check(self, key: str) -> None:
        """Raise RateLimitedError if `key` has used up its window."""

    async def hit(self, key: str) -> None:
        """Count one event for `key`, raising RateLimitedError instead if the window is full."""

    async def reset(self, key: str) -> None:
        """Forget `key`'s events."""


class Limiters(Protocol):
    """Makes one Hearth's limiters, each by its stable name, and lets go of what they hold."""

    def limiter(self, name: str, count: int, per_seconds: float) -> Limiter: ...

    async def close(self) -> None: ...


class RateLimiter:
    """One window table in this process's memory, not awaited: what a `MemoryLimiter` and a
    Redis limiter's fallback count in, and what one WebSocket connection's frame limit uses
    on its own (a connection lives in one process)."""

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


class MemoryLimiter:
    """A Limiter over a window in this process's memory."""

    def __init__(self, window: RateLimiter) -> None:
        self.window = window

    async def check(self, key: str) -> None:
        self.window.check(key)

    async def hit(self, key: str) -> None:
        self.window.hit(key)

    async def reset(self, key: str) -> None:
        self.window.reset(key)


class MemoryLimiters:
    """Limiters of one process on its own: the name is not needed, nothing is shared."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def limiter(self, name: str, count: int, per_seconds: float) -> MemoryLimiter:
        return MemoryLimiter(RateLimiter(count, per_seconds, clock=self._clock.monotonic))

    async def close(self) -> None:
        pass  # nothing held outside the process


def limiters_for(config: Settings, clock: Clock) -> Limiters:
    """In Redis when several processes share one (`bus.url`), else in this process."""
    if config.bus.url == "memory://":
        return MemoryLimiters(clock)
    from appliance.services.sharedlimits import RedisLimiters  # redis-py: several processes

    return RedisLimiters(config.bus.url, clock, prefix=config.bus.prefix)


@dataclass(frozen=True, slots=True)
class Limits:
    messages: Limiter  # messages sent
    changes: Limiter  # edits, deletes, reactions, pins, chat and member changes, contacts
    chats: Limiter  # chats opened or created, people added, invite links made or used
    uploads: Limiter  # files and pictures uploaded
    login_per_address: Limiter  # sign-in attempts from one client address
    login_per_account: Limiter  # failed sign-ins to one account, by any spelling of it
    signup_per_address: Limiter  # accounts made from one client address
    password_checks: Limiter  # wrong current passwords given for one account

    @classmethod
    def from_config(cls, limits: LimitSettings, limiters: Limiters) -> Limits:
        def named(name: str, limit: RateLimit) -> Limiter:
            return limiters.limiter(name, limit.count, limit.per_seconds)

        return cls(
            messages=named("messages", limits.messages_per_user),
            changes=named("changes", limits.changes_per_user),
            chats=named("chats", limits.chats_per_user),
            uploads=named("uploads", limits.uploads_per_user),
            login_per_address=named("login-address", limits.login_per_address),
            login_per_account=named("login-account", limits.login_per_account),
            signup_per_address=named("signup-address", limits.signup_per_address),
            password_checks=named("password-checks", limits.password_checks_per_account),
        )
