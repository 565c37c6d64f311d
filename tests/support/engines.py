"""Throwaway PostgreSQL and Redis servers for tests: Debian's binaries (`make test` installs
them), each started on a free loopback port with its files in a temporary folder, and
stopped with it. Nothing outside that folder is read or written, and nothing listens
beyond 127.0.0.1."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from tests.support.server import free_port
from tests.support.waiting import wait_for

POSTGRES_ROOT = Path("/usr/lib/postgresql")
REDIS_SERVER = Path("/usr/bin/redis-server")


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian keeps each major version apart)."""
    versions = sorted(
        (p for p in POSTGRES_ROOT.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise RuntimeError(
            f"no PostgreSQL under {POSTGRES_ROOT}: `make test` installs Debian's postgresql"
        )
    return versions[-1]


def _as_postgres_user() -> dict[str, object]:
    """PostgreSQL refuses to run as root; tests run as root in CI, so its processes get
    Debian's `postgres` account there (and the current user's everywhere else)."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam("postgres")
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


class Postgres:
    """One PostgreSQL cluster: `initdb` into a temporary folder, `postgres` on a free port
    with its socket in that folder; fsync off (a test's data need not survive a power cut),
    unless `durable` (a benchmark: commits reach the disk, as in real use)."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.port = free_port()
        self._folder = Path(tempfile.mkdtemp(prefix="hearth-pg-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.url = f"postgresql://hearth@127.0.0.1:{self.port}/hearth"

    def start(self, timeout: float = 60.0) -> Postgres:
        binaries = postgres_bin()
        user = _as_postgres_user()
        if user:
            os.chown(self._folder, user["user"], user["group"])  # type: ignore[arg-type]
        data = self._folder / "data"
        subprocess.run(
            [binaries / "initdb", "-D", data, "-U", "hearth", "--auth=trust", "-E", "UTF8",
             "--locale=C.UTF-8", "--no-sync"],
            check=True, capture_output=True, **user,  # type: ignore[call-overload]
        )  # fmt: skip
        self._log = open(self._folder / "postgres.log", "wb")  # noqa: SIM115 (closed in stop)
        fast = [] if self.durable else [
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ]  # fmt: skip
        self._process = subprocess.Popen(
            [binaries / "postgres", "-D", data, "-p", str(self.port), "-k", self._folder,
             "-c", "listen_addresses=127.0.0.1", *fast,
             "-c", "max_connections=200", "-c", "shared_buffers=32MB"],
            stdout=self._log, stderr=subprocess.STDOUT, **user,  # type: ignore[call-overload]
        )  # fmt: skip
        isready = [binaries / "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-q"]
        wait_for(
            lambda: self._alive() and subprocess.run(isready, check=False).returncode == 0,
            timeout=timeout,
            what=lambda: f"PostgreSQL on port {self.port}: {self.log()[-2000:]}",
        )
        self.create_database("hearth")
        return self

    def create_database(self, name: str) -> str:
        """A new empty database on this server; its URL."""
        subprocess.run(
            [postgres_bin() / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U",
             "hearth", name],
            check=True, capture_output=True,
        )  # fmt: skip
        return f"postgresql://hearth@127.0.0.1:{self.port}/{name}"

    def _alive(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited: {self.log()[-2000:]}")
        return True

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self._folder / "postgres.log").read_text(errors="replace")
        return ""

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)  # "fast" shutdown
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if hasattr(self, "_log"):
            self._log.close()
        shutil.rmtree(self._folder, ignore_errors=True)


class Redis:
    """One redis-server on a free port, in memory only (no RDB or AOF files)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._folder = Path(tempfile.mkdtemp(prefix="hearth-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Redis:
        if not REDIS_SERVER.exists():
            raise RuntimeError(f"no {REDIS_SERVER}: `make test` installs Debian's redis-server")
        self._log = open(self._folder / "redis.log", "ab")  # noqa: SIM115 (closed in stop)
        self._process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._folder, "--protected-mode", "yes"],
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(self._answers, timeout=timeout, what=lambda: f"redis on port {self.port}")
        return self

    def _answers(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"redis-server exited: {self.log()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self._folder / "redis.log").read_text(errors="replace")
        return ""

    def halt(self) -> None:
        """Stop the server but keep its port and folder: `start()` brings it back, empty (it
        keeps nothing on disk)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if hasattr(self, "_log"):
            self._log.close()

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self._folder, ignore_errors=True)


@contextlib.contextmanager
def postgres(*, durable: bool = False) -> Iterator[Postgres]:
    server = Postgres(durable=durable)
    try:
        yield server.start()
    finally:
        server.stop()


@contextlib.contextmanager
def redis() -> Iterator[Redis]:
    server = Redis()
    try:
        yield server.start()
    finally:
        server.stop()


# --- the suites on PostgreSQL ------------------------------------------------------------------

# HEARTH_TEST_STORAGE=postgresql runs every test that builds its settings with
# tests/support/server.config_dict (the API, realtime and served suites) on PostgreSQL: one
# server per test process, a new database for each settings made.
STORAGE = os.environ.get("HEARTH_TEST_STORAGE", "sqlite")
_shared: Postgres | None = None
_made: list[str] = []
_count = itertools.count(1)
_by_folder: dict[Path, str] = {}
TEMPLATE = "migrated"


def test_database_url(data_dir: Path) -> str | None:
    """The PostgreSQL database of the data folder `data_dir` when the suite runs on
    PostgreSQL (a new one at the latest schema, copied from one migrated once; the same one
    again for a server restarted on that folder), else None."""
    if STORAGE != "postgresql":
        return None
    global _shared
    if _shared is None:
        _shared = Postgres().start()
        atexit.register(_shared.stop)
        _migrate(_shared.create_database(TEMPLATE))
    name = _by_folder.get(data_dir)
    if name is None:
        name = _by_folder[data_dir] = f"t{next(_count)}"
        with psycopg.connect(_shared.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
            for old in _made[:-20]:  # the disk is not endless; one still in use stays for later
                with contextlib.suppress(psycopg.errors.ObjectInUse):
                    conn.execute(f'DROP DATABASE IF EXISTS "{old}"')
                    _made.remove(old)
        _made.append(name)
    return f"postgresql://hearth@127.0.0.1:{_shared.port}/{name}"


def _migrate(url: str) -> None:
    from appliance.store.db import Database

    async def migrate() -> None:
        database = Database(url, read_connections=1)
        await database.open()
        await database.close()

    # Called from inside tests' event loops too: migrate on a thread with its own.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, migrate()).result()
