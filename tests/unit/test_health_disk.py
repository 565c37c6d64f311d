"""`/health?full=1`'s disk check looks at the data folder and at `files.folder` when it is
elsewhere (another disk, a share): either one full is a failing check that says which."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from appliance.services import health
from appliance.services.health import Health
from appliance.store.db import Database


async def check_with_free(tmp_path: Path, monkeypatch: Any, full: Path | None) -> health.Check:
    data, files = tmp_path / "data", tmp_path / "shared-files"
    data.mkdir()
    files.mkdir()
    real = shutil.disk_usage

    def usage(path: Any) -> Any:
        found = real(path)
        return (
            found._replace(free=5 * 1000**2) if full is not None and Path(path) == full else found
        )

    monkeypatch.setattr(health.shutil, "disk_usage", usage)
    db = Database(data / "hearth.db")
    await db.open()
    try:
        return await Health(db, data, files).check()
    finally:
        await db.close()


async def test_a_full_files_folder_fails_the_check(tmp_path, monkeypatch):
    check = await check_with_free(tmp_path, monkeypatch, tmp_path / "shared-files")
    assert not check.ok and check.disk == "only 5 MB free for files"


async def test_a_full_data_folder_fails_the_check(tmp_path, monkeypatch):
    check = await check_with_free(tmp_path, monkeypatch, tmp_path / "data")
    assert not check.ok and check.disk == "only 5 MB free"


async def test_room_in_both_passes(tmp_path, monkeypatch):
    check = await check_with_free(tmp_path, monkeypatch, None)
    assert check.ok and check.disk == "ok"
