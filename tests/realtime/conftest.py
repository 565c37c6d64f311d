"""One real `hearth serve` per test module, with limits high enough for bursts of sends; people
signed up over HTTPS with their sockets closed after each test. `local` is an in-process Hearth
on a ManualClock, for what runs on timers.

A module that says `SERVED_ON = ("sqlite", "postgresql")` runs its served tests on each engine
in turn (issue 10: the realtime guarantees hold on both)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.realtime.local import Local, local_hearth
from tests.support import engines
from tests.support.people import ServedPeople
from tests.support.server import HearthServer, roomy_config


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    served_on = getattr(metafunc.module, "SERVED_ON", None)
    if served_on and "server" in metafunc.fixturenames:
        metafunc.parametrize("server", served_on, indirect=True, scope="module")


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HearthServer]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engines, "STORAGE", getattr(request, "param", engines.STORAGE))
        config = roomy_config(tmp_path_factory.mktemp("hearth"))
    with HearthServer(config) as running:
        yield running


@pytest.fixture
async def people(server: HearthServer) -> AsyncIterator[ServedPeople]:
    crowd = ServedPeople(server)
    yield crowd
    await crowd.close()


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[Local]:
    async with local_hearth(tmp_path / "data") as running:
        yield running
