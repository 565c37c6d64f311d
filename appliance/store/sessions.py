"""SQL for login sessions and their rotating refresh tokens."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

_COLUMNS = "id, user_id, device, ip, created_at, last_used_at, expires_at, revoked_at"


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    user_id: int
    device: str
    ip: str
    created_at: int
    last_used_at: int
    expires_at: int
    revoked_at: int | None

    def live(self, now: int) -> bool:
        return self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True, slots=True)
class RefreshTokenRow:
    token_hash: str
    session_id: str
    expires_at: int
    used_at: int | None


def _row(row: aiosqlite.Row | None) -> SessionRow | None:
    return None if row is None else SessionRow(*row)


async def create(
    tx: aiosqlite.Connection,
    *,
    session_id: str,
    user_id: int,
    device: str,
    ip: str,
    now: int,
    expires_at: int,
) -> None:
    await tx.execute(
        "INSERT INTO sessions (id, user_id, device, ip, created_at, last_used_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (session_id, user_id, device, ip, now, now, expires_at),
    )


async def get(conn: aiosqlite.Connection, session_id: str) -> SessionRow | None:
    async with conn.execute(f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", (session_id,)) as cur:
        return _row(await cur.fetchone())


async def list_live(conn: aiosqlite.Connection, user_id: int, now: int) -> list[SessionRow]:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM sessions WHERE user_id = ? AND revoked_at IS NULL"
        " AND expires_at > ? ORDER BY last_used_at DESC",
        (user_id, now),
    ) as cur:
        return [s for s in map(_row, await cur.fetchall()) if s is not None]


async def touch(tx: aiosqlite.Connection, session_id: str, now: int, ip: str) -> None:
    await tx.execute(
        "UPDATE sessions SET last_used_at = ?, ip = ? WHERE id = ?", (now, ip, session_id)
    )


async def revoke(tx: aiosqlite.Connection, session_id: str, now: int) -> bool:
    cursor = await tx.execute(
        "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, session_id)
    )
    return cursor.rowcount == 1


async def revoke_all(
    tx: aiosqlite.Connection, user_id: int, now: int, keep: str | None = None
) -> list[str]:
    """Revoke every live session of a user except `keep`; return the revoked ids."""
    # Not `id IS NOT ?`: PostgreSQL has no IS NOT with a value (and SQLite has IS DISTINCT
    # FROM only since 3.39). Nor `(? IS NULL OR id <> ?)`: PostgreSQL cannot tell the type
    # of a parameter it first meets in `? IS NULL`.
    sql = "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"
    params: tuple[object, ...] = (now, user_id)
    if keep is not None:
        sql += " AND id <> ?"
        params += (keep,)
    async with tx.execute(f"{sql} RETURNING id", params) as cur:
        return [row[0] for row in await cur.fetchall()]


async def add_refresh_token(
    tx: aiosqlite.Connection, token_hash: str, session_id: str, now: int, expires_at: int
) -> None:
    await tx.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?)",
        (token_hash, session_id, now, expires_at),
    )


async def get_refresh_token(conn: aiosqlite.Connection, token_hash: str) -> RefreshTokenRow | None:
    async with conn.execute(
        "SELECT token_hash, session_id, expires_at, used_at FROM refresh_tokens WHERE token_hash = ?",
        (token_hash,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else RefreshTokenRow(*row)


async def use_refresh_token(tx: aiosqlite.Connection, token_hash: str, now: int) -> bool:
    """Mark a refresh token used; False if it was used already (a replay)."""
    cursor = await tx.execute(
        "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
        (now, token_hash),
    )
    return cursor.rowcount == 1


async def prune(tx: aiosqlite.Connection, now: int) -> None:
    """Forget refresh tokens and sessions long past their expiry."""
    await tx.execute("DELETE FROM refresh_tokens WHERE expires_at < ?", (now,))
    await tx.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))


async def live_ids(conn: aiosqlite.Connection, session_ids: list[str], now: int) -> set[str]:
    """Which of these sessions are still signed in."""
    if not session_ids:
        return set()
    marks = ",".join("?" * len(session_ids))
    async with conn.execute(
        f"SELECT id FROM sessions WHERE id IN ({marks}) AND revoked_at IS NULL AND expires_at > ?",
        (*session_ids, now),
    ) as cur:
        return {row[0] for row in await cur.fetchall()}
