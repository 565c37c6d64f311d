"""Start and stop in one ordered list of named steps (Home Assistant's staged stop), and the
background tasks of the components they start.

Steps start in order; a step that fails stops start-up, and the steps already started are
stopped again. Steps stop in reverse order, each within its own timeout: one that fails or
times out is logged and the rest still run, so the database is closed even when something
before it hangs.

The timeouts are real time, not the injected clock: they guard against a stuck stop, and a
test's ManualClock would never fire them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Action = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    start: Action | None = None
    stop: Action | None = None
    stop_timeout: float = 5.0
    # None: as long as it takes (a migration on a slow SD card must not be cut short).
    start_timeout: float | None = None


class Lifecycle:
    def __init__(self, steps: Sequence[Step]) -> None:
        names = [step.name for step in steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names repeat: {names}")
        self.steps = tuple(steps)
        self._started: list[Step] = []
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    async def start(self) -> None:
        """Run every start step in order; a no-op when already running. If a step fails, the
        ones before it are stopped and the error is raised."""
        if self._running:
            return
        self._running = True
        for step in self.steps:
            began = time.perf_counter()
            try:
                if step.start is not None:
                    async with asyncio.timeout(step.start_timeout):
                        await step.start()
            except BaseException:
                log.error("start-up step %r failed; stopping what had started", step.name)
                await self.stop()
                raise
            self._started.append(step)
            log.debug("started %s in %.0f ms", step.name, (time.perf_counter() - began) * 1000)

    async def stop(self) -> None:
        """Run the stop steps of what started, in reverse, each within its timeout. Safe to
        repeat."""
        while self._started:
            step = self._started.pop()
            if step.stop is not None:
                await _stop_one(step.name, step.stop, step.stop_timeout)
        self._running = False


async def _stop_one(name: str, stop: Action, seconds: float) -> None:
    began = time.perf_counter()
    try:
        async with asyncio.timeout(seconds):
            await stop()
    except TimeoutError:
        log.error("stopping %s took over %.1f s; going on without it", name, seconds)
    except Exception:
        log.exception("stopping %s failed; going on", name)
    else:
        log.debug("stopped %s in %.0f ms", name, (time.perf_counter() - began) * 1000)


class Background:
    """Tasks a component starts on its own (after a timer, for a callback): kept referenced,
    their failures logged, and waited for or cancelled when the component stops."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, job: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(job, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    async def wait(self) -> None:
        """Until every task has finished, including those spawned meanwhile.

        A task that has just finished stays in the set until its done callback runs, on the
        loop's next turn. Since Python 3.12 gathering only finished tasks completes without
        yielding, so waiting on them again and again would spin forever (timeouts included);
        the loop gets its turn instead."""
        while self._tasks:
            pending = [task for task in self._tasks if not task.done()]
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            else:
                await asyncio.sleep(0)

    async def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.wait()
