"""SQL for a person's activity: mentions of them, replies to their messages, reactions to
their messages, replies in threads they follow and calls they missed, across the chats they
are in, newest first. Read from
the tables that hold each (no copy to keep in step): each branch starts from an index on the
person (message_mentions_user, the messages sender index, calls_chat)."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from appliance.store.db import fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class ActivityRow:
    kind: str  # mention | reply | reaction | thread_reply | missed_call
    at: int
    chat_id: int
    message_id: int
    actor_id: int | None
    emoji: str | None


# ?1: the person. Every branch: (kind, at, chat_id, message_id, actor_id, emoji).
_ITEMS = """
SELECT 'mention' AS kind, g.created_at AS at, g.chat_id AS chat_id, g.id AS message_id,
       g.sender_id AS actor_id, NULL AS emoji
  FROM message_mentions x JOIN messages g ON g.id = x.message_id
 WHERE x.user_id = ?1 AND g.sender_id != ?1
UNION ALL
SELECT 'reply', g.created_at, g.chat_id, g.id, g.sender_id, NULL
  FROM messages mine JOIN messages g ON g.reply_to = mine.id
 WHERE mine.sender_id = ?1 AND g.sender_id != ?1
   AND NOT EXISTS (SELECT 1 FROM message_mentions x WHERE x.message_id = g.id AND x.user_id = ?1)
UNION ALL
SELECT 'reaction', r.created_at, mine.chat_id, mine.id, r.user_id, r.emoji
  FROM messages mine JOIN reactions r ON r.message_id = mine.id
 WHERE mine.sender_id = ?1 AND r.user_id != ?1
UNION ALL
SELECT 'thread_reply', g.created_at, g.chat_id, g.id, g.sender_id, NULL
  FROM (SELECT coalesce(thread_root_id, id) AS root FROM messages WHERE sender_id = ?1
        UNION SELECT root_id FROM thread_reads WHERE user_id = ?1) AS followed
  JOIN messages g ON g.thread_root_id = followed.root
 WHERE g.sender_id != ?1
   AND NOT EXISTS (SELECT 1 FROM message_mentions x WHERE x.message_id = g.id AND x.user_id = ?1)
   AND NOT EXISTS (SELECT 1 FROM messages r WHERE r.id = g.reply_to AND r.sender_id = ?1)
UNION ALL
SELECT 'missed_call', g.created_at, g.chat_id, g.id, c.started_by, NULL
  FROM chat_members cm JOIN calls c ON c.chat_id = cm.chat_id
  JOIN messages g ON g.id = c.message_id
 WHERE cm.user_id = ?1 AND g.created_at >= cm.joined_at
   AND NOT EXISTS (SELECT 1 FROM call_participants p WHERE p.call_id = c.id AND p.user_id = ?1)
"""

# Only what the person can still see: chats they are in, messages neither deleted, hidden nor
# cleared for them, from people they have not blocked.
_VISIBLE = f"""
SELECT a.kind, a.at, a.chat_id, a.message_id, a.actor_id, a.emoji
  FROM ({_ITEMS}) AS a
  JOIN chat_members c ON c.chat_id = a.chat_id AND c.user_id = ?1
  JOIN messages m ON m.id = a.message_id
  LEFT JOIN chat_prefs p ON p.chat_id = a.chat_id AND p.user_id = ?1
 WHERE m.deleted_at IS NULL AND m.id > coalesce(p.cleared_through, 0)
   AND NOT EXISTS (SELECT 1 FROM message_hidden h WHERE h.user_id = ?1 AND h.message_id = m.id)
   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = ?1 AND b.blocked_id = a.actor_id)
"""


async def items(
    conn: aiosqlite.Connection, user_id: int, *, before: tuple[int, int] | None, limit: int
) -> list[ActivityRow]:
    """Newest first; `before`: (time in ms, message id) of the last item of the page before."""
    at, message_id = before if before is not None else (1 << 62, 0)
    rows = await fetch_all(
        conn,
        f"SELECT * FROM ({_VISIBLE}) AS v WHERE at < ?2 OR (at = ?2 AND message_id < ?3)"
        " ORDER BY at DESC, message_id DESC LIMIT ?4",
        (user_id, at, message_id, limit),
    )
    return [ActivityRow(*row) for row in rows]


async def unread(conn: aiosqlite.Connection, user_id: int, since: int, cap: int) -> int:
    """How many items are newer than `since`, counting at most `cap`."""
    row = await fetch_one(
        conn,
        f"SELECT count(*) FROM (SELECT 1 FROM ({_VISIBLE}) AS v WHERE at > ?2 LIMIT ?3) AS n",
        (user_id, since, cap),
    )
    return int(row[0]) if row else 0


async def read_at(conn: aiosqlite.Connection, user_id: int) -> int:
    row = await fetch_one(conn, "SELECT activity_read_at FROM users WHERE id = ?", (user_id,))
    return int(row[0]) if row else 0


async def mark_read(tx: aiosqlite.Connection, user_id: int, at: int) -> int | None:
    """Move the person's mark forward to `at` (never back); the new mark, or None if it did not
    move."""
    row = await fetch_one(
        tx,
        "UPDATE users SET activity_read_at = ?2 WHERE id = ?1 AND activity_read_at < ?2"
        " RETURNING activity_read_at",
        (user_id, at),
    )
    return None if row is None else int(row[0])


async def message_sender(conn: aiosqlite.Connection, message_id: int) -> int | None:
    row = await fetch_one(conn, "SELECT sender_id FROM messages WHERE id = ?", (message_id,))
    return None if row is None or row[0] is None else int(row[0])


async def thread_followers(conn: aiosqlite.Connection, root_id: int) -> set[int]:
    """Who follows a thread: its root's author, those who replied in it, those who opened it."""
    rows = await fetch_all(
        conn,
        "SELECT sender_id FROM messages WHERE (id = ?1 OR thread_root_id = ?1)"
        " AND sender_id IS NOT NULL UNION SELECT user_id FROM thread_reads WHERE root_id = ?1",
        (root_id,),
    )
    return {int(row[0]) for row in rows}
