"""What a browser fetches to start the web app, read from the files themselves: the stylesheets
and module scripts webui/index.html names, and every module those import statically. Modules
loaded with `import()` when first used are left out; that is the point of loading them so.

DESIGN §9's budget for it is 200 KB of JS and CSS, uncompressed.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

WEBUI = Path(__file__).resolve().parents[2] / "webui"
BUDGET_BYTES = 200 * 1024

_STYLESHEET = re.compile(r"<link\b[^>]*\brel=\"stylesheet\"[^>]*\bhref=\"([^\"]+)\"")
_MODULE = re.compile(r"<script\b[^>]*\btype=\"module\"[^>]*\bsrc=\"([^\"]+)\"")
# `import x from '...'`, `import '...'`, `export { x } from '...'` (not `import('...')`).
_STATIC_IMPORT = re.compile(
    r"^\s*(?:import|export)\s+(?:[^'\";()]*?\bfrom\s+)?['\"]([^'\"]+)['\"]", re.MULTILINE
)


def start_files(webui: Path = WEBUI) -> dict[str, int]:
    """URL path -> size in bytes of each file the app needs before it can start."""
    html = (webui / "index.html").read_text()
    found: dict[str, int] = {}
    for href in _STYLESHEET.findall(html):
        found[href] = (webui / href.lstrip("/")).stat().st_size
    pending = list(_MODULE.findall(html))
    while pending:
        url = pending.pop()
        if url in found:
            continue
        source = webui / url.lstrip("/")
        found[url] = source.stat().st_size
        for target in _STATIC_IMPORT.findall(source.read_text()):
            pending.append(posixpath.normpath(posixpath.join(posixpath.dirname(url), target)))
    return found
