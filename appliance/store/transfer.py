"""`hearth migrate-store`: an appliance's SQLite database copied whole into PostgreSQL, so a
team that outgrew its Pi keeps its history, its accounts and its sessions (issue 10).

The target must already hold Hearth's schema at the same version, and nothing else
(`migrate-store` creates it); the copy is one transaction, so a failure leaves it empty.
Tables go in foreign-key order, rows in the order SQLite numbered them (so `message_edits`
and `pins`, read in that order, keep it), through COPY. Triggers are off meanwhile: the rows
already hold what the triggers made of them on SQLite. Each identity column's sequence then
continues after the highest id copied, and every table's row count is checked against the
source before the commit.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

Progress = Callable[[int, int], None]
BATCH = 2000  # rows between progress reports


class TransferError(Exception):
    """The copy cannot start or did not match (nothing was kept in the target)."""


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: list[str]  # copied as they are
    later: list[str]  # nullable references to a table copied after this one: set afterwards
    ordered: bool  # has SQLite's rowid: copy in its order


@dataclass(frozen=True, slots=True)
class Copied:
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def copy(source: Path, target_url: str, progress: Progress = lambda done, total: None) -> Copied:
    with (
        contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as lite,
        psycopg.connect(target_url) as pg,  # one transaction: commits at the end, or nothing
    ):
        return _copy(lite, pg, progress)


def _copy(lite: sqlite3.Connection, pg: psycopg.Connection[Any], progress: Progress) -> Copied:
    occupied = pg.execute("SELECT count(*) FROM users").fetchone()
    if occupied and occupied[0]:
        raise TransferError(
            "the target database already holds accounts: migrate-store fills an empty one"
        )
    tables = _plan(lite, pg)
    counts = {t.name: int(lite.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0])
              for t in tables}  # fmt: skip
    total, done = sum(counts.values()), 0
    progress(0, total)
    for table in tables:
        pg.execute(f"ALTER TABLE {table.name} DISABLE TRIGGER USER")
    for table in tables:
        order = " ORDER BY rowid" if table.ordered else ""
        rows = lite.execute(f"SELECT {', '.join(table.columns)} FROM {table.name}{order}")
        with pg.cursor().copy(f"COPY {table.name} ({', '.join(table.columns)}) FROM STDIN") as out:
            for n, row in enumerate(rows, 1):
                out.write_row(row)
                if n % BATCH == 0:
                    progress(done + n, total)
        done += counts[table.name]
        progress(done, total)
    for table in tables:
        for column in table.later:
            _set_later(lite, pg, table.name, column)
        pg.execute(f"ALTER TABLE {table.name} ENABLE TRIGGER USER")
    _continue_sequences(pg)
    for table in tables:
        found = int(pg.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0])  # type: ignore[index]
        if found != counts[table.name]:
            raise TransferError(
                f"{table.name}: {counts[table.name]} rows in SQLite, {found} in PostgreSQL"
            )
    return Copied(counts)


def _plan(lite: sqlite3.Connection, pg: psycopg.Connection[Any]) -> list[Table]:
    """The tables in an order each one's references are copied before it; a cycle (users'
    pictures are files, files have owners) is broken at a reference that may be null."""
    names = [
        name
        for (name,) in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name NOT LIKE 'messages_fts%' ORDER BY name"
        )
    ]
    copyable: dict[str, set[str]] = {}
    for table, column in pg.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_generated = 'NEVER'"
        " AND coalesce(identity_generation, '') <> 'ALWAYS'"
    ):
        copyable.setdefault(table, set()).add(column)
    missing = [name for name in names if name not in copyable]
    if missing:
        raise TransferError(f"the target has no table {', '.join(missing)}: not Hearth's schema")
    needs: dict[str, dict[str, str]] = {}  # table -> column -> referenced table
    nullable: dict[str, set[str]] = {}
    columns: dict[str, list[str]] = {}
    ordered: dict[str, bool] = {}
    for name in names:
        info = lite.execute(f"PRAGMA table_info({name})").fetchall()
        columns[name] = [row[1] for row in info if row[1] in copyable[name]]
        nullable[name] = {row[1] for row in info if not row[3] and not row[5]}
        needs[name] = {
            row[3]: row[2]
            for row in lite.execute(f"PRAGMA foreign_key_list({name})")
            if row[2] != name  # a message replying to an earlier one: rowid order covers it
        }
        without_rowid = lite.execute(
            "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name = ?", (name,)
        ).fetchone()[0]
        ordered[name] = not without_rowid
    plan: list[Table] = []
    placed: set[str] = set()
    later: dict[str, list[str]] = {}
    while len(placed) < len(names):
        waiting = {
            n: {c: t for c, t in needs[n].items() if t not in placed and c not in later.get(n, [])}
            for n in names
            if n not in placed
        }
        ready = [n for n, unmet in waiting.items() if not unmet]
        if not ready:  # a cycle: put off the references of a table that may all be null
            stuck = next((n for n, unmet in waiting.items() if set(unmet) <= nullable[n]), None)
            if stuck is None:
                raise TransferError(f"no order copies these tables: {sorted(waiting)}")
            later.setdefault(stuck, []).extend(waiting[stuck])
            continue
        for name in ready:
            put_off = later.get(name, [])
            columns_now = [c for c in columns[name] if c not in put_off]
            plan.append(Table(name, columns_now, put_off, ordered[name]))
            placed.add(name)
    return plan


def _set_later(
    lite: sqlite3.Connection, pg: psycopg.Connection[Any], table: str, column: str
) -> None:
    """Fill a reference put off to break a cycle, now that what it names is there."""
    keys = [row[1] for row in lite.execute(f"PRAGMA table_info({table})") if row[5]]
    where = " AND ".join(f"{key} = %s" for key in keys)
    rows = lite.execute(
        f"SELECT {column}, {', '.join(keys)} FROM {table} WHERE {column} IS NOT NULL"
    ).fetchall()
    with pg.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE {where}", rows)


def _continue_sequences(pg: psycopg.Connection[Any]) -> None:
    """Identity columns number on from the highest id copied (SQLite does so by itself)."""
    for table, column in pg.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND identity_generation IS NOT NULL"
    ).fetchall():
        pg.execute(
            "SELECT setval(pg_get_serial_sequence(%s, %s),"
            f" coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)",
            (table, column),
        )
