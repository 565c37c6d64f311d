"""Serving: Hypercorn with TLS for the app, plus a plain-HTTP port that only redirects."""

from __future__ import annotations

import asyncio
import logging
import ssl
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, cast

from hypercorn.asyncio import serve as hypercorn_serve
from quart import Quart

from appliance.api.current import EXTENSION_KEY
from appliance.config import Settings
from appliance.context import Hearth
from appliance.net import heap, renewal, systemd, transports
from appliance.net.tls import Certificate
from appliance.realtime.compression import decline_compression
from appliance.realtime.endpoint import CUT_OFF_KEY

log = logging.getLogger(__name__)

MAX_WEBSOCKET_MESSAGE = 1024 * 1024
# Of server.shutdown_timeout_seconds, what open connections get to finish; then they are cut
# off and the stop steps have the rest.
CONNECTION_GRACE = 0.75

ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]


class _ReadyConfig(renewal.LiveConfig):
    """The app's serving config: once its sockets exist they listen at once (connections wait
    in the backlog for the few ms until accepting starts), and systemd is told we are ready."""

    on_listening: Callable[[], object] | None = None

    def create_sockets(self) -> Any:
        sockets = super().create_sockets()
        for sock in (*sockets.secure_sockets, *sockets.insecure_sockets):
            sock.listen(self.backlog)
        if self.on_listening is not None:
            self.on_listening()
        return sockets


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def redirect_app(
    https_port: int,
) -> Callable[[dict[str, Any], ASGIReceive, ASGISend], Awaitable[None]]:
    """An ASGI app that sends every plain-HTTP request to the same path over HTTPS."""
    suffix = "" if https_port == 443 else f":{https_port}"

    async def app(scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"localhost").decode("latin-1")
        host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        location = f"https://{host}{suffix}{path.decode('latin-1')}"
        if query:
            location += "?" + query.decode("latin-1")
        await send(
            {
                "type": "http.response.start",
                "status": 308,
                "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    return app


def banner(certificate: Certificate, urls: list[str], setup_token: str | None) -> str:
    lines = ["", "Hearth is running. Open it at:"]
    lines += [f"  {url}" for url in urls]
    if certificate.ca_fingerprint_sha256:
        lines.append(f"Trust this Hearth once on each device: {urls[0]}/trust")
        lines.append(
            "  its certificate authority's SHA-256 fingerprint (compare it there):\n"
            f"  {certificate.ca_fingerprint_sha256}"
        )
    else:
        lines.append(f"TLS certificate SHA-256 fingerprint:\n  {certificate.fingerprint_sha256}")
    if setup_token:
        lines.append(
            "No account exists yet. Create the admin account with this one-time link, at "
            "whichever address works from your device:"
        )
        lines += [f"  {url}/setup?token={setup_token}" for url in urls]
    return "\n".join(lines) + "\n"


def _quiet_tls_teardown(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A client that drops its TLS connection untidily is not a server error: one line, no
    traceback. Nor is a connection still busy when a stop's time ran out (Python 3.11's
    asyncio reports that cancel as an error). Everything else goes to asyncio's default
    handler."""
    error = context.get("exception")
    message = str(context.get("message", ""))
    if isinstance(error, ssl.SSLError | ConnectionError) and "client_connected_cb" in message:
        log.info("a client's connection ended uncleanly: %s", error)
        return
    if isinstance(error, asyncio.CancelledError) and "connection_made" in message:
        log.info("a connection was still busy when the stop's time ran out")
        return
    loop.default_exception_handler(context)


async def serve(
    config: Settings, certificate: Certificate, stop: asyncio.Event, urls: list[str]
) -> None:
    from appliance.app import create_app

    app = create_app(config)
    hearth: Hearth = app.extensions[EXTENSION_KEY]
    # Every start-up step runs before listening, so one that fails (a database newer than this
    # code, an unreadable one) stops `hearth serve` with its own message, not a lifespan
    # failure. before_serving then finds the Hearth started; after_serving stops it.
    await hearth.start()
    try:
        await _serve(app, hearth, config, certificate, stop, urls)
    finally:
        await hearth.stop()  # if after_serving did not run (a port in use)
    log.info("Hearth stopped")


async def _serve(
    app: Quart,
    hearth: Hearth,
    config: Settings,
    certificate: Certificate,
    stop: asyncio.Event,
    urls: list[str],
) -> None:
    token = await hearth.accounts.setup_token()
    print(banner(certificate, urls, token), file=sys.stderr, flush=True)

    server = config.server
    memory = heap.Trimmer()
    connections = transports.Transports(
        server.write_timeout_seconds, server.shutdown_timeout_seconds, on_closed=memory.soon
    )
    app.extensions[CUT_OFF_KEY] = connections.abort
    transports.install()
    transports.shrink_tls_read_buffer()
    heap.fix_mmap_threshold()
    heap.freeze_startup_objects()

    main = _ReadyConfig()
    main.on_listening = partial(systemd.sd_notify, "READY=1", "STATUS=serving")
    connections.configure(main)
    main.bind = [_bind(config.server.host, config.server.port)]
    live = renewal.live_certificate(config, certificate, main, hearth.clock)
    main.graceful_timeout = config.server.shutdown_timeout_seconds
    main.accesslog = None
    main.errorlog = logging.getLogger("hypercorn.error")
    main.include_server_header = False
    # WebSocket frames are small JSON: one over 64 KiB is answered `payload_too_large` and the
    # socket stays up; only one over this (1 MiB) closes it with 1009. (No protocol pings:
    # Hypercorn's ping task sleeps through shutdown; clients ping every 25 s and a silent
    # socket is closed after 60 s.)
    main.websocket_max_message_size = MAX_WEBSOCKET_MESSAGE
    decline_compression()

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_tls_teardown)
    grace = CONNECTION_GRACE * server.shutdown_timeout_seconds
    deadline: list[asyncio.TimerHandle] = []

    def cut_off_the_rest() -> None:
        count = connections.abort_all()
        if count:
            log.info("cut off %d connection(s) still open %.1f s into the stop", count, grace)

    async def shutdown_trigger() -> None:
        await stop.wait()
        stopping.set()
        systemd.sd_notify("STOPPING=1", "STATUS=stopping")
        # Sockets close first: open WebSockets would hold Hypercorn's graceful stop for its
        # whole timeout. A client that does not take its close (or anything else) in time is
        # cut off, so the stop ends in time whatever clients do.
        hearth.hub.close_connections()
        deadline.append(loop.call_later(grace, cut_off_the_rest))

    servers = [hypercorn_serve(app, main, shutdown_trigger=shutdown_trigger)]
    if config.server.http_port:
        plain = transports.ServingConfig()
        connections.configure(plain)
        plain.bind = [_bind(config.server.host, config.server.http_port)]
        plain.accesslog = None
        plain.errorlog = logging.getLogger("hypercorn.error")
        plain.include_server_header = False
        plain.graceful_timeout = 1
        redirect = cast(Any, redirect_app(config.server.port))  # a plain ASGI callable
        servers.append(hypercorn_serve(redirect, plain, shutdown_trigger=stop.wait))
    tasks = [asyncio.create_task(server) for server in servers]
    await live.start()
    interval = systemd.watchdog_interval()
    watchdog = asyncio.create_task(systemd.keep_alive(interval)) if interval else None
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        await live.stop()
        # One server failing (a port in use) stops the other too, and both finish cleanly.
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for handle in deadline:
            handle.cancel()
        if watchdog is not None:
            watchdog.cancel()
        memory.cancel()
    for result in results:
        if isinstance(result, ssl.SSLError) and stopping.is_set():
            # A client's TLS connection ended untidily while we stopped (Hypercorn lets that
            # error out of its shutdown); the server itself stopped fine.
            log.info("a TLS connection closed uncleanly during shutdown: %s", result)
        elif isinstance(result, BaseException):
            raise result
