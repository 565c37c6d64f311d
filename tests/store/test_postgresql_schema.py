"""The PostgreSQL migrations (appliance/store/migrations/postgresql/) are the twins of the
SQLite ones: they apply in order, one transaction each; at every version the schema has the
same tables, columns, keys, indexes and triggers as SQLite's at that version; the touch trigger,
the CHECK / UNIQUE / FOREIGN KEY constraints, the data migrations of 0005 and 0009 and the
search over message bodies behave the same. PostgreSQL is reached with psql only."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import engines, sqlite

MIGRATIONS = Path(__file__).resolve().parents[2] / "appliance" / "store" / "migrations"
SQLITE_FILES = sorted(MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))
PG_FILES = sorted((MIGRATIONS / "postgresql").glob("[0-9][0-9][0-9][0-9]_*.sql"))
VERSIONS = list(range(1, len(SQLITE_FILES) + 1))
PSQL = "/usr/bin/psql"
NULL = "<null>"  # how both engines' NULLs are written out for comparing rows

# What exists on one engine only, left out of the comparison:
# - SQLite's full-text search is an FTS5 virtual table, messages_fts, with its shadow tables
#   (messages_fts_data, _idx, _docsize, _config) and three triggers messages_fts_*, that keep it
#   in step. PostgreSQL has instead a generated column messages.body_tsv and its GIN index
#   messages_body_tsv, with no trigger (test_postgresql_only_objects checks what they are).
# - message_edits and pins are read in SQLite's implicit rowid order; on PostgreSQL that rowid
#   is a real identity column named rowid, so that the same SQL works.
SQLITE_ONLY_TABLE = re.compile(r"messages_fts(_.*)?$")
SQLITE_ONLY_TRIGGER = re.compile(r"messages_fts_.*$")
PG_ONLY_COLUMNS = {("messages", "body_tsv"), ("message_edits", "rowid"), ("pins", "rowid")}
PG_ONLY_INDEXES = {"messages_body_tsv"}

SQLITE_TYPES = {"INTEGER": "integer", "TEXT": "text", "BLOB": "blob", "REAL": "real"}
PG_TYPES = {
    "bigint": "integer",
    "smallint": "integer",
    "integer": "integer",
    "text": "text",
    "citext": "text",
    "bytea": "blob",
    "double precision": "real",
}
PG_ACTIONS = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}


# --- the two engines -----------------------------------------------------------------------


def _psql(
    url: str, script: str = "", *, file: Path | None = None, stop_on_error: bool = True
) -> subprocess.CompletedProcess[str]:
    """psql unaligned, tuples only, fields split by |, NULL written as <null>; `file` runs in
    one transaction (-1), as the migration runner does."""
    args = [PSQL, "-X", "-q", "-A", "-t", "-F", "|", "-P", f"null={NULL}", "-d", url]
    if stop_on_error:
        args += ["-v", "ON_ERROR_STOP=1"]
    if file is not None:
        args += ["-1", "-f", str(file)]
    return subprocess.run(
        args,
        input=script,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PGCLIENTENCODING": "UTF8"},
        timeout=60,
        check=False,
    )


def _pg_rows(url: str, script: str, maxsplit: int = -1) -> list[list[str]]:
    done = _psql(url, script)
    assert done.returncode == 0, done.stderr
    return [line.split("|", maxsplit) for line in done.stdout.splitlines() if line]


def _pg_apply(url: str, files: list[Path]) -> None:
    for path in files:
        done = _psql(url, file=path)
        assert done.returncode == 0 and not done.stderr, f"{path.name}: {done.stderr}"


def _sqlite_open(path: Path) -> sqlite3.Connection:
    """As the application opens it: foreign keys enforced; autocommit (explicit transactions)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _sqlite_apply(path: Path, files: list[Path]) -> None:
    with sqlite.connect(path) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        for file in files:
            conn.executescript(file.read_text("utf-8"))


def _text(value: object) -> str:
    return NULL if value is None else str(value)


def _sqlite_rows(conn: sqlite3.Connection, query: str) -> list[list[str]]:
    return [[_text(v) for v in row] for row in conn.execute(query)]


# --- schemas as comparable sets ------------------------------------------------------------


