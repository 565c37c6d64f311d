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
    `message_id` names the message whose current state `data` is, so it can be rewritten."""
    row = conn.execute(_INSERT, (chat_id, user_id, type, data, now, message_id)).fetchone()
    return EventRow(row[0], chat_id, user_id, type, data)


def rewrite_message(conn: sqlite3.Connection, message_id: int, data: str) -> None:
    """Every stored event that carries this message now carries `data`, its current state:
    replay never shows text deleted or edited away (a plain sqlite3 function)."""
    conn.execute("UPDATE events SET data = ? WHERE message_id = ?", (data, message_id))
