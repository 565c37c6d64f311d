"""The database: one writer connection, a small pool of readers, numbered migrations.

All writes go through `Database.write()`, which serializes them on the single writer connection
(Datasette's "protect the single write connection"); reads run in parallel on snapshots.
A transaction commits before `write()` returns, so whatever the caller acknowledges is durable.

SQLite is the engine by default (a file in the data folder); PostgreSQL is the other
(`storage.url`, issue 10). What differs between them is an `Engine`: how to connect, begin,
migrate and recognize a full disk. The batching, savepoints and durability here are shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeAlias, TypeVar

import aiosqlite

from appliance.store.errors import ContentionError, StorageFullError

log = logging.getLogger(__name__)


T = TypeVar("T")
P = ParamSpec("P")

# What services hold while they read or write: a reader's snapshot or the open write
# transaction. They pass it to store functions and never use it themselves.
Connection: TypeAlias = aiosqlite.Connection
# The plain sqlite3 connection that functions run with `on_thread` get, on its own thread.
ThreadConnection: TypeAlias = sqlite3.Connection

# Most write transactions committed together (each keeps its own savepoint).
MAX_BATCH = 256


@dataclass(slots=True)
class _Batch:
    done: asyncio.Future[None]
    jobs: int = 0


class SchemaTooNewError(Exception):
    """The database was written by a newer Hearth than this one."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations(dialect: str = "sqlite") -> list[Migration]:
    """The numbered `migrations/NNNN_name.sql` files shipped in the package, in order
    (PostgreSQL's twins of them in `migrations/postgresql/`)."""
    found = []
    folder = resources.files("appliance.store").joinpath("migrations")
    if dialect != "sqlite":
        folder = folder.joinpath(dialect)
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        number, _, rest = entry.name.partition("_")
        found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    expected = list(range(1, len(found) + 1))
    if [m.version for m in found] != expected:
        raise RuntimeError(
            f"migrations must be numbered 1..n without gaps: {[m.version for m in found]}"
        )
    return found


async def _configure(conn: aiosqlite.Connection, busy_timeout_ms: int) -> None:
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    await conn.execute("PRAGMA foreign_keys = ON")
    # FULL: a commit is on disk before write() returns, so an acknowledged message survives a
    # power cut too (a Pi's usual way of stopping). Throughput comes from batching, not from this.
    await conn.execute("PRAGMA synchronous = FULL")


class Engine(Protocol):
    """What differs between SQLite and PostgreSQL under `Database`."""

    dialect: str
    errors: tuple[type[BaseException], ...]

    @property
    def where(self) -> str: ...
    async def connect_writer(self) -> Any: ...
    async def connect_reader(self) -> Any: ...
    async def begin(self, conn: Any) -> None: ...
    async def version(self, conn: Any) -> int: ...
    async def apply(self, conn: Any, migration: Migration) -> None: ...
    def migrating(self, conn: Any) -> contextlib.AbstractAsyncContextManager[None]: ...
    def claim(self, job: str) -> contextlib.AbstractAsyncContextManager[bool]: ...
    async def closing(self, writer: Any) -> None: ...
    def commit_now(self, writer: Any) -> bool: ...
    def is_full(self, error: BaseException) -> bool: ...


class SqliteEngine:
    """A database file, and a WAL beside it."""

    dialect = "sqlite"
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms

    @property
    def where(self) -> str:
        """The database, for messages: its file, or its server without a password."""
        return str(self.path)

    @property
    def folder(self) -> Path | None:
        """The folder whose disk filling up stops writes (none for a server)."""
        return self.path.parent

    async def connect_writer(self) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await _configure(writer, self._busy_timeout_ms)
            await writer.execute("PRAGMA journal_mode = WAL")
        except BaseException:
            await writer.close()
            raise
        return writer

    async def connect_reader(self) -> Any:
        reader = await aiosqlite.connect(
            f"file:{self.path}?mode=ro", uri=True, isolation_level=None
        )
        try:
            await _configure(reader, self._busy_timeout_ms)
        except BaseException:
            await reader.close()
            raise
        return reader

    async def begin(self, conn: Any) -> None:
        await conn.execute("BEGIN IMMEDIATE")

    async def version(self, conn: Any) -> int:
        return await _user_version(conn)

    async def apply(self, conn: Any, migration: Migration) -> None:
        await conn.executescript(
            f"BEGIN IMMEDIATE;\n{migration.sql}\n"
            f"PRAGMA user_version = {migration.version};\nCOMMIT;"
        )

    @asynccontextmanager
    async def migrating(self, conn: Any) -> AsyncIterator[None]:
        """Held while migrations run (the writer's file lock is enough for SQLite)."""
        yield

    @asynccontextmanager
    async def claim(self, job: str) -> AsyncIterator[bool]:
        """Always granted: one process owns an SQLite database."""
        yield True

    async def closing(self, writer: Any) -> None:
        await writer.execute("PRAGMA optimize")

    def commit_now(self, writer: Any) -> bool:
        return False

    def is_full(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.Error) and _is_full(error)


