"""Files: uploads streamed to disk with their limits checked as the bytes arrive, what they
are (sniffed, never taken from the client), who may fetch them, a chat's gallery, and the
sweep that removes uploads no message came to use."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import unicodedata
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from appliance import limits
from appliance.api import shapes
from appliance.config import Settings
from appliance.services import filetypes, media, views
from appliance.services.chats import require_member
from appliance.services.errors import (
    InvalidError,
    NotFoundError,
    StorageFullError,
    TooLargeError,
    UnsupportedTypeError,
)
from appliance.services.ratelimit import Limits
from appliance.services.unit import Outbox, Work
from appliance.store import errors as store_errors
from appliance.store import files
from appliance.store.blobs import BlobStore, Upload
from appliance.store.db import ThreadConnection, alone, on_thread
from appliance.store.files import FileRow, NewFile

# Bytes gathered before a write to the temp file (in a worker thread).
WRITE_CHUNK = 256 * 1024
SWEEP_BATCH = 500
# A temp file this old is a crash's leftover, not an upload or an export on its way (they
# write to theirs as the bytes come, and hand it on within minutes).
TEMP_KEEP_MS = 24 * 3600 * 1000
THUMB_TYPE = "image/webp"
AVATAR_SIDE = 256  # profile and group pictures: a square, at most this many pixels a side
T = TypeVar("T")
# Characters that would make a name read differently from what it is (bidi overrides).
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


def file_not_found() -> NotFoundError:
    return NotFoundError("There is no such file.", code="file_not_found")


def not_a_picture() -> UnsupportedTypeError:
    return UnsupportedTypeError("This is not a picture: send a JPEG, PNG, GIF or WebP image.")


def clean_name(raw: str) -> str:
    """A file name fit to show: the last path part, no control or bidi characters, NFC, at
    most FILE_NAME_MAX characters (the extension kept); "file" when nothing is left."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in _BIDI)
    name = name.strip().strip(".").strip()
    if len(name) > limits.FILE_NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: limits.FILE_NAME_MAX - len(extension) - 1] + "." + extension
        else:
            name = name[: limits.FILE_NAME_MAX]
    return name or "file"


@dataclass(frozen=True, slots=True)
class Served:
    """What to send for a file: where its bytes are and how to label them."""

    path: Path
    type: str
    name: str
    etag: str
    inline: bool  # shown in the page (pictures, video, audio); else a download


