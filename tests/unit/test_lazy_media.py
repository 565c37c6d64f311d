"""aiortc and PyAV (tens of MB) load with the first call that sends media, not at start: an
appliance where nobody calls keeps its idle memory (issue 11). A fresh interpreter builds the
whole app, /metrics on, and says what it imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from appliance.app import create_app
from tests.support.app import make_settings
create_app(make_settings(__import__("pathlib").Path(sys.argv[1]), metrics={"enabled": True}))
print(json.dumps(sorted(m for m in ("aiortc", "aioice", "av", "pylibsrtp") if m in sys.modules)))
"""


def test_the_app_starts_without_the_media_stack(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "data")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == []
