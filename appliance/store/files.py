"""SQL for uploaded files and the messages they are attached to."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from appliance.store.db import dialect, fetch_all, fetch_one
from appliance.store.search_filter import SearchFilter

_FIELDS = (
    "id", "sha256", "owner_id", "name", "type", "kind", "size", "width", "height",
    "duration_ms", "has_thumb", "created_at", "waveform",
)  # fmt: skip
_COLUMNS = ", ".join(_FIELDS)
_F_COLUMNS = ", ".join(f"f.{name}" for name in _FIELDS)


@dataclass(frozen=True, slots=True)
class FileRow:
    id: int
    sha256: str
    owner_id: int
    name: str
    type: str
    kind: str  # media | voice | files
    size: int
    width: int | None
    height: int | None
    duration_ms: int | None
    has_thumb: bool
    created_at: int
    waveform: bytes | None  # a voice note's peak levels, one byte each


@dataclass(frozen=True, slots=True)
class NewFile:
    sha256: str
    owner_id: int
    name: str
    type: str
    kind: str
    size: int
    width: int | None
    height: int | None
    duration_ms: int | None
    has_thumb: bool
    created_at: int
    waveform: bytes | None = None


@dataclass(frozen=True, slots=True)
class GalleryItem:
    """One attachment in a chat's gallery: the link row's id (the cursor), its message."""

    id: int
    message_id: int
    sender_id: int | None
    created_at: int
    file: FileRow


# A file a profile or a chat shows as its picture: visible to everyone, kept by the sweep.
_IS_AVATAR = (
    "(EXISTS (SELECT 1 FROM users u WHERE u.avatar_file_id = {file})"
    " OR EXISTS (SELECT 1 FROM chats ch WHERE ch.avatar_file_id = {file}))"
)
_UNUSED = (
    "NOT EXISTS (SELECT 1 FROM message_files mf WHERE mf.file_id = {file}) AND NOT " + _IS_AVATAR
)


def _file(row: Sequence[Any]) -> FileRow:
    values = list(row)
    values[10] = bool(values[10])
    return FileRow(*values)


def insert(conn: sqlite3.Connection, new: NewFile) -> FileRow:
    """A new file row (a plain sqlite3 function: the upload's job on the writer's thread)."""
    row = conn.execute(
        "INSERT INTO files (sha256, owner_id, name, type, kind, size, width, height,"
        " duration_ms, has_thumb, created_at, waveform)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        f" RETURNING {_COLUMNS}",
        (
            new.sha256, new.owner_id, new.name, new.type, new.kind, new.size, new.width,
            new.height, new.duration_ms, int(new.has_thumb), new.created_at, new.waveform,
        ),
    ).fetchone()  # fmt: skip
    assert row is not None
    return _file(row)


async def get(conn: aiosqlite.Connection, file_id: int) -> FileRow | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM files WHERE id = ?", (file_id,))
    return None if row is None else _file(row)


def same_upload(conn: sqlite3.Connection, owner_id: int, sha256: str, name: str) -> FileRow | None:
    """This person's earlier upload of the same bytes under the same name."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM files WHERE owner_id = ? AND sha256 = ? AND name = ?"
        " ORDER BY id LIMIT 1",
        (owner_id, sha256, name),
    ).fetchone()
    return None if row is None else _file(row)


def any_with(conn: sqlite3.Connection, sha256: str) -> FileRow | None:
    """Any file row with these bytes (its facts: type, size, dimensions, thumbnail)."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM files WHERE sha256 = ? LIMIT 1", (sha256,)
    ).fetchone()
    return None if row is None else _file(row)


async def bytes_used(conn: aiosqlite.Connection, owner_id: int) -> int:
    """What one person's uploads take on disk: each distinct content counted once."""
    row = await fetch_one(
        conn,
        "SELECT COALESCE(SUM(size), 0) FROM"
        " (SELECT sha256, MAX(size) AS size FROM files WHERE owner_id = ? GROUP BY sha256) AS c",
        (owner_id,),
    )
    return int(row[0]) if row else 0


async def owns_bytes(conn: aiosqlite.Connection, owner_id: int, sha256: str) -> bool:
    row = await fetch_one(
        conn, "SELECT 1 FROM files WHERE owner_id = ? AND sha256 = ? LIMIT 1", (owner_id, sha256)
    )
    return row is not None


async def visible_to(conn: aiosqlite.Connection, file_id: int, user_id: int) -> bool:
    """The owner sees a file always; anyone else once it is attached to a message of a chat
    they are a member of, or when it is someone's profile picture or a chat's picture (any
    signed-in user sees those)."""
    row = await fetch_one(
        conn,
        "SELECT EXISTS (SELECT 1 FROM files WHERE id = :file AND owner_id = :user)"
        " OR EXISTS (SELECT 1 FROM message_files mf JOIN chat_members c"
        " ON c.chat_id = mf.chat_id AND c.user_id = :user WHERE mf.file_id = :file)"
        f" OR {_IS_AVATAR.format(file=':file')}",
        {"file": file_id, "user": user_id},
    )
    return bool(row and row[0])


def attachable(
    conn: sqlite3.Connection, file_ids: list[int], owner_id: int | None
) -> list[FileRow] | None:
    """The files to attach, in order, once each (a plain sqlite3 function, for the send job);
    None when one is missing or, with `owner_id`, someone else's."""
    if not file_ids:
        return []
    marks = ",".join("?" * len(file_ids))
    found = {
        row[0]: _file(row)
        for row in conn.execute(f"SELECT {_COLUMNS} FROM files WHERE id IN ({marks})", file_ids)
    }
    if len(found) != len(set(file_ids)) or (
        owner_id is not None and any(f.owner_id != owner_id for f in found.values())
    ):
        return None
    return [found[file_id] for file_id in dict.fromkeys(file_ids)]


