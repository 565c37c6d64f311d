"""SQL for messages and what hangs off them: edits, mentions, hiding, reactions, pins, search."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from appliance.store import calls, chats, files, threads
from appliance.store.calls import CallRow
from appliance.store.chats import Refusal
from appliance.store.db import dialect, fetch_one, on_thread
from appliance.store.files import FileRow
from appliance.store.search_filter import SearchFilter

_FIELDS = (
    "id", "chat_id", "sender_id", "client_id", "kind", "body", "reply_to", "forwarded_from",
    "created_at", "edited_at", "deleted_at", "thread_root_id", "also_to_chat",
)  # fmt: skip
_COLUMNS = ", ".join(_FIELDS)
_M_COLUMNS = ", ".join(f"m.{name}" for name in _FIELDS)


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: int
    chat_id: int
    sender_id: int | None
    client_id: str | None
    kind: str
    body: str
    reply_to: int | None
    forwarded_from: dict[str, Any] | None
    created_at: int
    edited_at: int | None
    deleted_at: int | None
    thread_root_id: int | None = None  # a reply in this message's thread
    also_to_chat: bool = False  # a thread reply also shown in the main timeline

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(slots=True)
class Extras:
    """What a message view needs besides its row, loaded for a whole page at once."""

    replies: dict[int, MessageRow] = field(default_factory=dict)
    reactions: dict[int, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))
    mentions: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    pinned: set[int] = field(default_factory=set)
    calls: dict[int, CallRow] = field(default_factory=dict)  # message id -> its call
    took_part: dict[int, list[int]] = field(default_factory=dict)  # call id -> who was in it
    attachments: dict[int, list[FileRow]] = field(default_factory=dict)
    threads: dict[int, threads.Summary] = field(default_factory=dict)  # root id -> summary


def _row(row: aiosqlite.Row | sqlite3.Row) -> MessageRow:
    values = list(row)
    values[7] = json.loads(values[7]) if values[7] else None
    values[12] = bool(values[12])
    return MessageRow(*values)


async def create(
    tx: aiosqlite.Connection,
    *,
    chat_id: int,
    sender_id: int | None,
    client_id: str | None,
    body: str,
    now: int,
    kind: str = "text",
    reply_to: int | None = None,
    forwarded_from: dict[str, Any] | None = None,
) -> MessageRow | None:
    """Insert a message, the chat's latest (a trigger makes it the sender's read mark too);
    None when the sender already has a message with this client_id."""
    forwarded = json.dumps(forwarded_from) if forwarded_from else None
    row = await fetch_one(
        tx,
        "INSERT INTO messages (chat_id, sender_id, client_id, kind, body, reply_to,"
        " forwarded_from, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id",
        (chat_id, sender_id, client_id, kind, body, reply_to, forwarded, now),
    )
    if row is None:
        return None
    await on_thread(tx, chats.touch, chat_id, row[0], now)
    return MessageRow(
        row[0], chat_id, sender_id, client_id, kind, body, reply_to, forwarded_from, now,
        None, None,
    )  # fmt: skip


async def get(conn: aiosqlite.Connection, message_id: int) -> MessageRow | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM messages WHERE id = ?", (message_id,))
    return None if row is None else _row(row)


_VISIBLE = (
    "m.chat_id = :chat AND NOT EXISTS"
    " (SELECT 1 FROM message_hidden h WHERE h.user_id = :user AND h.message_id = m.id)"
    " AND m.id > coalesce((SELECT p.cleared_through FROM chat_prefs p"
    "                      WHERE p.chat_id = :chat AND p.user_id = :user), 0)"
)
# The main timeline: top-level messages, and thread replies also sent to the chat.
_IN_TIMELINE = f"{_VISIBLE} AND (m.thread_root_id IS NULL OR m.also_to_chat = 1)"


async def page(
    conn: aiosqlite.Connection,
    chat_id: int,
    viewer_id: int,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int,
) -> tuple[list[MessageRow], bool]:
    """Up to `limit` visible messages before or after an id (newest when neither), oldest
    first, and whether more exist beyond them in that direction."""
    params: dict[str, Any] = {"chat": chat_id, "user": viewer_id, "limit": limit + 1}
    if after is not None:
        params["after"] = after
        sql = f"SELECT {_M_COLUMNS} FROM messages m WHERE {_IN_TIMELINE} AND m.id > :after"
        sql += " ORDER BY m.id ASC LIMIT :limit"
    else:
        params["before"] = before if before is not None else 2**62
        sql = f"SELECT {_M_COLUMNS} FROM messages m WHERE {_IN_TIMELINE} AND m.id < :before"
        sql += " ORDER BY m.id DESC LIMIT :limit"
    async with conn.execute(sql, params) as cur:
        rows = [_row(row) for row in await cur.fetchall()]
    more = len(rows) > limit
    rows = rows[:limit]
    if after is None:
        rows.reverse()
    return rows, more


async def has_visible(
    conn: aiosqlite.Connection, chat_id: int, viewer_id: int, *, before: int | None = None,
    after: int | None = None,
) -> bool:  # fmt: skip
    params: dict[str, Any] = {"chat": chat_id, "user": viewer_id}
    if before is not None:
        params["edge"] = before
        condition = "m.id < :edge"
    else:
        params["edge"] = after
        condition = "m.id > :edge"
    async with conn.execute(
        f"SELECT EXISTS (SELECT 1 FROM messages m WHERE {_IN_TIMELINE} AND {condition})", params
    ) as cur:
        row = await cur.fetchone()
    return bool(row and row[0])


async def by_ids(conn: aiosqlite.Connection, ids: list[int]) -> dict[int, MessageRow]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    async with conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE id IN ({marks})", ids) as cur:
        return {row[0]: _row(row) for row in await cur.fetchall()}


async def replies_to(conn: aiosqlite.Connection, message_id: int) -> list[MessageRow]:
    """The messages that quote this one."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM messages WHERE reply_to = ? ORDER BY id", (message_id,)
    ) as cur:
        return [_row(row) for row in await cur.fetchall()]