class Files:
    def __init__(self, work: Work, config: Settings, limits: Limits) -> None:
        self.work = work
        self.blobs = BlobStore(config.files_path)
        self.max_image = config.limits.max_image_bytes
        self.max_file = config.limits.max_file_bytes
        self.quota = config.limits.storage_per_user
        self.max_pixels = config.files.max_image_pixels
        self.grace_ms = int(config.files.unattached_hours * 3600 * 1000)
        self.uploads = limits.uploads
        # Several processes on one files folder (docs/scale-out.md): another one's temp files
        # may be uploads on their way in.
        self.shared = config.bus.url != "memory://"

    @property
    def max_upload(self) -> int:
        """The most any upload may be, before its type is known."""
        return max(self.max_image, self.max_file)

    async def prepare(self) -> None:
        """Make the folders, and remove the temp files a crash left: all of them when this is
        the only process, else only those older than TEMP_KEEP_MS."""
        await asyncio.to_thread(self.blobs.prepare)
        await self._remove_temps(everything=not self.shared)

    async def _remove_temps(self, *, everything: bool) -> int:
        before = None if everything else (self.work.clock.now_ms() - TEMP_KEEP_MS) / 1000
        return await asyncio.to_thread(self.blobs.remove_temps, before)

    # --- uploading ---------------------------------------------------------------------------

    async def upload(
        self, user_id: int, name: str, body: AsyncIterable[bytes], *, length: int | None
    ) -> shapes.FileOut:
        """Store an upload streamed as `body` (`length` if the client said it). Over a limit
        it stops as soon as the limit is passed; whatever goes wrong, nothing is left."""
        name = clean_name(name)
        await self.uploads.hit(str(user_id))
        if length is not None and length > self.max_upload:
            raise self._too_large(self.max_upload)
        try:
            upload = await asyncio.to_thread(self.blobs.begin)
        except store_errors.StorageFullError as error:
            raise StorageFullError() from error
        temps: list[Path] = []
        try:
            kind, sha256 = await self._receive(upload, body, length)
            await self._check_quota(user_id, sha256, upload.size)
            return await self._keep(user_id, name, upload, kind, sha256, temps)
        except store_errors.StorageFullError as error:
            raise StorageFullError() from error
        finally:
            upload.discard()
            for temp in temps:
                temp.unlink(missing_ok=True)

    async def _receive(
        self,
        upload: Upload,
        body: AsyncIterable[bytes],
        length: int | None,
        *,
        images_only: bool = False,
    ) -> tuple[filetypes.FileType, str]:
        kind: filetypes.FileType | None = None
        limit = self.max_image if images_only else self.max_upload
        # The chunks as they came, written (and hashed) one by one in a worker thread once
        # there are WRITE_CHUNK bytes: never joined, so no byte is copied on the way in.
        pending: list[bytes] = []
        waiting = 0
        async for chunk in body:
            pending.append(chunk)
            waiting += len(chunk)
            if kind is None and waiting >= filetypes.HEAD_BYTES:
                kind, limit = self._sniffed(_head(pending), length, images_only)
            if upload.size + waiting > limit:
                raise self._too_large(limit)
            if waiting >= WRITE_CHUNK:
                await asyncio.to_thread(upload.write_all, pending)
                pending, waiting = [], 0
        if kind is None:
            kind, limit = self._sniffed(_head(pending), length, images_only)
            if upload.size + waiting > limit:
                raise self._too_large(limit)
        if pending:
            await asyncio.to_thread(upload.write_all, pending)
        if upload.size == 0:
            raise InvalidError("The file is empty.", code="empty_file")
        return kind, await asyncio.to_thread(upload.finish)

    def _sniffed(
        self, head: bytes, length: int | None, images_only: bool
    ) -> tuple[filetypes.FileType, int]:
        kind = filetypes.sniff(head)
        if images_only and not kind.image:
            raise not_a_picture()
        limit = self.max_image if kind.image else self.max_file
        if length is not None and length > limit:
            raise self._too_large(limit)
        return kind, limit

    async def _keep(
        self,
        user_id: int,
        name: str,
        upload: Upload,
        kind: filetypes.FileType,
        sha256: str,
        temps: list[Path],
    ) -> shapes.FileOut:
        """Keep the upload: a new row, and its bytes moved into the store unless they are
        there already. Whether they are is decided in the job that inserts the row, on the
        writer's thread, where the sweep also removes bytes (`_forget`): the two never
        interleave, with no lock held across an await."""
        async with self.work.read() as conn:
            same = await on_thread(conn, files.same_upload, user_id, sha256, name)
            known = await on_thread(conn, files.any_with, sha256)
        if same is not None:
            return views.file(same)
        facts = None if known is not None else await self._examine(upload.path, kind, temps)
        row = await self._store(user_id, name, upload.path, sha256, facts)
        if row is None:  # the sweep removed the bytes meanwhile: they are this upload's now
            facts = await self._examine(upload.path, kind, temps)
            row = await self._store(user_id, name, upload.path, sha256, facts)
        assert row is not None
        return views.file(row)

    async def _store(
        self, user_id: int, name: str, path: Path, sha256: str, facts: media.Facts | None
    ) -> FileRow | None:
        """The row for an upload (None when its bytes must be stored and there are no `facts`
        to store them with: the caller examines the upload and asks again)."""
        now = self.work.clock.now_ms()

        def job(conn: ThreadConnection, _: Outbox) -> FileRow | None:
            alone(conn, f"bytes:{sha256}")  # kept here or removed by `_forget`, never both
            same = files.same_upload(conn, user_id, sha256, name)
            if same is not None:  # the same upload, twice at once
                return same
            known = files.any_with(conn, sha256)
            if known is not None and self.blobs.has(sha256):
                return files.insert(conn, _copy(known, user_id, name, now))
            if facts is None:
                return None
            source = facts.cleaned or path
            size = source.stat().st_size
            self.blobs.keep(source, sha256)
            if facts.thumb is not None:
                self.blobs.keep_thumb(facts.thumb, sha256)
            return files.insert(conn, _new_file(user_id, name, sha256, size, facts, now))

        return await self.work.unit_in_thread(job)

    async def picture(
        self,
        user_id: int,
        body: AsyncIterable[bytes],
        length: int | None,
        attach: Callable[[ThreadConnection, Outbox, FileRow], T],
    ) -> T:
        """A profile or group picture from an uploaded image (streamed as `body`, held to the
        image limit; anything but a picture is refused): a centred square of at most
        AVATAR_SIDE pixels, WebP, no metadata, kept as a file row of `user_id`'s and handed
        to `attach` in the same job on the writer's thread (which sets it and records the
        events). Whatever goes wrong, nothing is left."""
        await self.uploads.hit(str(user_id))
        if length is not None and length > self.max_image:
            raise self._too_large(self.max_image)
        try:
            upload = await asyncio.to_thread(self.blobs.begin)
        except store_errors.StorageFullError as error:
            raise StorageFullError() from error
        made = self.blobs.temp_path(".webp")
        try:
            await self._receive(upload, body, length, images_only=True)
            side, sha256, size = await asyncio.to_thread(self._square, upload.path, made)
            now = self.work.clock.now_ms()

            def job(conn: ThreadConnection, outbox: Outbox) -> T:
                self.blobs.keep(made, sha256)  # the same picture again: already there
                new = NewFile(
                    sha256=sha256, owner_id=user_id, name="picture.webp", type=THUMB_TYPE,
                    kind="media", size=size, width=side, height=side, duration_ms=None,
                    has_thumb=False, created_at=now,
                )  # fmt: skip
                return attach(conn, outbox, files.insert(conn, new))

            return await self.work.unit_in_thread(job)
        except store_errors.StorageFullError as error:
            raise StorageFullError() from error
        finally:
            upload.discard()
            made.unlink(missing_ok=True)

    def _square(self, source: Path, target: Path) -> tuple[int, str, int]:
        """The picture made square at `target`: its side, sha256 and size (a worker thread)."""
        try:
            side = media.square(source, target, side=AVATAR_SIDE, max_pixels=self.max_pixels)
        except media.ImageTooLargeError:
            raise TooLargeError(
                f"Pictures may have at most {self.max_pixels:,} pixels.", code="image_too_large"
            ) from None
        except media.NotAPictureError:
            raise not_a_picture() from None
        with target.open("rb") as made:
            sha256 = hashlib.file_digest(made, "sha256").hexdigest()
        return side, sha256, target.stat().st_size

    async def _examine(
        self, path: Path, kind: filetypes.FileType, temps: list[Path]
    ) -> media.Facts:
        def temp(suffix: str) -> Path:
            made = self.blobs.temp_path(suffix)
            temps.append(made)
            return made

        try:
            return await asyncio.to_thread(
                media.examine, path, kind, temp, max_pixels=self.max_pixels
            )
        except media.ImageTooLargeError:
            raise TooLargeError(
                f"Pictures may have at most {self.max_pixels:,} pixels.", code="image_too_large"
            ) from None

    async def _check_quota(self, user_id: int, sha256: str, size: int) -> None:
        """With a quota, new bytes must fit in what is left of it (the same bytes uploaded
        again by the same person take no more room). Known only once the bytes are in."""
        if self.quota is None:
            return
        async with self.work.read() as conn:
            if await files.owns_bytes(conn, user_id, sha256):
                return
            used = await files.bytes_used(conn, user_id)
        if used + size <= self.quota:
            return
        raise TooLargeError(
            "Your uploads would take more than your share of Hearth's storage"
            f" ({self.quota:,} bytes). Delete some messages with files first.",
            code="quota_exceeded",
        )

    def _too_large(self, limit: int) -> TooLargeError:
        return TooLargeError(f"This file is too large: at most {limit:,} bytes.")

    # --- reading -----------------------------------------------------------------------------

    async def served(self, user_id: int, file_id: int, *, thumb: bool = False) -> Served:
        """A file (or its thumbnail) for someone who may see it: its owner, or a member of a
        chat it was posted in. Anyone else is told it does not exist."""
        async with self.work.read() as conn:
            row = await files.get(conn, file_id)
            if row is None or not await files.visible_to(conn, file_id, user_id):
                raise file_not_found()
        if thumb:
            if not row.has_thumb:
                raise NotFoundError("This file has no thumbnail.", code="file_not_found")
            path = self.blobs.thumb_path(row.sha256)
            stem = row.name.rsplit(".", 1)[0] or "thumbnail"
            return Served(path, THUMB_TYPE, f"{stem}.webp", f"{row.sha256}-thumb", True)
        kind = filetypes.BY_MIME.get(row.type, filetypes.OTHER)
        return Served(self.blobs.path(row.sha256), kind.mime, row.name, row.sha256, kind.inline)

    async def gallery(
        self, user_id: int, chat_id: int, kind: str, *, before: int | None, limit: int
    ) -> shapes.MediaPageOut:
        async with self.work.read() as conn:
            await require_member(conn, chat_id, user_id)
            items, more = await files.gallery(
                conn, chat_id, user_id, kind, before=before, limit=limit
            )
        return shapes.MediaPageOut(
            items=[views.gallery_item(item) for item in items],
            next=items[-1].id if more and items else None,
        )

    # --- housekeeping ------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Remove uploads that no message refers to and that are older than the grace
        period, the bytes no upload names any more, and temp files older than TEMP_KEEP_MS.
        How many uploads went."""
        await self._remove_temps(everything=False)
        cutoff = self.work.clock.now_ms() - self.grace_ms
        async with self.work.read() as conn:
            stale = await files.unattached_before(conn, cutoff, SWEEP_BATCH)
        if not stale:
            return 0
        async with self.work.unit() as (tx, _):
            orphaned = await files.delete_unattached(tx, [row.id for row in stale])
        if orphaned:
            await self.work.unit_in_thread(lambda conn, _: self._forget(conn, orphaned))
        return len(stale)

    def _forget(self, conn: ThreadConnection, orphaned: list[str]) -> None:
        """Remove bytes that no row names, on the writer's thread: an upload decides there
        whether the bytes it found are still stored (`_store`), so it either comes first (its
        row keeps them) or after (it finds them gone and stores its own). With several
        processes on PostgreSQL the same holds between them: both take the bytes' own lock
        (store/db.py `alone`), so this job and another process's `_store` never overlap, and
        each sees what the other committed."""
        for sha256 in orphaned:
            alone(conn, f"bytes:{sha256}")
            if files.any_with(conn, sha256) is None:
                with contextlib.suppress(OSError):
                    self.blobs.remove(sha256)


def _copy(known: FileRow, owner_id: int, name: str, now: int) -> NewFile:
    """A new upload of bytes already stored: their facts, this upload's owner and name."""
    return NewFile(
        sha256=known.sha256, owner_id=owner_id, name=name, type=known.type, kind=known.kind,
        size=known.size, width=known.width, height=known.height,
        duration_ms=known.duration_ms, has_thumb=known.has_thumb, created_at=now,
        waveform=known.waveform,
    )  # fmt: skip


def _head(chunks: list[bytes]) -> bytes:
    """The first HEAD_BYTES bytes of an upload's first chunks (what `sniff` looks at)."""
    head = b""
    for chunk in chunks:
        head += chunk[: filetypes.HEAD_BYTES - len(head)]
        if len(head) >= filetypes.HEAD_BYTES:
            break
    return head


def _new_file(
    owner_id: int, name: str, sha256: str, size: int, facts: media.Facts, now: int
) -> NewFile:
    return NewFile(
        sha256=sha256,
        owner_id=owner_id,
        name=name,
        type=facts.type.mime,
        kind=facts.type.kind,
        size=size,
        width=facts.width,
        height=facts.height,
        duration_ms=facts.duration_ms,
        has_thumb=facts.thumb is not None,
        created_at=now,
        waveform=facts.waveform,
    )