@dataclass(frozen=True)
class Schema:
    """Each aspect of a schema as a set of facts, comparable across the engines."""

    tables: frozenset[str]
    # (table, column, type family, not null, default)
    columns: frozenset[tuple[str, str, str, bool, str | None]]
    primary_keys: frozenset[tuple[str, tuple[str, ...]]]
    uniques: frozenset[tuple[str, tuple[str, ...]]]
    # (table, columns, referenced table, referenced columns, on delete, on update)
    foreign_keys: frozenset[tuple[str, tuple[str, ...], str, tuple[str, ...], str, str]]
    # (table, index, columns, unique, partial): indexes made by CREATE INDEX
    indexes: frozenset[tuple[str, str, tuple[str, ...], bool, bool]]
    # (table, column): the column that numbers new rows (rowid alias / identity)
    identities: frozenset[tuple[str, str]]
    triggers: frozenset[tuple[str, str]]


def _facts() -> dict[str, set]:
    return {aspect: set() for aspect in Schema.__dataclass_fields__}


def _sqlite_schema(path: Path) -> Schema:
    facts = _facts()
    with sqlite.connect(path) as conn:
        # sqlite_sequence (AUTOINCREMENT's counters) is SQLite's own, as an identity's
        # sequence is PostgreSQL's.
        query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        tables = [r[0] for r in conn.execute(query) if not SQLITE_ONLY_TABLE.match(r[0])]
        for table in tables:
            facts["tables"].add(table)
            info = conn.execute(f"PRAGMA table_info({table})").fetchall()
            pk = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
            for _, name, type_, notnull, default, in_pk in info:
                # A PRIMARY KEY column is never NULL on PostgreSQL. On SQLite an INTEGER PRIMARY
                # KEY cannot be NULL either (it is the rowid) though table_info says notnull=0;
                # a TEXT PRIMARY KEY of a rowid table does take NULL there (a SQLite quirk the
                # application never relies on: see ACCEPTED_ON_SQLITE_ONLY).
                family = SQLITE_TYPES.get(type_.upper(), type_)
                facts["columns"].add((table, name, family, bool(notnull or in_pk), default))
            if pk:
                facts["primary_keys"].add((table, pk))
            index_list = conn.execute(f"PRAGMA index_list({table})").fetchall()
            without_rowid = any(origin == "pk" for _, _, _, origin, _ in index_list)
            types = {r[1]: r[2].upper() for r in info}
            if len(pk) == 1 and not without_rowid and types[pk[0]] == "INTEGER":
                facts["identities"].add((table, pk[0]))  # the rowid itself
            for _, index, unique, origin, partial in index_list:
                cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({index})"))
                if unique and origin != "pk":
                    facts["uniques"].add((table, cols))
                if origin == "c":
                    facts["indexes"].add((table, index, cols, bool(unique), bool(partial)))
            keys: dict[int, list[tuple]] = {}
            for row in conn.execute(f"PRAGMA foreign_key_list({table})"):
                keys.setdefault(row[0], []).append(row)
            for rows in keys.values():
                rows.sort(key=lambda r: r[1])
                cols, ref_cols = tuple(r[3] for r in rows), tuple(r[4] for r in rows)
                on_update, on_delete = rows[0][5], rows[0][6]
                facts["foreign_keys"].add((table, cols, rows[0][2], ref_cols, on_delete, on_update))
        query = "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
        triggers = [(t, n) for t, n in conn.execute(query) if not SQLITE_ONLY_TRIGGER.match(n)]
        facts["triggers"].update(triggers)
    return Schema(**{aspect: frozenset(found) for aspect, found in facts.items()})


_PG_CATALOG = r"""
SELECT 'table', c.relname FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r';
SELECT 'column', c.relname, a.attname, format_type(a.atttypid, NULL), a.attnotnull,
       coalesce(replace(pg_get_expr(d.adbin, d.adrelid), E'\n', ' '), ''), a.attidentity, a.attgenerated
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0
   AND NOT a.attisdropped;
SELECT 'index', c.relname, i.relname, x.indisprimary, x.indisunique, x.indpred IS NOT NULL,
       EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u')),
       (SELECT string_agg(coalesce(a.attname, '(expression)'), ',' ORDER BY u.n)
          FROM unnest(x.indkey) WITH ORDINALITY AS u(attnum, n)
          LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum)
  FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
 WHERE c.relnamespace = 'public'::regnamespace;
SELECT 'fk', c.relname,
       (SELECT string_agg(a.attname, ',' ORDER BY u.n) FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, n)
          JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum),
       r.relname,
       (SELECT string_agg(a.attname, ',' ORDER BY u.n) FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, n)
          JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum),
       k.confdeltype, k.confupdtype
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
 WHERE k.contype = 'f' AND c.relnamespace = 'public'::regnamespace;
SELECT 'trigger', c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace;
"""


