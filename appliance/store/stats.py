"""Totals for health and metrics: cheap aggregate reads, no per-row work in Python."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from appliance.store.db import fetch_one


@dataclass(frozen=True, slots=True)
class Totals:
    users: int
    messages: int
    files: int
    file_bytes: int


async def totals(conn: aiosqlite.Connection) -> Totals:
    row = await fetch_one(
        conn,
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM messages),"
        " (SELECT count(*) FROM files), (SELECT coalesce(sum(size), 0) FROM files)",
    )
    assert row is not None
    return Totals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


async def answers(conn: aiosqlite.Connection) -> bool:
    row = await fetch_one(conn, "SELECT 1")
    return row is not None and row[0] == 1


async def database_bytes(conn: aiosqlite.Connection) -> int:
    """What a PostgreSQL database takes on its server's disk."""
    row = await fetch_one(conn, "SELECT pg_database_size(current_database())")
    return int(row[0]) if row else 0
