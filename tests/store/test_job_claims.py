"""Once-only housekeeping (issue 10): of several processes sharing one PostgreSQL, one at a
time runs a job such as the file sweep; the others skip their turn. On SQLite the one
process always runs it. Each process is a `Database` here, as in `hearth serve`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from appliance.periodic import one_at_a_time
from appliance.store.db import Database, Migration
from appliance.store.postgres import MIGRATE_LOCK, WRITE_LOCK, Connection, job_lock
from tests.support import engines

NOTES = Migration(1, "notes", "CREATE TABLE notes (body text NOT NULL);")


@pytest.fixture
async def processes(
    server: engines.Postgres, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Database, Database]]:
    """Two processes' databases on one PostgreSQL database."""
    url = server.create_database(f"claims_{request.node.name.lower()[:40]}")
    pair = (
        Database(url, read_connections=1, migrations=[NOTES]),
        Database(url, read_connections=1, migrations=[NOTES]),
    )
    for database in pair:
        await database.open()
    yield pair
    for database in pair:
        await database.close()


async def test_one_process_at_a_time_holds_a_jobs_claim(processes):
    a, b = processes
    async with a.claim("file-sweep") as first:
        async with b.claim("file-sweep") as second, b.claim("event-pruning") as other_job:
            assert (first, second, other_job) == (True, False, True)
        async with a.claim("file-sweep") as again:  # a claim of its own is not a second one
            assert again is False
    async with b.claim("file-sweep") as after:  # let go at the end of the block
        assert after is True


async def test_a_claim_is_let_go_when_its_block_fails(processes):
    a, b = processes
    with pytest.raises(RuntimeError):
        async with a.claim("file-sweep"):
            raise RuntimeError("the job failed")
    async with b.claim("file-sweep") as mine:
        assert mine is True


async def test_the_claim_of_a_process_that_died_is_free_again(processes):
    a, b = processes
    key = job_lock("file-sweep")
    async with a.claim("file-sweep") as mine:
        assert mine is True
        with psycopg.connect(a.engine.url, autocommit=True) as admin:  # as if `a` were killed
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                " AND classid = %s AND objid = %s AND objsubid = 1",
                (key >> 32, key & 0xFFFFFFFF),
            ).fetchall()
        assert ended == [(True,)]
        async with b.claim("file-sweep") as taken_over:
            assert taken_over is True


async def test_a_job_runs_on_one_process_while_the_others_skip_it(processes):
    a, b = processes
    started, finish = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    async def sweep(where: str) -> None:
        runs.append(where)
        started.set()
        await finish.wait()

    on_a = asyncio.create_task(one_at_a_time(a, "file-sweep", lambda: sweep("a"))())
    await asyncio.wait_for(started.wait(), 10)
    await asyncio.wait_for(one_at_a_time(b, "file-sweep", lambda: sweep("b"))(), 10)
    assert runs == ["a"]  # b's turn came while a was sweeping: skipped, not queued
    finish.set()
    await asyncio.wait_for(on_a, 10)
    await asyncio.wait_for(one_at_a_time(b, "file-sweep", lambda: sweep("b"))(), 10)
    assert runs == ["a", "b"]


def test_job_locks_are_apart_from_the_stores_own():
    names = ["expired-sessions", "event-pruning", "file-temps", "file-sweep"]
    keys = {job_lock(name) for name in names}
    assert len(keys) == len(names)
    assert not keys & {WRITE_LOCK, MIGRATE_LOCK}
    assert all(0 < key < 2**63 for key in keys)  # PostgreSQL's bigint


async def test_on_sqlite_the_one_process_always_runs_its_jobs(tmp_path: Path):
    database = Database(tmp_path / "hearth.db", read_connections=1, migrations=[NOTES])
    await database.open()
    try:
        async with database.claim("file-sweep") as first, database.claim("file-sweep") as again:
            assert (first, again) == (True, True)
    finally:
        await database.close()


async def test_a_claim_is_let_go_before_its_connection_closes(processes, monkeypatch):
    # Closing the connection alone lets go only once the server has ended its session, a
    # moment after the close: another process asking at once was sometimes refused (seen
    # in CI). So the lock must already be free when the claim's connection closes.
    a, _b = processes
    key = job_lock("file-sweep")
    held_at_close: list[int] = []
    close = Connection.close

    with psycopg.connect(a.engine.url, autocommit=True) as admin:

        async def noting_close(conn: Connection) -> None:
            row = admin.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND classid = %s AND objid = %s AND objsubid = 1",
                (key >> 32, key & 0xFFFFFFFF),
            ).fetchone()
            held_at_close.append(row[0] if row else -1)
            await close(conn)

        monkeypatch.setattr(Connection, "close", noting_close)
        async with a.claim("file-sweep") as mine:
            assert mine is True
        with pytest.raises(RuntimeError):
            async with a.claim("file-sweep"):
                raise RuntimeError("the job failed")
    assert held_at_close == [0, 0]
