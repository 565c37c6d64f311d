"""SQL for each member's own view of a chat (mute, archive, hide, clear) and starred messages."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from appliance.store.db import fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class PrefsRow:
    chat_id: int
    user_id: int
    muted_until: int | None = None
    archived_through: int | None = None
    hidden_through: int | None = None
    cleared_through: int = 0


_COLUMNS = "chat_id, user_id, muted_until, archived_through, hidden_through, cleared_through"


async def get(conn: aiosqlite.Connection, chat_id: int, user_id: int) -> PrefsRow:
    row = await fetch_one(
        conn,
        f"SELECT {_COLUMNS} FROM chat_prefs WHERE chat_id = ? AND user_id = ?",
        (chat_id, user_id),
    )
    return PrefsRow(chat_id, user_id) if row is None else PrefsRow(*row)


async def for_user(conn: aiosqlite.Connection, user_id: int) -> dict[int, PrefsRow]:
    rows = await fetch_all(conn, f"SELECT {_COLUMNS} FROM chat_prefs WHERE user_id = ?", (user_id,))
    return {row[0]: PrefsRow(*row) for row in rows}


async def put(tx: aiosqlite.Connection, prefs: PrefsRow) -> None:
    await tx.execute(
        f"INSERT INTO chat_prefs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (chat_id, user_id) DO UPDATE SET muted_until = excluded.muted_until,"
        " archived_through = excluded.archived_through,"
        " hidden_through = excluded.hidden_through, cleared_through = excluded.cleared_through",
        (
            prefs.chat_id,
            prefs.user_id,
            prefs.muted_until,
            prefs.archived_through,
            prefs.hidden_through,
            prefs.cleared_through,
        ),
    )


# --- stars -----------------------------------------------------------------------------------


async def star(tx: aiosqlite.Connection, user_id: int, message_id: int, now: int) -> bool:
    cur = await tx.execute(
        "INSERT INTO message_stars (user_id, message_id, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (user_id, message_id, now),
    )
    return cur.rowcount > 0


async def unstar(tx: aiosqlite.Connection, user_id: int, message_id: int) -> bool:
    cur = await tx.execute(
        "DELETE FROM message_stars WHERE user_id = ? AND message_id = ?", (user_id, message_id)
    )
    return cur.rowcount > 0


async def starred_ids(conn: aiosqlite.Connection, user_id: int, limit: int) -> list[int]:
    """The user's starred messages, latest starred first, in chats they are still in and
    neither deleted, hidden nor cleared for them."""
    rows = await fetch_all(
        conn,
        "SELECT s.message_id FROM message_stars s JOIN messages m ON m.id = s.message_id"
        " JOIN chat_members c ON c.chat_id = m.chat_id AND c.user_id = s.user_id"
        " LEFT JOIN chat_prefs p ON p.chat_id = m.chat_id AND p.user_id = s.user_id"
        " WHERE s.user_id = ?1 AND m.deleted_at IS NULL AND m.id > coalesce(p.cleared_through, 0)"
        " AND NOT EXISTS (SELECT 1 FROM message_hidden h"
        "                 WHERE h.user_id = s.user_id AND h.message_id = m.id)"
        " ORDER BY s.created_at DESC, s.message_id DESC LIMIT ?2",
        (user_id, limit),
    )
    return [row[0] for row in rows]


async def is_starred(conn: aiosqlite.Connection, user_id: int, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    rows = await fetch_all(
        conn,
        f"SELECT message_id FROM message_stars WHERE user_id = ? AND message_id IN ({marks})",
        (user_id, *ids),
    )
    return {row[0] for row in rows}
