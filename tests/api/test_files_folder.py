"""Where files live (`files.folder`, issue 10): uploads and their thumbnails made once, by the
process that stores them, in a folder several processes may share; and the temp files a crash
left removed without touching another process's uploads on their way in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.services.files import TEMP_KEEP_MS
from tests.api.test_files import jpeg, uploaded
from tests.support.app import make_settings

pytestmark = pytest.mark.manual_clock
UPLOADS = {"uploads_per_user": {"count": 1000, "per_seconds": 1}}


@pytest.fixture
def settings(tmp_path):
    return make_settings(
        tmp_path / "data", files={"folder": str(tmp_path / "shared" / "files")}, limits=UPLOADS
    )


def stored(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "tmp" not in p.relative_to(folder).parts
    )


def aged(path: Path, clock, ms: int) -> Path:
    """`path` as last written `ms` before the clock's now."""
    when = (clock.now_ms() - ms) / 1000
    os.utime(path, (when, when))
    return path


async def test_uploads_and_their_thumbnails_are_kept_in_files_folder(people, settings):
    (ada,) = await people("ada")
    file = await uploaded(ada, jpeg(64, 48), "photo.jpg")
    assert file["thumb_url"]
    blob, thumb = stored(settings.files.folder)  # made once, by the process storing it
    assert thumb == f"{blob}.thumb"
    assert not (settings.data_dir / "files").exists()
    assert (await ada.get(f"/files/{file['id']}/thumb")).status_code == 200


async def test_beside_other_processes_only_old_temp_files_are_removed(hearth, clock):
    files = hearth.files
    files.shared = True  # bus.url: redis://, as every process on this files folder has
    theirs = files.blobs.begin()  # another process's upload, on its way in
    theirs.write(b"the first half")
    finished = files.blobs.temp_path(".webp")
    finished.write_bytes(b"a thumbnail about to be kept")
    aged(finished, clock, TEMP_KEEP_MS - 60_000)
    crashed = files.blobs.temp_path(".part")
    crashed.write_bytes(b"left by a crash")
    aged(crashed, clock, TEMP_KEEP_MS + 60_000)
    await files.prepare()
    assert theirs.path.exists() and finished.exists()
    assert not crashed.exists()
    theirs.write(b" and the rest")  # goes on as if nothing happened
    assert len(theirs.finish()) == 64
    theirs.discard()


async def test_the_hourly_sweep_removes_temp_files_once_they_are_old(hearth, clock):
    files = hearth.files
    files.shared = True
    crashed = files.blobs.temp_path(".part")
    crashed.write_bytes(b"left by a crash")
    await files.sweep()
    assert crashed.exists()  # fresh: perhaps an upload still coming in
    await clock.advance(TEMP_KEEP_MS / 1000 + 1)
    aged(crashed, clock, TEMP_KEEP_MS + 1000)
    await files.sweep()
    assert not crashed.exists()


async def test_alone_on_its_folder_a_hearth_removes_every_temp_file_at_start(hearth):
    files = hearth.files
    assert files.shared is False  # bus.url: memory://, one process
    crashed = files.blobs.temp_path(".part")
    crashed.write_bytes(b"left by a crash a moment ago")
    await files.prepare()
    assert not crashed.exists()