async def extras(conn: aiosqlite.Connection, rows: list[MessageRow]) -> Extras:
    found = Extras()
    if not rows:
        return found
    ids = [row.id for row in rows]
    marks = ",".join("?" * len(ids))
    found.replies = await by_ids(conn, sorted({r.reply_to for r in rows if r.reply_to}))
    async with conn.execute(
        f"SELECT message_id, emoji, user_id FROM reactions WHERE message_id IN ({marks})"
        " ORDER BY created_at, user_id",
        ids,
    ) as cur:
        for message_id, emoji, user_id in await cur.fetchall():
            found.reactions[message_id].append((emoji, user_id))
    async with conn.execute(
        f"SELECT message_id, user_id FROM message_mentions WHERE message_id IN ({marks})", ids
    ) as cur:
        for message_id, user_id in await cur.fetchall():
            found.mentions[message_id].append(user_id)
    async with conn.execute(
        f"SELECT message_id FROM pins WHERE message_id IN ({marks})", ids
    ) as cur:
        found.pinned = {row[0] for row in await cur.fetchall()}
    found.calls = await calls.by_messages(conn, [row.id for row in rows if row.kind == "call"])
    found.took_part = await calls.took_part(conn, [call.id for call in found.calls.values()])
    found.attachments = await files.of_messages(conn, ids)
    roots = [row.id for row in rows if row.thread_root_id is None and row.kind == "text"]
    found.threads = await on_thread(conn, threads.summaries, roots)
    return found


async def thread_page(
    conn: aiosqlite.Connection,
    root_id: int,
    viewer_id: int,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int,
) -> tuple[list[MessageRow], bool]:
    """Up to `limit` replies in a thread before or after an id (the newest when neither),
    oldest first, and whether more exist beyond them in that direction."""
    params: dict[str, Any] = {"root": root_id, "user": viewer_id, "limit": limit + 1}
    sql = (
        f"SELECT {_M_COLUMNS} FROM messages m WHERE m.thread_root_id = :root AND NOT EXISTS"
        " (SELECT 1 FROM message_hidden h WHERE h.user_id = :user AND h.message_id = m.id)"
    )
    if after is not None:
        params["after"] = after
        sql += " AND m.id > :after ORDER BY m.id ASC LIMIT :limit"
    else:
        params["before"] = before if before is not None else 2**62
        sql += " AND m.id < :before ORDER BY m.id DESC LIMIT :limit"
    async with conn.execute(sql, params) as cur:
        rows = [_row(row) for row in await cur.fetchall()]
    more = len(rows) > limit
    rows = rows[:limit]
    if after is None:
        rows.reverse()
    return rows, more


async def edit(
    tx: aiosqlite.Connection, message: MessageRow, body: str, now: int, *, keep: int
) -> None:
    """Replace the text; the previous one joins the history, which keeps the `keep` newest."""
    await tx.execute(
        "INSERT INTO message_edits (message_id, body, edited_at) VALUES (?, ?, ?)",
        (message.id, message.body, message.edited_at or message.created_at),
    )
    await tx.execute(
        "DELETE FROM message_edits WHERE message_id = ?1 AND rowid NOT IN"
        " (SELECT rowid FROM message_edits WHERE message_id = ?1 ORDER BY rowid DESC LIMIT ?2)",
        (message.id, keep),
    )
    await tx.execute(
        "UPDATE messages SET body = ?, edited_at = ? WHERE id = ?", (body, now, message.id)
    )


