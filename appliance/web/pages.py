"""The web app's files, its client-side routes, the API docs page and /health."""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response, send_from_directory
from quart_schema import hide
from werkzeug.exceptions import NotFound

# Paths the browser app routes itself; the server answers them all with index.html.
APP_ROUTES = ("/", "/login", "/signup", "/setup", "/reset", "/settings", "/contacts")
# Paths with one variable segment that also open the app: a conversation, a chat invite link.
APP_ROUTE_PATTERNS = ("/chats/<int:chat_id>", "/join/<code>")


def webui_dir() -> Path:
    """Where the web app's files are: inside the installed package (setup.py maps webui/ to
    appliance/webui), or beside the package in a source checkout and an editable install."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "webui"
    return installed if installed.is_dir() else package.parent / "webui"


def create_blueprint(root: Path | None = None) -> Blueprint:
    directory = root or webui_dir()
    blueprint = Blueprint("pages", __name__)

    async def _file(path: str) -> Response:
        response = await send_from_directory(directory, path)
        # No build step means no hashed file names: revalidate on every load (ETag makes it cheap).
        response.headers["Cache-Control"] = "no-cache"
        return response

    async def app_page(**_: object) -> Response:
        return await _file("index.html")

    for route in APP_ROUTES:
        blueprint.add_url_rule(
            route, f"app_{route.strip('/') or 'root'}", hide(app_page), methods=["GET"]
        )
    for pattern in APP_ROUTE_PATTERNS:
        name = pattern.strip("/").split("/")[0]
        blueprint.add_url_rule(pattern, f"app_{name}", hide(app_page), methods=["GET"])

    @blueprint.get("/docs")
    @hide
    async def docs() -> Response:
        return await _file("docs.html")

    @blueprint.get("/health")
    @hide
    async def health() -> Response:
        return Response('{"status":"ok"}', content_type="application/json")

    @blueprint.get("/<path:path>")
    @hide
    async def asset(path: str) -> Response:
        if path.startswith("api/"):
            raise NotFound()
        return await _file(path)

    return blueprint
