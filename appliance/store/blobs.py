"""The content-addressed file store under the data folder: `files/ab/cdef...` named by sha256.

An upload is written to a temp file in `files/tmp` (the same file system, so the final rename
is atomic), hashed as it is written, and renamed into place only when complete: a reader never
sees half a file, and a failed or cut-off upload leaves nothing behind. Two uploads of the same
bytes share one copy. Beside a file may sit its thumbnail (`<sha256>.thumb`). The folder is
`files.folder` (data_dir/files by default), which several Hearth processes may share
(docs/scale-out.md). Blocking calls: run them in a worker thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
from pathlib import Path

from appliance import datadir
from appliance.store.errors import StorageFullError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
THUMB_SUFFIX = ".thumb"
_FULL = {errno.ENOSPC, errno.EDQUOT}


def _storage_error(error: OSError) -> Exception:
    return StorageFullError() if error.errno in _FULL else error


def _present(path: Path) -> bool:
    """Whether a stored file is there, asked by opening it: on a network file system shared
    by several machines an open asks the server (close-to-open consistency), where a stat may
    answer from a cache that has not yet seen another machine remove the file."""
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError:
        return False
    return True


class Upload:
    """A temp file being written; `sha256` grows with every `write`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self._hash = hashlib.sha256()
        self._file = path.open("xb")

    def write(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except OSError as error:
            raise _storage_error(error) from error
        self._hash.update(data)
        self.size += len(data)

    def write_all(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def finish(self) -> str:
        """Flush to disk and close; the sha256 of what was written."""
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        except OSError as error:
            raise _storage_error(error) from error
        return self._hash.hexdigest()

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        self.path.unlink(missing_ok=True)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"

    def prepare(self) -> None:
        """Make the folders."""
        self.tmp.mkdir(parents=True, exist_ok=True, mode=0o700)

    def remove_temps(self, before: float | None = None) -> int:
        """Remove temp files a crash left (nothing refers to them): all of them, or only those
        last written before `before` (seconds since the epoch). On a folder several processes
        share, a fresh temp file is another one's upload on its way in. How many went."""
        removed = 0
        for leftover in self.tmp.iterdir():
            with contextlib.suppress(FileNotFoundError):  # its upload finished meanwhile
                if before is not None and leftover.stat().st_mtime >= before:
                    continue
                leftover.unlink()
                removed += 1
        return removed

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a sha256")
        return self.root / sha256[:2] / sha256[2:]

    def thumb_path(self, sha256: str) -> Path:
        return self.path(sha256).with_name(self.path(sha256).name + THUMB_SUFFIX)

    def temp_path(self, suffix: str = "") -> Path:
        return self.tmp / (secrets.token_hex(16) + suffix)

    def begin(self) -> Upload:
        self.tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            return Upload(self.temp_path(".part"))
        except OSError as error:
            raise _storage_error(error) from error

    def has(self, sha256: str) -> bool:
        return _present(self.path(sha256))

    def keep(self, temp: Path, sha256: str) -> Path:
        """Move a finished temp file into place (atomically); if the store already has these
        bytes, the temp file is dropped instead."""
        final = self.path(sha256)
        try:
            if _present(final):
                temp.unlink(missing_ok=True)
                return final
            final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.replace(temp, final)
            datadir.sync_dir(final.parent)
        except OSError as error:
            temp.unlink(missing_ok=True)
            raise _storage_error(error) from error
        return final

    def keep_thumb(self, temp: Path, sha256: str) -> None:
        final = self.thumb_path(sha256)
        try:
            final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.replace(temp, final)
        except OSError as error:
            temp.unlink(missing_ok=True)
            raise _storage_error(error) from error

    def remove(self, sha256: str) -> None:
        """Forget these bytes and their thumbnail (when no file row names them any more)."""
        for path in (self.path(sha256), self.thumb_path(sha256)):
            path.unlink(missing_ok=True)
