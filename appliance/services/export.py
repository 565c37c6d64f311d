"""A person's own data as one zip (GET /me/export): their profile, every message they wrote
that is not deleted (with the chat's name), and the files they uploaded. Built in a worker
thread into a temp file in the data folder, then streamed: a large export is never whole in
memory."""

from __future__ import annotations

import asyncio
import json
import zipfile
from dataclasses import asdict
from pathlib import Path

from appliance.clock import to_datetime
from appliance.config import Settings
from appliance.services import views
from appliance.services.errors import NotFoundError
from appliance.services.unit import Work
from appliance.store import personal, users
from appliance.store.blobs import BlobStore
from appliance.store.personal import OwnFile, OwnMessage


class Export:
    def __init__(self, work: Work, config: Settings) -> None:
        self._work = work
        self._blobs = BlobStore(config.files_path)

    async def build(self, user_id: int) -> Path:
        """The zip for `user_id`, as a temp file the caller removes after sending it."""
        async with self._work.read() as conn:
            user = await users.get(conn, user_id)
            if user is None:
                raise NotFoundError("No such user.")
            messages = await personal.messages_of(conn, user_id)
            files = await personal.files_of(conn, user_id)
        profile = views.me(user).model_dump(mode="json")
        target = self._blobs.temp_path(".zip")
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        await asyncio.to_thread(self._write, target, profile, messages, files)
        return target

    def _write(
        self,
        target: Path,
        profile: dict[str, object],
        messages: list[OwnMessage],
        files: list[OwnFile],
    ) -> None:
        try:
            with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("profile.json", _json(profile))
                archive.writestr("messages.json", _json([_message(m) for m in messages]))
                listed = []
                for file in files:
                    name = f"files/{file.id}-{Path(file.name).name or 'file'}"
                    path = self._blobs.path(file.sha256)
                    if path.is_file():  # compressed pictures and video gain nothing more
                        archive.write(path, name, compress_type=zipfile.ZIP_STORED)
                    listed.append({**asdict(file), "path": name, "present": path.is_file(),
                                   "created_at": _time(file.created_at)})  # fmt: skip
                    del listed[-1]["sha256"]
                archive.writestr("files.json", _json(listed))
        except BaseException:
            target.unlink(missing_ok=True)
            raise


def _message(message: OwnMessage) -> dict[str, object]:
    return {
        "id": message.id,
        "chat_id": message.chat_id,
        "chat_kind": message.chat_kind,
        "chat_name": message.chat_name,
        "body": message.body,
        "created_at": _time(message.created_at),
        "edited_at": _time(message.edited_at) if message.edited_at else None,
        "file_ids": [int(i) for i in message.file_ids.split(",") if i],
    }


def _time(ms: int) -> str:
    return to_datetime(ms).isoformat()


def _json(value: object) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False)
