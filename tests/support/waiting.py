"""Waiting for something to become true: check, and check again after a short interval, until
it holds or the time is up. No test sleeps a fixed time hoping something has happened.

`wait_for` is for synchronous tests (Playwright's sync API, a subprocess); `eventually` for
async ones, where the interval lets the event loop run what is being waited for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

INTERVAL = 0.02


def _failure(what: str | Callable[[], str], timeout: float) -> AssertionError:
    description = what() if callable(what) else what
    return AssertionError(f"timed out after {timeout}s waiting for: {description}")


def wait_for(
    check: Callable[[], T],
    *,
    timeout: float = 5.0,
    interval: float = INTERVAL,
    what: str | Callable[[], str] = "condition",
) -> T:
    """The first truthy result of `check()`; AssertionError naming `what` once `timeout` has
    passed (`what` may be a function, to describe the state at that moment)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise _failure(what, timeout)
        time.sleep(interval)


async def eventually(
    check: Callable[[], T],
    *,
    timeout: float = 5.0,
    interval: float = INTERVAL,
    what: str | Callable[[], str] = "condition",
) -> T:
    """`wait_for` for async tests: between checks the event loop runs."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if result:
            return result
        if loop.time() >= deadline:
            raise _failure(what, timeout)
        await asyncio.sleep(interval)
