"""Shared fixtures: real SQLite files in a temp folder, the real app with startup/shutdown.
What tests import (clients, settings, people, servers, pages) is in tests/support."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from quart import Quart

from appliance.app import create_app
from appliance.clock import Clock
from appliance.config import Settings
from appliance.context import Hearth
from tests.support.app import Client, make_settings, setup_admin
from tests.support.clock import ManualClock

# `make test` runs the suite on two workers (pytest-xdist, --dist loadgroup). What starts
# Chromium, a served Hearth under fault or SFU media stays on one worker, one test at a time:
# those are timed (a stop within 5 s, frames within seconds) and would race each other for the
# two cores. In-process tests fill the other worker.
SERIAL = ("tests/e2e/", "tests/fault/", "tests/sfu/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SERIAL):
            item.add_marker(pytest.mark.xdist_group("serial"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Clock:
    """The app's clock: the real one, or a ManualClock for tests marked `manual_clock`."""
    if request.node.get_closest_marker("manual_clock"):
        return ManualClock()
    return Clock()


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[Quart]:
    application = create_app(settings, clock=clock)
    async with application.test_app():
        yield application


@pytest.fixture
def hearth(app: Quart) -> Hearth:
    context: Hearth = app.extensions["hearth"]
    return context


@pytest.fixture
def client(app: Quart) -> Client:
    return Client(app)


@pytest.fixture
def new_client(app: Quart) -> Any:
    """Another browser: its own cookie jar."""
    return lambda: Client(app)


@pytest.fixture
async def admin(hearth: Hearth, client: Client) -> dict[str, Any]:
    """The first admin, signed in on `client`."""
    return await setup_admin(hearth, client)


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """For tests that run the CLI's main(), which sets up logging for a real run: put pytest's
    logging back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    access = logging.getLogger("hypercorn.access")
    access_disabled = access.disabled
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    access.disabled = access_disabled
