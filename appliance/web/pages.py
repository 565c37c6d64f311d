"""The web app's files, its client-side routes, the API docs page and /health."""

from __future__ import annotations

import errno
import json
from pathlib import Path

from quart import Blueprint, Response, current_app, request, send_from_directory
from quart_schema import hide
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from appliance.api.current import hearth

# Paths the browser app routes itself; the server answers them all with index.html.
APP_ROUTES = (
    "/",
    "/login",
    "/signup",
    "/setup",
    "/reset",
    "/forgot",
    "/settings",
    "/contacts",
    "/starred",
    "/activity",
)
# Paths with one variable segment that also open the app: a conversation, a chat invite link.
APP_ROUTE_PATTERNS = ("/chats/<int:chat_id>", "/join/<code>")
# The last resort: any other GET path is a file of the web app, or 404.
FILE_FALLBACK = "pages.asset"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def route_methods() -> list[str]:
    """The methods with which this request's path reaches a route other than the file
    fallback: none for a path that is no route at all (a 404 whatever the method)."""
    adapter = current_app.create_url_adapter(request)
    found = []
    for method in METHODS:
        try:
            rule, _ = adapter.match(method=method, return_rule=True)  # type: ignore[union-attr]
        except HTTPException:  # no match, another method only, a redirect
            continue
        if rule.endpoint != FILE_FALLBACK:
            found.append(method)
    return found


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
        try:
            response = await send_from_directory(directory, path)
        except OSError as error:
            if error.errno != errno.ENAMETOOLONG:
                raise
            raise NotFound() from None
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
        """Always cheap: a constant answer. `?full=1` also checks that the database answers
        and the disk has room (503 when not), for a monitor that asks on purpose."""
        if request.args.get("full") not in ("1", "true"):
            return Response('{"status":"ok"}', content_type="application/json")
        check = await hearth().health.check()
        body = {"status": "ok" if check.ok else "failing", "database": check.database,
                "disk": check.disk}  # fmt: skip
        return Response(json.dumps(body), status=200 if check.ok else 503,
                        content_type="application/json")  # fmt: skip

    @blueprint.get("/<path:path>", provide_automatic_options=False)
    @hide
    async def asset(path: str) -> Response:
        if path.startswith("api/"):
            # A GET that reached the fallback: an API route with other methods, or none.
            if allowed := route_methods():
                raise MethodNotAllowed(valid_methods=allowed)
            raise NotFound()
        return await _file(path)

    return blueprint
