"""Several `hearth serve` processes on one PostgreSQL and one Redis (issue 10): the engines,
started once for the folder, and two processes per test, each with a data folder of its own
but for what they share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import yaml

from tests.support import engines
from tests.support.people import ServedPeople, ServedPerson
from tests.support.server import HearthServer, roomy_config
from tests.support.wire import Rest


@pytest.fixture(scope="package")
def shared() -> Iterator[tuple[engines.Postgres, engines.Redis]]:
    with engines.postgres() as pg, engines.redis() as redis:
        yield pg, redis


def two_processes(
    shared: tuple[engines.Postgres, engines.Redis], tmp_path: Path
) -> list[HearthServer]:
    """Two processes' configs on one fresh database and one fresh shared data folder."""
    pg, redis = shared
    database = pg.create_database(f"two_{tmp_path.name[-20:].lower()}")
    data = tmp_path / "data"  # one folder both reach: the signing secret, files, the CA
    servers = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        config = roomy_config(
            folder, storage={"url": database}, bus={"url": redis.url, "prefix": tmp_path.name}
        )
        raw = yaml.safe_load(config.read_text())
        config.write_text(yaml.safe_dump({**raw, "data_dir": str(data)}))
        servers.append(HearthServer(config))
    return servers


@pytest.fixture
async def nodes(shared, tmp_path: Path) -> AsyncIterator[list[HearthServer]]:
    servers = two_processes(shared, tmp_path)
    try:
        for server in servers:  # one after the other; at once: test_first_start.py
            server.start(timeout=60)
        yield servers
    finally:
        for server in servers:
            if server.process is not None:
                server.stop()


@pytest.fixture
async def people(nodes) -> AsyncIterator[ServedPeople]:
    """People who sign up through the first process; their sockets closed afterwards."""
    crowd = ServedPeople(nodes[0])
    yield crowd
    await crowd.close()


def on(person: ServedPerson, server: HearthServer) -> ServedPerson:
    """From now on `person` talks to `server`."""
    person.server = server
    person.rest = Rest(server)
    return person