async def edits(conn: aiosqlite.Connection, message_id: int) -> list[tuple[str, int]]:
    async with conn.execute(
        "SELECT body, edited_at FROM message_edits WHERE message_id = ? ORDER BY rowid",
        (message_id,),
    ) as cur:
        return [(row[0], row[1]) for row in await cur.fetchall()]


async def delete_for_everyone(tx: aiosqlite.Connection, message_id: int, now: int) -> None:
    """Keep the row as a placeholder; drop its text, history, mentions, reactions, pin and
    attachments."""
    await tx.execute(
        "UPDATE messages SET body = '', deleted_at = ? WHERE id = ?", (now, message_id)
    )
    for table in ("message_edits", "message_mentions", "reactions", "pins", "message_files"):
        await tx.execute(f"DELETE FROM {table} WHERE message_id = ?", (message_id,))


async def hide(tx: aiosqlite.Connection, message_id: int, user_id: int) -> None:
    await tx.execute(
        "INSERT INTO message_hidden (message_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (message_id, user_id),
    )


def set_mentions(conn: sqlite3.Connection, message_id: int, user_ids: list[int]) -> None:
    """The message mentions exactly these people (a plain sqlite3 function)."""
    conn.execute("DELETE FROM message_mentions WHERE message_id = ?", (message_id,))
    conn.executemany(
        "INSERT INTO message_mentions (message_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(message_id, user_id) for user_id in user_ids],
    )


async def reaction_emoji(conn: aiosqlite.Connection, message_id: int) -> set[str]:
    """The different emoji on a message."""
    async with conn.execute(
        "SELECT DISTINCT emoji FROM reactions WHERE message_id = ?", (message_id,)
    ) as cur:
        return {row[0] for row in await cur.fetchall()}


async def add_reaction(
    tx: aiosqlite.Connection, message_id: int, user_id: int, emoji: str, now: int
) -> bool:
    cursor = await tx.execute(
        "INSERT INTO reactions (message_id, user_id, emoji, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (message_id, user_id, emoji, now),
    )
    return cursor.rowcount == 1


async def remove_reaction(
    tx: aiosqlite.Connection, message_id: int, user_id: int, emoji: str
) -> bool:
    cursor = await tx.execute(
        "DELETE FROM reactions WHERE message_id = ? AND user_id = ? AND emoji = ?",
        (message_id, user_id, emoji),
    )
    return cursor.rowcount == 1


async def pin(
    tx: aiosqlite.Connection, chat_id: int, message_id: int, user_id: int, now: int
) -> bool:
    cursor = await tx.execute(
        "INSERT INTO pins (chat_id, message_id, pinned_by, pinned_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (chat_id, message_id, user_id, now),
    )
    return cursor.rowcount == 1


async def unpin(tx: aiosqlite.Connection, message_id: int) -> bool:
    cursor = await tx.execute("DELETE FROM pins WHERE message_id = ?", (message_id,))
    return cursor.rowcount == 1


async def pinned(conn: aiosqlite.Connection, chat_id: int) -> list[MessageRow]:
    async with conn.execute(
        f"SELECT {_M_COLUMNS} FROM pins p JOIN messages m ON m.id = p.message_id"
        " WHERE p.chat_id = ? ORDER BY p.pinned_at DESC, p.rowid DESC",
        (chat_id,),
    ) as cur:
        return [_row(row) for row in await cur.fetchall()]


