"""A full disk under the data folder (issue 13: it answered a generic 500 with a traceback per
request). Writes answer 507 `storage_full` and leave nothing half-stored, the log says so once
per episode, reads go on, and writes work again as soon as there is room, without a restart.

The data folder is on a small tmpfs the test mounts (root only; skipped with the reason where
mounting is impossible)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.mounts import tmpfs
from tests.support.people import ServedPeople as People
from tests.support.people import new_client_id
from tests.support.server import HearthServer, roomy_config

DISK_BYTES = 12 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", f"size={DISK_BYTES},mode=0700") as disk:
        yield disk


def fill(disk: Path) -> Path:
    """Fill the file system to the last byte; returns the filler to delete later."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size) == size:
                    pass
    finally:
        os.close(fd)
    return filler


async def test_a_full_disk_refuses_writes_clearly_keeps_reads_and_recovers(tmp_path, small_disk):
    config = roomy_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["data_dir"] = str(small_disk / "data")
    config.write_text(yaml.safe_dump(raw))
    with HearthServer(config) as server:
        people = People(server)
        ada, bob = await people("ada", "bob")
        chat = await ada.direct(bob)
        await ada.send(chat["id"], "before the disk filled up")
        socket = await ada.connect()
        filler = fill(small_disk)

        refused = None
        stored = 1
        for attempt in range(200):  # SQLite's WAL may hold a few more before the disk says no
            reply = await ada.rest.call(
                "POST", f"/chats/{chat['id']}/messages",
                {"client_id": new_client_id(), "body": f"while full {attempt}"}, token=ada.token,
            )  # fmt: skip
            if reply.status != 201:
                refused = reply
                break
            stored += 1
        assert refused is not None, "the disk never filled up"
        assert refused.status == 507, refused.body
        assert refused.body["error"]["code"] == "storage_full"
        for _ in range(3):
            again = await ada.rest.call(
                "POST", f"/chats/{chat['id']}/messages",
                {"client_id": new_client_id(), "body": "still full"}, token=ada.token,
            )  # fmt: skip
            assert again.status == 507
        result = await socket.request(
            "message.send", {"chat_id": chat["id"], "client_id": new_client_id(), "body": "ws"}
        )
        assert result["ok"] is False and result["error"]["code"] == "storage_full"
        await socket.ping_round_trip()  # the socket stays up

        history = await bob.api("GET", f"/chats/{chat['id']}/messages")
        assert len(history["messages"]) == stored  # reads go on, and nothing was half-stored
        log = server.log()
        assert log.count("writes are refused") == 1, log
        assert "Traceback" not in log

        filler.unlink()
        await ada.send(chat["id"], "there is room again")
        history = await bob.api("GET", f"/chats/{chat['id']}/messages")
        assert history["messages"][-1]["body"] == "there is room again"
        assert len(history["messages"]) == stored + 1
        assert "room on the disk again" in server.log()
        await people.close()


def test_an_upload_to_a_full_disk_is_507_and_leaves_nothing(tmp_path, small_disk):
    """The file store is on the same full disk: the upload is refused clearly, no temp file
    or half a file stays, and the same upload works once there is room."""
    from tests.api.test_files_served import auth, call

    config = roomy_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["data_dir"] = str(small_disk / "data")
    config.write_text(yaml.safe_dump(raw))
    files = small_disk / "data" / "files"
    with HearthServer(config) as server:
        body = {"token": server.setup_token(), "username": "ada", "password": "long enough pw"}
        status, login, _ = call(
            server, "POST", "/api/v1/setup", json.dumps(body),
            {"Content-Type": "application/json"},
        )  # fmt: skip
        assert status == 201, login
        headers = auth(login["access_token"], **{"X-File-Name": "report.pdf"})
        data = b"%PDF-1.7\n" + os.urandom(200_000)
        filler = fill(small_disk)
        status, refused, _ = call(server, "POST", "/api/v1/files", data, headers)
        assert status == 507 and refused["error"]["code"] == "storage_full", refused
        assert list((files / "tmp").iterdir()) == []
        assert [p for p in files.rglob("*") if p.is_file()] == []
        filler.unlink()
        status, stored, _ = call(server, "POST", "/api/v1/files", data, headers)
        assert status == 201 and stored["size"] == len(data), stored
        assert "Traceback" not in server.log()
