"""`hearth backup` while people chat, and `hearth restore` (issue 12).

A served Hearth takes sends from four people (REST, several in flight, every fifth with an
uploaded file attached) while `hearth backup` runs as its own process. The archive is restored
onto a fresh data folder and a server started on it: every message acknowledged before the
backup began is there, the restored messages are exactly the acknowledged ones up to the newest
restored (no hole: a consistent snapshot), and every file in the restored database is served
with its original bytes. Then the refusals: a corrupt, truncated or newer archive, a folder a
server runs on, and a folder that already holds a Hearth without --replace.

Bounded: the load stops when the backup process exits (or after LOAD_SECONDS); loopback only.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance import backup
from tests.support import sqlite
from tests.support.people import ServedPeople, ServedPerson, new_client_id
from tests.support.server import HearthServer, free_port, insecure_context, roomy_config
from tests.support.waiting import eventually
from tests.support.wire import Rest

LOAD_SECONDS = 60.0
SENDERS = 3
IN_FLIGHT = 2  # sends in flight per sender


def hearth(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def upload(server: HearthServer, token: str, data: bytes, name: str) -> dict[str, Any]:
    conn = http.client.HTTPSConnection(
        "127.0.0.1", server.port, context=insecure_context(), timeout=30
    )
    try:
        conn.request(
            "POST",
            "/api/v1/files",
            body=data,
            headers={"Authorization": f"Bearer {token}", "X-File-Name": name},
        )
        response = conn.getresponse()
        body = json.loads(response.read())
        assert response.status == 201, body
        return body  # type: ignore[no-any-return]
    finally:
        conn.close()


def download(server: HearthServer, token: str, file_id: int) -> bytes:
    conn = http.client.HTTPSConnection(
        "127.0.0.1", server.port, context=insecure_context(), timeout=30
    )
    try:
        conn.request(
            "GET", f"/api/v1/files/{file_id}", headers={"Authorization": f"Bearer {token}"}
        )
        response = conn.getresponse()
        data = response.read()
        assert response.status == 200, (file_id, response.status, data[:200])
        return data
    finally:
        conn.close()


class Load:
    """People sending into one group until told to stop; what was acknowledged, in order."""

    def __init__(self, server: HearthServer, people: list[ServedPerson], chat_id: int) -> None:
        self.server = server
        self.people = people
        self.chat_id = chat_id
        self.acked: dict[int, str] = {}  # message id -> client_id
        self.files: dict[int, tuple[int, bytes]] = {}  # message id -> (file id, bytes)
        self.stop = asyncio.Event()
        self.failures: list[str] = []

    async def sender(self, person: ServedPerson, lane: int) -> None:
        count = 0
        while not self.stop.is_set():
            count += 1
            extra: dict[str, Any] = {}
            data = b""
            if count % 5 == 0:
                data = os.urandom(20_000) + f"{person.id}/{lane}/{count}".encode()
                file = await asyncio.to_thread(
                    upload, self.server, person.token, data, f"f{count}.bin"
                )
                extra["attachments"] = [file["id"]]
            client_id = new_client_id()
            reply = await person.rest.call(
                "POST",
                f"/chats/{self.chat_id}/messages",
                {"client_id": client_id, "body": f"m {client_id}", **extra},
                token=person.token,
            )
            if reply.status != 201:
                self.failures.append(f"{reply.status} {reply.body}")
                return
            self.acked[reply.body["id"]] = client_id
            if data:
                self.files[reply.body["id"]] = (extra["attachments"][0], data)

    def tasks(self) -> list[asyncio.Task[None]]:
        return [
            asyncio.create_task(self.sender(person, lane))
            for person in self.people
            for lane in range(IN_FLIGHT)
        ]


@pytest.fixture
async def served(tmp_path):
    (tmp_path / "live").mkdir()
    config = roomy_config(
        tmp_path / "live", limits={"uploads_per_user": {"count": 100_000, "per_seconds": 1}}
    )
    server = HearthServer(config).start()
    people = ServedPeople(server)
    try:
        yield server, people, config
    finally:
        await people.close()
        server.stop()


async def test_a_backup_during_sends_restores_every_acknowledged_message_and_file(served, tmp_path):
    server, people, config = served
    everyone = await people(*[f"s{n}" for n in range(SENDERS)])
    chat = await everyone[0].group("busy", *everyone[1:])
    load = Load(server, everyone, chat["id"])
    senders = load.tasks()
    # Some acknowledged sends (and files) before the backup starts.
    await eventually(
        lambda: (len(load.acked) >= 40 and len(load.files) >= 4) or load.failures,
        timeout=30,
        what="40 acknowledged sends, 4 of them with a file",
    )
    acked_before = dict(load.acked)
    archive = tmp_path / "backup.tar"
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "appliance", "backup", "--output", str(archive),
        "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), LOAD_SECONDS)
    load.stop.set()
    await asyncio.gather(*senders)
    assert not load.failures, load.failures
    assert process.returncode == 0, err.decode()
    assert "wrote" in out.decode()
    acked_during = len(load.acked) - len(acked_before)
    print(f"backup took {time.monotonic() - started:.1f}s")

    # Restore onto a fresh data folder with a server of its own.
    restored_config = tmp_path / "restored" / "hearth.yaml"
    restored_config.parent.mkdir()
    raw = yaml.safe_load(config.read_text())
    raw["data_dir"] = str(tmp_path / "restored" / "data")
    raw["server"].update(port=free_port(), http_port=free_port())
    restored_config.write_text(yaml.safe_dump(raw))
    result = hearth("restore", str(archive), config=restored_config)
    assert result.returncode == 0, result.stderr
    assert "restored" in result.stdout

    database = tmp_path / "restored" / "data" / "hearth.db"
    with sqlite.connect(database) as conn:
        stored = dict(conn.execute("SELECT id, client_id FROM messages WHERE chat_id = ?", (chat["id"],)).fetchall())  # fmt: skip
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    missing = {i: c for i, c in acked_before.items() if stored.get(i) != c}
    assert not missing, f"acknowledged before the backup, not restored: {sorted(missing)[:10]}"
    newest = max(stored)
    holes = [i for i in load.acked if i <= newest and i not in stored]
    assert not holes, f"a restored database with holes (not one snapshot): {holes[:10]}"

    with sqlite.connect(database) as conn:
        restored_files = {row[0] for row in conn.execute("SELECT id FROM files")}
    expected_files = {m: f for m, f in load.files.items() if m in stored}
    assert any(m in acked_before for m in expected_files), "no file sent before the backup"
    assert {f for f, _ in expected_files.values()} <= restored_files

    server.stop()  # the restored server has the same secret key, so the same tokens work
    with HearthServer(restored_config) as again:
        person = everyone[0]  # in the group, so may read every file sent there
        for file_id, data in expected_files.values():
            assert download(again, person.token, file_id) == data
        history = await Rest(again).call(
            "GET", f"/chats/{chat['id']}/messages?limit=100", token=person.token
        )
        assert history.status == 200, history.body
        assert {m["id"] for m in history.body["messages"]} <= set(stored)
    print(f"acked before {len(acked_before)}, during {acked_during}, restored {len(stored)}")


# --- refusals -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_backup(tmp_path_factory):
    """A served Hearth with a little data, its backup archive, and a config for a fresh folder
    (one server for the module: the refusals change nothing of it)."""
    folder = tmp_path_factory.mktemp("one-backup")
    (folder / "live").mkdir()
    config = roomy_config(folder / "live")

    async def chat(people: ServedPeople) -> None:
        ada, bob = await people("ada", "bob")
        direct = await ada.direct(bob)
        await ada.send(direct["id"], "kept")

    with HearthServer(config) as server:
        asyncio.run(chat(ServedPeople(server)))
        archive = folder / "one.tar"
        result = hearth("backup", "--output", str(archive), config=config)
        assert result.returncode == 0, result.stderr
        yield server, config, archive, folder


async def people_of(server: HearthServer) -> None:
    """Someone with a message, so the backups hold something."""
    ada, bob = await ServedPeople(server)("ada", "bob")
    await ada.send((await ada.direct(bob))["id"], "in every backup")


def fresh_config(folder: Path, name: str) -> Path:
    path = folder / name / "hearth.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump({"data_dir": str(folder / name / "data")}))
    return path


def rewrite(archive: Path, target: Path, change) -> None:
    """Copy `archive` to `target`, passing each member's (name, bytes) through `change`."""
    with tarfile.open(archive) as source, tarfile.open(target, "w") as out:
        for info in source:
            handle = source.extractfile(info)
            data = handle.read() if handle else b""
            data = change(info.name, data)
            if data is None:
                continue
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))


