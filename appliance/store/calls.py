"""SQL for calls: the call rows, who took part and when, the call log of a chat."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import aiosqlite

from appliance.store.db import fetch_all, fetch_one

_FIELDS = (
    "id", "chat_id", "kind", "started_by", "started_at", "answered_at", "ended_at", "outcome",
    "message_id",
)  # fmt: skip
_COLUMNS = ", ".join(_FIELDS)
_C_COLUMNS = ", ".join(f"c.{name}" for name in _FIELDS)


@dataclass(frozen=True, slots=True)
class CallRow:
    id: int
    chat_id: int
    kind: str
    started_by: int | None
    started_at: int
    answered_at: int | None
    ended_at: int | None
    outcome: str | None
    message_id: int | None

    @property
    def duration_seconds(self) -> int | None:
        """From the answer to the end; None for a call never answered or not over yet."""
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0, self.ended_at - self.answered_at) // 1000


def _call(row: aiosqlite.Row | sqlite3.Row) -> CallRow:
    return CallRow(*row)


async def create(
    tx: aiosqlite.Connection, *, chat_id: int, kind: str, started_by: int, now: int
) -> CallRow:
    row = await fetch_one(
        tx,
        "INSERT INTO calls (chat_id, kind, started_by, started_at) VALUES (?, ?, ?, ?)"
        " RETURNING id",
        (chat_id, kind, started_by, now),
    )
    assert row is not None
    return CallRow(row[0], chat_id, kind, started_by, now, None, None, None, None)


async def get(conn: aiosqlite.Connection, call_id: int) -> CallRow | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM calls WHERE id = ?", (call_id,))
    return None if row is None else _call(row)


async def answer(tx: aiosqlite.Connection, call_id: int, now: int) -> None:
    await tx.execute(
        "UPDATE calls SET answered_at = ? WHERE id = ? AND answered_at IS NULL", (now, call_id)
    )


async def finish(
    tx: aiosqlite.Connection, call_id: int, *, now: int, outcome: str
) -> CallRow | None:
    """End a call and close every stint still open; None when it had already ended."""
    row = await fetch_one(
        tx,
        "UPDATE calls SET ended_at = ?, outcome = ? WHERE id = ? AND ended_at IS NULL"
        f" RETURNING {_COLUMNS}",
        (now, outcome, call_id),
    )
    await tx.execute(
        "UPDATE call_participants SET left_at = ? WHERE call_id = ? AND left_at IS NULL",
        (now, call_id),
    )
    return None if row is None else _call(row)


async def set_message(tx: aiosqlite.Connection, call_id: int, message_id: int) -> None:
    await tx.execute("UPDATE calls SET message_id = ? WHERE id = ?", (message_id, call_id))


async def joined(tx: aiosqlite.Connection, call_id: int, user_id: int, now: int) -> None:
    await tx.execute(
        "INSERT INTO call_participants (call_id, user_id, joined_at) VALUES (?, ?, ?)",
        (call_id, user_id, now),
    )


async def left(tx: aiosqlite.Connection, call_id: int, user_id: int, now: int) -> None:
    await tx.execute(
        "UPDATE call_participants SET left_at = ?"
        " WHERE call_id = ? AND user_id = ? AND left_at IS NULL",
        (now, call_id, user_id),
    )


async def took_part(conn: aiosqlite.Connection, call_ids: list[int]) -> dict[int, list[int]]:
    """call id -> the people who were in it at some point, in the order they first joined."""
    if not call_ids:
        return {}
    marks = ",".join("?" * len(call_ids))
    rows = await fetch_all(
        conn,
        f"SELECT call_id, user_id FROM call_participants WHERE call_id IN ({marks})"
        " GROUP BY call_id, user_id ORDER BY call_id, min(joined_at), user_id",
        call_ids,
    )
    found: dict[int, list[int]] = {call_id: [] for call_id in call_ids}
    for call_id, user_id in rows:
        found[call_id].append(user_id)
    return found


async def for_user(
    conn: aiosqlite.Connection,
    user_id: int,
    *,
    chat_id: int | None = None,
    ongoing: bool = False,
    limit: int = 50,
) -> list[CallRow]:
    """Calls in the chats `user_id` is in, newest first; only unfinished ones if `ongoing`."""
    sql = (
        f"SELECT {_C_COLUMNS} FROM calls c"
        " JOIN chat_members m ON m.chat_id = c.chat_id AND m.user_id = :user WHERE TRUE"
    )
    params: dict[str, object] = {"user": user_id, "limit": limit}
    if chat_id is not None:
        sql += " AND c.chat_id = :chat"
        params["chat"] = chat_id
    if ongoing:
        sql += " AND c.ended_at IS NULL"
    sql += " ORDER BY c.id DESC LIMIT :limit"
    return [_call(row) for row in await fetch_all(conn, sql, params)]


async def unfinished(conn: aiosqlite.Connection) -> list[CallRow]:
    rows = await fetch_all(conn, f"SELECT {_COLUMNS} FROM calls WHERE ended_at IS NULL")
    return [_call(row) for row in rows]


async def by_messages(conn: aiosqlite.Connection, message_ids: list[int]) -> dict[int, CallRow]:
    """message id -> the call whose log it is."""
    if not message_ids:
        return {}
    marks = ",".join("?" * len(message_ids))
    rows = await fetch_all(
        conn, f"SELECT {_COLUMNS} FROM calls WHERE message_id IN ({marks})", message_ids
    )
    return {row[8]: _call(row) for row in rows}
