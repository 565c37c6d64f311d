"""The start/stop runner, the periodic job and background tasks, without an app."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from appliance.lifecycle import Background, Lifecycle, Step
from appliance.periodic import Periodic
from tests.support.clock import ManualClock


class Journal:
    """Steps that write what they do into one list."""

    def __init__(self) -> None:
        self.done: list[str] = []

    def step(self, name: str, *, fail_start: bool = False, stop: str = "ok") -> Step:
        async def start() -> None:
            self.done.append(f"start {name}")
            if fail_start:
                raise RuntimeError(f"{name} cannot start")

        async def stopping() -> None:
            self.done.append(f"stop {name}")
            if stop == "fail":
                raise RuntimeError(f"{name} cannot stop")
            if stop == "hang":
                await asyncio.Event().wait()

        return Step(name, start, stopping, stop_timeout=0.1)


async def test_steps_start_in_order_and_stop_in_reverse() -> None:
    journal = Journal()
    lifecycle = Lifecycle([journal.step("a"), journal.step("b"), journal.step("c")])
    await lifecycle.start()
    await lifecycle.start()  # already running: nothing again
    assert lifecycle.running
    await lifecycle.stop()
    await lifecycle.stop()  # stopped: nothing again
    assert not lifecycle.running
    assert journal.done == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]


async def test_a_stop_that_fails_or_hangs_is_logged_and_the_rest_still_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal = Journal()
    steps = [journal.step("db"), journal.step("stuck", stop="hang"), journal.step("broken",
             stop="fail")]  # fmt: skip
    lifecycle = Lifecycle(steps)
    await lifecycle.start()
    with caplog.at_level(logging.ERROR, logger="appliance.lifecycle"):
        await lifecycle.stop()
    assert journal.done[3:] == ["stop broken", "stop stuck", "stop db"]
    assert "stopping broken failed" in caplog.text
    assert "stopping stuck took over 0.1 s" in caplog.text


async def test_a_start_that_fails_stops_what_had_started_and_raises() -> None:
    journal = Journal()
    lifecycle = Lifecycle(
        [journal.step("a"), journal.step("b", fail_start=True), journal.step("c")]
    )
    with pytest.raises(RuntimeError, match="b cannot start"):
        await lifecycle.start()
    # b never started, so it is not stopped; c never ran.
    assert journal.done == ["start a", "start b", "stop a"]
    assert not lifecycle.running


def test_step_names_are_unique() -> None:
    with pytest.raises(ValueError, match="repeat"):
        Lifecycle([Step("a"), Step("a")])


async def test_a_periodic_job_runs_at_start_then_every_interval_on_the_clock() -> None:
    clock = ManualClock()
    runs: list[float] = []

    async def job() -> None:
        runs.append(clock.monotonic())
        if len(runs) == 2:
            raise RuntimeError("one bad run")

    periodic = Periodic("job", 3600, job, clock, at_start=True)
    await periodic.start()
    assert len(runs) == 1  # at start, before start() returns
    await clock.advance(3599)
    assert len(runs) == 1
    await clock.advance(1)
    assert len(runs) == 2  # this one failed (logged) ...
    await clock.advance(3600)
    assert len(runs) == 3  # ... and the next still came
    await periodic.stop()
    await clock.advance(7200)
    assert len(runs) == 3
    assert runs[1] - runs[0] == 3600 and runs[2] - runs[1] == 3600


async def test_background_tasks_are_waited_for_and_their_failures_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    background = Background()
    finished: list[str] = []

    async def work(name: str) -> None:
        await asyncio.sleep(0)
        if name == "bad":
            raise RuntimeError("bad work")
        finished.append(name)

    with caplog.at_level(logging.ERROR, logger="appliance.lifecycle"):
        background.spawn(work("good"), "good")
        background.spawn(work("bad"), "bad")
        assert len(background) == 2
        await background.wait()
    assert finished == ["good"] and len(background) == 0
    assert "bad failed" in caplog.text


def test_waiting_just_after_a_task_finished_returns() -> None:
    """The CI failure of session 4 (Python 3.13): a stop waited for a last-seen write that had
    just finished, before its done callback ran, and spun forever without yielding, so not
    even the step's timeout could fire. Run on a loop of its own in a thread, so a spin fails
    this test instead of hanging the suite."""

    async def scenario() -> int:
        background = Background()

        async def quick() -> None:
            return None

        background.spawn(quick(), "quick")
        # Runs in the loop turn where `quick` finishes, before its done callback.
        await asyncio.create_task(background.wait())
        return len(background)

    results: list[int] = []
    runner = threading.Thread(target=lambda: results.append(asyncio.run(scenario())), daemon=True)
    runner.start()
    runner.join(timeout=5)
    assert not runner.is_alive(), "Background.wait() spun on a finished task"
    assert results == [0]