def _pg_default(expression: str) -> str | None:
    """'member'::text -> 'member' (SQLite's dflt_value has no cast)."""
    return re.sub(r"::[a-z ]+$", "", expression) if expression else None


def _pg_schema(url: str) -> Schema:
    facts = _facts()
    for kind, *row in _pg_rows(url, _PG_CATALOG):
        if kind == "table":
            facts["tables"].add(row[0])
        elif kind == "column":
            table, name, type_, notnull, default, identity, generated = row
            if (table, name) in PG_ONLY_COLUMNS:
                continue
            default = None if generated or identity else _pg_default(default)
            family = PG_TYPES.get(type_, type_)
            facts["columns"].add((table, name, family, notnull == "t", default))
            if identity:
                facts["identities"].add((table, name))
        elif kind == "index":
            table, name, primary, unique, partial, constraint, cols_text = row
            cols = tuple(cols_text.split(","))
            if primary == "t":
                facts["primary_keys"].add((table, cols))
            elif unique == "t":
                facts["uniques"].add((table, cols))
            if constraint == "f" and name not in PG_ONLY_INDEXES:
                facts["indexes"].add((table, name, cols, unique == "t", partial == "t"))
        elif kind == "fk":
            table, cols, ref, ref_cols, on_delete, on_update = row
            actions = PG_ACTIONS[on_delete], PG_ACTIONS[on_update]
            facts["foreign_keys"].add(
                (table, tuple(cols.split(",")), ref, tuple(ref_cols.split(",")), *actions)
            )
        elif kind == "trigger":
            facts["triggers"].add((row[0], row[1]))
    return Schema(**{aspect: frozenset(found) for aspect, found in facts.items()})


# --- one PostgreSQL for the module, migrated step by step ------------------------------------


@dataclass
class Migrated:
    server: engines.Postgres
    url: str  # the database at the latest version
    applied: list[tuple[str, int, str]]  # file, psql's exit status, what it wrote to stderr
    pg: dict[int, Schema]
    sqlite: dict[int, Schema]
    sqlite_path: Path  # the SQLite database at the latest version
    clones: int = 0

    def clone(self) -> str:
        """A new database copied from the migrated one (CREATE DATABASE ... TEMPLATE)."""
        self.clones += 1
        name = f"clone_{self.clones}"
        _pg_rows(self.server.url, f"CREATE DATABASE {name} TEMPLATE migrated")
        return self.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Migrated]:
    folder = tmp_path_factory.mktemp("sqlite")
    sqlite_path = folder / "hearth.db"
    sqlite_schemas = {}
    for version, path in zip(VERSIONS, SQLITE_FILES, strict=True):
        _sqlite_apply(sqlite_path, [path])
        sqlite_schemas[version] = _sqlite_schema(sqlite_path)
    with engines.postgres() as pg:
        url = pg.create_database("migrated")
        applied, schemas = [], {}
        for version, path in enumerate(PG_FILES, start=1):
            done = _psql(url, file=path)
            applied.append((path.name, done.returncode, done.stderr))
            if done.returncode != 0:
                break
            schemas[version] = _pg_schema(url)
        yield Migrated(pg, url, applied, schemas, sqlite_schemas, sqlite_path)


# --- the tests ------------------------------------------------------------------------------


def test_every_sqlite_migration_has_a_postgresql_twin():
    assert [p.name for p in PG_FILES] == [p.name for p in SQLITE_FILES]


def test_all_migrations_apply_in_order_each_in_one_transaction(migrated):
    assert [name for name, _, _ in migrated.applied] == [p.name for p in PG_FILES]
    for name, status, stderr in migrated.applied:
        assert (status, stderr) == (0, ""), f"{name}: {stderr}"
    for path in PG_FILES:
        text = path.read_text("utf-8")
        # The runner owns the transaction (and the schema version).
        assert not re.search(r"^\s*(BEGIN|COMMIT|ROLLBACK)\s*;", text, re.I | re.M), path.name


@pytest.mark.parametrize("version", VERSIONS)
def test_schema_at_each_version_matches_sqlite(migrated, version):
    assert version in migrated.pg, "this migration did not apply"
    sqlite_schema, pg_schema = migrated.sqlite[version], migrated.pg[version]
    for aspect in Schema.__dataclass_fields__:
        on_sqlite, on_pg = getattr(sqlite_schema, aspect), getattr(pg_schema, aspect)
        assert sorted(on_sqlite - on_pg) == sorted(on_pg - on_sqlite) == [], (
            f"{aspect} at v{version}: SQLite only {sorted(on_sqlite - on_pg)}, "
            f"PostgreSQL only {sorted(on_pg - on_sqlite)}"
        )
    assert sqlite_schema.tables, "nothing compared"