def _fts5_match(words: list[str]) -> str:
    """Words as an FTS5 query: each a quoted string (a quote in it doubled), all must match,
    the last as a prefix (the person may still be typing it)."""
    quoted = ['"' + word.replace('"', '""') + '"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _tsquery(words: list[str]) -> str:
    """The same for PostgreSQL's to_tsquery: quoted lexemes joined by &, the last a prefix."""
    quoted = ["'" + word.replace("\\", "\\\\").replace("'", "''") + "'" for word in words]
    quoted[-1] += ":*"
    return " & ".join(quoted)


async def search(
    conn: aiosqlite.Connection, user_id: int, words: list[str], where: SearchFilter, limit: int
) -> list[MessageRow]:
    """Messages holding all of `words` (the last as a prefix) in the chats `user_id` is in.
    The full-text query is built here: its syntax is the engine's (FTS5 on SQLite; on
    PostgreSQL the messages' body_tsv, unaccented as FTS5's tokenizer does)."""
    if not words:
        return []
    params: dict[str, Any] = {"user": user_id, "limit": limit}
    if dialect(conn) == "sqlite":
        params["match"] = _fts5_match(words)
        found = (
            "messages_fts f JOIN messages m ON m.id = f.rowid"
            " JOIN chat_members c ON c.chat_id = m.chat_id AND c.user_id = :user"
            " WHERE messages_fts MATCH :match"
        )
    else:
        params["match"] = _tsquery(words)
        found = (
            "messages m JOIN chat_members c ON c.chat_id = m.chat_id AND c.user_id = :user"
            " WHERE m.body_tsv @@ to_tsquery('simple', hearth_unaccent(:match))"
        )
    sql = f"SELECT {_M_COLUMNS} FROM {found}{where.sql(params)} ORDER BY m.id DESC LIMIT :limit"
    async with conn.execute(sql, params) as cur:
        return [_row(row) for row in await cur.fetchall()]


# --- sending, in one trip to the writer thread -----------------------------------------------


@dataclass(frozen=True, slots=True)
class NewText:
    chat_id: int
    sender_id: int
    client_id: str
    body: str
    now: int
    reply_to: int | None = None
    forwarded_from: dict[str, Any] | None = None
    mention_names: tuple[str, ...] = ()
    attachments: tuple[int, ...] = ()  # file ids, in order
    # Whose files `attachments` must be: the sender's; None when forwarding copies them.
    attachments_owner: int | None = None
    thread_root_id: int | None = None
    also_to_chat: bool = False


@dataclass(frozen=True, slots=True)
class Inserted:
    """What `insert_text` did: refused (and why), found a retry's original, or stored."""

    refusal: Refusal | None = None
    row: MessageRow | None = None
    duplicate: bool = False
    extras: Extras = field(default_factory=lambda: Extras())


def insert_text(conn: sqlite3.Connection, new: NewText) -> Inserted:
    """Check the chat rules and store a text message with its mentions, all on the writer's
    thread (Database.write_in_thread); the caller writes the event in the same job."""
    found = chats.membership(conn, new.chat_id, new.sender_id)
    if isinstance(found, Refusal):
        return Inserted(refusal=found)
    chat, _ = found
    refusal = chats.send_refusal(conn, chat, new.sender_id)
    if refusal is not None:
        return Inserted(refusal=refusal)
    if new.thread_root_id is not None and not threads.can_reply(
        conn, chat.kind, new.chat_id, new.thread_root_id
    ):
        return Inserted(refusal=Refusal.BAD_THREAD)
    extras = Extras()
    if new.reply_to is not None:
        original = conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE id = ?", (new.reply_to,)
        ).fetchone()
        if original is None or original[1] != new.chat_id:
            return Inserted(refusal=Refusal.BAD_REPLY)
        extras.replies[new.reply_to] = _row(original)
    attached = files.attachable(conn, list(new.attachments), new.attachments_owner)
    if attached is None:
        return Inserted(refusal=Refusal.BAD_ATTACHMENT)
    forwarded = json.dumps(new.forwarded_from) if new.forwarded_from else None
    also = new.thread_root_id is not None and new.also_to_chat
    inserted = conn.execute(
        "INSERT INTO messages (chat_id, sender_id, client_id, kind, body, reply_to,"
        " forwarded_from, created_at, thread_root_id, also_to_chat)"
        " VALUES (?, ?, ?, 'text', ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id",
        (
            new.chat_id,
            new.sender_id,
            new.client_id,
            new.body,
            new.reply_to,
            forwarded,
            new.now,
            new.thread_root_id,
            int(also),
        ),
    ).fetchone()
    if inserted is None:
        earlier = conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE sender_id = ? AND client_id = ?",
            (new.sender_id, new.client_id),
        ).fetchone()
        return Inserted(row=_row(earlier), duplicate=True)
    row = MessageRow(
        inserted[0], new.chat_id, new.sender_id, new.client_id, "text", new.body, new.reply_to,
        new.forwarded_from, new.now, None, None, new.thread_root_id, also,
    )  # fmt: skip
    if new.thread_root_id is None or also:  # a reply kept in its thread is not the latest
        chats.touch(conn, new.chat_id, row.id, new.now)
    if new.thread_root_id is not None:
        threads.mark_read(conn, new.sender_id, new.thread_root_id, row.id)
    if attached:
        files.link(conn, row.id, new.chat_id, attached)
        extras.attachments[row.id] = attached
    mentioned = chats.members_named(conn, new.chat_id, list(new.mention_names))
    if mentioned:
        set_mentions(conn, row.id, mentioned)
        extras.mentions[row.id] = mentioned
    return Inserted(row=row, extras=extras)
