"""Sending a person's export zip: streamed from its temp file, which is removed once sent (or
once the client went away)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from quart import Response

CHUNK = 256 * 1024


async def zip_download(path: Path, filename: str) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(path.open, "rb")
        try:
            while data := await asyncio.to_thread(handle.read, CHUNK):
                yield data
        finally:
            handle.close()
            await asyncio.to_thread(path.unlink, missing_ok=True)

    response = Response(chunks(), content_type="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    size = (await asyncio.to_thread(path.stat)).st_size
    response.headers["Content-Length"] = str(size)
    response.headers["Cache-Control"] = "no-store"
    return response
