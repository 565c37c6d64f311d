"""Rate limits every Hearth process on one Redis shares (`bus.url: redis://...`, issue 10):
counted in each process alone, N processes behind a load balancer would allow N times the
login guesses.

A limiter's window for one key is a sorted set `{prefix}:rate:{name}:{key}` of its hits' times,
which expires one window after the last hit. One script per hit drops what left the window,
counts, and adds the hit if there is room: one round trip, and atomic, so two processes never
both take the last place. Times are Redis's own clock, which every process shares whatever its
machine's clock says.

When Redis does not answer, no request fails for it: the limiter counts in this process's
memory instead (as one process alone would), and Redis is asked again after `RETRY_SECONDS`.
The outage is logged once, and its end; a log line names the limiter, never the key (an
address, a login name).
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Callable
from typing import Literal

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from appliance.clock import Clock
from appliance.services.errors import RateLimitedError
from appliance.services.ratelimit import RateLimiter

log = logging.getLogger(__name__)

ANSWER_WAIT = 0.5  # seconds to connect, and for an answer: Redis on a LAN takes a millisecond
RETRY_SECONDS = 5.0  # after Redis did not answer, hits count in memory this long untried

# KEYS[1]: the window. ARGV: count; the window's length (µs); a name for this hit, unique;
# "hit" or "check"; now (µs), or "" for Redis's clock. Answers -1 when there is room (the hit
# counted), else the µs until the oldest hit leaves the window.
SCRIPT = """
local count = tonumber(ARGV[1])
local length = tonumber(ARGV[2])
local now = tonumber(ARGV[5])
if not now then
    local time = redis.call('TIME')
    now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - length)
if redis.call('ZCARD', KEYS[1]) >= count then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return tonumber(oldest[2]) + length - now
end
if ARGV[4] == 'hit' then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], math.ceil(length / 1000))
end
return -1
"""

Mode = Literal["hit", "check"]


class Unanswered(Exception):
    """Redis did not answer (or was not asked: it did not answer a moment ago)."""


class RedisLimiters:
    """The limiters of one process, counting in the Redis at `url` under `prefix`. The client
    is made at the first hit; `close()` lets it go (a later hit makes another)."""

    def __init__(
        self,
        url: str,
        clock: Clock,
        *,
        prefix: str = "hearth",
        now: Callable[[], float] | None = None,
    ) -> None:
        """`clock` times the in-memory fallback and the retries; `now`, seconds on a clock all
        processes agree on, is for tests: by default the windows use Redis's own clock."""
        self._url = url
        self._clock = clock
        self._prefix = prefix
        self._now = now
        self._redis: aioredis.Redis | None = None
        self._script: AsyncScript | None = None
        self._node = secrets.token_hex(6)  # with a count, names this process's hits apart
        self._hits = itertools.count()
        self.down = False  # Redis did not answer the last time it was asked
        self._ask_again_at = 0.0

    def limiter(self, name: str, count: int, per_seconds: float) -> RedisLimiter:
        fallback = RateLimiter(count, per_seconds, clock=self._clock.monotonic)
        return RedisLimiter(self, name, count, per_seconds, fallback)

    async def close(self) -> None:
        if self._redis is not None:
            redis, self._redis, self._script = self._redis, None, None
            await redis.aclose()

    def _opened(self) -> tuple[aioredis.Redis, AsyncScript]:
        if self._redis is None or self._script is None:
            self._redis = aioredis.Redis.from_url(
                self._url,
                socket_connect_timeout=ANSWER_WAIT,
                socket_timeout=ANSWER_WAIT,
                retry=Retry(NoBackoff(), 0),  # the fallback answers now; a retry would wait
            )
            self._script = self._redis.register_script(SCRIPT)  # EVALSHA, loaded if missing
        return self._redis, self._script

    async def count(self, limiter: RedisLimiter, key: str, mode: Mode) -> float | None:
        """Seconds until `key` has room in `limiter`'s window again, or None: there is room
        (and a hit was counted). Unanswered if Redis did not answer."""
        if self.down and self._clock.monotonic() < self._ask_again_at:
            raise Unanswered
        now = "" if self._now is None else str(round(self._now() * 1e6))
        hit = f"{self._node}:{next(self._hits)}"
        args: list[str | int] = [limiter.count, round(limiter.per_seconds * 1e6), hit, mode, now]
        try:
            _, script = self._opened()
            wait = await script(keys=[self._key(limiter, key)], args=args)
        except (RedisError, OSError) as error:
            self._not_answered(limiter, error)
            raise Unanswered from error
        if self.down:
            self.down = False
            log.warning("rate limits: Redis answers again; limits hold across processes again")
        return None if int(wait) < 0 else int(wait) / 1e6

    async def forget(self, limiter: RedisLimiter, key: str) -> None:
        if self.down and self._clock.monotonic() < self._ask_again_at:
            return
        try:
            redis, _ = self._opened()
            await redis.delete(self._key(limiter, key))
        except (RedisError, OSError) as error:
            self._not_answered(limiter, error)

    def _key(self, limiter: RedisLimiter, key: str) -> str:
        return f"{self._prefix}:rate:{limiter.name}:{key}"

    def _not_answered(self, limiter: RedisLimiter, error: Exception) -> None:
        self._ask_again_at = self._clock.monotonic() + RETRY_SECONDS
        if not self.down:
            self.down = True
            log.warning(
                "rate limits: Redis did not answer (for the %s limit: %s); each process "
                "counts on its own until it does",
                limiter.name, error,
            )  # fmt: skip


class RedisLimiter:
    """One named limiter counting in Redis, or in `fallback` while Redis does not answer."""

    def __init__(
        self,
        shared: RedisLimiters,
        name: str,
        count: int,
        per_seconds: float,
        fallback: RateLimiter,
    ) -> None:
        self.name = name
        self.count = count
        self.per_seconds = per_seconds
        self._shared = shared
        self._fallback = fallback

    async def check(self, key: str) -> None:
        await self._count(key, "check")

    async def hit(self, key: str) -> None:
        await self._count(key, "hit")

    async def reset(self, key: str) -> None:
        self._fallback.reset(key)
        await self._shared.forget(self, key)

    async def _count(self, key: str, mode: Mode) -> None:
        try:
            wait = await self._shared.count(self, key, mode)
        except Unanswered:
            if mode == "hit":
                self._fallback.hit(key)
            else:
                self._fallback.check(key)
            return
        if wait is not None:
            raise RateLimitedError(wait)
