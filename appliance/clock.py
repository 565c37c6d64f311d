"""Time: stored as integer milliseconds UTC, shown as ISO 8601, and read through a `Clock`.

Services and the hub take a `Clock` instead of calling `time` and `asyncio` themselves, so tests
can pass one they advance by hand (`tests/support/clock.py`) rather than sleep through real
timeouts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso(ms: int | None) -> str | None:
    """Stored time as the API shows it: ISO 8601 in UTC, always to the millisecond (what is
    stored) with a Z, so that two times compare as strings as they do as times. (Without a
    fixed precision a whole second came out as "...:33Z", which sorts after "...:33.002Z":
    the web app orders its chat list by these strings.)"""
    if ms is None:
        return None
    return to_datetime(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock:
    """Wall time for what is stored, monotonic time for intervals, and timers on the loop."""

    def now_ms(self) -> int:
        return now_ms()

    def monotonic(self) -> float:
        return time.monotonic()

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> Timer:
        return asyncio.get_running_loop().call_later(delay, callback, *args)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
