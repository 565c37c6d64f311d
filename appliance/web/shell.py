"""The installable app's service worker, /sw.js: webui/sw.js with this release's name and the
list of shell files prepended.

With no build step there are no hashed file names, so the release is a hash of every file
of the web app: any change to the shell makes /sw.js differ by a byte, browsers install the
new worker, and it replaces the old cache (webui/sw.js). The hash is taken once, when the
app is made; a release changes files only with a restart.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from quart import Blueprint, Response
from quart_schema import hide

from appliance import __version__
from appliance.web.pages import webui_dir

WORKER = "sw.js"
# Not part of the shell: the worker itself, the API docs page (it needs /openapi.json), the
# drawing script's sources.
_LEFT_OUT = frozenset({WORKER, "docs.html", "js/docs.js", "css/docs.css"})
_SHELL_SUFFIXES = frozenset({".html", ".js", ".css", ".json", ".svg", ".png"})


@dataclass(frozen=True, slots=True)
class Shell:
    release: str
    files: tuple[str, ...]  # URL paths, "/" first


def shell_of(directory: Path) -> Shell:
    digest = hashlib.sha256(__version__.encode())
    files: list[str] = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        name = path.relative_to(directory).as_posix()
        if name in _LEFT_OUT or path.suffix not in _SHELL_SUFFIXES:
            continue
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        files.append(f"/{name}")
    release = f"{__version__}-{digest.hexdigest()[:12]}"
    return Shell(release, ("/", *files))


def create_blueprint(root: Path | None = None) -> Blueprint:
    directory = root or webui_dir()
    shell = shell_of(directory)
    worker = (
        f"const RELEASE = {json.dumps(shell.release)};\n"
        f"const SHELL = {json.dumps(list(shell.files))};\n"
        + (directory / WORKER).read_text(encoding="utf-8")
    ).encode()
    blueprint = Blueprint("shell", __name__)

    @blueprint.get(f"/{WORKER}")
    @hide
    async def service_worker() -> Response:
        response = Response(worker, content_type="text/javascript; charset=utf-8")
        # Browsers check for a new worker on every navigation; no-cache keeps that honest.
        response.headers["Cache-Control"] = "no-cache"
        return response

    return blueprint