def link(conn: sqlite3.Connection, message_id: int, chat_id: int, rows: list[FileRow]) -> None:
    conn.executemany(
        "INSERT INTO message_files (message_id, file_id, chat_id, position) VALUES (?, ?, ?, ?)",
        [(message_id, row.id, chat_id, i) for i, row in enumerate(rows)],
    )


async def of_messages(
    conn: aiosqlite.Connection, message_ids: list[int]
) -> dict[int, list[FileRow]]:
    """Each message's attachments, in order."""
    found: dict[int, list[FileRow]] = defaultdict(list)
    if not message_ids:
        return found
    marks = ",".join("?" * len(message_ids))
    rows = await fetch_all(
        conn,
        f"SELECT mf.message_id, {_F_COLUMNS} FROM message_files mf JOIN files f"
        f" ON f.id = mf.file_id WHERE mf.message_id IN ({marks})"
        " ORDER BY mf.message_id, mf.position",
        message_ids,
    )
    for row in rows:
        found[row[0]].append(_file(list(row)[1:]))
    return found


async def file_ids_of(conn: aiosqlite.Connection, message_id: int) -> list[int]:
    rows = await fetch_all(
        conn,
        "SELECT file_id FROM message_files WHERE message_id = ? ORDER BY position",
        (message_id,),
    )
    return [row[0] for row in rows]


async def gallery(
    conn: aiosqlite.Connection,
    chat_id: int,
    viewer_id: int,
    kind: str,
    *,
    before: int | None,
    limit: int,
) -> tuple[list[GalleryItem], bool]:
    """A chat's attachments of one kind, newest first, `before` an item id; and whether
    more are older. Messages the viewer deleted for themselves are left out."""
    rows = await fetch_all(
        conn,
        f"SELECT mf.id, m.id, m.sender_id, m.created_at, {_F_COLUMNS}"
        " FROM message_files mf JOIN files f ON f.id = mf.file_id"
        " JOIN messages m ON m.id = mf.message_id"
        " WHERE mf.chat_id = :chat AND f.kind = :kind AND mf.id < :before"
        " AND NOT EXISTS (SELECT 1 FROM message_hidden h"
        " WHERE h.user_id = :viewer AND h.message_id = m.id)"
        " ORDER BY mf.id DESC LIMIT :limit",
        {
            "chat": chat_id,
            "kind": kind,
            "before": before if before is not None else 2**62,
            "viewer": viewer_id,
            "limit": limit + 1,
        },
    )
    items = [GalleryItem(r[0], r[1], r[2], r[3], _file(list(r)[4:])) for r in rows[:limit]]
    return items, len(rows) > limit


async def messages_named(
    conn: aiosqlite.Connection, user_id: int, words: list[str], where: SearchFilter, limit: int
) -> list[int]:
    """Ids of messages (newest first) with an attachment whose name holds every word, that
    `user_id` may find with this filter (`SearchFilter.sql`)."""
    params: dict[str, object] = {"user": user_id, "limit": limit}
    sql = (
        "SELECT DISTINCT m.id FROM message_files mf JOIN files f ON f.id = mf.file_id"
        " JOIN messages m ON m.id = mf.message_id"
        " JOIN chat_members c ON c.chat_id = mf.chat_id AND c.user_id = :user"
        " WHERE TRUE"
    )
    for i, word in enumerate(words):
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
        sql += f" AND lower(f.name) LIKE lower(:w{i}) ESCAPE '\\'"
        params[f"w{i}"] = f"%{escaped}%"
    sql += f"{where.sql(params)} ORDER BY m.id DESC LIMIT :limit"
    return [row[0] for row in await fetch_all(conn, sql, params)]


async def detach_all(tx: aiosqlite.Connection, message_id: int) -> None:
    await tx.execute("DELETE FROM message_files WHERE message_id = ?", (message_id,))


async def unattached_before(conn: aiosqlite.Connection, cutoff: int, limit: int) -> list[FileRow]:
    """Files older than `cutoff` that no message refers to and no profile or chat shows."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM files f WHERE created_at < ?"
        f" AND {_UNUSED.format(file='f.id')} ORDER BY id LIMIT ?",
        (cutoff, limit),
    )
    return [_file(row) for row in rows]


async def delete_unattached(tx: aiosqlite.Connection, file_ids: list[int]) -> list[str]:
    """Delete these file rows if still unused; the sha256s no row names any more."""
    if not file_ids:
        return []
    marks = ",".join("?" * len(file_ids))
    if dialect(tx) == "postgresql":
        # Wait for messages being sent with these files (their link holds a key-share lock)
        # and keep new links out until the commit: the DELETE below then sees every link.
        await fetch_all(tx, f"SELECT id FROM files WHERE id IN ({marks}) FOR UPDATE", file_ids)
    gone = await fetch_all(
        tx,
        f"DELETE FROM files WHERE id IN ({marks})"
        f" AND {_UNUSED.format(file='files.id')} RETURNING sha256",
        file_ids,
    )
    orphaned = []
    for sha256 in sorted({row[0] for row in gone}):
        if await fetch_one(tx, "SELECT 1 FROM files WHERE sha256 = ? LIMIT 1", (sha256,)) is None:
            orphaned.append(sha256)
    return orphaned
