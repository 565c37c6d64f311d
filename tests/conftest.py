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
from tests.support import engines
from tests.support.app import Client, make_settings, setup_admin
from tests.support.clock import ManualClock

# `make test` runs the suite on two workers (pytest-xdist, --dist loadgroup). Two groups each
# stay on one worker, one test at a time: the browser tests (two Chromiums at once on two cores
# make both flaky), and the timed tests that serve Hearth under faults, carry SFU media (a
# stop within 5 s, frames within seconds) or run several Hearth processes. Groups are collected first, longest first, so xdist
# (which hands out work in collection order) starts them at once on different workers; the
# in-process tests then fill in. The timed ones are thus never on the browser tests' worker,
# where what Playwright leaves to the garbage collector could be collected in the middle of them.
GROUPS = (
    ("tests/e2e/", "browser"),
    ("tests/fault/", "timed"),
    ("tests/sfu/", "timed"),
    ("tests/scale/", "timed"),
)


@pytest.hookimpl(tryfirst=True)  # before xdist's hook, which reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def place(item: pytest.Item) -> int:
        folders = (folder for folder, _ in GROUPS)
        return next((n for n, f in enumerate(folders) if item.nodeid.startswith(f)), len(GROUPS))

    for item in items:
        if place(item) < len(GROUPS):
            item.add_marker(pytest.mark.xdist_group(GROUPS[place(item)][1]))
    items.sort(key=place)  # stable: the groups in GROUPS' order, then the in-process tests


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """On an xdist worker with --dist loadgroup, xdist has put the group in each grouped test's
    node id ("...@browser") by now; if it could not (as with pytest 9.2), the groups would
    silently be spread over both workers: stop instead."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    for item in session.items:
        mark = item.get_closest_marker("xdist_group")
        if mark is not None and not item.nodeid.endswith(f"@{mark.args[0]}"):
            raise pytest.UsageError(
                "pytest-xdist could not group the browser and timed tests with this pytest "
                f"({pytest.__version__}): see the pytest pin in pyproject.toml"
            )


@pytest.fixture(params=["sqlite", "postgresql"])
def both_engines(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test on SQLite, then again on PostgreSQL (issue 10): a module that wants this
    says `pytestmark = pytest.mark.usefixtures("both_engines")`. The settings it builds
    (config_dict) then name a fresh database on a throwaway PostgreSQL server."""
    monkeypatch.setattr(engines, "STORAGE", request.param)
    return str(request.param)


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
