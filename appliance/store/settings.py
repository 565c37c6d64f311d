"""SQL for the small key-value table of appliance state (the one-time setup token)."""

from __future__ import annotations

import aiosqlite


async def get(conn: aiosqlite.Connection, key: str) -> str | None:
    async with conn.execute("SELECT value FROM settings WHERE key = ?", (key,)) as cur:
        row = await cur.fetchone()
    return None if row is None else str(row[0])


async def put(tx: aiosqlite.Connection, key: str, value: str) -> None:
    await tx.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def delete(tx: aiosqlite.Connection, key: str) -> None:
    await tx.execute("DELETE FROM settings WHERE key = ?", (key,))
