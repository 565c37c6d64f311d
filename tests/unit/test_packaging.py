"""The wheel carries the web app and the migrations: `pip install .` gives a working Hearth."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_ships_webui_and_migrations_quietly(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        cwd=tmp_path,
        timeout=300,
        capture_output=True,
        text=True,
    )
    # `make run` on a fresh clone shows Hearth's banner, not pages of setuptools warnings
    # (license metadata, data folders missing from `packages`).
    assert "Warning" not in built.stderr, built.stderr
    (wheel,) = tmp_path.glob("hearth-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"appliance/webui/{p.relative_to(ROOT / 'webui').as_posix()}"
        for p in (ROOT / "webui").rglob("*")
        if p.is_file()
    }
    expected |= {
        f"appliance/store/migrations/{p.name}"
        for p in (ROOT / "appliance/store/migrations").glob("*.sql")
    }
    assert expected, "nothing to ship?"
    assert expected <= names, sorted(expected - names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "hearth = appliance.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
