"""PostgreSQL under the store's one interface (issue 10): `storage.url: postgresql://...`.

Each connection is a psycopg connection on its own thread, as aiosqlite runs each SQLite
connection: so the store's functions (async ones, and the plain ones run on a connection's
thread in one trip) run unchanged on either engine, with the same write batching and the same
durability (`Database` in db.py). The statements are the store's own, translated once
(sqltext.py); values are bound on the client side (psycopg's ClientCursor), which lets
PostgreSQL type them from where they stand, as SQLite does.

Several Hearth processes may share one database. What must stay in one order is left to
the commit (`AtCommit`): a transaction's events are queued, not inserted, and at COMMIT it
takes one advisory lock (`WRITE_LOCK`), numbers its events in one INSERT, moves its chats'
latest activity, and commits. So event numbers are committed in order, and a client that
resumes after event N can never miss an event numbered below one it has seen; and the lock
holder never waits on a row, because the only rows it writes (events, and chats' activity)
are written by lock holders only (`alone`).

By default each write transaction also takes the lock at BEGIN, so the processes' writes take
turns and every id a sequence hands out (a message's) is committed in order too. With
`storage.parallel_writes` they run side by side until their commit: more messages/s, but two
messages sent into one chat at the same instant through two processes can commit in the
opposite order of their ids. docs/scale-out.md, "Writes take turns, unless", says what that changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
from psycopg.pq import TransactionStatus

from appliance.store import chats, events
from appliance.store.errors import ConstraintError, ContentionError, UnstorableTextError
from appliance.store.sqltext import translate

log = logging.getLogger(__name__)

T = TypeVar("T")

# pg_advisory_lock keys (any 64-bit numbers; these spell "hearth" and what they guard).
WRITE_LOCK = 0x6865617274680001
MIGRATE_LOCK = 0x6865617274680002
# Once-only jobs (`Database.claim`): "hear", then the CRC-32 of the job's name.
_JOB_LOCKS = 0x6865617200000000
# Rules that need one writer at a time (`alone`): "hrtx", then the CRC-32 of the topic.
_TOPIC_LOCKS = 0x6872747800000000

# Statements that open, settle or undo (part of) a transaction: what was left for the commit
# follows them (`AtCommit`).
_CONTROL = re.compile(
    r"\s*(BEGIN|COMMIT|ROLLBACK\s+TO|ROLLBACK|SAVEPOINT|RELEASE)\b(?:\s+SAVEPOINT\b)?\s*(\w*)",
    re.IGNORECASE,
)
_DEFERRED = {"SAVEPOINT", "RELEASE", "ROLLBACK TO"}  # sent with the next statement
# PostgreSQL's deadlock_detected and serialization_failure: the job may simply run again.
_CONTENTION = {"40P01", "40001"}

SCHEMA_TABLE = "hearth_schema"


def _value(value: Any) -> Any:
    if isinstance(value, bool):  # SQLite stores True as 1; the flags are integers here too
        return int(value)
    if isinstance(value, str) and "\x00" in value:
        raise UnstorableTextError()
    return value


def _values(values: Sequence[Any] | Mapping[str, Any]) -> Any:
    if isinstance(values, Mapping):
        return {key: _value(value) for key, value in values.items()}
    return [_value(value) for value in values]


class Rows:
    """What a statement gave back, read whole on the connection's thread: its rows (tuples,
    read by position as every store function reads SQLite's rows) and how many it changed."""

    __slots__ = ("_at", "_rows", "rowcount")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rest, self._at = self._rows[self._at :], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


