"""A job that runs every so often on the clock, for as long as Hearth runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from appliance.clock import Clock

log = logging.getLogger(__name__)


class Periodic:
    """Run `job` every `interval` seconds of `clock`; with `at_start`, once more as it starts
    (awaited, so what follows start-up sees its effect). A failing run is logged and the next
    one still comes."""

    def __init__(
        self,
        name: str,
        interval: float,
        job: Callable[[], Awaitable[object]],
        clock: Clock,
        *,
        at_start: bool = False,
    ) -> None:
        self.name = name
        self.interval = interval
        self._job = job
        self._clock = clock
        self._at_start = at_start
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is not None:
            return
        if self._at_start:
            await self.run_once()
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> None:
        try:
            await self._job()
        except Exception:
            log.exception("%s failed", self.name)

    async def _loop(self) -> None:
        while True:
            await self._clock.sleep(self.interval)
            await self.run_once()