def newer_schema(name: str, data: bytes) -> bytes:
    """The header and manifest of a backup made by a Hearth with a newer schema, consistent."""
    if name not in (backup.HEADER, backup.MANIFEST):
        return data
    found = json.loads(data)
    found["schema_version"] = 999
    if name == backup.MANIFEST:
        header = {k: v for k, v in found.items() if k != "members"}
        encoded = backup._json(header)
        found["members"][backup.HEADER] = {
            "size": len(encoded), "sha256": hashlib.sha256(encoded).hexdigest()
        }  # fmt: skip
    return backup._json(found)


def corrupt_database(name: str, data: bytes) -> bytes:
    if name != backup.DATABASE:
        return data
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0xFF
    return bytes(flipped)


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        ("truncated", "truncated"),
        ("corrupt", "does not match its checksum"),
        ("newer", "schema version 999"),
        ("no manifest", "manifest is missing"),
        ("not a backup", "not a Hearth backup"),
    ],
)
def test_a_damaged_or_newer_archive_is_refused_and_nothing_changes(
    one_backup, tmp_path, damage, said
):
    _, _, archive, _ = one_backup
    fresh = fresh_config(tmp_path, "fresh")
    bad = tmp_path / "bad.tar"
    if damage == "truncated":
        bad.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])
    elif damage == "corrupt":
        rewrite(archive, bad, corrupt_database)
    elif damage == "newer":
        rewrite(archive, bad, newer_schema)
    elif damage == "no manifest":
        rewrite(archive, bad, lambda name, data: None if name == backup.MANIFEST else data)
    else:
        bad.write_bytes(b"just some bytes, not an archive at all" * 100)
    result = hearth("restore", str(bad), config=fresh)
    assert result.returncode == 1
    assert said in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    data_dir = fresh.parent / "data"
    assert not (data_dir / "hearth.db").exists()
    assert not list(data_dir.glob(".restore-*")) if data_dir.exists() else True


