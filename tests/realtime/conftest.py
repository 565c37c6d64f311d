"""One real `hearth serve` per test module, with limits high enough for bursts of sends; people
signed up over HTTPS with their sockets closed after each test. `local` is an in-process Hearth
on a ManualClock, for what runs on timers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.realtime.local import Local, local_hearth
from tests.support.people import ServedPeople
from tests.support.server import HearthServer, roomy_config


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HearthServer]:
    with HearthServer(roomy_config(tmp_path_factory.mktemp("hearth"))) as running:
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
