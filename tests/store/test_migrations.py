"""Migrations: from empty, from every frozen older schema, and refusal of a newer database."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from appliance.store.db import Database, Migration, SchemaTooNewError, bundled_migrations
from tests.support import sqlite

FROZEN = sorted((Path(__file__).parent / "schemas").glob("v*.sql"))


def _schema(path: Path) -> dict[str, str]:
    with sqlite.connect(path) as conn:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
    return dict(rows)


def _version(path: Path) -> int:
    with sqlite.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


async def _migrate(path: Path, migrations: list[Migration] | None = None) -> None:
    db = Database(path, read_connections=1, migrations=migrations)
    await db.open()
    await db.close()


async def test_empty_database_reaches_the_latest_version(tmp_path):
    path = tmp_path / "hearth.db"
    await _migrate(path)
    assert _version(path) == bundled_migrations()[-1].version
    assert {
        "users",
        "sessions",
        "refresh_tokens",
        "invites",
        "reset_tokens",
        "settings",
        "events",
    } <= set(_schema(path))
    with sqlite.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_migrating_twice_changes_nothing(tmp_path):
    path = tmp_path / "hearth.db"
    await _migrate(path)
    before = _schema(path)
    await _migrate(path)
    assert _schema(path) == before


def test_there_is_a_frozen_schema_for_every_older_version():
    versions = [m.version for m in bundled_migrations()]
    frozen = [int(p.stem.removeprefix("v")) for p in FROZEN]
    assert frozen == versions[:-1], (
        "freeze the schema (tests/store/schemas) before adding a migration"
    )


@pytest.mark.parametrize("frozen", FROZEN, ids=lambda p: p.stem)
async def test_upgrade_from_frozen_schema_keeps_data_and_matches_fresh(tmp_path, frozen):
    old = tmp_path / "old.db"
    with sqlite.connect(old) as conn:
        conn.executescript(frozen.read_text())
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("users", "sessions", "invites")
        }
    await _migrate(old)
    fresh = tmp_path / "fresh.db"
    await _migrate(fresh)
    assert _schema(old) == _schema(fresh)
    assert _version(old) == _version(fresh)
    with sqlite.connect(old) as conn:
        for table, count in counts.items():
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == count
        assert conn.execute("SELECT username FROM users WHERE id = 1").fetchone()[0] == "ada"


async def test_newer_database_is_refused(tmp_path):
    path = tmp_path / "hearth.db"
    await _migrate(path)
    latest = _version(path)
    with sqlite.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {latest + 1}")
    with pytest.raises(SchemaTooNewError, match=f"schema version {latest + 1}.*newer Hearth"):
        await _migrate(path)
    assert _version(path) == latest + 1  # untouched


async def test_an_open_that_fails_closes_the_connections_it_made(tmp_path, monkeypatch):
    made: list[aiosqlite.Connection] = []
    real_connect = aiosqlite.connect

    def connect(database, **kwargs):
        if len(made) == 2:  # the writer and one reader opened; the second reader cannot
            raise sqlite3.OperationalError("unable to open database file")
        made.append(real_connect(database, **kwargs))
        return made[-1]

    monkeypatch.setattr(aiosqlite, "connect", connect)
    db = Database(tmp_path / "hearth.db", read_connections=3)
    with pytest.raises(sqlite3.OperationalError):
        await db.open()
    assert len(made) == 2
    for connection in made:
        with pytest.raises(ValueError, match="no active connection"):
            await connection.execute("SELECT 1")


async def test_a_failing_migration_rolls_back_whole(tmp_path):
    path = tmp_path / "hearth.db"
    good = bundled_migrations()
    broken = Migration(
        len(good) + 1, "broken", "CREATE TABLE half (x);\nINSERT INTO nowhere VALUES (1);"
    )
    with pytest.raises(sqlite3.OperationalError):
        await _migrate(path, [*good, broken])
    assert _version(path) == len(good)
    assert "half" not in _schema(path)


async def test_writes_commit_before_returning_and_roll_back_on_error(tmp_path):
    db = Database(tmp_path / "hearth.db", read_connections=2)
    await db.open()
    try:
        async with db.write() as tx:
            await tx.execute("INSERT INTO settings (key, value) VALUES ('a', '1')")
        # A separate connection sees it at once: it was committed when write() exited.
        with sqlite.connect(tmp_path / "hearth.db") as conn:
            assert conn.execute("SELECT value FROM settings WHERE key='a'").fetchone() == ("1",)
        with pytest.raises(RuntimeError):
            async with db.write() as tx:
                await tx.execute("INSERT INTO settings (key, value) VALUES ('b', '2')")
                raise RuntimeError("boom")
        async with db.read() as conn, conn.execute("SELECT count(*) FROM settings") as cur:
            assert (await cur.fetchone())[0] == 1
    finally:
        await db.close()


async def test_upgrading_redacts_deleted_and_edited_text_from_the_event_log(tmp_path):
    """Before 0005, events kept every version of a message for the retention window: a late
    joiner replaying the log could read what was deleted or edited away."""
    old = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(old)) as conn, conn:
        conn.executescript((Path(__file__).parent / "schemas" / "v0004.sql").read_text())
    await _migrate(old)
    with contextlib.closing(sqlite3.connect(old)) as conn:
        log = conn.execute("SELECT message_id, data FROM events ORDER BY seq").fetchall()
    text = " ".join(data for _, data in log)
    assert "a secret" not in text and "the first text" not in text
    about = [(message_id, json.loads(data)) for message_id, data in log if message_id]
    assert [message_id for message_id, _ in about] == [1, 2, 3, 4, 2]
    for message_id, data in about:
        assert data["id"] == message_id
        if message_id == 2:  # created, then updated: both say what it says now
            assert data["body"] == "the edited text"
        if message_id == 3:
            assert data["deleted"] is True and data["body"] == "" and data["mentions"] == []
        if message_id == 4:
            assert data["reply_to"] == {"id": 3, "sender_id": 1, "body": "", "deleted": True}
    assert about[0][1]["body"] == "hello bob"
