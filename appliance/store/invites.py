"""SQL for invite links."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

_COLUMNS = "code, created_by, created_at, expires_at, max_uses, uses, revoked_at"


@dataclass(frozen=True, slots=True)
class InviteRow:
    code: str
    created_by: int | None
    created_at: int
    expires_at: int
    max_uses: int
    uses: int
    revoked_at: int | None

    def usable(self, now: int) -> bool:
        return self.revoked_at is None and self.expires_at > now and self.uses < self.max_uses


async def create(
    tx: aiosqlite.Connection,
    *,
    code: str,
    created_by: int | None,
    now: int,
    expires_at: int,
    max_uses: int,
) -> InviteRow:
    await tx.execute(
        "INSERT INTO invites (code, created_by, created_at, expires_at, max_uses)"
        " VALUES (?, ?, ?, ?, ?)",
        (code, created_by, now, expires_at, max_uses),
    )
    return InviteRow(code, created_by, now, expires_at, max_uses, 0, None)


async def get(conn: aiosqlite.Connection, code: str) -> InviteRow | None:
    async with conn.execute(f"SELECT {_COLUMNS} FROM invites WHERE code = ?", (code,)) as cur:
        row = await cur.fetchone()
    return None if row is None else InviteRow(*row)


async def consume(tx: aiosqlite.Connection, code: str, now: int) -> bool:
    """Take one use of a live invite; False if it is unknown, expired, revoked or used up."""
    cursor = await tx.execute(
        "UPDATE invites SET uses = uses + 1 WHERE code = ?1 AND revoked_at IS NULL"
        " AND expires_at > ?2 AND uses < max_uses",
        (code, now),
    )
    return cursor.rowcount == 1


async def revoke(tx: aiosqlite.Connection, code: str, now: int) -> bool:
    """Stop an invite working; False if there is no such invite."""
    cursor = await tx.execute(
        "UPDATE invites SET revoked_at = coalesce(revoked_at, ?) WHERE code = ?", (now, code)
    )
    return cursor.rowcount == 1


async def list_recent(conn: aiosqlite.Connection, limit: int = 100) -> list[InviteRow]:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM invites ORDER BY created_at DESC LIMIT ?", (limit,)
    ) as cur:
        return [InviteRow(*row) for row in await cur.fetchall()]
