"""SQL for chats, their members and chat invite links."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import Enum

import aiosqlite

from appliance.store import contacts
from appliance.store.db import alone, alone_in, fetch_one

_CHAT_FIELDS = (
    "id", "kind", "title", "topic", "is_public", "direct_key", "created_by", "created_at",
    "last_activity_at", "last_message_id", "avatar_file_id",
)  # fmt: skip
_CHAT_COLUMNS = ", ".join(_CHAT_FIELDS)
_JOINED_CHAT_COLUMNS = ", ".join(f"c.{field}" for field in _CHAT_FIELDS)


@dataclass(frozen=True, slots=True)
class ChatRow:
    id: int
    kind: str
    title: str
    topic: str
    is_public: bool
    direct_key: str | None
    created_by: int | None
    created_at: int
    last_activity_at: int
    last_message_id: int | None
    avatar_file_id: int | None = None  # the group's picture (a file row), if any


@dataclass(frozen=True, slots=True)
class MemberRow:
    chat_id: int
    user_id: int
    role: str
    joined_at: int
    last_read_id: int
    last_delivered_id: int


@dataclass(frozen=True, slots=True)
class ChatInviteRow:
    code: str
    chat_id: int
    created_by: int | None
    created_at: int
    expires_at: int
    max_uses: int
    uses: int

    def usable(self, now: int) -> bool:
        return self.expires_at > now and self.uses < self.max_uses


def _chat(row: aiosqlite.Row | sqlite3.Row | tuple[object, ...]) -> ChatRow:
    values = list(row)
    values[4] = bool(values[4])
    return ChatRow(*values)


def direct_key(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


async def create(
    tx: aiosqlite.Connection,
    *,
    kind: str,
    title: str,
    topic: str,
    is_public: bool,
    created_by: int,
    now: int,
    direct_key: str | None = None,
) -> ChatRow:
    row = await fetch_one(
        tx,
        "INSERT INTO chats (kind, title, topic, is_public, direct_key, created_by, created_at,"
        " last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (kind, title, topic, int(is_public), direct_key, created_by, now, now),
    )
    assert row is not None
    return ChatRow(row[0], kind, title, topic, is_public, direct_key, created_by, now, now, None)


async def get(conn: aiosqlite.Connection, chat_id: int) -> ChatRow | None:
    async with conn.execute(f"SELECT {_CHAT_COLUMNS} FROM chats WHERE id = ?", (chat_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None else _chat(row)


def with_member(
    conn: sqlite3.Connection, chat_id: int, user_id: int
) -> tuple[ChatRow | None, MemberRow | None]:
    """The chat and `user_id`'s membership of it, in one query. A plain sqlite3 function:
    services run it with `db.on_thread`, a job on the writer's thread calls it directly."""
    row = conn.execute(
        f"SELECT {_JOINED_CHAT_COLUMNS}, m.role, m.joined_at, m.last_read_id,"
        " m.last_delivered_id FROM chats c LEFT JOIN chat_members m"
        " ON m.chat_id = c.id AND m.user_id = ?2 WHERE c.id = ?1",
        (chat_id, user_id),
    ).fetchone()
    if row is None:
        return None, None
    width = len(_CHAT_FIELDS)
    chat = _chat(tuple(row)[:width])
    if row[width] is None:
        return chat, None
    return chat, MemberRow(chat_id, user_id, *tuple(row)[width:])


class Refusal(Enum):
    """Why the chat rules refuse someone: the services turn each into its error."""

    NO_CHAT = "no_chat"
    NOT_MEMBER = "not_member"
    BLOCKED = "blocked"
    CONTACTS_ONLY = "contacts_only"
    BAD_REPLY = "bad_reply"
    BAD_ATTACHMENT = "bad_attachment"
    BAD_THREAD = "bad_thread"


def membership(
    conn: sqlite3.Connection, chat_id: int, user_id: int
) -> tuple[ChatRow, MemberRow] | Refusal:
    """The rule for any access to a chat: it exists and `user_id` is a member."""
    chat, member = with_member(conn, chat_id, user_id)
    if chat is None:
        return Refusal.NO_CHAT
    if member is None:
        return Refusal.NOT_MEMBER
    return chat, member


def block_between(conn: sqlite3.Connection, chat: ChatRow, user_id: int) -> Refusal | None:
    """The rule for writes that reach the other person of a direct chat: refused when either
    of the two blocked the other. Groups and channels have no such rule."""
    peer = peer_of(chat, user_id)
    if peer is not None and contacts.either_blocked(conn, user_id, peer):
        return Refusal.BLOCKED
    return None