def test_postgresql_only_objects(migrated):
    """What stands in for SQLite's FTS5 and rowids is what the comparison leaves out."""
    columns = _pg_rows(
        migrated.url,
        """SELECT c.relname, a.attname, format_type(a.atttypid, NULL), a.attidentity, a.attgenerated
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
              AND (a.attname IN ('rowid', 'body_tsv') OR a.attidentity <> '')""",
    )
    extras = {(r[0], r[1]): r[2:] for r in columns}
    assert extras.pop(("messages", "body_tsv")) == ["tsvector", "", "s"]  # generated, stored
    assert extras.pop(("message_edits", "rowid")) == ["bigint", "a", ""]  # identity ALWAYS
    assert extras.pop(("pins", "rowid")) == ["bigint", "a", ""]
    # The other identities are BY DEFAULT (a copy of a SQLite database keeps its ids), and
    # they are SQLite's INTEGER PRIMARY KEYs (compared by test_schema_at_each_version...).
    assert {kind for _, kind, _ in extras.values()} == {"d"}
    assert set(extras) == migrated.sqlite[VERSIONS[-1]].identities

    (index,) = _pg_rows(
        migrated.url,
        "SELECT am.amname, pg_get_indexdef(c.oid) FROM pg_class c JOIN pg_am am ON am.oid = c.relam"
        " WHERE c.relname = 'messages_body_tsv'",
    )
    assert index[0] == "gin" and index[1].endswith("(body_tsv)")
    # IMMUTABLE, as a generated column requires
    assert _pg_rows(
        migrated.url, "SELECT provolatile FROM pg_proc WHERE proname = 'hearth_unaccent'"
    ) == [["i"]]
    # SQLite's COLLATE NOCASE columns
    citext = _pg_rows(
        migrated.url,
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " WHERE a.atttypid = 'citext'::regtype AND c.relkind = 'r' ORDER BY 1, 2",
    )
    assert citext == [["users", "email"], ["users", "username"]]


# Users, chats and members both behaviour tests start from (explicit ids: the same on both).
SETUP = [
    "INSERT INTO users (id, username, email, password_hash, created_at, updated_at) VALUES"
    " (1, 'ada', 'ada@example.org', 'x', 1, 1), (2, 'bob', NULL, 'x', 1, 1),"
    " (3, 'cy', NULL, 'x', 1, 1)",
    "INSERT INTO chats (id, kind, title, direct_key, created_at, last_activity_at) VALUES"
    " (10, 'group', 'g', NULL, 1000, 1000), (11, 'direct', '', '1:2', 1000, 1000)",
    "INSERT INTO chat_members (chat_id, user_id, joined_at) VALUES"
    " (10, 1, 1000), (10, 2, 1000), (11, 1, 1000), (11, 2, 1000)",
]

# Times past 2**31 (milliseconds), so that an int4 would not do.
STEPS = [
    # the sender's read marks
    "INSERT INTO messages (id, chat_id, sender_id, body, created_at)"
    " VALUES (100, 10, 1, 'first', 5000000000000)",
    # a reply kept in its thread touches nothing
    "INSERT INTO messages (id, chat_id, sender_id, body, created_at, thread_root_id)"
    " VALUES (101, 10, 2, 'in the thread', 5000000000001, 100)",
    # ... unless it was also sent to the chat
    "INSERT INTO messages (id, chat_id, sender_id, body, created_at, thread_root_id, also_to_chat)"
    " VALUES (102, 10, 2, 'also to the chat', 5000000000002, 100, 1)",
    # no sender: nothing
    "INSERT INTO messages (id, chat_id, sender_id, kind, body, created_at)"
    " VALUES (103, 10, NULL, 'system', 'cy was here', 5000000000003)",
    # a sender who is not a member: nothing
    "INSERT INTO messages (id, chat_id, sender_id, body, created_at)"
    " VALUES (104, 11, 3, 'stranger', 5000000000004)",
    # several rows in one statement: each row's trigger in turn, the last one wins
    "INSERT INTO messages (id, chat_id, sender_id, body, created_at) VALUES"
    " (105, 11, 1, 'a', 5000000000007), (106, 11, 2, 'b', 5000000000006),"
    " (107, 11, 1, 'c', 5000000000005)",
    # only inserts fire it
    "UPDATE messages SET body = 'edited', edited_at = 5000000000010 WHERE id = 105",
    # the thread goes with its root
    "DELETE FROM messages WHERE id = 100",
    # members go, messages stay without a sender
    "DELETE FROM users WHERE id = 2",
]

