"""How the box is doing: totals from the database, the database answering, room on the disk.

`/health` itself stays a constant answer; this is for `/health?full=1`, the admin page and
/metrics, which ask for it on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance import backup
from appliance.store import stats
from appliance.store.db import Database, SqliteEngine
from appliance.store.stats import Totals

# Less free space than this under the data folder is reported as a problem.
LOW_DISK_BYTES = 100 * 1000**2
CHECK_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Disk:
    free_bytes: int
    total_bytes: int
    database_bytes: int


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    database: str  # "ok" or what is wrong
    disk: str


class Health:
    def __init__(self, db: Database, data_dir: Path, files_dir: Path | None = None) -> None:
        self._db = db
        self._data_dir = data_dir
        self._files_dir = files_dir or data_dir / "files"  # files.folder may be elsewhere
        self._started = time.monotonic()

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self._started

    async def totals(self) -> Totals:
        async with self._db.read() as conn:
            return await stats.totals(conn)

    async def disk(self) -> Disk:
        """Room under the data folder, and what the database takes (its files on SQLite, as
        PostgreSQL counts it there)."""
        usage, files = await asyncio.to_thread(self._files)
        if isinstance(self._db.engine, SqliteEngine):
            return Disk(usage.free, usage.total, files)
        async with self._db.read() as conn:
            return Disk(usage.free, usage.total, await stats.database_bytes(conn))

    def _files(self) -> tuple[Any, int]:
        usage = shutil.disk_usage(self._data_dir)
        database = sum(
            path.stat().st_size for path in self._data_dir.glob("hearth.db*") if path.is_file()
        )
        return usage, database

    def last_backup(self) -> dict[str, object] | None:
        return backup.last_backup(self._data_dir)

    async def check(self) -> Check:
        """The database answers a read within a bound, and the disk has room."""
        database = "ok"
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), self._db.read() as conn:
                if not await stats.answers(conn):
                    database = "the database gave a wrong answer"
        except TimeoutError:
            database = f"the database did not answer within {CHECK_TIMEOUT_SECONDS:g} s"
        except Exception as error:  # any failure is the answer here, not a 500
            database = f"the database cannot be read: {error}"
        disk = "ok"
        for folder, where in ((self._data_dir, ""), (self._files_dir, " for files")):
            with contextlib.suppress(FileNotFoundError):  # not made yet: nothing stored there
                free = shutil.disk_usage(folder).free
                if free < LOW_DISK_BYTES:
                    disk = f"only {free // 1000**2} MB free{where}"
                    break
        return Check(database == "ok" and disk == "ok", database, disk)
