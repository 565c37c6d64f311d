"""A clock that moves only when a test says so."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from appliance.clock import Clock, now_ms


@dataclass(order=True, slots=True)
class _Timer:
    when: float
    order: int
    callback: Callable[..., object] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock(Clock):
    """Time stands still until `advance()`, which fires due timers in order and lets the tasks
    they wake run before it returns."""

    def __init__(self, start_ms: int | None = None) -> None:
        self._ms = now_ms() if start_ms is None else start_ms
        self._monotonic = 1000.0
        self._timers: list[_Timer] = []
        self._order = itertools.count()

    def now_ms(self) -> int:
        return self._ms

    def monotonic(self) -> float:
        return self._monotonic

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> _Timer:
        timer = _Timer(self._monotonic + max(delay, 0.0), next(self._order), callback, args)
        heapq.heappush(self._timers, timer)
        return timer

    async def sleep(self, seconds: float) -> None:
        woken = asyncio.get_running_loop().create_future()
        timer = self.call_later(seconds, lambda: woken.done() or woken.set_result(None))
        try:
            await woken
        finally:
            timer.cancel()

    @property
    def pending(self) -> int:
        return sum(not timer.cancelled for timer in self._timers)

    async def advance(self, seconds: float) -> None:
        """Move time forward, firing every timer that falls due on the way."""
        target = self._monotonic + seconds
        await _settle()
        while self._timers and self._timers[0].when <= target:
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._step_to(timer.when)
            timer.callback(*timer.args)
            await _settle()
        self._step_to(target)
        await _settle()

    def _step_to(self, when: float) -> None:
        if when > self._monotonic:
            self._ms += round((when - self._monotonic) * 1000)
            self._monotonic = when


async def _settle() -> None:
    """Let every task that is ready run (a few rounds: woken tasks wake others)."""
    for _ in range(20):
        await asyncio.sleep(0)
