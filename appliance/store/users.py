"""SQL for users and admin-issued password reset tokens."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from appliance.store.db import fetch_one
from appliance.store.errors import ConstraintError, DuplicateError

_COLUMNS = (
    "id, username, email, password_hash, display_name, bio, status_text, is_admin, "
    "disabled_at, created_at, updated_at, last_seen_at, avatar_file_id, dm_policy"
)


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    username: str
    email: str | None
    password_hash: str
    display_name: str
    bio: str
    status_text: str
    is_admin: bool
    disabled: bool
    created_at: int
    updated_at: int
    last_seen_at: int | None = None
    avatar_file_id: int | None = None  # the profile picture (a file row), if any
    dm_policy: str = "everyone"  # who can message them: 'everyone' or 'contacts'


def _row(row: Sequence[Any] | None) -> UserRow | None:
    """A row of `_COLUMNS`, read by position like every other table's."""
    if row is None:
        return None
    values = list(row)
    values[7] = bool(values[7])  # is_admin
    values[8] = values[8] is not None  # disabled_at: disabled since then
    return UserRow(*values)


# A unique key broken, as each engine says it.
_UNIQUE_BROKEN = (sqlite3.IntegrityError, ConstraintError)


def _duplicate(error: Exception) -> DuplicateError:
    text = str(error)  # SQLite: "UNIQUE constraint failed: users.email"; PostgreSQL names
    field = "email" if "email" in text else "username"  # the key: "users_email_key"
    return DuplicateError(field)


async def create(
    tx: aiosqlite.Connection,
    *,
    username: str,
    email: str | None,
    password_hash: str,
    display_name: str,
    is_admin: bool,
    now: int,
) -> UserRow:
    try:
        row = await fetch_one(
            tx,
            "INSERT INTO users (username, email, password_hash, display_name, is_admin,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (username, email, password_hash, display_name, int(is_admin), now, now),
        )
    except _UNIQUE_BROKEN as error:
        raise _duplicate(error) from None
    assert row is not None
    user = await get(tx, int(row[0]))
    assert user is not None
    return user


async def get(conn: aiosqlite.Connection, user_id: int) -> UserRow | None:
    async with conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,)) as cur:
        return _row(await cur.fetchone())


async def get_by_login(conn: aiosqlite.Connection, login: str) -> UserRow | None:
    """By username, or by email when the login contains an @."""
    column = "email" if "@" in login else "username"
    async with conn.execute(f"SELECT {_COLUMNS} FROM users WHERE {column} = ?", (login,)) as cur:
        return _row(await cur.fetchone())


async def count(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT count(*) FROM users") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def search(conn: aiosqlite.Connection, query: str, limit: int) -> list[UserRow]:
    """Active users whose username or display name (or a word of it) starts with `query`."""
    prefix = _like_prefix(query)
    word = "% " + prefix
    # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    sql = (
        f"SELECT {_COLUMNS} FROM users WHERE disabled_at IS NULL AND ("
        " lower(username) LIKE lower(?1) ESCAPE '\\'"
        " OR lower(display_name) LIKE lower(?1) ESCAPE '\\'"
        " OR lower(display_name) LIKE lower(?2) ESCAPE '\\')"
        " ORDER BY username LIMIT ?3"
    )
    async with conn.execute(sql, (prefix, word, limit)) as cur:
        return [u for u in map(_row, await cur.fetchall()) if u is not None]


async def list_all(conn: aiosqlite.Connection) -> list[UserRow]:
    async with conn.execute(f"SELECT {_COLUMNS} FROM users ORDER BY id") as cur:
        return [u for u in map(_row, await cur.fetchall()) if u is not None]


_PROFILE_FIELDS = frozenset({"display_name", "bio", "status_text", "email", "dm_policy"})


async def update_profile(
    tx: aiosqlite.Connection, user_id: int, fields: dict[str, Any], now: int
) -> None:
    unknown = set(fields) - _PROFILE_FIELDS
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    if not fields:
        return
    assignments = ", ".join(f"{name} = ?" for name in fields)
    try:
        await tx.execute(
            f"UPDATE users SET {assignments}, updated_at = ? WHERE id = ?",
            (*fields.values(), now, user_id),
        )
    except _UNIQUE_BROKEN as error:
        raise _duplicate(error) from None


async def set_password(
    tx: aiosqlite.Connection, user_id: int, password_hash: str, now: int
) -> None:
    await tx.execute(
        "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
        (password_hash, now, user_id),
    )


async def set_disabled(tx: aiosqlite.Connection, user_id: int, disabled: bool, now: int) -> None:
    await tx.execute(
        "UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?",
        (now if disabled else None, now, user_id),
    )


async def set_admin(tx: aiosqlite.Connection, user_id: int, is_admin: bool, now: int) -> None:
    await tx.execute(
        "UPDATE users SET is_admin = ?, updated_at = ? WHERE id = ?", (int(is_admin), now, user_id)
    )


async def count_admins(conn: aiosqlite.Connection) -> int:
    async with conn.execute(
        "SELECT count(*) FROM users WHERE is_admin = 1 AND disabled_at IS NULL"
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def add_reset_token(
    tx: aiosqlite.Connection, token_hash: str, user_id: int, now: int, expires_at: int
) -> None:
    await tx.execute(
        "INSERT INTO reset_tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (token_hash, user_id, now, expires_at),
    )


async def use_reset_token(tx: aiosqlite.Connection, token_hash: str, now: int) -> int | None:
    """Mark a live reset token used; return its user id, or None if it is unknown, used or expired."""
    async with tx.execute(
        "UPDATE reset_tokens SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL"
        " AND expires_at > ?1 RETURNING user_id",
        (now, token_hash),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else None


async def by_ids(conn: aiosqlite.Connection, ids: list[int]) -> dict[int, UserRow]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    async with conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id IN ({marks})", ids) as cur:
        rows = [_row(row) for row in await cur.fetchall()]
    return {row.id: row for row in rows if row is not None}


async def set_last_seen(tx: aiosqlite.Connection, user_id: int, now: int) -> None:
    await tx.execute("UPDATE users SET last_seen_at = ? WHERE id = ?", (now, user_id))


def set_avatar(conn: sqlite3.Connection, user_id: int, file_id: int | None, now: int) -> UserRow:
    """Set (or with None clear) a profile picture; the user as it is now. A plain sqlite3
    function, for the avatar's job on the writer's thread."""
    conn.execute(
        "UPDATE users SET avatar_file_id = ?, updated_at = ? WHERE id = ?", (file_id, now, user_id)
    )
    user = _row(conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone())
    assert user is not None
    return user


def chat_ids(conn: sqlite3.Connection, user_id: int) -> list[int]:
    """The chats someone is a member of (where news about them goes)."""
    rows = conn.execute("SELECT chat_id FROM chat_members WHERE user_id = ?", (user_id,))
    return [row[0] for row in rows]
