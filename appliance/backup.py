"""Backups: one tar archive of a data folder, made while the server runs, and its restore.

The archive holds, in this order: `backup.json` (format, Hearth version, schema version, so a
restore can refuse a newer schema before reading the rest), `hearth.db` (an online snapshot
taken with SQLite's backup API in one step: one read transaction, a consistent state, writers
go on meanwhile in WAL mode), the content-addressed files store (`files/ab/cdef...`, thumbnails
beside them), the signing key and the TLS folder, and last `manifest.json` with every member's
size and sha256. A restore stages everything in the data folder, checks every checksum and the
database, and only then moves it into place: a corrupt, truncated or newer archive changes
nothing. The files store is `files.folder` when that is set (members are named `files/...`
all the same, so an archive restores into either layout). Blocking code: the CLI runs it
directly, the server in a worker thread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from appliance import __version__, datadir
from appliance.store.db import bundled_migrations

FORMAT = 1
HEADER = "backup.json"
MANIFEST = "manifest.json"
DATABASE = "hearth.db"
FILES = "files"
LAST_BACKUP_FILE = "last-backup.json"
_CHUNK = 1024 * 1024
# What an archive may hold besides the header and manifest (nothing else is ever extracted).
_MEMBER = re.compile(
    r"^(hearth\.db|secret\.key|tls/[A-Za-z0-9._-]+|files/[0-9a-f]{2}/[0-9a-f]{62}(\.thumb)?)$"
)
_KEPT = ("hearth.db", "hearth.db-wal", "hearth.db-shm", "files", "secret.key", "tls")

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class Summary:
    path: Path
    size: int
    files: int
    schema_version: int
    hearth_version: str
    created_at: str


def _no_progress(done: int, total: int) -> None:
    pass


# --- backup ------------------------------------------------------------------------------------


def create(
    data_dir: Path,
    output: Path,
    progress: Progress = _no_progress,
    *,
    files_dir: Path | None = None,
) -> Summary:
    """Write a backup of `data_dir` to `output` (atomically: a failed backup leaves no file),
    with the files store in `files_dir` (by default data_dir/files)."""
    database = data_dir / DATABASE
    if not database.is_file():
        raise BackupError(f"{data_dir} holds no Hearth database ({DATABASE}): nothing to back up")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".hearth-backup-") as scratch:
        snapshot = Path(scratch) / DATABASE
        schema_version = _snapshot(database, snapshot)
        members = [(snapshot, DATABASE), *_data_files(data_dir, files_dir or data_dir / FILES)]
        total = sum(path.stat().st_size for path, _ in members)
        created_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        header = {
            "format": FORMAT,
            "hearth_version": __version__,
            "schema_version": schema_version,
            "created_at": created_at,
        }
        partial = output.with_name(output.name + ".part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
                checksums = {HEADER: _add_bytes(tar, HEADER, _json(header))}
                done = 0
                for path, name in members:
                    try:
                        checksums[name] = _add_file(tar, path, name, done, total, progress)
                    except FileNotFoundError:
                        continue  # an unused upload swept meanwhile: the snapshot lacks it too
                    done += checksums[name]["size"]
                manifest = {**header, "members": checksums}
                _add_bytes(tar, MANIFEST, _json(manifest))
                tar.close()
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    summary = Summary(
        path=output,
        size=output.stat().st_size,
        files=sum(1 for name in checksums if name.startswith(f"{FILES}/")),
        schema_version=schema_version,
        hearth_version=__version__,
        created_at=created_at,
    )
    _record_last(data_dir, summary)
    return summary


def _snapshot(database: Path, target: Path) -> int:
    """Copy the live database in one backup step (one consistent read); its schema version."""
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # pages=-1: all in one step, so no restart by concurrent writes
            problem = copy.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise BackupError(f"the database fails SQLite's check: {problem}")
            return int(copy.execute("PRAGMA user_version").fetchone()[0])
        finally:
            copy.close()
    except sqlite3.Error as error:
        raise BackupError(f"cannot read the database {database}: {error}") from None
    finally:
        source.close()


def _data_files(data_dir: Path, files: Path) -> Iterator[tuple[Path, str]]:
    """The files store (no temp files), the signing key and the TLS folder."""
    if files.is_dir():
        for folder in sorted(files.iterdir()):
            if folder.name == "tmp" or not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                name = f"{FILES}/{folder.name}/{path.name}"
                if path.is_file() and _MEMBER.match(name):
                    yield path, name
    for path in [data_dir / datadir.SECRET_FILE, *sorted((data_dir / "tls").glob("*"))]:
        name = path.relative_to(data_dir).as_posix()
        if path.is_file() and _MEMBER.match(name):
            yield path, name


class _Hashing:
    """A file read through tarfile, hashed and counted as it goes."""

    def __init__(self, handle: IO[bytes], on_read: Callable[[int], None]) -> None:
        self._handle = handle
        self._on_read = on_read
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.hash.update(data)
        self._on_read(len(data))
        return data


def _add_file(
    tar: tarfile.TarFile, path: Path, name: str, done: int, total: int, progress: Progress
) -> dict[str, Any]:
    with path.open("rb") as handle:
        info = tar.gettarinfo(fileobj=handle, arcname=name)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        read = 0

        def on_read(count: int) -> None:
            nonlocal read
            read += count
            progress(done + read, total)

        hashing = _Hashing(handle, on_read)
        tar.addfile(info, hashing)
    return {"size": info.size, "sha256": hashing.hash.hexdigest()}


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> dict[str, Any]:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True).encode()


def _record_last(data_dir: Path, summary: Summary) -> None:
    """Remember the last backup for the admin page (best effort: the backup itself is done)."""
    record = {"path": str(summary.path.resolve()), "size": summary.size, "at": summary.created_at}
    with contextlib.suppress(OSError):
        (data_dir / LAST_BACKUP_FILE).write_text(json.dumps(record))


def last_backup(data_dir: Path) -> dict[str, Any] | None:
    try:
        found = json.loads((data_dir / LAST_BACKUP_FILE).read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def default_name(now: dt.datetime | None = None) -> str:
    moment = now or dt.datetime.now(dt.UTC)
    return f"hearth-backup-{moment.strftime('%Y%m%d-%H%M%S')}.tar"


def prune(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` scheduled backups in `folder`; those removed."""
    found = sorted(folder.glob("hearth-backup-*.tar"))
    doomed = found[:-keep] if keep > 0 else found
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