SNAPSHOT = [
    "SELECT id, last_message_id, last_activity_at FROM chats ORDER BY id",
    "SELECT chat_id, user_id, last_read_id, last_delivered_id FROM chat_members"
    " ORDER BY chat_id, user_id",
    "SELECT id, sender_id, body, thread_root_id FROM messages ORDER BY id",
    # NOCASE on SQLite, citext on PostgreSQL
    "SELECT id FROM users WHERE username = 'ADA' OR email = 'Ada@Example.ORG' ORDER BY id",
]


def test_touch_trigger_has_the_same_effects(migrated):
    conn = _sqlite_open(migrated.sqlite_path)
    try:
        conn.execute("BEGIN")
        for statement in SETUP:
            conn.execute(statement)
        on_sqlite = []
        for step in STEPS:
            conn.execute(step)
            on_sqlite.append([_sqlite_rows(conn, query) for query in SNAPSHOT])
    finally:
        conn.execute("ROLLBACK")  # the module's SQLite database stays without rows
        conn.close()

    script = [*(s + ";" for s in SETUP)]
    for number, step in enumerate(STEPS):
        script.append(step + ";")
        for query_number, query in enumerate(SNAPSHOT):
            script.append(f"SELECT '@@', {number}, {query_number};")
            script.append(query + ";")
    on_pg: list[list[list[list[str]]]] = [[[] for _ in SNAPSHOT] for _ in STEPS]
    current: list[list[str]] = []
    for row in _pg_rows(migrated.clone(), "\n".join(script)):
        if row[0] == "@@":
            current = on_pg[int(row[1])][int(row[2])]
        else:
            current.append(row)

    for number, step in enumerate(STEPS):
        assert on_pg[number] == on_sqlite[number], f"after: {step}"
    # and the trigger did something: the sender's read marks (a chat's latest activity is
    # the store's to write since 0012, store/chats.py `touch`, so the chats rows stay)
    assert on_sqlite[0][1][0] == ["10", "1", "100", "100"]
    assert on_sqlite[2][1][1] == ["10", "2", "102", "102"]
    assert on_sqlite[-1][0] == [["10", "<null>", "1000"], ["11", "<null>", "1000"]]
    assert on_sqlite[0][3] == [["1"]]


