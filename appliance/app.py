"""create_app(config): the Quart app with its Hearth, which serving starts and stops."""

from __future__ import annotations

import logging
import re
import secrets
import time

from quart import Quart, Response, g, request
from quart_schema import QuartSchema

from appliance import __version__
from appliance.api.current import EXTENSION_KEY
from appliance.clock import Clock
from appliance.config import Settings
from appliance.context import build as build_context
from appliance.realtime import endpoint as realtime
from appliance.realtime.ops import build_registry
from appliance.web import (
    api_admin,
    api_auth,
    api_calls,
    api_chats,
    api_files,
    api_messages,
    api_threads,
    api_users,
    contract,
    errors,
    pages,
    security,
    shell,
    trust,
)
from appliance.web.requests import HearthRequest

access_log = logging.getLogger("appliance.access")
UNLOGGED_PATHS = frozenset({"/health"})


_PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def loggable_path() -> str:
    """The path as logged: ids stay (they help find a request), every other path parameter
    (invite codes, session ids, file names) shows as its name, never its value."""
    rule, values = request.url_rule, request.view_args or {}
    if rule is None:
        return request.path

    def fill(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        if converter == "int" and name in values:
            return str(values[name])
        return f"<{name}>"

    return _PARAMETER.sub(fill, rule.rule)


def _install_request_log(app: Quart, enabled: bool) -> None:
    @app.before_request
    async def _start() -> None:
        g.request_id = secrets.token_hex(6)
        g.started = time.perf_counter()

    @app.after_request
    async def _log(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        metrics = app.extensions[EXTENSION_KEY].metrics
        if metrics is not None:
            rule = request.url_rule
            metrics.observe_request(
                rule.rule if rule is not None else "(no route)",
                request.method,
                time.perf_counter() - g.get("started", time.perf_counter()),
            )
        if enabled and request.path not in UNLOGGED_PATHS:
            elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
            # The query string is left out on purpose: setup and reset tokens travel in it.
            path = loggable_path()
            access_log.info(
                "%s %s %d %.1fms [%s]",
                request.method,
                path,
                response.status_code,
                elapsed,
                g.get("request_id"),
                extra={
                    "request_id": g.get("request_id"),
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": round(elapsed, 1),
                    "client": request.remote_addr,
                },
            )
        return response


def create_app(config: Settings, *, clock: Clock | None = None) -> Quart:
    """The app and its Hearth. Serving starts the Hearth's steps in order and stops them in
    reverse (`hearth serve` starts them before it listens; then before_serving finds them
    started)."""
    app = Quart("appliance", static_folder=None)
    limits = config.limits
    app.request_class = HearthRequest.for_uploads(
        api_files.UPLOAD_PATH,
        max(limits.max_image_bytes, limits.max_file_bytes),
        limits.max_image_bytes,
    )
    app.config["MAX_CONTENT_LENGTH"] = config.limits.max_body_bytes
    app.config["JSON_SORT_KEYS"] = False
    context = build_context(config, clock=clock)
    app.extensions[EXTENSION_KEY] = context

    QuartSchema(
        app,
        openapi_path="/openapi.json",
        # The stock doc UIs load scripts from CDNs; /docs is our own page instead.
        redoc_ui_path=None,
        scalar_ui_path=None,
        swagger_ui_path=None,
        info={"title": "Hearth API", "version": __version__},
        security_schemes={
            "cookie": {"type": "apiKey", "in_": "cookie", "name": "hearth_session"},
            "bearer": {"type": "http", "scheme": "bearer"},
        },
    )
    contract.install(app)
    _install_request_log(app, config.logging.access_log)
    security.install(app)
    errors.install(app)
    for blueprint in (
        api_auth.blueprint,
        api_users.blueprint,
        api_admin.blueprint,
        api_chats.blueprint,
        api_messages.blueprint,
        api_threads.blueprint,
        api_files.blueprint,
        api_calls.blueprint,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(realtime.blueprint)
    app.extensions[realtime.OPS_KEY] = build_registry()
    app.register_blueprint(trust.blueprint)
    app.register_blueprint(shell.create_blueprint())
    app.register_blueprint(pages.create_blueprint())

    @app.before_serving
    async def _startup() -> None:
        await context.start()

    @app.after_serving
    async def _shutdown() -> None:
        await context.stop()

    return app