class AtCommit:
    """What a transaction leaves to its commit: its events, numbered then, and the latest
    message of each chat it wrote in. A savepoint rolled back takes its share with it."""

    def __init__(self) -> None:
        self.events: list[events.Queued] = []
        self.touches: list[tuple[int, int, int]] = []  # (chat, message, created_at)
        self._marks: list[tuple[str, int, int]] = []  # (savepoint, events, touches)
        self.write_locked = False  # the write lock was taken before the commit (`alone`)

    def __bool__(self) -> bool:
        return bool(self.events or self.touches)

    def control(self, verb: str, name: str) -> None:
        """Follow a transaction-control statement (COMMIT is `ThreadConnection.commit`)."""
        if verb in ("BEGIN", "ROLLBACK"):
            self.clear()
        elif verb == "SAVEPOINT":
            self._marks.append((name, len(self.events), len(self.touches)))
        elif verb in ("RELEASE", "ROLLBACK TO"):
            while self._marks and self._marks[-1][0] != name:
                self._marks.pop()  # inner savepoints go with the named one
            if not self._marks:
                return
            _, event_count, touch_count = self._marks[-1]
            if verb == "RELEASE":
                self._marks.pop()
            else:  # the savepoint stays, emptied
                del self.events[event_count:], self.touches[touch_count:]

    def clear(self) -> None:
        self.events.clear()
        self.touches.clear()
        self._marks.clear()
        self.write_locked = False


class ThreadConnection:
    """The sqlite3.Connection subset the store uses, over a psycopg connection; used on that
    connection's thread only.

    SAVEPOINT, RELEASE and ROLLBACK TO are not sent on their own: they wait and go with the
    next statement, in one query (the simple query protocol runs several). Every job in a
    batch is in a savepoint, so a message sent was four round trips to the server (its
    savepoint, the chat and membership check, the insert, the release), each a wake-up of the
    server's backend and of this thread; it is two."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self.at_commit = AtCommit()
        self._deferred: list[str] = []  # savepoint statements, to go with the next one

    def execute(self, sql: str, values: Sequence[Any] | Mapping[str, Any] = ()) -> Rows:
        control = _CONTROL.match(sql)
        if control is not None:
            verb = " ".join(control.group(1).upper().split())
            if verb == "COMMIT":
                self.commit()
                return Rows([], -1)
            self.at_commit.control(verb, control.group(2))
            if verb in _DEFERRED:
                self._deferred.append(sql.strip().rstrip(";"))
                return Rows([], -1)
            self._deferred.clear()  # BEGIN or ROLLBACK: what waited is moot
        statement = translate(sql)
        with self.raw.cursor() as cursor:
            try:
                self._send(cursor, statement.text, statement.parameters(_values(values)))
            except psycopg.IntegrityError as error:
                raise ConstraintError(str(error)) from error
            except psycopg.errors.OperationalError as error:
                if error.sqlstate in _CONTENTION:
                    raise ContentionError(str(error)) from error
                raise
            rows = cursor.fetchall() if cursor.description is not None else []
            return Rows(rows, cursor.rowcount)

    def _send(self, cursor: Any, text: str, parameters: Any = None) -> None:
        """Execute `text` after the savepoint statements waiting, and leave the cursor on its
        result (the last)."""
        waiting = self._take_deferred()
        if not waiting:
            cursor.execute(text, parameters)
            return
        cursor.execute(f"{waiting}; {text}", parameters)
        while cursor.nextset():
            pass

    def _flush(self, cursor: Any) -> None:
        """Send the savepoint statements waiting on their own (before what cannot carry them)."""
        waiting = self._take_deferred()
        if waiting:
            cursor.execute(waiting)

    def _take_deferred(self) -> str:
        waiting = "; ".join(self._deferred)
        self._deferred.clear()
        return waiting

    def commit(self) -> None:
        """Number the transaction's events and move its chats' activity under the write
        lock, then COMMIT (which releases the lock): one transaction at a time does this."""
        later = self.at_commit
        if later and self.in_transaction:
            self.lock(WRITE_LOCK)
            conn: Any = self  # what the store's plain functions take (sqlite3's subset)
            events.number(conn, later.events)
            chats.touch_at_commit(conn, later.touches)
        later.clear()
        with self.raw.cursor() as cursor:
            self._send(cursor, "COMMIT")

    def lock(self, key: int) -> None:
        """Wait for an advisory lock held to the end of this transaction."""
        with self.raw.cursor() as cursor:
            self._send(cursor, f"SELECT pg_advisory_xact_lock({key})")

    def alone(self, topic: str | None) -> None:
        """From here to its commit this transaction is the only one to run `topic`'s rule
        (None: the only one writing at all, as `commit` writes)."""
        if topic is None:
            self.lock(WRITE_LOCK)
            self.at_commit.write_locked = True
        else:
            self.lock(topic_lock(topic))

    def executemany(self, sql: str, many: Sequence[Sequence[Any] | Mapping[str, Any]]) -> Rows:
        statement = translate(sql)
        with self.raw.cursor() as cursor:
            self._flush(cursor)
            cursor.executemany(
                statement.text,
                [statement.parameters(_values(values)) for values in many],
            )
            return Rows([], cursor.rowcount)

    def executescript(self, script: str) -> None:
        """Several statements, no parameters (a migration): sent as they are."""
        with self.raw.cursor() as cursor:
            self._flush(cursor)
            cursor.execute(script.encode())  # bytes: not scanned for parameters

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE


class _Pending:
    """`await conn.execute(...)` or `async with conn.execute(...) as cursor`, as aiosqlite."""

    __slots__ = ("_work",)

    def __init__(self, work: asyncio.Future[Rows]) -> None:
        self._work = work

    def __await__(self) -> Any:
        return self._rows().__await__()

    async def _rows(self) -> AsyncRows:
        return AsyncRows(await self._work)

    async def __aenter__(self) -> AsyncRows:
        return await self._rows()

    async def __aexit__(self, *exc: object) -> None:
        return None


class AsyncRows:
    """aiosqlite's cursor subset over rows already read."""

    __slots__ = ("_rows",)

    def __init__(self, rows: Rows) -> None:
        self._rows = rows

    @property
    def rowcount(self) -> int:
        return self._rows.rowcount

    async def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.fetchone()

    async def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows.fetchall()

    def __aiter__(self) -> AsyncRows:
        return self

    async def __anext__(self) -> tuple[Any, ...]:
        row = self._rows.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row


