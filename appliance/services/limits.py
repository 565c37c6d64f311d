"""The per-person rate limits that several services share, built once from config.

Every write that fans out to other people or costs CPU counts against one of them; going over
is a 429 with Retry-After (REST) or a `rate_limited` result with `retry_after` (WebSocket).
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.clock import Clock
from appliance.config import LimitSettings, RateLimit
from appliance.services.ratelimit import RateLimiter


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