# Each probe runs alone on the SETUP rows, then is undone: its statements (split at "; ") are
# accepted, or one of them is rejected by a constraint.
REJECTED_ON_BOTH = {
    "username differs in case": "INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (50, 'ADA', 'x', 1, 1)",
    "email differs in case": "INSERT INTO users (id, username, email, password_hash, created_at, updated_at) VALUES (50, 'dee', 'ADA@example.org', 'x', 1, 1)",
    "no username": "INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (50, NULL, 'x', 1, 1)",
    "dm_policy unknown": "UPDATE users SET dm_policy = 'friends' WHERE id = 1",
    "chat kind unknown": "INSERT INTO chats (id, kind, created_at, last_activity_at) VALUES (50, 'forum', 1, 1)",
    "direct chat without key": "INSERT INTO chats (id, kind, created_at, last_activity_at) VALUES (50, 'direct', 1, 1)",
    "group with a direct key": "INSERT INTO chats (id, kind, direct_key, created_at, last_activity_at) VALUES (50, 'group', '1:3', 1, 1)",
    "second direct chat of a pair": "INSERT INTO chats (id, kind, direct_key, created_at, last_activity_at) VALUES (50, 'direct', '1:2', 1, 1)",
    "member role unknown": "INSERT INTO chat_members (chat_id, user_id, role, joined_at) VALUES (10, 3, 'king', 1)",
    "member of no chat": "INSERT INTO chat_members (chat_id, user_id, joined_at) VALUES (99, 3, 1)",
    "message kind unknown": "INSERT INTO messages (id, chat_id, kind, body, created_at) VALUES (50, 10, 'video', '', 1)",
    "message in no chat": "INSERT INTO messages (id, chat_id, body, created_at) VALUES (50, 99, '', 1)",
    "client_id used twice": "INSERT INTO messages (id, chat_id, sender_id, client_id, body, created_at) VALUES (50, 10, 1, 'c', '', 1), (51, 10, 1, 'c', '', 2)",
    "thread root missing": "INSERT INTO messages (id, chat_id, body, created_at, thread_root_id) VALUES (50, 10, '', 1, 99)",
    "call kind unknown": "INSERT INTO calls (id, chat_id, kind, started_at) VALUES (50, 10, 'smoke', 1)",
    "call ended without outcome": "INSERT INTO calls (id, chat_id, kind, started_at, ended_at) VALUES (50, 10, 'audio', 1, 2)",
    "call outcome before its end": "INSERT INTO calls (id, chat_id, kind, started_at, outcome) VALUES (50, 10, 'audio', 1, 'missed')",
    "call outcome unknown": "INSERT INTO calls (id, chat_id, kind, started_at, ended_at, outcome) VALUES (50, 10, 'audio', 1, 2, 'lost')",
    "contact state unknown": "INSERT INTO contacts (user_id, other_id, state, created_at) VALUES (1, 3, 'friends', 1)",
    "file kind unknown": "INSERT INTO files (id, sha256, owner_id, name, type, kind, size, created_at) VALUES (50, 'h', 1, 'n', 't', 'misc', 1, 1)",
    "file still attached": "INSERT INTO files (id, sha256, owner_id, name, type, kind, size, created_at) VALUES (50, 'h', 1, 'n', 't', 'media', 1, 1); INSERT INTO messages (id, chat_id, body, created_at) VALUES (50, 10, '', 1); INSERT INTO message_files (id, message_id, file_id, chat_id, position) VALUES (50, 50, 50, 10, 0); DELETE FROM files WHERE id = 50",
    "attached twice": "INSERT INTO files (id, sha256, owner_id, name, type, kind, size, created_at) VALUES (50, 'h', 1, 'n', 't', 'media', 1, 1); INSERT INTO messages (id, chat_id, body, created_at) VALUES (50, 10, '', 1); INSERT INTO message_files (id, message_id, file_id, chat_id, position) VALUES (50, 50, 50, 10, 0), (51, 50, 50, 10, 1)",
    "prefs of a non-member": "INSERT INTO chat_prefs (chat_id, user_id) VALUES (10, 3)",
    "pinned twice": "INSERT INTO messages (id, chat_id, body, created_at) VALUES (50, 10, '', 1); INSERT INTO pins (chat_id, message_id, pinned_at) VALUES (10, 50, 1), (10, 50, 2)",
    "thread read of no message": "INSERT INTO thread_reads (user_id, root_id, last_read_id) VALUES (1, 99, 0)",
}
ACCEPTED_ON_BOTH = {
    "several users without email": "INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (50, 'dee', 'x', 1, 1), (51, 'eve', 'x', 1, 1)",
    "dm_policy contacts": "UPDATE users SET dm_policy = 'contacts', last_seen_at = 9007199254740993 WHERE id = 1",
    "no client_id twice": "INSERT INTO messages (id, chat_id, sender_id, body, created_at) VALUES (50, 10, 1, '', 1), (51, 10, 1, '', 2)",
    "call ended": "INSERT INTO calls (id, chat_id, kind, started_at, ended_at, outcome) VALUES (50, 10, 'video', 1, 2, 'completed')",
    "contact requested": "INSERT INTO contacts (user_id, other_id, state, created_at) VALUES (1, 3, 'outgoing', 1)",
    "prefs of a member": "INSERT INTO chat_prefs (chat_id, user_id, muted_until) VALUES (10, 1, 5000000000000)",
}
# The one difference: SQLite lets the TEXT PRIMARY KEY of a rowid table be NULL (a legacy quirk,
# https://sqlite.org/lang_createtable.html#the_primary_key); PostgreSQL never does. The
# application always gives the key (sessions, tokens, invites, settings, chat_invites).
ACCEPTED_ON_SQLITE_ONLY = {
    "NULL text primary key": "INSERT INTO settings (key, value) VALUES (NULL, 'v')",
}
PROBES = {**REJECTED_ON_BOTH, **ACCEPTED_ON_BOTH, **ACCEPTED_ON_SQLITE_ONLY}


def _sqlite_probe(conn: sqlite3.Connection, statements: str) -> str:
    conn.execute("SAVEPOINT probe")
    try:
        for statement in statements.split("; "):
            conn.execute(statement)
    except sqlite3.IntegrityError:
        return "rejected"
    finally:
        conn.execute("ROLLBACK TO probe")
        conn.execute("RELEASE probe")
    return "accepted"


