"""SQL for the event log: appended in the same transaction as the change, replayed by seq."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import aiosqlite

PRUNED_THROUGH_KEY = "events_pruned_through"
_INSERT = (
    "INSERT INTO events (chat_id, user_id, type, data, created_at, message_id)"
    " VALUES (?, ?, ?, ?, ?, ?) RETURNING seq"
)


@dataclass(frozen=True, slots=True)
class EventRow:
    seq: int
    chat_id: int | None
    user_id: int | None
    type: str
    data: str  # JSON text, sent as stored


@dataclass(slots=True)
class Queued:
    """An event that a PostgreSQL transaction numbers when it commits (postgres.AtCommit);
    `row` gets its seq then, before anyone outside the transaction sees it."""

    row: EventRow
    data: str  # what is stored: the message's state as of the commit
    created_at: int
    message_id: int | None


async def latest_seq(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT coalesce(max(seq), 0) FROM events") as cur:
        row = await cur.fetchone()
    latest = int(row[0]) if row else 0
    # After pruning everything the table may be empty; the pruned mark still counts.
    return max(latest, await pruned_through(conn))


async def pruned_through(conn: aiosqlite.Connection) -> int:
    async with conn.execute(
        "SELECT value FROM settings WHERE key = ?", (PRUNED_THROUGH_KEY,)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def for_user_since(
    conn: aiosqlite.Connection, user_id: int, after: int, limit: int
) -> list[EventRow]:
    """Events after seq `after` for `user_id`: their own, and their chats' (as of now)."""
    async with conn.execute(
        "SELECT seq, chat_id, user_id, type, data FROM events WHERE seq > ?1 AND"
        " (user_id = ?2 OR chat_id IN (SELECT chat_id FROM chat_members WHERE user_id = ?2))"
        " ORDER BY seq LIMIT ?3",
        (after, user_id, limit),
    ) as cur:
        return [EventRow(*row) for row in await cur.fetchall()]


async def between(conn: aiosqlite.Connection, after: int, before: int) -> list[EventRow]:
    """Every event with after < seq < before, in order (a relay filling a gap)."""
    async with conn.execute(
        "SELECT seq, chat_id, user_id, type, data FROM events WHERE seq > ? AND seq < ?"
        " ORDER BY seq",
        (after, before),
    ) as cur:
        return [EventRow(*row) for row in await cur.fetchall()]


async def prune(tx: aiosqlite.Connection, older_than: int) -> int:
    """Delete events created before `older_than` (ms); returns how many."""
    async with tx.execute("SELECT max(seq) FROM events WHERE created_at < ?", (older_than,)) as cur:
        row = await cur.fetchone()
    through = row[0] if row else None
    if through is None:
        return 0
    cursor = await tx.execute("DELETE FROM events WHERE seq <= ?", (through,))
    await tx.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (PRUNED_THROUGH_KEY, str(through)),
    )
    return cursor.rowcount


def append(
    conn: sqlite3.Connection,
    type: str,
    data: str,
    now: int,
    *,
    chat_id: int | None = None,
    user_id: int | None = None,
    message_id: int | None = None,
) -> EventRow:
    """Write an event in the open transaction (a plain sqlite3 function: services run it with
    `db.on_thread`, a job on the writer's thread calls it directly). `data` is JSON text;
    `message_id` names the message whose current state `data` is, so it can be rewritten.

    On PostgreSQL the event is only queued here, and numbered when its transaction commits
    (postgres.py says why): its seq is 0 until then."""
    later = getattr(conn, "at_commit", None)
    if later is not None:
        queued = Queued(EventRow(0, chat_id, user_id, type, data), data, now, message_id)
        later.events.append(queued)
        return queued.row
    row = conn.execute(_INSERT, (chat_id, user_id, type, data, now, message_id)).fetchone()
    return EventRow(row[0], chat_id, user_id, type, data)


def number(conn: sqlite3.Connection, queued: list[Queued]) -> None:
    """Insert queued events in one statement, in order, and give each its seq (PostgreSQL,
    at commit, under the write lock)."""
    if not queued:
        return
    marks = ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(queued))
    values = [
        value
        for each in queued
        for value in (
            each.row.chat_id, each.row.user_id, each.row.type, each.data, each.created_at,
            each.message_id,
        )
    ]  # fmt: skip
    rows = conn.execute(
        "INSERT INTO events (chat_id, user_id, type, data, created_at, message_id)"
        f" VALUES {marks} RETURNING seq",
        values,
    ).fetchall()
    # The seqs are drawn in VALUES order.
    for each, (seq,) in zip(queued, sorted(rows), strict=True):
        object.__setattr__(each.row, "seq", seq)


def rewrite_message(conn: sqlite3.Connection, message_id: int, data: str) -> None:
    """Every stored event that carries this message now carries `data`, its current state:
    replay never shows text deleted or edited away (a plain sqlite3 function). Events still
    queued in this transaction are stored that way too."""
    conn.execute("UPDATE events SET data = ? WHERE message_id = ?", (data, message_id))
    later = getattr(conn, "at_commit", None)
    for each in later.events if later is not None else ():
        if each.message_id == message_id:
            each.data = data
