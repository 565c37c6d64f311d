"""A backup of a Hearth whose files live outside its data folder (`files.folder`) holds them,
and a restore puts them back there: in a folder of its own, moved aside with --replace."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from appliance import backup

BLOB = b"a picture's bytes"
SHA = hashlib.sha256(BLOB).hexdigest()


def appliance(root: Path) -> tuple[Path, Path]:
    """A data folder with a database and a signing key, and its files folder elsewhere."""
    data, files = root / "data", root / "disk" / "files"
    data.mkdir(parents=True)
    conn = sqlite3.connect(data / "hearth.db")
    conn.execute("CREATE TABLE notes (body text)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    (data / "secret.key").write_bytes(b"k" * 32)
    (files / SHA[:2]).mkdir(parents=True)
    (files / SHA[:2] / SHA[2:]).write_bytes(BLOB)
    (files / SHA[:2] / f"{SHA[2:]}.thumb").write_bytes(b"its thumbnail")
    (files / "tmp").mkdir()
    (files / "tmp" / "upload.part").write_bytes(b"half an upload")
    return data, files


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    data, files = appliance(tmp_path / "before")
    summary = backup.create(data, tmp_path / "backup.tar", files_dir=files)
    assert summary.files == 2  # the bytes and their thumbnail; never a temp file
    return summary.path


def test_files_come_back_into_files_folder(archive: Path, tmp_path: Path):
    data, files = tmp_path / "after" / "data", tmp_path / "after" / "disk" / "files"
    summary = backup.restore(archive, data, files_dir=files)
    assert summary.files == 2
    assert (files / SHA[:2] / SHA[2:]).read_bytes() == BLOB
    assert (files / SHA[:2] / f"{SHA[2:]}.thumb").is_file()
    assert (data / "hearth.db").is_file() and (data / "secret.key").is_file()
    assert not (data / "files").exists()
    assert not [p for p in files.parent.iterdir() if p.name.startswith(".restore-")]


def test_the_default_layout_restores_an_archive_of_a_files_folder(archive: Path, tmp_path: Path):
    data = tmp_path / "after" / "data"
    backup.restore(archive, data)
    assert (data / "files" / SHA[:2] / SHA[2:]).read_bytes() == BLOB


def test_a_files_folder_holding_files_needs_replace_and_is_moved_aside(
    archive: Path, tmp_path: Path
):
    data, files = tmp_path / "after" / "data", tmp_path / "after" / "disk" / "files"
    (files / "ab").mkdir(parents=True)
    (files / "ab" / ("c" * 62)).write_bytes(b"someone else's")
    with pytest.raises(backup.BackupError, match="already holds files"):
        backup.restore(archive, data, files_dir=files)
    assert not (data / "hearth.db").exists()  # nothing changed
    backup.restore(archive, data, files_dir=files, replace=True)
    assert (files / SHA[:2] / SHA[2:]).read_bytes() == BLOB
    (aside,) = files.parent.glob("files.replaced-*")
    assert (aside / "ab" / ("c" * 62)).read_bytes() == b"someone else's"
