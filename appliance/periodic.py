"""A job that runs every so often on the clock, for as long as Hearth runs; and housekeeping
that one process at a time runs, of several sharing a database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from appliance.clock import Clock

if TYPE_CHECKING:
    from appliance.store.db import Database

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


def one_at_a_time(db: Database, name: str, job: Job) -> Callable[[], Awaitable[None]]:
    """`job`, run only while this process holds its claim on `db` (`Database.claim`): with
    several processes on one PostgreSQL, one of them runs it and the others skip that turn."""

    async def run() -> None:
        async with db.claim(name) as mine:
            if not mine:
                log.debug("%s: another process is running it; skipped here", name)
                return
            await job()

    return run


class Periodic:
    """Run `job` every `interval` seconds of `clock`; with `at_start`, once more as it starts
    (awaited, so what follows start-up sees its effect). A failing run is logged and the next
    one still comes."""

    def __init__(
        self,
        name: str,
        interval: float,
        job: Job,
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

    @classmethod
    def once_across(
        cls,
        db: Database,
        name: str,
        interval: float,
        job: Job,
        clock: Clock,
        *,
        at_start: bool = False,
    ) -> Periodic:
        """Housekeeping: `job` every `interval` seconds, run by one process at a time of
        several sharing `db` (`one_at_a_time`, under the same name)."""
        return cls(name, interval, one_at_a_time(db, name, job), clock, at_start=at_start)

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