class Connection:
    """aiosqlite.Connection's subset the store uses: one psycopg connection, every call run on
    its own thread (one thread per connection, so the connection is never shared)."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.thread = ThreadConnection(raw)
        self._runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="postgresql")

    @classmethod
    async def connect(cls, url: str) -> Connection:
        raw = await asyncio.to_thread(
            psycopg.connect, url, autocommit=True, cursor_factory=psycopg.ClientCursor
        )
        return cls(raw)

    def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> asyncio.Future[T]:
        """`function(*args)` on this connection's thread."""
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._runner, functools.partial(function, *args, **kwargs))

    def execute(self, sql: str, values: Sequence[Any] | Mapping[str, Any] = ()) -> _Pending:
        return _Pending(self.run(self.thread.execute, sql, values))

    async def executemany(
        self, sql: str, many: Sequence[Sequence[Any] | Mapping[str, Any]]
    ) -> AsyncRows:
        return AsyncRows(await self.run(self.thread.executemany, sql, list(many)))

    async def execute_fetchall(
        self, sql: str, values: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        return (await self.run(self.thread.execute, sql, values)).fetchall()

    async def executescript(self, script: str) -> None:
        await self.run(self.thread.executescript, script)

    @property
    def in_transaction(self) -> bool:
        return self.thread.in_transaction

    async def commit(self) -> None:
        if self.in_transaction:
            await self.run(self.thread.commit)

    async def rollback(self) -> None:
        if self.in_transaction:
            await self.run(self.thread.execute, "ROLLBACK")

    async def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            await self.run(self.thread.raw.close)
        self._runner.shutdown(wait=False)


def is_full(error: BaseException) -> bool:
    """SQLSTATE 53100 (disk_full) or 53000 (insufficient_resources)."""
    return getattr(error, "sqlstate", None) in {"53100", "53000"}


def schema_version(conn: ThreadConnection) -> int:
    conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (version bigint NOT NULL)")
    row = conn.execute(f"SELECT max(version) FROM {SCHEMA_TABLE}").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def job_lock(job: str) -> int:
    """The advisory lock key of a once-only job."""
    key = _JOB_LOCKS | zlib.crc32(job.encode())
    if key in (WRITE_LOCK, MIGRATE_LOCK):
        raise ValueError(f"the job name {job!r} spells a lock of the store's own: rename it")
    return key


def topic_lock(topic: str) -> int:
    """The advisory lock key of a rule that runs alone (`ThreadConnection.alone`)."""
    return _TOPIC_LOCKS | zlib.crc32(topic.encode())


def describe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    host, port, name = info.get("host", "localhost"), info.get("port", "5432"), info.get("dbname")
    return f"postgresql://{info.get('user', '')}@{host}:{port}/{name}"


class PostgresEngine:
    """db.Engine for a PostgreSQL server (see the module's docstring)."""

    dialect = "postgresql"
    errors: tuple[type[BaseException], ...] = (psycopg.Error,)
    folder = None

    def __init__(self, url: str, *, parallel_writes: bool = False) -> None:
        self.url = url
        self.parallel_writes = parallel_writes

    @property
    def where(self) -> str:
        return describe(self.url)

    async def connect_writer(self) -> Connection:
        return await Connection.connect(self.url)

    async def connect_reader(self) -> Connection:
        return await Connection.connect(self.url)

    async def begin(self, conn: Connection) -> None:
        await conn.run(_begin, conn.thread, self.parallel_writes)

    async def version(self, conn: Connection) -> int:
        return await conn.run(schema_version, conn.thread)

    async def apply(self, conn: Connection, migration: Any) -> None:
        await conn.run(_apply, conn.thread, migration.sql, migration.version)

    @contextlib.asynccontextmanager
    async def migrating(self, conn: Connection) -> Any:
        """One process migrates at a time; the others wait, then find nothing left to do."""
        await conn.execute(f"SELECT pg_advisory_lock({MIGRATE_LOCK})")
        try:
            yield
        finally:
            await conn.execute(f"SELECT pg_advisory_unlock({MIGRATE_LOCK})")

    @contextlib.asynccontextmanager
    async def claim(self, job: str) -> Any:
        """A session advisory lock on a connection of its own, taken without waiting: held
        for the block, then unlocked before that connection closes. Closing alone lets go
        too (as when the process dies: PostgreSQL ends its session), but only once the
        server has ended the session, a moment after the client hung up, so another process
        asking at once could still have been refused."""
        key = job_lock(job)
        conn = await Connection.connect(self.url)
        held = False
        try:
            rows = await conn.execute_fetchall(f"SELECT pg_try_advisory_lock({key})")
            held = bool(rows[0][0])
            yield held
        finally:
            try:
                if held:
                    with contextlib.suppress(psycopg.Error):  # gone: so is the lock
                        await conn.execute(f"SELECT pg_advisory_unlock({key})")
            finally:
                await conn.close()

    async def closing(self, writer: Connection) -> None:
        return None

    def commit_now(self, writer: Connection) -> bool:
        """A job took the write lock (`alone`): its batch commits before another job joins,
        so the lock is never held by a transaction that may still wait on a row."""
        return self.parallel_writes and writer.thread.at_commit.write_locked

    def is_full(self, error: BaseException) -> bool:
        return is_full(error)


def _begin(conn: ThreadConnection, parallel: bool) -> None:
    conn.execute("BEGIN")
    if not parallel:  # take turns from here (else side by side until the commit)
        conn.lock(WRITE_LOCK)


def _apply(conn: ThreadConnection, sql: str, version: int) -> None:
    conn.execute("BEGIN")
    conn.executescript(sql)
    conn.execute(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES (?)", (version,))
    conn.execute("COMMIT")
