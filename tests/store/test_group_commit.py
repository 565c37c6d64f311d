"""Group commit: concurrent writers share one COMMIT, yet each sees only its own failure and
returns only once its work is on disk."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from appliance.store.db import Database
from tests.support import sqlite


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(tmp_path / "hearth.db", read_connections=1)
    await database.open()
    yield database
    await database.close()


def _count(path: Path) -> int:
    with sqlite.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM settings").fetchone()[0])


async def test_concurrent_writers_share_commits_and_all_land(db, monkeypatch):
    commits = 0
    writer = db._writer
    original = writer.commit

    async def counting_commit() -> None:
        nonlocal commits
        commits += 1
        await original()

    monkeypatch.setattr(writer, "commit", counting_commit)

    async def put(i: int) -> None:
        async with db.write() as tx:
            await tx.execute("INSERT INTO settings (key, value) VALUES (?, 'v')", (f"k{i}",))
        # Returned means committed: a separate connection sees the row.
        with sqlite.connect(db.path) as conn:
            assert conn.execute("SELECT 1 FROM settings WHERE key = ?", (f"k{i}",)).fetchone()

    await asyncio.gather(*(put(i) for i in range(300)))
    assert _count(db.path) == 300
    assert 2 <= commits < 100  # batched, yet never more than 256 in one


async def test_a_failing_writer_rolls_back_only_its_own_work(db):
    async def good(i: int) -> None:
        async with db.write() as tx:
            await tx.execute("INSERT INTO settings (key, value) VALUES (?, 'v')", (f"g{i}",))

    async def bad() -> None:
        async with db.write() as tx:
            await tx.execute("INSERT INTO settings (key, value) VALUES ('bad', 'v')")
            raise ValueError("changed my mind")

    results = await asyncio.gather(
        *(good(i) for i in range(20)), bad(), *(good(i) for i in range(20, 40)),
        return_exceptions=True,
    )  # fmt: skip
    assert [r for r in results if r is not None] == [results[20]]
    assert isinstance(results[20], ValueError)
    assert _count(db.path) == 40
    with sqlite.connect(db.path) as conn:
        assert conn.execute("SELECT 1 FROM settings WHERE key = 'bad'").fetchone() is None


async def test_a_constraint_error_leaves_the_batch_intact(db):
    async with db.write() as tx:
        await tx.execute("INSERT INTO settings (key, value) VALUES ('dup', 'v')")

    async def duplicate() -> None:
        async with db.write() as tx:
            await tx.execute("INSERT INTO settings (key, value) VALUES ('dup', 'again')")

    async def fine() -> None:
        async with db.write() as tx:
            await tx.execute("INSERT INTO settings (key, value) VALUES ('fine', 'v')")

    results = await asyncio.gather(duplicate(), fine(), return_exceptions=True)
    assert isinstance(results[0], sqlite3.IntegrityError)
    assert results[1] is None
    assert _count(db.path) == 2


def test_the_aiosqlite_internals_write_in_thread_uses_are_there():
    # Database.write_in_thread queues a function on the writer's thread with aiosqlite's private
    # Connection._execute and hands it Connection._conn. If an aiosqlite upgrade renames them,
    # say so here rather than in every send.
    import aiosqlite

    assert callable(getattr(aiosqlite.Connection, "_execute", None))
    assert isinstance(getattr(aiosqlite.Connection, "_conn", None), property)


async def test_write_in_thread_joins_batches_and_rolls_back_its_own_savepoint(db):
    def put(key: str, fail: bool = False):
        def job(conn: sqlite3.Connection) -> str:
            conn.execute("INSERT INTO settings (key, value) VALUES (?, 'v')", (key,))
            if fail:
                raise LookupError(key)
            return key

        return db.write_in_thread(job)

    async def classic(i: int) -> None:
        async with db.write() as tx:
            await tx.execute("INSERT INTO settings (key, value) VALUES (?, 'v')", (f"c{i}",))

    results = await asyncio.gather(
        put("t1"), classic(1), put("bad", fail=True), put("t2"), classic(2),
        return_exceptions=True,
    )  # fmt: skip
    assert results[0] == "t1" and results[3] == "t2"
    assert isinstance(results[2], LookupError)
    with sqlite.connect(db.path) as conn:
        keys = {row[0] for row in conn.execute("SELECT key FROM settings")}
    assert keys == {"t1", "t2", "c1", "c2"}