def test_restore_refuses_the_folder_of_a_running_server(one_backup):
    server, config, archive, _ = one_backup
    result = hearth("restore", str(archive), "--replace", config=config)
    assert result.returncode == 1
    assert "a Hearth server is running" in result.stderr
    assert server.process is not None and server.process.poll() is None


def test_restore_into_a_used_folder_needs_replace_and_moves_the_old_data_aside(
    one_backup, tmp_path
):
    _, _, archive, _ = one_backup
    config = fresh_config(tmp_path, "used")
    data_dir = config.parent / "data"
    assert hearth("restore", str(archive), config=config).returncode == 0
    before = (data_dir / "hearth.db").read_bytes()
    refused = hearth("restore", str(archive), config=config)
    assert refused.returncode == 1
    assert "--replace" in refused.stderr
    done = hearth("restore", str(archive), "--replace", config=config)
    assert done.returncode == 0, done.stderr
    aside = list(data_dir.glob("replaced-*"))
    assert len(aside) == 1
    assert (aside[0] / "hearth.db").read_bytes() == before
    with sqlite.connect(data_dir / "hearth.db") as conn:
        assert conn.execute("SELECT count(*) FROM messages WHERE body = 'kept'").fetchone()[0] == 1


def test_backup_of_a_folder_without_a_database_says_so(tmp_path):
    config = tmp_path / "hearth.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "empty")}))
    result = hearth("backup", "--output", str(tmp_path / "x.tar"), config=config)
    assert result.returncode == 1
    assert "nothing to back up" in result.stderr
    assert not (tmp_path / "x.tar").exists()


async def test_scheduled_backups_run_and_keep_only_the_newest(tmp_path):
    (tmp_path / "live").mkdir()
    folder = tmp_path / "backups"
    every = 2.0  # seconds between backups here; hours in real use
    config = roomy_config(
        tmp_path / "live", backup={"every_hours": every / 3600, "folder": str(folder), "keep": 2}
    )
    seen: set[str] = set()
    before: set[str] = set()
    most = 0

    def look() -> bool:
        nonlocal most
        names = {p.name for p in folder.glob("hearth-backup-*.tar")}
        seen.update(names)
        most = max(most, len(names))
        # Two made after the message: the second of them began after it was stored. And one
        # pruned: the log says so once the oldest is gone.
        pruned = "removed 1 older backup(s)" in server.log()
        return len(seen) >= 3 and len(seen - before) >= 2 and pruned

    server = HearthServer(config).start(timeout=60)
    try:
        await people_of(server)
        before.update(p.name for p in folder.glob("hearth-backup-*.tar"))
        await eventually(look, timeout=60, interval=0.2, what="three backups, one pruned")
        assert "backed up to" in server.log()
    finally:
        server.stop()
    # A new backup is complete on disk before the oldest goes, so a failed one never leaves
    # fewer than `keep`: for that moment there is one more.
    assert most <= 3, f"{most} backups at once, keep is 2"
    left = sorted(p.name for p in folder.glob("hearth-backup-*.tar"))
    seen.update(left)
    assert left == sorted(seen)[-len(left) :], "the ones kept are the newest"
    newest = sorted(folder.glob("hearth-backup-*.tar"))[-1]
    fresh = fresh_config(tmp_path, "check")
    assert hearth("restore", str(newest), config=fresh).returncode == 0
    with sqlite.connect(fresh.parent / "data" / "hearth.db") as conn:
        assert conn.execute("SELECT body FROM messages").fetchall() == [("in every backup",)]
    assert backup.last_backup(tmp_path / "live" / "data") is not None
