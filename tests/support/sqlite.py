"""A plain sqlite3 connection for a test that looks at (or changes) a database file directly;
`database()` for one that does so on whichever engine the suite runs (HEARTH_TEST_STORAGE).

`with sqlite3.connect(path) as conn:` commits at the end of the block but never closes the
connection; Python 3.13 warns about every connection left open (a ResourceWarning, an error
under our pytest settings). `connect()` commits and closes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from appliance.config import Settings


@contextmanager
def connect(path: Path | str) -> Iterator[sqlite3.Connection]:
    """Open `path`; commit when the block ends without an error (roll back otherwise), then close."""
    with closing(sqlite3.connect(path)) as conn, conn:
        yield conn


@contextmanager
def database(config: Settings) -> Iterator[Any]:
    """The database of `config`, SQLite's file or PostgreSQL's, with sqlite3's `execute` (the
    store's SQL works on both); committed at the end of the block, then closed."""
    if config.storage.url is None or config.storage.url.startswith("sqlite:"):
        with connect(config.database_path) as conn:
            yield conn
        return
    import psycopg

    from appliance.store.postgres import ThreadConnection

    with psycopg.connect(config.storage.url, cursor_factory=psycopg.ClientCursor) as raw:
        yield ThreadConnection(raw)


def set_schema_version(config: Settings, version: int) -> None:
    """Mark the database as written by a Hearth with this schema version."""
    with database(config) as conn:
        if isinstance(conn, sqlite3.Connection):
            conn.execute(f"PRAGMA user_version = {int(version)}")
        else:
            conn.execute("CREATE TABLE IF NOT EXISTS hearth_schema (version bigint NOT NULL)")
            conn.execute("INSERT INTO hearth_schema (version) VALUES (?)", (version,))
