"""The app's start/stop steps: their order, the database opened once, a start that fails, event
pruning at start and hourly (on a ManualClock), and the mDNS announcement in the background."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from appliance.app import create_app
from appliance.clock import DAY_MS, now_ms
from appliance.context import PRUNE_EVERY_SECONDS, Hearth
from appliance.store import events
from appliance.store.db import Database, SchemaTooNewError, on_thread
from tests.support import sqlite
from tests.support.app import make_settings
from tests.support.clock import ManualClock


def hearth_of(app: Any) -> Hearth:
    hearth: Hearth = app.extensions["hearth"]
    return hearth


async def until(condition: Callable[[], Any], timeout: float = 5.0) -> None:
    """For work on the database's thread (real time, not the clock)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_the_steps_and_their_order(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path / "data", mdns={"enabled": True}))
    steps = hearth_of(app).lifecycle.steps
    assert [step.name for step in steps] == [
        "database", "rate limits", "expired sessions", "audience", "hub", "activity", "calls",
        "event pruning", "files", "file sweep", "email", "mdns",
    ]  # fmt: skip
    without = create_app(make_settings(tmp_path / "other"))
    assert "mdns" not in [step.name for step in hearth_of(without).lifecycle.steps]


async def test_the_database_is_opened_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Database] = []
    real_open = Database.open

    async def counting_open(self: Database) -> None:
        opened.append(self)
        await real_open(self)

    monkeypatch.setattr(Database, "open", counting_open)
    app = create_app(make_settings(tmp_path / "data"))
    await hearth_of(app).start()  # as `hearth serve` does, before it listens
    async with app.test_app():  # before_serving finds it started
        response = await app.test_client().get("/health")
        assert response.status_code == 200
    assert len(opened) == 1
    assert not hearth_of(app).lifecycle.running


async def test_a_database_newer_than_the_code_stops_start_up(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    app = create_app(settings)
    sqlite.set_schema_version(settings, 999)
    hearth = hearth_of(app)
    with pytest.raises(SchemaTooNewError, match="schema version 999"):
        await hearth.start()
    assert not hearth.lifecycle.running  # nothing after the database started


async def test_old_events_are_pruned_at_start_and_every_hour(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    retention = settings.messages.event_retention_days * DAY_MS

    async def append_old(db: Database) -> int:
        async with db.write() as tx:
            row = await on_thread(
                tx, events.append, "test.old", "{}", now_ms() - retention - DAY_MS
            )
        return row.seq

    seed = Database(settings.database)
    await seed.open()
    first = await append_old(seed)
    await seed.close()

    clock = ManualClock()
    app = create_app(settings, clock=clock)
    async with app.test_app():
        db = hearth_of(app).db

        async def pruned_through() -> int:
            async with db.read() as conn:
                return await events.pruned_through(conn)

        assert await pruned_through() >= first  # pruned as Hearth started
        second = await append_old(db)
        await clock.advance(PRUNE_EVERY_SECONDS - 1)
        assert await pruned_through() < second
        await clock.advance(1)

        async def second_pruned() -> bool:
            return await pruned_through() >= second

        await until(second_pruned)


async def test_the_mdns_announcement_never_delays_readiness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probing = asyncio.Event()
    closed: list[bool] = []

    class ForeverProbing:
        """An announcer whose probing never ends (a network that never answers)."""

        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

        async def start(self) -> None:
            probing.set()
            await asyncio.Event().wait()

        async def close(self) -> None:
            closed.append(True)

    monkeypatch.setattr("appliance.net.mdns.Announcer", ForeverProbing)
    app = create_app(make_settings(tmp_path / "data", mdns={"enabled": True}))
    async with app.test_app():
        response = await app.test_client().get("/health")
        assert response.status_code == 200
        await probing.wait()  # it did start, in the background
    assert closed == [True]
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "mdns-announce"]
