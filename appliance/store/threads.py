"""SQL for threads: a root's summary (replies, last reply, who took part), each person's read
mark, and what they have not read. Plain sqlite3 functions: they run on the writer's thread
while a reply is stored and, through `on_thread`, on a reader."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

# Replies are counted and summarised per root; a page of history asks for at most 100 roots.


@dataclass(frozen=True, slots=True)
class Summary:
    root_id: int
    chat_id: int
    reply_count: int
    last_reply_id: int | None
    last_reply_at: int | None
    last_reply_sender_id: int | None
    participants: tuple[int, ...]  # the root's author first, then repliers, latest first


def can_reply(conn: sqlite3.Connection, chat_kind: str, chat_id: int, root_id: int) -> bool:
    """A thread starts on a top-level text message of a group or channel, not deleted."""
    if chat_kind == "direct":
        return False
    root = conn.execute(
        "SELECT chat_id, kind, thread_root_id, deleted_at FROM messages WHERE id = ?", (root_id,)
    ).fetchone()
    return (
        root is not None
        and root[0] == chat_id
        and root[1] == "text"
        and root[2] is None
        and root[3] is None
    )


def summaries(conn: sqlite3.Connection, root_ids: list[int]) -> dict[int, Summary]:
    """The summary of each of these messages that has live replies."""
    if not root_ids:
        return {}
    marks = ",".join("?" * len(root_ids))
    counted = conn.execute(
        "SELECT r.thread_root_id, count(*), max(r.id) FROM messages r"
        f" WHERE r.thread_root_id IN ({marks}) AND r.deleted_at IS NULL"
        " GROUP BY r.thread_root_id",
        root_ids,
    ).fetchall()
    if not counted:
        return {}
    found_roots = [row[0] for row in counted]
    marks = ",".join("?" * len(found_roots))
    last = {
        row[0]: row
        for row in conn.execute(
            f"SELECT id, created_at, sender_id FROM messages WHERE id IN ({marks})",
            [row[2] for row in counted],
        )
    }
    roots = {
        row[0]: row
        for row in conn.execute(
            f"SELECT id, chat_id, sender_id FROM messages WHERE id IN ({marks})", found_roots
        )
    }
    repliers: dict[int, list[int]] = {root: [] for root in found_roots}
    for root, sender, _ in conn.execute(
        "SELECT thread_root_id, sender_id, max(id) AS latest FROM messages"
        f" WHERE thread_root_id IN ({marks}) AND deleted_at IS NULL AND sender_id IS NOT NULL"
        " GROUP BY thread_root_id, sender_id ORDER BY latest DESC",
        found_roots,
    ):
        repliers[root].append(sender)
    result = {}
    for root_id, count, last_id in counted:
        _, chat_id, author = roots[root_id]
        people = [author] if author is not None else []
        people += [person for person in repliers[root_id] if person != author]
        result[root_id] = Summary(
            root_id=root_id,
            chat_id=chat_id,
            reply_count=count,
            last_reply_id=last_id,
            last_reply_at=last[last_id][1],
            last_reply_sender_id=last[last_id][2],
            participants=tuple(people),
        )
    return result


def summary_of(conn: sqlite3.Connection, root_id: int, chat_id: int) -> Summary:
    """A root's summary, empty when it has no live replies (all were deleted)."""
    found = summaries(conn, [root_id]).get(root_id)
    return found or Summary(root_id, chat_id, 0, None, None, None, ())


def unread(conn: sqlite3.Connection, viewer_id: int, root_ids: list[int]) -> dict[int, int]:
    """Replies by others since the viewer's read mark, in the threads they follow: those they
    started, replied in or opened (a read mark)."""
    if not root_ids:
        return {}
    marks = ",".join("?" * len(root_ids))
    rows = conn.execute(
        "SELECT r.thread_root_id, count(*) FROM messages r"
        " JOIN messages root ON root.id = r.thread_root_id"
        " LEFT JOIN thread_reads t ON t.user_id = ?1 AND t.root_id = r.thread_root_id"
        f" WHERE r.thread_root_id IN ({marks}) AND r.deleted_at IS NULL"
        " AND (r.sender_id IS NULL OR r.sender_id != ?1)"
        " AND r.id > coalesce(t.last_read_id, 0)"
        " AND (t.user_id IS NOT NULL OR root.sender_id = ?1)"
        " GROUP BY r.thread_root_id",
        [viewer_id, *root_ids],
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def mark_read(conn: sqlite3.Connection, user_id: int, root_id: int, message_id: int) -> int:
    """Move the user's read mark in a thread forward (never back); the mark it is now at."""
    # CASE, not max(a, b): PostgreSQL has no two-argument max (and SQLite no GREATEST). The
    # table's own column is qualified: PostgreSQL finds a bare one ambiguous next to excluded.
    row = conn.execute(
        "INSERT INTO thread_reads (user_id, root_id, last_read_id) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id, root_id) DO UPDATE SET last_read_id = CASE"
        " WHEN excluded.last_read_id > thread_reads.last_read_id THEN excluded.last_read_id"
        " ELSE thread_reads.last_read_id END"
        " RETURNING last_read_id",
        (user_id, root_id, message_id),
    ).fetchone()
    return int(row[0])


def last_reply_id(conn: sqlite3.Connection, root_id: int) -> int:
    row = conn.execute(
        "SELECT coalesce(max(id), 0) FROM messages WHERE thread_root_id = ?", (root_id,)
    ).fetchone()
    return int(row[0])


def read_mark(conn: sqlite3.Connection, user_id: int, root_id: int) -> int:
    row = conn.execute(
        "SELECT last_read_id FROM thread_reads WHERE user_id = ? AND root_id = ?",
        (user_id, root_id),
    ).fetchone()
    return 0 if row is None else int(row[0])
