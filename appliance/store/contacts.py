"""SQL for contacts (requests and accepted pairs) and blocks."""

from __future__ import annotations

import sqlite3

import aiosqlite


async def states(conn: aiosqlite.Connection, user_id: int) -> dict[int, str]:
    """other user id -> 'outgoing' | 'incoming' | 'accepted', as seen by `user_id`."""
    async with conn.execute(
        "SELECT other_id, state FROM contacts WHERE user_id = ? ORDER BY created_at", (user_id,)
    ) as cur:
        return {row[0]: row[1] for row in await cur.fetchall()}


async def state(conn: aiosqlite.Connection, user_id: int, other_id: int) -> str | None:
    async with conn.execute(
        "SELECT state FROM contacts WHERE user_id = ? AND other_id = ?", (user_id, other_id)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else str(row[0])


async def request(tx: aiosqlite.Connection, user_id: int, other_id: int, now: int) -> None:
    await tx.executemany(
        "INSERT INTO contacts (user_id, other_id, state, created_at) VALUES (?, ?, ?, ?)",
        [(user_id, other_id, "outgoing", now), (other_id, user_id, "incoming", now)],
    )


async def accept(tx: aiosqlite.Connection, user_id: int, other_id: int) -> None:
    await tx.execute(
        "UPDATE contacts SET state = 'accepted' WHERE (user_id = ?1 AND other_id = ?2)"
        " OR (user_id = ?2 AND other_id = ?1)",
        (user_id, other_id),
    )


async def remove(tx: aiosqlite.Connection, user_id: int, other_id: int) -> bool:
    cursor = await tx.execute(
        "DELETE FROM contacts WHERE (user_id = ?1 AND other_id = ?2)"
        " OR (user_id = ?2 AND other_id = ?1)",
        (user_id, other_id),
    )
    return cursor.rowcount > 0


async def block(tx: aiosqlite.Connection, blocker_id: int, blocked_id: int, now: int) -> bool:
    cursor = await tx.execute(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (blocker_id, blocked_id, now),
    )
    return cursor.rowcount == 1


async def unblock(tx: aiosqlite.Connection, blocker_id: int, blocked_id: int) -> bool:
    cursor = await tx.execute(
        "DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?", (blocker_id, blocked_id)
    )
    return cursor.rowcount == 1


async def blocked_by(conn: aiosqlite.Connection, blocker_id: int) -> list[int]:
    async with conn.execute(
        "SELECT blocked_id FROM blocks WHERE blocker_id = ? ORDER BY created_at", (blocker_id,)
    ) as cur:
        return [row[0] for row in await cur.fetchall()]


def either_blocked(conn: sqlite3.Connection, a: int, b: int) -> bool:
    """Whether either of the two blocked the other (a plain sqlite3 function)."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM blocks WHERE (blocker_id = ?1 AND blocked_id = ?2)"
        " OR (blocker_id = ?2 AND blocked_id = ?1))",
        (a, b),
    ).fetchone()
    return bool(row and row[0])


async def all_blocks(conn: aiosqlite.Connection) -> list[tuple[int, int]]:
    async with conn.execute("SELECT blocker_id, blocked_id FROM blocks") as cur:
        return [(row[0], row[1]) for row in await cur.fetchall()]


def closed_to(conn: sqlite3.Connection, sender_id: int, recipient_id: int) -> bool:
    """Whether `recipient_id` takes messages from contacts only and `sender_id` is not one."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?2 AND dm_policy = 'contacts'"
        " AND NOT EXISTS (SELECT 1 FROM contacts"
        " WHERE user_id = ?2 AND other_id = ?1 AND state = 'accepted'))",
        (sender_id, recipient_id),
    ).fetchone()
    return bool(row and row[0])
