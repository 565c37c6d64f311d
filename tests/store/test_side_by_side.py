"""Several processes' write transactions on one PostgreSQL, with `storage.parallel_writes`,
run side by side (issue 10): each numbers its events and moves its chats' activity only at
its commit, under the one write lock (store/postgres.py). Without it they take turns, and
message ids are committed in order too. Each process is a `Database` here, as in
`hearth serve`.

What must hold: a reader never sees event N before an earlier one; a job undone within its
batch takes its events with it; a message rewritten in the transaction that sent it is
stored rewritten; two processes sending into the same chats in crossed order never
deadlock; a rule that runs `alone` waits for the other process's run of it; and a real
deadlock undoes one job, which may run again once its batch is over."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import psycopg
import pytest

from appliance.store import chats, events, messages, users
from appliance.store.db import Database, alone_in, on_thread
from appliance.store.errors import ContentionError
from tests.support import engines
from tests.support.waiting import eventually

NOW = 1_700_000_000_000


@pytest.fixture
async def pair(
    server: engines.Postgres, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Database, Database]]:
    """Two processes' databases on one PostgreSQL database, with Hearth's schema; writing
    side by side unless the test is marked `taking_turns`."""
    url = server.create_database(f"side_{request.node.name.lower()[:40]}")
    parallel = "taking_turns" not in request.node.name
    first, second = (Database(url, read_connections=1, parallel_writes=parallel) for _ in "12")
    await first.open()
    await second.open()
    yield first, second
    await first.close()
    await second.close()


def _rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(db.engine.url) as conn:  # type: ignore[attr-defined]
        return list(conn.execute(sql).fetchall())


async def _people_and_chats(db: Database) -> tuple[int, int, int, int]:
    """Two people, both in two groups: (ada, bo, first chat, second chat)."""
    async with db.write() as tx:
        ids = [
            (
                await users.create(
                    tx, username=name, email=None, password_hash="x", display_name=name,
                    is_admin=False, now=NOW,
                )
            ).id
            for name in ("ada", "bo")
        ]  # fmt: skip
        rooms = []
        for title in ("one", "two"):
            chat = await chats.create(
                tx, kind="group", title=title, topic="", is_public=False, created_by=ids[0],
                now=NOW,
            )  # fmt: skip
            for user_id in ids:
                await chats.add_member(tx, chat.id, user_id, "member", NOW)
            rooms.append(chat.id)
    return ids[0], ids[1], rooms[0], rooms[1]


async def _queued_on_a_lock(db: Database) -> None:
    """Until another transaction waits for an advisory lock (the write lock or a topic's)."""

    def waiting() -> bool:
        query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        return bool(_rows(db, query)[0][0])

    await eventually(waiting, what="a transaction queued on an advisory lock")


def _event(conn: sqlite3.Connection, text: str, message_id: int | None = None) -> None:
    events.append(conn, "note", f'"{text}"', NOW, message_id=message_id)


async def test_transactions_overlap_yet_events_are_committed_in_number_order(pair):
    first, second = pair
    opened, other_done = asyncio.Event(), asyncio.Event()

    async def long_transaction() -> None:
        async with first.write() as tx:
            await on_thread(tx, _event, "first")
            opened.set()
            await other_done.wait()  # a write lock taken at BEGIN would block `second` here

    async def short_transaction() -> None:
        await opened.wait()
        await second.write_in_thread(lambda conn: _event(conn, "second"))
        other_done.set()

    await asyncio.wait_for(asyncio.gather(long_transaction(), short_transaction()), 10)
    assert _rows(first, "SELECT data FROM events ORDER BY seq") == [('"second"',), ('"first"',)]

    # Under load, a reader never sees a later event before an earlier one.
    stop = asyncio.Event()
    holes: list[tuple[int, int]] = []

    async def write(db: Database, name: str) -> None:
        for i in range(150):
            await db.write_in_thread(lambda conn, i=i: _event(conn, f"{name}{i}"))

    async def watch() -> None:
        async with first.read() as conn:
            while not stop.is_set():
                rows = await conn.execute_fetchall("SELECT count(*), max(seq) FROM events")
                count, top = rows[0]
                if top is not None and count != top:
                    holes.append((count, top))
                await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    try:
        await asyncio.gather(write(first, "a"), write(second, "b"), write(first, "c"))
    finally:
        stop.set()
        await watcher
    assert not holes, f"a reader saw later events before earlier ones: {holes[:5]}"
    assert _rows(first, "SELECT count(*), max(seq) FROM events") == [(452, 452)]


async def test_by_default_processes_writes_are_taking_turns_so_ids_commit_in_order(pair):
    """Without parallel_writes, a transaction takes the lock at BEGIN: another process's
    write waits for it, so the message it sends later has the higher id as well as the
    higher event number (with parallel_writes the ids can cross, the events never do)."""
    first, second = pair
    ada, bo, one, _ = await _people_and_chats(first)
    opened = asyncio.Event()
    order: list[str] = []

    async def long_transaction() -> None:
        async with first.write() as tx:
            await messages.create(
                tx, chat_id=one, sender_id=ada, client_id="a", body="first", now=NOW
            )
            await on_thread(tx, _event, "first")
            opened.set()
            await _queued_on_a_lock(first)  # the other process's write waits for ours
            order.append("first commits")

    async def other_write() -> None:
        await opened.wait()
        async with second.write() as tx:
            order.append("second writes")
            await messages.create(
                tx, chat_id=one, sender_id=bo, client_id="b", body="second", now=NOW
            )
            await on_thread(tx, _event, "second")

    await asyncio.wait_for(asyncio.gather(long_transaction(), other_write()), 10)
    assert order == ["first commits", "second writes"]
    assert [body for (body,) in _rows(first, "SELECT body FROM messages ORDER BY id")] == [
        "first", "second",
    ]  # fmt: skip
    assert _rows(first, "SELECT data FROM events ORDER BY seq") == [('"first"',), ('"second"',)]


async def test_an_undone_jobs_events_go_and_its_neighbours_keep_theirs(pair):
    first, _ = pair
    returned: list[events.EventRow] = []

    def job(conn: sqlite3.Connection, name: str) -> None:
        returned.append(events.append(conn, "note", f'"{name}"', NOW))
        if name == "undone":
            raise ValueError("this job fails")

    results = await asyncio.gather(
        *(first.write_in_thread(lambda conn, n=n: job(conn, n)) for n in ("a", "undone", "b")),
        return_exceptions=True,
    )
    assert isinstance(results[1], ValueError)
    stored = _rows(first, "SELECT seq, data FROM events ORDER BY seq")
    assert [data for _, data in stored] == ['"a"', '"b"']
    assert [seq for seq, _ in stored] == [1, 2]  # numbered at commit: no gap for the undone
    kept = {row.data: row.seq for row in returned if row.data != '"undone"'}
    assert kept == {'"a"': 1, '"b"': 2}  # what the jobs were given carries the stored seq


async def test_a_message_rewritten_in_the_transaction_that_sent_it_is_stored_rewritten(pair):
    first, _ = pair

    def send_then_delete(conn: sqlite3.Connection) -> None:
        _event(conn, "secret text", message_id=7)
        events.rewrite_message(conn, 7, '"deleted"')

    await first.write_in_thread(send_then_delete)
    assert _rows(first, "SELECT data FROM events WHERE message_id = 7") == [('"deleted"',)]


async def test_two_processes_sending_into_two_chats_in_crossed_order_do_not_deadlock(pair):
    """Each transaction writes one chat, then waits for the other's, then writes the other
    chat. With each chat's latest message written by trigger, mid-transaction, this was a
    deadlock (PostgreSQL undid one after a second)."""
    first, second = pair
    ada, bo, one, two = await _people_and_chats(first)
    halfway = [asyncio.Event(), asyncio.Event()]

    async def send(db: Database, me: int, order: tuple[int, int], mine: int) -> None:
        async with db.write() as tx:
            for step, chat_id in enumerate(order):
                await messages.create(
                    tx, chat_id=chat_id, sender_id=me, client_id=f"{me}-{chat_id}",
                    body="hi", now=NOW + step,
                )  # fmt: skip
                if step == 0:
                    halfway[mine].set()
                    await halfway[1 - mine].wait()

    await asyncio.wait_for(
        asyncio.gather(send(first, ada, (one, two), 0), send(second, bo, (two, one), 1)), 10
    )
    latest = dict(_rows(first, "SELECT chat_id, max(id) FROM messages GROUP BY chat_id"))
    assert dict(_rows(first, "SELECT id, last_message_id FROM chats")) == latest
    assert len(latest) == 2
    reads = _rows(first, "SELECT user_id, chat_id, last_read_id FROM chat_members")
    mine = dict(
        ((user, chat), message)
        for message, chat, user in _rows(first, "SELECT id, chat_id, sender_id FROM messages")
    )
    assert {(user, chat): last for user, chat, last in reads} == mine  # read what they sent


async def test_a_rule_run_alone_waits_for_the_other_processs_run_to_commit(pair):
    first, second = pair
    order: list[str] = []
    holding = asyncio.Event()

    async def first_run() -> None:
        async with first.write() as tx:
            await alone_in(tx, "admins")
            holding.set()
            await _queued_on_a_lock(first)  # the other process's run waits for ours
            order.append("first commits")

    async def second_run() -> None:
        await holding.wait()
        async with second.write() as tx:
            await alone_in(tx, "admins")
            order.append("second runs")

    await asyncio.wait_for(asyncio.gather(first_run(), second_run()), 10)
    assert order == ["first commits", "second runs"]

    async def other_topic() -> None:  # another rule's lock is another lock
        async with second.write() as tx:
            await alone_in(tx, "direct:1:2")

    async with first.write() as tx:
        await alone_in(tx, "admins")
        await asyncio.wait_for(other_topic(), 5)


async def test_a_real_deadlock_undoes_one_job_which_may_run_again_after_its_batch(pair):
    """Read marks are still written mid-transaction (one person's, in a chat): the same
    person on two processes, marking two chats in crossed order, is a true deadlock."""
    first, second = pair
    ada, _, one, two = await _people_and_chats(first)
    halfway = [asyncio.Event(), asyncio.Event()]

    def mark(conn: sqlite3.Connection, chat_id: int, value: int) -> None:
        conn.execute(
            "UPDATE chat_members SET last_read_id = ? WHERE chat_id = ? AND user_id = ?",
            (value, chat_id, ada),
        )

    async def run(db: Database, order: tuple[int, int], mine: int) -> str:
        loop = asyncio.get_running_loop()

        def job(conn: sqlite3.Connection) -> None:
            mark(conn, order[0], 10 + mine)
            loop.call_soon_threadsafe(halfway[mine].set)
            asyncio.run_coroutine_threadsafe(halfway[1 - mine].wait(), loop).result(5)
            mark(conn, order[1], 10 + mine)

        try:
            await db.write_in_thread(job)
        except ContentionError:
            await db.write_in_thread(lambda conn: mark(conn, order[1], 20 + mine))
            return "undone, then ran again"
        return "committed"

    outcomes = await asyncio.wait_for(
        asyncio.gather(run(first, (one, two), 0), run(second, (two, one), 1)), 15
    )
    assert sorted(outcomes) == ["committed", "undone, then ran again"]