def direct_refusal(
    conn: sqlite3.Connection, sender_id: int, peer_id: int, *, peer_started: bool = False
) -> Refusal | None:
    """The rule for opening a direct chat with `peer_id` and sending into one: refused when
    either blocked the other, and when the peer takes messages from contacts only and the
    sender is not one of them (unless the peer started the chat: they can be answered)."""
    if contacts.either_blocked(conn, sender_id, peer_id):
        return Refusal.BLOCKED
    if not peer_started and contacts.closed_to(conn, sender_id, peer_id):
        return Refusal.CONTACTS_ONLY
    return None


def send_refusal(conn: sqlite3.Connection, chat: ChatRow, sender_id: int) -> Refusal | None:
    """The rule for sending a message into a chat: only direct chats have one."""
    peer = peer_of(chat, sender_id)
    if peer is None:
        return None
    return direct_refusal(conn, sender_id, peer, peer_started=chat.created_by == peer)


def peer_of(chat: ChatRow, user_id: int) -> int | None:
    """The other person of a direct chat (None for groups and channels)."""
    if chat.direct_key is None:
        return None
    low, high = (int(part) for part in chat.direct_key.split(":"))
    return high if low == user_id else low


async def get_direct(conn: aiosqlite.Connection, key: str) -> ChatRow | None:
    async with conn.execute(
        f"SELECT {_CHAT_COLUMNS} FROM chats WHERE direct_key = ?", (key,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _chat(row)


async def update(
    tx: aiosqlite.Connection, chat_id: int, *, title: str, topic: str, is_public: bool
) -> None:
    await alone_in(tx)  # a chat row is written by the write lock's holder only (touch_at_commit)
    await tx.execute(
        "UPDATE chats SET title = ?, topic = ?, is_public = ? WHERE id = ?",
        (title, topic, int(is_public), chat_id),
    )


async def delete(tx: aiosqlite.Connection, chat_id: int) -> None:
    await tx.execute("DELETE FROM chats WHERE id = ?", (chat_id,))


async def for_user(
    conn: aiosqlite.Connection, user_id: int, *, limit: int, after: tuple[int, int] | None = None
) -> list[ChatRow]:
    """The user's chats, latest activity first; a page of `limit` after the (last activity,
    id) of the previous page's last chat."""
    edge = after or (2**63 - 1, 2**63 - 1)
    async with conn.execute(
        f"SELECT {_JOINED_CHAT_COLUMNS}"
        " FROM chat_members m JOIN chats c ON c.id = m.chat_id WHERE m.user_id = ?1"
        " AND (c.last_activity_at, c.id) < (?2, ?3) AND NOT EXISTS (SELECT 1 FROM chat_prefs p"
        "   WHERE p.chat_id = c.id AND p.user_id = ?1"
        "   AND coalesce(c.last_message_id, 0) <= p.hidden_through)"
        " ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?4",
        (user_id, edge[0], edge[1], limit),
    ) as cur:
        return [_chat(row) for row in await cur.fetchall()]


async def public_channels(conn: aiosqlite.Connection, query: str, limit: int) -> list[ChatRow]:
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    async with conn.execute(
        f"SELECT {_CHAT_COLUMNS} FROM chats WHERE is_public = 1 AND kind = 'channel'"
        " AND (lower(title) LIKE lower(?1) ESCAPE '\\'"
        " OR lower(topic) LIKE lower(?1) ESCAPE '\\')"
        " ORDER BY last_activity_at DESC LIMIT ?2",
        (pattern, limit),
    ) as cur:
        return [_chat(row) for row in await cur.fetchall()]


# --- members ---------------------------------------------------------------------------------

_MEMBER_COLUMNS = "chat_id, user_id, role, joined_at, last_read_id, last_delivered_id"


async def add_member(
    tx: aiosqlite.Connection, chat_id: int, user_id: int, role: str, now: int
) -> bool:
    """Add `user_id`; False if they were a member already."""
    cursor = await tx.execute(
        "INSERT INTO chat_members (chat_id, user_id, role, joined_at,"
        " last_read_id, last_delivered_id)"
        " SELECT ?1, ?2, ?3, ?4, coalesce(last_message_id, 0), coalesce(last_message_id, 0)"
        " FROM chats WHERE id = ?1 ON CONFLICT DO NOTHING",
        (chat_id, user_id, role, now),
    )
    return cursor.rowcount == 1


async def remove_member(tx: aiosqlite.Connection, chat_id: int, user_id: int) -> bool:
    cursor = await tx.execute(
        "DELETE FROM chat_members WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
    )
    return cursor.rowcount == 1


async def set_role(tx: aiosqlite.Connection, chat_id: int, user_id: int, role: str) -> None:
    await tx.execute(
        "UPDATE chat_members SET role = ? WHERE chat_id = ? AND user_id = ?",
        (role, chat_id, user_id),
    )


async def member(conn: aiosqlite.Connection, chat_id: int, user_id: int) -> MemberRow | None:
    row = await fetch_one(
        conn,
        f"SELECT {_MEMBER_COLUMNS} FROM chat_members WHERE chat_id = ? AND user_id = ?",
        (chat_id, user_id),
    )
    return None if row is None else MemberRow(*row)


async def members(conn: aiosqlite.Connection, chat_id: int) -> list[MemberRow]:
    async with conn.execute(
        f"SELECT {_MEMBER_COLUMNS} FROM chat_members WHERE chat_id = ? ORDER BY joined_at, user_id",
        (chat_id,),
    ) as cur:
        return [MemberRow(*row) for row in await cur.fetchall()]


async def memberships(conn: aiosqlite.Connection, user_id: int) -> dict[int, MemberRow]:
    async with conn.execute(
        f"SELECT {_MEMBER_COLUMNS} FROM chat_members WHERE user_id = ?", (user_id,)
    ) as cur:
        return {row[0]: MemberRow(*row) for row in await cur.fetchall()}


def members_named(conn: sqlite3.Connection, chat_id: int, names: list[str]) -> list[int]:
    """Ids of the chat's members with these usernames (a plain sqlite3 function)."""
    if not names:
        return []
    marks = ",".join("?" * len(names))
    rows = conn.execute(
        f"SELECT u.id FROM users u JOIN chat_members m ON m.user_id = u.id AND m.chat_id = ?"
        f" WHERE u.username IN ({marks})",
        (chat_id, *names),
    ).fetchall()
    return [row[0] for row in rows]


async def member_counts(conn: aiosqlite.Connection, chat_ids: list[int]) -> dict[int, int]:
    if not chat_ids:
        return {}
    marks = ",".join("?" * len(chat_ids))
    async with conn.execute(
        f"SELECT chat_id, count(*) FROM chat_members WHERE chat_id IN ({marks}) GROUP BY chat_id",
        chat_ids,
    ) as cur:
        return {row[0]: row[1] for row in await cur.fetchall()}


async def all_memberships(conn: aiosqlite.Connection) -> list[tuple[int, int]]:
    async with conn.execute("SELECT chat_id, user_id FROM chat_members") as cur:
        return [(row[0], row[1]) for row in await cur.fetchall()]


async def move_cursors(
    tx: aiosqlite.Connection, chat_id: int, user_id: int, *, read_id: int, delivered_id: int
) -> MemberRow | None:
    """Move the read and delivered cursors forward (never back); None if nothing moved."""
    delivered_id = max(delivered_id, read_id)  # what is read was delivered
    # CASE, not max(a, b): PostgreSQL has no two-argument max (and SQLite no GREATEST).
    row = await fetch_one(
        tx,
        "UPDATE chat_members"
        " SET last_read_id = CASE WHEN ?3 > last_read_id THEN ?3 ELSE last_read_id END,"
        " last_delivered_id"
        " = CASE WHEN ?4 > last_delivered_id THEN ?4 ELSE last_delivered_id END"
        " WHERE chat_id = ?1 AND user_id = ?2 AND (last_read_id < ?3 OR last_delivered_id < ?4)"
        f" RETURNING {_MEMBER_COLUMNS}",
        (chat_id, user_id, read_id, delivered_id),
    )
    return None if row is None else MemberRow(*row)


async def unread_counts(conn: aiosqlite.Connection, user_id: int) -> dict[int, tuple[int, int]]:
    """chat id -> (unread messages, unread mentions of the user) after their read cursor.
    Unread are other people's messages and the logs of calls the user was not in (missed);
    system lines ("Ada renamed the group") are not."""
    async with conn.execute(
        "SELECT m.chat_id,"
        " (SELECT count(*) FROM messages g WHERE g.chat_id = m.chat_id AND g.id > m.last_read_id"
        "   AND g.deleted_at IS NULL AND (g.sender_id IS NULL OR g.sender_id != m.user_id)"
        "   AND (g.thread_root_id IS NULL OR g.also_to_chat = 1)"
        "   AND g.id > coalesce((SELECT p.cleared_through FROM chat_prefs p"
        "                        WHERE p.chat_id = m.chat_id AND p.user_id = m.user_id), 0)"
        "   AND (g.kind = 'text' OR (g.kind = 'call' AND NOT EXISTS ("
        "     SELECT 1 FROM calls c JOIN call_participants p ON p.call_id = c.id"
        "     WHERE c.message_id = g.id AND p.user_id = m.user_id)))"
        "   AND NOT EXISTS (SELECT 1 FROM message_hidden h"
        "                   WHERE h.user_id = m.user_id AND h.message_id = g.id)),"
        " (SELECT count(*) FROM message_mentions x JOIN messages g ON g.id = x.message_id"
        "   WHERE x.user_id = m.user_id AND g.chat_id = m.chat_id AND g.id > m.last_read_id"
        "   AND g.deleted_at IS NULL)"
        " FROM chat_members m WHERE m.user_id = ?",
        (user_id,),
    ) as cur:
        return {row[0]: (row[1], row[2]) for row in await cur.fetchall()}


# --- invite links ----------------------------------------------------------------------------

_INVITE_COLUMNS = "code, chat_id, created_by, created_at, expires_at, max_uses, uses"


async def create_invite(
    tx: aiosqlite.Connection,
    *,
    code: str,
    chat_id: int,
    created_by: int,
    now: int,
    expires_at: int,
    max_uses: int,
) -> ChatInviteRow:
    await tx.execute(
        "INSERT INTO chat_invites (code, chat_id, created_by, created_at, expires_at, max_uses)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (code, chat_id, created_by, now, expires_at, max_uses),
    )
    return ChatInviteRow(code, chat_id, created_by, now, expires_at, max_uses, 0)


async def get_invite(conn: aiosqlite.Connection, code: str) -> ChatInviteRow | None:
    async with conn.execute(
        f"SELECT {_INVITE_COLUMNS} FROM chat_invites WHERE code = ?", (code,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else ChatInviteRow(*row)


async def use_invite(tx: aiosqlite.Connection, code: str, now: int) -> bool:
    cursor = await tx.execute(
        "UPDATE chat_invites SET uses = uses + 1 WHERE code = ? AND expires_at > ?"
        " AND uses < max_uses",
        (code, now),
    )
    return cursor.rowcount == 1


def touch(conn: sqlite3.Connection, chat_id: int, message_id: int, at: int) -> None:
    """A new message is the chat's latest activity. On PostgreSQL that is written when the
    transaction commits (`touch_at_commit`), so that transactions of several processes never
    wait on each other's chat rows, and in a different order each (a deadlock)."""
    later = getattr(conn, "at_commit", None)
    if later is not None:
        later.touches.append((chat_id, message_id, at))
        return
    conn.execute(
        "UPDATE chats SET last_message_id = ?, last_activity_at = ? WHERE id = ?",
        (message_id, at, chat_id),
    )


def touch_at_commit(conn: sqlite3.Connection, touches: list[tuple[int, int, int]]) -> None:
    """Each chat's latest (chat, message, created_at) becomes its activity (PostgreSQL, under
    the write lock at commit). Only the transaction holding that lock writes chat rows
    (`update` and `set_avatar` take it), so this never waits; a chat being deleted meanwhile
    is skipped. An older message committed after a newer one changes nothing."""
    latest: dict[int, tuple[int, int]] = {}
    for chat_id, message_id, at in touches:
        if message_id > latest.get(chat_id, (0, 0))[0]:
            latest[chat_id] = (message_id, at)
    if not latest:
        return
    rows = ", ".join(["(?, ?, ?)"] * len(latest))
    ids = ", ".join(["?"] * len(latest))
    values = [n for chat_id, (message_id, at) in latest.items() for n in (chat_id, message_id, at)]
    conn.execute(
        "UPDATE chats SET last_message_id = v.message_id, last_activity_at = v.at"
        f" FROM (VALUES {rows}) AS v (chat_id, message_id, at)"
        " WHERE chats.id = v.chat_id AND coalesce(chats.last_message_id, 0) < v.message_id"
        f" AND chats.id IN (SELECT id FROM chats WHERE id IN ({ids})"
        "  FOR NO KEY UPDATE SKIP LOCKED)",
        [*values, *latest],
    )


def set_avatar(conn: sqlite3.Connection, chat_id: int, file_id: int | None) -> ChatRow:
    """Set (or with None clear) a group's picture; the chat as it is now (a plain sqlite3
    function, for the avatar's job on the writer's thread)."""
    alone(conn)
    conn.execute("UPDATE chats SET avatar_file_id = ? WHERE id = ?", (file_id, chat_id))
    row = conn.execute(f"SELECT {_CHAT_COLUMNS} FROM chats WHERE id = ?", (chat_id,)).fetchone()
    return _chat(row)