def engine_for(
    target: Path | str, busy_timeout_ms: int = 5000, *, parallel_writes: bool = False
) -> Engine:
    """The engine for a database path (SQLite) or a `postgresql://` URL (`parallel_writes`:
    postgres.py)."""
    if isinstance(target, str) and target.startswith(("postgresql://", "postgres://")):
        from appliance.store.postgres import PostgresEngine

        return PostgresEngine(target, parallel_writes=parallel_writes)
    if isinstance(target, str) and target.startswith("sqlite:///"):
        target = target.removeprefix("sqlite:///")
    return SqliteEngine(Path(target), busy_timeout_ms)


class Database:
    def __init__(
        self,
        target: Path | str,
        *,
        read_connections: int = 3,
        busy_timeout_ms: int = 5000,
        migrations: list[Migration] | None = None,
        parallel_writes: bool = False,
    ) -> None:
        self.engine: Engine = engine_for(target, busy_timeout_ms, parallel_writes=parallel_writes)
        self._read_count = read_connections
        self._migrations = (
            migrations if migrations is not None else bundled_migrations(self.engine.dialect)
        )
        self._writer: Any = None
        self._write_lock = asyncio.Lock()
        self._waiting = 0
        self._storage_full = False  # in a full-disk episode (logged once)
        self._batch: _Batch | None = None
        self._committers: set[asyncio.Task[None]] = set()
        self._readers: asyncio.Queue[Any] = asyncio.Queue()
        self._all_readers: list[Any] = []

    @property
    def path(self) -> Path:
        """The SQLite database file."""
        if not isinstance(self.engine, SqliteEngine):
            raise AttributeError(f"{self.engine.where} is not a file")
        return self.engine.path

    @property
    def latest_version(self) -> int:
        return self._migrations[-1].version if self._migrations else 0

    async def open(self) -> None:
        """Connect and migrate; a no-op when already open (the CLI opens early to fail early)."""
        if self._writer is not None:
            return
        writer = await self.engine.connect_writer()
        try:
            await self._migrate(writer)
        except BaseException:
            await writer.close()
            raise
        self._writer = writer
        try:
            for _ in range(self._read_count):
                reader = await self.engine.connect_reader()
                self._all_readers.append(reader)
                self._readers.put_nowait(reader)
        except BaseException:
            await self.close()  # each connection runs a thread that would outlive us
            raise

    async def close(self) -> None:
        if self._writer is not None:
            async with self._write_lock:
                if self._batch is not None:
                    await self._finish(self._batch)
                writer, self._writer = self._writer, None
                with contextlib.suppress(*self.engine.errors):
                    await self.engine.closing(writer)
                await writer.close()
        if self._committers:
            await asyncio.gather(*self._committers, return_exceptions=True)
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()
        self._readers = asyncio.Queue()

    def claim(self, job: str) -> contextlib.AbstractAsyncContextManager[bool]:
        """`async with db.claim("file-sweep") as mine:` whether this process runs `job` now.
        Several processes sharing one database (PostgreSQL) each run the same housekeeping:
        one of them at a time holds the claim for the block, the others get False and skip.
        It saves repeated work only; what the jobs write stays safe without it (every write
        transaction runs alone, see postgres.py)."""
        return self.engine.claim(job)

    async def _migrate(self, conn: Any) -> None:
        async with self.engine.migrating(conn):
            current = await self.engine.version(conn)
            if current > self.latest_version:
                raise SchemaTooNewError(
                    f"{self.engine.where} has schema version {current}, but this Hearth knows "
                    f"versions up to {self.latest_version}. It was written by a newer Hearth: "
                    "upgrade Hearth, or restore a backup made by this version."
                )
            for migration in self._migrations:
                if migration.version <= current:
                    continue
                log.info("applying migration %04d_%s", migration.version, migration.name)
                try:
                    await self.engine.apply(conn, migration)
                except self.engine.errors:
                    if conn.in_transaction:
                        await conn.rollback()
                    raise

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction on the single writer; it has committed when the block exits.

        Group commit: writers that queue up while a transaction is open join it, each in its
        own savepoint, and one COMMIT (one fsync) makes the whole batch durable. Every caller
        still returns only after that commit, and an error rolls back only its own savepoint.
        An idle writer commits at once, so batching adds no latency without load.
        """
        with self._full_storage_is_an_error():
            conn = await self._enter()
            batch: _Batch | None = None
            try:
                batch = await self._open_batch(conn)
                await conn.execute("SAVEPOINT job")
                try:
                    yield conn
                except BaseException as error:
                    await self._rollback_job(conn, batch, error)
                    raise
                await conn.execute("RELEASE job")
                batch.jobs += 1
            finally:
                if batch is not None:
                    await self._commit_if_alone(batch)
                self._write_lock.release()
            # The batch may fail to commit (disk full): then nothing of it is durable, and we
            # say so.
            await asyncio.shield(batch.done)

    async def write_in_thread(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run `job` on the writer's own thread with the plain sqlite3 connection: the whole
        job in one trip to that thread instead of one trip per statement. Same group commit,
        savepoint and durability as `write()`; for hot paths (sending a message).

        A job PostgreSQL undid to break a deadlock (ContentionError) raises only once its
        batch is over: the rows it waited for are free by then, so it can run again."""
        crossed: _Batch | None = None
        try:
            with self._full_storage_is_an_error():
                conn = await self._enter()
                batch: _Batch | None = None
                try:
                    batch = await self._open_batch(conn)
                    try:
                        result = await on_thread(conn, _in_savepoint, job)
                    except ContentionError:
                        crossed = batch
                        raise
                    except BaseException as error:
                        if not conn.in_transaction:  # SQLite rolled back the whole batch
                            await self._rollback_job(conn, batch, error)
                        raise
                    batch.jobs += 1
                finally:
                    if batch is not None:
                        await self._commit_if_alone(batch)
                    self._write_lock.release()
                await asyncio.shield(batch.done)
        except ContentionError:
            if crossed is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(crossed.done)
            raise
        return result

    async def _commit_if_alone(self, batch: _Batch) -> None:
        """Commit the batch now if a job took the write lock (`alone`); the lock is held."""
        if self._batch is batch and self.engine.commit_now(self._writer):
            await asyncio.shield(self._finish(batch))

    @contextmanager
    def _full_storage_is_an_error(self) -> Iterator[None]:
        """A write that fails because the disk is full raises StorageFullError, logged once
        per episode (not a traceback per request); the next write that succeeds ends it."""
        try:
            yield
        except self.engine.errors as error:
            if not self.engine.is_full(error):
                raise
            if not self._storage_full:
                self._storage_full = True
                log.error("the storage under %s is full: writes are refused until there is "
                          "room (%s)", self.engine.where, error)  # fmt: skip
            raise StorageFullError() from error
        if self._storage_full:
            self._storage_full = False
            log.warning("there is room on the disk again: writes work")

    async def _enter(self) -> aiosqlite.Connection:
        """Take the writer (queueing behind other writers)."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        conn: Connection = self._writer  # PostgreSQL's offers the same (postgres.Connection)
        self._waiting += 1
        try:
            await self._write_lock.acquire()
        finally:
            self._waiting -= 1
        if self._writer is None:
            self._write_lock.release()
            raise RuntimeError("database is not open")
        return conn

    async def _open_batch(self, conn: aiosqlite.Connection) -> _Batch:
        """The open batch to join, or a new one (with its committer queued behind us).

        A caller cancelled here (a client that went away) must not leave the connection in
        a transaction nobody tracks, nor a batch nobody commits: the BEGIN and its batch are
        registered together, and a COMMIT once started runs to its end (both shielded)."""
        if self._batch is not None and self._batch.jobs >= MAX_BATCH:
            await asyncio.shield(self._finish(self._batch))
        batch = self._batch
        if batch is None:
            batch = self._batch = _Batch(asyncio.get_running_loop().create_future())
            begin = asyncio.ensure_future(self.engine.begin(conn))
            task = asyncio.create_task(self._commit(batch, begin), name="db-commit")
            self._committers.add(task)
            task.add_done_callback(self._committers.discard)
            try:
                await asyncio.shield(begin)
            except self.engine.errors:
                if self._batch is batch:
                    self._batch = None  # its committer sees that and stops
                raise
        return batch

    async def _rollback_job(
        self, conn: aiosqlite.Connection, batch: _Batch, error: BaseException
    ) -> None:
        try:
            if conn.in_transaction:
                await conn.execute("ROLLBACK TO job")
                await conn.execute("RELEASE job")
                return
        except self.engine.errors:
            log.exception("rolling back to a savepoint failed; dropping the whole batch")
        # SQLite already rolled the whole transaction back (some errors do): the batch is lost.
        if conn.in_transaction:
            await conn.rollback()
        if self._batch is batch:
            self._batch = None
        if not batch.done.done():
            batch.done.set_exception(
                sqlite3.OperationalError(f"transaction rolled back by another write: {error!r}")
            )
            batch.done.exception()  # mark retrieved: callers that awaited it already left

    async def _commit(self, batch: _Batch, begin: asyncio.Future[Any]) -> None:
        """Commit `batch` once no more writers are queued (or the batch is full)."""
        with contextlib.suppress(Exception):  # a BEGIN that failed is its opener's to report
            await asyncio.shield(begin)
        while True:
            async with self._write_lock:
                if self._batch is not batch:
                    return  # already committed by a writer that found it full, or failed
                if self._waiting and batch.jobs < MAX_BATCH:
                    continue  # let the queued writers in first; we queue again behind them
                await self._finish(batch)
                return

    async def _finish(self, batch: _Batch) -> None:
        """COMMIT the open batch and wake its writers; the write lock is held."""
        conn = self._writer
        assert conn is not None
        self._batch = None
        try:
            await conn.commit()
        except self.engine.errors as error:
            if not self.engine.is_full(
                error
            ):  # a full disk is logged once per episode, by the writer
                log.error("commit failed: %s", error)
            if conn.in_transaction:
                await conn.rollback()
            batch.done.set_exception(error)
            return
        batch.done.set_result(None)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        if not self._all_readers:
            raise RuntimeError("database is not open")
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)


def _is_full(error: sqlite3.Error) -> bool:
    """SQLITE_FULL: the disk (or the file system's quota) has no room for the write."""
    code = getattr(error, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(error)


def _in_savepoint(raw: sqlite3.Connection, job: Callable[[sqlite3.Connection], T]) -> T:
    """On the writer thread: `job` inside its own savepoint of the open batch."""
    raw.execute("SAVEPOINT job")
    try:
        result = job(raw)
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK TO job")
            raw.execute("RELEASE job")
        raise
    raw.execute("RELEASE job")
    return result


async def on_thread(
    conn: aiosqlite.Connection,
    function: Callable[Concatenate[sqlite3.Connection, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run a plain sqlite3 function on the connection's own thread, in one trip.

    Store functions written this way serve both a service's async transaction and a job
    already on the writer's thread (`Database.write_in_thread`), so a rule is written once.
    aiosqlite runs each call on the connection's thread; `_execute` is how it queues a
    function there and `_conn` is its sqlite3 connection. Both are private, so
    tests/store/test_group_commit.py checks them on the installed version. On PostgreSQL the
    function gets postgres.ThreadConnection, which offers what the store uses of sqlite3's."""
    result: T = (
        await conn._execute(  # type: ignore[no-untyped-call]
            function, conn._conn, *args, **kwargs
        )
        if isinstance(conn, aiosqlite.Connection)
        else await conn.run(
            function,
            conn.thread,
            *args,
            **kwargs,  # PostgreSQL (postgres.Connection)
        )
    )
    return result


def alone(conn: ThreadConnection, topic: str | None = None) -> None:
    """From here to its commit, no other process's transaction runs `topic`'s rule: for the
    few rules that read, then write on what they read (the last admin, one direct chat per
    pair, bytes kept or removed). SQLite has one writer, so it holds already; on PostgreSQL
    it takes an advisory lock (needed with `storage.parallel_writes`, when transactions of
    several processes run side by side). Without a topic: the write lock itself
    (postgres.py), for writing a chat row; with parallel writes the batch then commits right
    after this job, so the lock is held only while nothing waits."""
    if not isinstance(conn, sqlite3.Connection):
        conn.alone(topic)


async def alone_in(tx: aiosqlite.Connection, topic: str | None = None) -> None:
    """`alone` in a service's transaction."""
    if not isinstance(tx, aiosqlite.Connection):
        await on_thread(tx, alone, topic)


def dialect(conn: Any) -> str:
    """ "sqlite" or "postgresql": for the few statements each engine says its own way."""
    return "sqlite" if isinstance(conn, aiosqlite.Connection | sqlite3.Connection) else "postgresql"


async def fetch_one(conn: aiosqlite.Connection, sql: str, params: Any = ()) -> sqlite3.Row | None:
    """The first row of a query, in one trip to the connection's thread (a cursor takes three:
    execute, fetch, close); this matters on the single writer's hot path."""
    rows = list(await conn.execute_fetchall(sql, params))
    return rows[0] if rows else None


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Any = ()) -> list[sqlite3.Row]:
    return list(await conn.execute_fetchall(sql, params))


async def _user_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0
