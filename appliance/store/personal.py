"""SQL for a person's own data: what an export holds, and scrubbing an account that is deleted."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from appliance.store.db import dialect, fetch_all


@dataclass(frozen=True, slots=True)
class OwnMessage:
    id: int
    chat_id: int
    chat_kind: str
    chat_name: str
    body: str
    created_at: int
    edited_at: int | None
    file_ids: str  # comma-separated ids of its attachments, "" for none


@dataclass(frozen=True, slots=True)
class OwnFile:
    id: int
    sha256: str
    name: str
    type: str
    size: int
    created_at: int


async def messages_of(conn: aiosqlite.Connection, user_id: int) -> list[OwnMessage]:
    """What `user_id` wrote and did not delete, oldest first, with the chat's name as they saw
    it (a direct chat is named after the other person)."""
    # SQLite 3.40 has no string_agg, PostgreSQL no group_concat.
    files = (
        "group_concat(file_id)" if dialect(conn) == "sqlite" else "string_agg(file_id::text, ',')"
    )
    rows = await fetch_all(
        conn,
        "SELECT m.id, m.chat_id, c.kind,"
        " CASE WHEN c.kind = 'direct' THEN coalesce((SELECT coalesce(nullif(u.display_name, ''),"
        "   u.username) FROM chat_members cm JOIN users u ON u.id = cm.user_id"
        "   WHERE cm.chat_id = c.id AND cm.user_id != ?1 LIMIT 1), '') ELSE c.title END,"
        " m.body, m.created_at, m.edited_at,"
        f" coalesce((SELECT {files} FROM message_files mf"
        "   WHERE mf.message_id = m.id), '')"
        " FROM messages m JOIN chats c ON c.id = m.chat_id"
        " WHERE m.sender_id = ?1 AND m.deleted_at IS NULL AND m.kind = 'text' ORDER BY m.id",
        (user_id,),
    )
    return [OwnMessage(*row) for row in rows]


async def live_messages_of(
    conn: aiosqlite.Connection, user_id: int, limit: int
) -> list[tuple[int, int]]:
    """(message id, chat id) of up to `limit` messages `user_id` sent that are not deleted."""
    rows = await fetch_all(
        conn,
        "SELECT id, chat_id FROM messages WHERE sender_id = ? AND deleted_at IS NULL"
        " AND kind = 'text' ORDER BY id LIMIT ?",
        (user_id, limit),
    )
    return [(int(row[0]), int(row[1])) for row in rows]


async def files_of(conn: aiosqlite.Connection, user_id: int) -> list[OwnFile]:
    rows = await fetch_all(
        conn,
        "SELECT id, sha256, name, type, size, created_at FROM files WHERE owner_id = ? ORDER BY id",
        (user_id,),
    )
    return [OwnFile(*row) for row in rows]


async def scrub_account(
    tx: aiosqlite.Connection, user_id: int, password_hash: str, now: int
) -> None:
    """Keep the row (messages keep a sender, as "Deleted user") but nothing of the person:
    no name, email, bio, status or picture (the sweep removes the picture's file), a password
    nobody knows, disabled."""
    await tx.execute(
        "UPDATE users SET username = ?, email = NULL, display_name = 'Deleted user', bio = '',"
        " status_text = '', avatar_file_id = NULL, password_hash = ?, is_admin = 0,"
        " disabled_at = ?, updated_at = ?"
        " WHERE id = ?",
        (f"deleted-{user_id}", password_hash, now, now, user_id),
    )
    await tx.execute("DELETE FROM contacts WHERE user_id = ? OR other_id = ?", (user_id, user_id))
    await tx.execute(
        "DELETE FROM blocks WHERE blocker_id = ? OR blocked_id = ?", (user_id, user_id)
    )
