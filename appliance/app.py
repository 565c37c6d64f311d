"""create_app(config): the Quart app with its services, started and stopped in order."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from quart import Quart, Response, g, request
from quart_schema import QuartSchema

from appliance import __version__, datadir
from appliance.api.current import EXTENSION_KEY
from appliance.clock import Clock
from appliance.config import Settings
from appliance.context import Hearth
from appliance.context import build as build_context
from appliance.net.addresses import announced_addresses
from appliance.net.mdns import Announcer
from appliance.realtime import endpoint as realtime
from appliance.realtime.hub import Hub
from appliance.realtime.ops import build_registry
from appliance.web import (
    api_admin,
    api_auth,
    api_calls,
    api_chats,
    api_messages,
    api_users,
    contract,
    errors,
    pages,
    security,
)
from appliance.web.requests import HearthRequest

access_log = logging.getLogger("appliance.access")
UNLOGGED_PATHS = frozenset({"/health"})


def _install_request_log(app: Quart, enabled: bool) -> None:
    @app.before_request
    async def _start() -> None:
        g.request_id = secrets.token_hex(6)
        g.started = time.perf_counter()

    @app.after_request
    async def _log(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if enabled and request.path not in UNLOGGED_PATHS:
            elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
            # The query string is left out on purpose: setup and reset tokens travel in it.
            access_log.info(
                "%s %s %d %.1fms [%s]",
                request.method,
                request.path,
                response.status_code,
                elapsed,
                g.get("request_id"),
                extra={
                    "request_id": g.get("request_id"),
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(elapsed, 1),
                    "client": request.remote_addr,
                },
            )
        return response


def _announcer(config: Settings) -> Announcer | None:
    if not config.mdns.enabled:
        return None
    return Announcer(
        instance_name=config.mdns.instance_name,
        port=config.server.port,
        addresses=announced_addresses(()),
        version=__version__,
        instance_id=datadir.instance_id(config.data_dir),
        host_name=f"{config.mdns.host_name}.local.",
    )


def create_app(
    config: Settings,
    *,
    on_ready: Callable[[Hearth], Awaitable[None]] | None = None,
    clock: Clock | None = None,
) -> Quart:
    app = Quart("appliance", static_folder=None)
    app.request_class = HearthRequest
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
        api_calls.blueprint,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(realtime.blueprint)
    app.extensions[realtime.OPS_KEY] = build_registry()
    app.register_blueprint(pages.create_blueprint())
    hub = Hub(context)
    app.extensions[realtime.HUB_KEY] = hub
    context.calls.connect(hub)

    announcer = _announcer(config)
    background: set[asyncio.Task[None]] = set()

    @app.before_serving
    async def _startup() -> None:
        await context.db.open()
        await context.sessions.prune()
        await context.events.prune()
        await context.audience.load(context.db)
        await context.calls.end_interrupted()
        hub.start()
        if announcer is not None:
            # Probing for the name takes a second; serve meanwhile.
            task = asyncio.create_task(announcer.start(), name="mdns-announce")
            background.add(task)
            task.add_done_callback(background.discard)
        if on_ready is not None:
            await on_ready(context)

    @app.after_serving
    async def _shutdown() -> None:
        for task in list(background):
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if announcer is not None:
            await announcer.close()
        await context.calls.close()  # logs every ongoing call while the database is open
        await hub.close()
        await context.db.close()

    return app