def test_constraints_reject_the_same_rows(migrated):
    conn = _sqlite_open(migrated.sqlite_path)
    try:
        conn.execute("BEGIN")
        for statement in SETUP:
            conn.execute(statement)
        on_sqlite = {name: _sqlite_probe(conn, statements) for name, statements in PROBES.items()}
    finally:
        conn.execute("ROLLBACK")
        conn.close()

    # One psql: each probe in a savepoint; "accepted" is printed only if no statement failed
    # (after an error the transaction refuses everything until ROLLBACK TO).
    script = ["\\set VERBOSITY sqlstate", "BEGIN;", *(s + ";" for s in SETUP)]
    for name, statements in PROBES.items():
        script += ["SAVEPOINT probe;", statements + ";"]
        script += [f"SELECT '{name}';", "ROLLBACK TO SAVEPOINT probe;"]
    script.append("ROLLBACK;")
    done = _psql(migrated.url, "\n".join(script), stop_on_error=False)
    accepted = set(done.stdout.splitlines())
    errors = re.findall(r"ERROR:\s+(\w+)", done.stderr)
    # integrity constraint violations (class 23), and "transaction is aborted" after one
    assert errors and all(e.startswith("23") or e == "25P02" for e in errors), done.stderr
    on_pg = {name: "accepted" if name in accepted else "rejected" for name in PROBES}

    expected = {name: "rejected" for name in REJECTED_ON_BOTH}
    expected |= {name: "accepted" for name in ACCEPTED_ON_BOTH}
    assert on_sqlite == expected | {name: "accepted" for name in ACCEPTED_ON_SQLITE_ONLY}
    assert on_pg == expected | {name: "rejected" for name in ACCEPTED_ON_SQLITE_ONLY}


SEARCHED = [
    "INSERT INTO messages (id, chat_id, sender_id, body, created_at) VALUES"
    " (200, 10, 1, 'Café crème', 1), (201, 10, 1, 'Un café noir', 2),"
    " (202, 10, 1, 'Café au lait', 3), (204, 10, 1, 'café glacé', 5),"
    " (206, 10, 2, 'CAFÉ!', 7)",
    "INSERT INTO messages (id, chat_id, sender_id, kind, body, created_at)"
    " VALUES (203, 10, NULL, 'system', 'café système', 4)",
    "INSERT INTO messages (id, chat_id, sender_id, body, created_at, deleted_at)"
    " VALUES (205, 10, 1, 'café fantôme', 6, 6)",
    # deleted as the application does it, and with the body left
    "UPDATE messages SET body = '', deleted_at = 8 WHERE id = 201",
    "UPDATE messages SET deleted_at = 8 WHERE id = 202",
    # edited: found by its new words only
    "UPDATE messages SET body = 'thé vert', edited_at = 9 WHERE id = 204",
]
WORDS = ["cafe", "creme", "noir", "lait", "glace", "the", "systeme", "fantome"]


def test_search_finds_live_text_messages_without_accents(migrated):
    url = migrated.clone()
    script = [*(s + ";" for s in SETUP), *(s + ";" for s in SEARCHED)]
    for word in WORDS:
        script.append(
            f"SELECT '{word}', coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM messages"
            f" WHERE body_tsv @@ to_tsquery('simple', hearth_unaccent('{word}'));"
        )
    on_pg = {word: ids for word, ids in _pg_rows(url, "\n".join(script))}

    conn = _sqlite_open(migrated.sqlite_path)
    try:
        conn.execute("BEGIN")
        for statement in SETUP + SEARCHED:
            conn.execute(statement)
        on_sqlite = {
            word: ",".join(
                str(r[0])
                for r in conn.execute(
                    "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid",
                    (f'"{word}"',),
                )
            )
            for word in WORDS
        }
    finally:
        conn.execute("ROLLBACK")
        conn.close()

    assert on_pg["cafe"] == "200,206"  # 'Café crème' found; deleted, system, edited are not
    assert on_pg["the"] == "204"
    assert on_pg == on_sqlite