# --- restore -----------------------------------------------------------------------------------


def restore(
    archive: Path,
    data_dir: Path,
    *,
    replace: bool = False,
    progress: Progress = _no_progress,
    files_dir: Path | None = None,
) -> Summary:
    """Check `archive` whole, then make it the content of `data_dir`, its files that of
    `files_dir` (by default data_dir/files). With `replace`, what the folder held is moved
    aside into `data_dir/replaced-<time>/` first, never deleted; a files folder of its own
    beside itself, into `<files_dir>.replaced-<time>`."""
    if datadir.serving_urls(data_dir) is not None:
        raise BackupError(
            f"a Hearth server is running on {data_dir}: stop it first (systemctl stop hearth)"
        )
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    own = _own_folder(data_dir, files_dir)
    held = [name for name in _KEPT if (data_dir / name).exists()]
    if (data_dir / DATABASE).exists() and not replace:
        raise BackupError(
            f"{data_dir} already holds a Hearth database: restore into an empty data folder, "
            "or add --replace to move what it holds aside first"
        )
    if own is not None and _holds_files(own) and not replace:
        raise BackupError(
            f"files.folder {own} already holds files: restore into an empty one, or add "
            "--replace to move it aside first"
        )
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(dir=data_dir, prefix=".restore-"))
    files_staging = staging / FILES
    try:
        if own is not None:
            # Beside the files folder (its file system), so it moves into place in one rename.
            own.parent.mkdir(parents=True, exist_ok=True)
            files_staging = Path(tempfile.mkdtemp(dir=own.parent, prefix=".restore-"))
        manifest = _extract(archive, staging, files_staging, progress)
        _check_database(staging / DATABASE, manifest["schema_version"])
        moment = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        if held:
            aside = data_dir / f"replaced-{moment}"
            aside.mkdir(mode=0o700)
            for name in held:
                os.replace(data_dir / name, aside / name)
        if own is not None:
            if own.exists():
                os.replace(own, own.with_name(f"{own.name}.replaced-{moment}"))
            os.replace(files_staging, own)
            datadir.sync_dir(own.parent)
        for entry in staging.iterdir():
            os.replace(entry, data_dir / entry.name)
        datadir.sync_dir(data_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if files_staging.parent != staging:
            shutil.rmtree(files_staging, ignore_errors=True)
    members = manifest["members"]
    return Summary(
        path=archive,
        size=archive.stat().st_size,
        files=sum(1 for name in members if name.startswith(f"{FILES}/")),
        schema_version=int(manifest["schema_version"]),
        hearth_version=str(manifest["hearth_version"]),
        created_at=str(manifest["created_at"]),
    )


def _extract(
    archive: Path, staging: Path, files_staging: Path, progress: Progress
) -> dict[str, Any]:
    """Every member into `staging` (the files store's into `files_staging`), checked against
    the manifest; the manifest."""
    total = archive.stat().st_size
    seen: dict[str, dict[str, Any]] = {}
    manifest: dict[str, Any] | None = None
    try:
        with tarfile.open(archive, mode="r:") as tar:
            for info in tar:
                if manifest is not None:
                    raise BackupError(f"{archive} is corrupt: something follows its manifest")
                if info.name in (HEADER, MANIFEST):
                    data = _read_member(tar, info)
                    seen[info.name] = _digest(data)
                    found = _parse_json(archive, info.name, data)
                    if info.name == HEADER:
                        _check_header(archive, found)
                    else:
                        manifest = found
                    continue
                if not info.isfile() or not _MEMBER.match(info.name):
                    raise BackupError(f"{archive} is not a Hearth backup: it holds {info.name!r}")
                seen[info.name] = _extract_member(tar, info, staging, files_staging)
                progress(min(tar.offset, total), total)
    except (tarfile.TarError, EOFError) as error:
        raise BackupError(
            f"{archive} is truncated or not a Hearth backup ({error}); nothing was restored"
        ) from None
    if HEADER not in seen:
        raise BackupError(f"{archive} is not a Hearth backup (no {HEADER})")
    if manifest is None:
        raise BackupError(f"{archive} is truncated: its manifest is missing; nothing was restored")
    expected = manifest.get("members")
    if not isinstance(expected, dict):
        raise BackupError(f"{archive} is corrupt: its manifest lists no members")
    seen.pop(MANIFEST)
    for name, want in expected.items():
        if name not in seen:
            raise BackupError(f"{archive} is truncated or corrupt: {name} is missing")
        if seen[name] != want:
            raise BackupError(f"{archive} is corrupt: {name} does not match its checksum")
    extra = sorted(set(seen) - set(expected))
    if extra:
        raise BackupError(f"{archive} is corrupt: {extra[0]} is not in its manifest")
    if DATABASE not in seen:
        raise BackupError(f"{archive} holds no database")
    return manifest


def _check_header(archive: Path, header: dict[str, Any]) -> None:
    if header.get("format") != FORMAT:
        raise BackupError(
            f"{archive} has backup format {header.get('format')!r}; this Hearth reads {FORMAT}"
        )
    schema = header.get("schema_version")
    latest = bundled_migrations()[-1].version
    if not isinstance(schema, int) or schema > latest:
        raise BackupError(
            f"{archive} was made by Hearth {header.get('hearth_version')} with schema version "
            f"{schema}; this Hearth ({__version__}) knows versions up to {latest}: upgrade "
            "Hearth first, then restore"
        )


def _read_member(tar: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
    if not info.isfile() or info.size > _CHUNK:
        raise BackupError(f"{info.name} in the archive is not what a Hearth backup holds")
    handle = tar.extractfile(info)
    assert handle is not None
    data = handle.read()
    if len(data) != info.size:
        raise EOFError(f"{info.name} is cut short")
    return data


def _parse_json(archive: Path, name: str, data: bytes) -> dict[str, Any]:
    try:
        found = json.loads(data)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise BackupError(f"{archive} is corrupt: {name} is not a JSON object")
    return found


def _extract_member(
    tar: tarfile.TarFile, info: tarfile.TarInfo, staging: Path, files_staging: Path
) -> dict[str, Any]:
    if info.name.startswith(f"{FILES}/"):
        target = files_staging / info.name.removeprefix(f"{FILES}/")
    else:
        target = staging / info.name
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    source = tar.extractfile(info)
    assert source is not None
    digest = hashlib.sha256()
    size = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if size != info.size:
        raise EOFError(f"{info.name} is cut short")
    return {"size": size, "sha256": digest.hexdigest()}


def _own_folder(data_dir: Path, files_dir: Path | None) -> Path | None:
    """`files_dir` when it is not data_dir/files (where the rest of a restore goes anyway)."""
    if files_dir is None or os.path.abspath(files_dir) == os.path.abspath(data_dir / FILES):
        return None
    return files_dir


def _holds_files(folder: Path) -> bool:
    """Whether a files folder holds stored files (its empty temp folder aside)."""
    return folder.is_dir() and any(entry.name != "tmp" for entry in folder.iterdir())


def _digest(data: bytes) -> dict[str, Any]:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _check_database(path: Path, schema_version: Any) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise BackupError(f"the archive's database cannot be read: {error}") from None
    if check != "ok":
        raise BackupError(f"the archive's database fails SQLite's check: {check}")
    if version != schema_version:
        raise BackupError(
            f"the archive's database has schema {version}, its manifest says {schema_version}"
        )


# --- a progress bar on a terminal ---------------------------------------------------------------


class Bar:
    """`label  42% [########            ] 12.3/29.0 MB` redrawn in place on a terminal; nothing
    when the output is not one (a cron job's log stays clean)."""

    WIDTH = 30

    def __init__(self, label: str, stream: IO[str] | None = None, unit: str = "MB") -> None:
        self._label = label
        self._unit = unit
        self._scale: float
        self._scale, self._digits = (1e6, 1) if unit == "MB" else (1.0, 0)
        self._stream = stream or sys.stderr
        self._on = self._stream.isatty()
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        if not self._on:
            return
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        if percent == self._shown:
            return
        self._shown = percent
        filled = self.WIDTH * percent // 100
        bar = "#" * filled + " " * (self.WIDTH - filled)
        self._stream.write(
            f"\r{self._label} {percent:3d}% [{bar}] {done / self._scale:,.{self._digits}f}/"
            f"{total / self._scale:,.{self._digits}f} {self._unit}"
        )
        self._stream.flush()

    def finish(self) -> None:
        if self._on and self._shown >= 0:
            self._stream.write("\n")
            self._stream.flush()
