"""The store suites' PostgreSQL: one server per module that asks for it, on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import engines


@pytest.fixture(scope="module")
def server() -> Iterator[engines.Postgres]:
    with engines.postgres() as pg:
        yield pg