# 0005 and 0009 change existing rows: the same rows before, the same rows after.
BEFORE_0005 = [
    "INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES (1, 'ada', 'x', 1, 1)",
    "INSERT INTO chats (id, kind, created_at, last_activity_at) VALUES (10, 'group', 1, 1)",
    "INSERT INTO messages (id, chat_id, sender_id, body, created_at, edited_at, deleted_at) VALUES"
    " (1, 10, 1, 'hello', 1, NULL, NULL),"
    f" (2, 10, 1, '{'é' * 250}', 2, 5, NULL),"
    " (3, 10, 1, '', 3, NULL, 6),"
    " (4, 10, 1, 'plain', 4, NULL, NULL)",
]
EVENTS = [
    ("message.created", {"id": 1, "body": "hello", "reply_to": None}),
    ("message.created", {"id": 2, "body": "old"}),
    ("message.updated", {"id": 2, "body": "mid", "edited": True}),
    (
        "message.created",
        {
            "id": 3,
            "body": "secret",
            "mentions": [1],
            "reactions": [{"emoji": "👍"}],
            "pinned": True,
        },
    ),
    (
        "message.created",
        {"id": 4, "body": "re", "reply_to": {"id": 2, "body": "old", "deleted": False}},
    ),
    (
        "message.created",
        {
            "id": 4,
            "body": "re2",
            "reply_to": {"id": 3, "body": "secret", "deleted": False, "sender_name": "ada"},
        },
    ),
    ("chat.updated", {"id": 3, "title": "t"}),
    ("message.created", "not json"),
    ("message.created", {"id": " 3 ", "body": "a numeric string"}),
    ("message.created", {"id": True, "body": "a boolean"}),
    ("message.created", [3]),
    ("message.updated", {"id": 2.0, "body": "a float"}),
    ("message.created", {"id": 4, "reply_to": {"id": "2"}}),
    ("message.created", {"id": 4, "reply_to": {"id": 4, "body": "plain"}}),
]


def _events_sql() -> list[str]:
    rows = []
    for seq, (type_, data) in enumerate(EVENTS, start=1):
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        rows.append(f"({seq}, 10, NULL, '{type_}', '{text.replace(chr(39), chr(39) * 2)}', 1)")
    return [
        "INSERT INTO events (seq, chat_id, user_id, type, data, created_at) VALUES "
        + ", ".join(rows)
    ]


def _parsed(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def test_data_migrations_rewrite_existing_rows_alike(migrated, tmp_path):
    seed = BEFORE_0005 + _events_sql()
    read = [
        "SELECT seq, message_id, data FROM events ORDER BY seq",
        "SELECT activity_read_at FROM users",
    ]
    started = int(time.time()) * 1000

    path = tmp_path / "old.db"
    _sqlite_apply(path, SQLITE_FILES[:4])
    with sqlite.connect(path) as conn:
        for statement in seed:
            conn.execute(statement)
    _sqlite_apply(path, SQLITE_FILES[4:])
    with sqlite.connect(path) as conn:
        events_sqlite = _sqlite_rows(conn, read[0])
        read_at_sqlite = _sqlite_rows(conn, read[1])

    url = migrated.server.create_database("old")
    _pg_apply(url, PG_FILES[:4])
    _pg_rows(url, "\n".join(s + ";" for s in seed))
    _pg_apply(url, PG_FILES[4:])
    events_pg = _pg_rows(url, read[0] + ";", maxsplit=2)
    read_at_pg = _pg_rows(url, read[1] + ";")

    ended = int(time.time()) * 1000
    assert len(events_pg) == len(events_sqlite) == len(EVENTS)
    for (seq, id_sqlite, data_sqlite), (_, id_pg, data_pg) in zip(
        events_sqlite, events_pg, strict=True
    ):
        assert id_pg == id_sqlite, f"event {seq}"
        # Rewritten rows: the same JSON value (jsonb writes keys in its own order, with spaces).
        assert _parsed(data_pg) == _parsed(data_sqlite), f"event {seq}"
        original = EVENTS[int(seq) - 1][1]
        if _parsed(data_sqlite) == original:  # not rewritten: kept byte for byte
            assert data_pg == data_sqlite, f"event {seq}"
    # not vacuous: ids found, bodies deleted, edited and quoted
    ids = " ".join(row[1] for row in events_sqlite)
    assert ids == f"1 2 2 3 4 4 {NULL} {NULL} 3 1 {NULL} 2 4 4"
    assert _parsed(events_sqlite[3][2])["body"] == ""
    assert _parsed(events_sqlite[4][2])["reply_to"]["body"] == "é" * 200
    assert _parsed(events_sqlite[5][2])["reply_to"]["deleted"] is True

    for rows in (read_at_sqlite, read_at_pg):
        (value,) = rows[0]
        assert started <= int(value) <= ended and int(value) % 1000 == 0
