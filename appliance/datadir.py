"""The data folder: database, files, certificate and the signing secret, private to Hearth."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SECRET_FILE = "secret.key"  # noqa: S105 (a file name)
SERVING_FILE = "serving.json"


@contextmanager
def serving(data_dir: Path, urls: list[str]) -> Iterator[None]:
    """While a server runs on this data folder, say where it answers (for CLI commands)."""
    path = data_dir / SERVING_FILE
    path.write_text(json.dumps({"pid": os.getpid(), "urls": urls}))
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def serving_urls(data_dir: Path) -> list[str] | None:
    """The URLs of the server running on this data folder, if one is."""
    try:
        found = json.loads((data_dir / SERVING_FILE).read_text())
        os.kill(int(found["pid"]), 0)  # still running?
    except (OSError, ValueError, KeyError, TypeError):
        return None
    urls = found.get("urls")
    return [str(url) for url in urls] if isinstance(urls, list) and urls else None


class DataDirError(Exception):
    """The data folder cannot be made or written (a setup problem, not a crash)."""


def prepare(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        data_dir.chmod(0o700)
        # A name of its own: processes starting at once on a shared folder each probe.
        probe = data_dir / f".write-check-{os.getpid()}-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise DataDirError(
            f"data_dir {data_dir}: cannot use it as the data folder: {error.strerror or error}"
        ) from None


def secret_key(data_dir: Path) -> bytes:
    """The key that signs cookies and access tokens; made once, kept readable only by us.
    Processes that start at once on a shared data folder (docs/scale-out.md) agree on one: a
    new key is linked into place only if none is there yet, else the one there is used."""
    path = data_dir / SECRET_FILE
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
        path.unlink()  # cut short by a crash before the link existed: not a key anyone uses
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    temp = path.with_name(f"{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)  # whole, or not at all: the first process's key wins
        except FileExistsError:
            return path.read_bytes()
        except OSError:  # a file system without hard links: the last one wins, as before
            os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return key


def instance_id(data_dir: Path) -> str:
    """A stable public id for this appliance (mDNS TXT), derived so it reveals nothing."""
    return hashlib.sha256(b"hearth instance id:" + secret_key(data_dir)).hexdigest()[:16]


def sync_dir(folder: Path) -> None:
    """Make a rename into `folder` durable across a power cut (a Pi's usual way to stop):
    fsync the folder itself. Best effort: a filesystem that cannot is left as it is."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
