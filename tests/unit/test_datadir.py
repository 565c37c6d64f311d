"""The signing secret in the data folder: made once, private, and the same for every process
that starts on a shared folder (docs/scale-out.md), however they race."""

from __future__ import annotations

import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from appliance import datadir


def test_processes_starting_at_once_agree_on_one_key(tmp_path):
    """Eight at once (threads: the race is in the file system, and its calls run in
    parallel), twenty times over."""
    for round_ in range(20):
        folder = tmp_path / f"data{round_}"
        folder.mkdir()
        barrier = threading.Barrier(8)

        def key_of(folder: Path = folder, barrier: threading.Barrier = barrier) -> bytes:
            barrier.wait()
            return datadir.secret_key(folder)

        with ThreadPoolExecutor(8) as pool:
            keys = set(pool.map(lambda _: key_of(), range(8)))
        assert keys == {(folder / datadir.SECRET_FILE).read_bytes()}
        assert not list(folder.glob("*.tmp")), "no temporary file left behind"


def test_the_key_is_private_and_kept(tmp_path):
    key = datadir.secret_key(tmp_path)
    assert len(key) == 32
    assert stat.S_IMODE((tmp_path / datadir.SECRET_FILE).stat().st_mode) == 0o600
    assert datadir.secret_key(tmp_path) == key


def test_a_key_cut_short_by_a_crash_is_made_again(tmp_path):
    (tmp_path / datadir.SECRET_FILE).write_bytes(b"short")
    key = datadir.secret_key(tmp_path)
    assert len(key) == 32 and (tmp_path / datadir.SECRET_FILE).read_bytes() == key
