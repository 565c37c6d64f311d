"""The event loop Hearth runs on (appliance/loop.py): uvloop's by default, asyncio's on request."""

from __future__ import annotations

import asyncio

import pytest

from appliance import loop


async def running_loop() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_hearth_runs_on_uvloop_where_it_is_installed(monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("uvloop")  # a dependency wherever it has wheels (pyproject.toml)
    monkeypatch.delenv("HEARTH_EVENT_LOOP", raising=False)
    assert loop.name() == "uvloop"
    assert loop.run(running_loop()).startswith("uvloop")


def test_hearth_event_loop_asyncio_picks_asyncios_own(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HEARTH_EVENT_LOOP", " Asyncio ")
    assert loop.name() == "asyncio"
    assert loop.run(running_loop()).startswith("asyncio")
