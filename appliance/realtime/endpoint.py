"""`/api/v1/ws`: the handshake (session and Origin), then one reader and one writer per socket.

The reader parses each frame, answers `hello` by replaying what the client missed, and runs
ops one after another (so one client's sends keep their order). Every bad frame gets an error
result; nothing a client sends closes its socket except silence and a full send queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError
from quart import Blueprint, current_app, websocket

from appliance.api import jsontext, shapes
from appliance.api.auth import COOKIE_NAME, authenticate
from appliance.api.current import hearth
from appliance.api.errors import INTERNAL, WireError, from_service, invalid
from appliance.realtime.connection import (
    CLOSE_IDLE,
    CLOSE_INTERNAL,
    CLOSE_TOO_SLOW,
    Connection,
    WriteTimeout,
    error_frame,
    event_frame,
    result_frame,
    signal_frame,
)
from appliance.realtime.hub import Hub
from appliance.realtime.ops import Caller, HelloOp, Registry
from appliance.services.errors import ForbiddenError, RateLimitedError, ServiceError
from appliance.services.ratelimit import RateLimiter

log = logging.getLogger(__name__)
access_log = logging.getLogger("appliance.access")  # the same log as requests

IDLE_SECONDS = 60.0
OP_SETTLE_SECONDS = 10.0  # an op still running when its socket closes may finish within this
REPLAY_PAGE = 500
REPLAY_LIMIT = 20_000  # beyond this many missed events, reloading is cheaper than replaying
MAX_FRAME_CHARS = 64 * 1024
OPS_KEY = "hearth.ops"
# Set by server.py: cut_off(server, client, reason) -> bool resets the TCP connection between
# those two addresses (an ASGI scope's), for a client that stopped reading.
CUT_OFF_KEY = "hearth.cut_off"
_MALFORMED: dict[str, Any] = {}
_BAD_ID: dict[str, Any] = {}

blueprint = Blueprint("realtime", __name__)


def refusal(code: str, message: str) -> WireError:
    """A frame the socket cannot act on (the socket stays open)."""
    return WireError(400, code, message)


def check_origin() -> None:
    """Browsers always send Origin on a WebSocket handshake; a foreign one is refused, and a
    cookie without any Origin did not come from a browser page of ours."""
    origin = websocket.headers.get("Origin")
    if origin is None:
        if COOKIE_NAME in websocket.cookies and "Authorization" not in websocket.headers:
            raise ForbiddenError("A WebSocket with the session cookie must send Origin.",
                                 code="bad_origin")  # fmt: skip
        return
    if origin not in {f"https://{websocket.host}", f"http://{websocket.host}"}:
        raise ForbiddenError("Cross-site WebSockets are refused.", code="bad_origin")


@blueprint.websocket("/api/v1/ws")
async def socket() -> None:
    check_origin()
    context = hearth()
    principal = await authenticate(
        context.sessions,
        websocket.headers.get("Authorization", ""),
        websocket.cookies.get(COOKIE_NAME),
        websocket.remote_addr or "",
    )
    await websocket.accept()
    # One line when it opens and one when it ends, with an id tying them together (and the
    # lines between): never a token.
    opened_at, connection_id = time.perf_counter(), secrets.token_hex(6)
    logged = SocketLog(
        principal.user.id, connection_id, websocket.remote_addr or "",
        context.config.logging.access_log,
    )  # fmt: skip
    logged.line("opened", None, 0.0)
    try:
        ws = cast(Any, websocket)._get_current_object()  # the object itself, usable from tasks
        hub: Hub = context.hub
        connection = Connection(
            principal.user.id,
            principal.session_id,
            ws.send,
            context.config.server.write_timeout_seconds,
        )
        limit = context.config.limits.ws_frames_per_connection
        driver = Driver(
            Caller(context, hub, connection),
            current_app.extensions[OPS_KEY],
            ws.receive,
            RateLimiter(limit.count, limit.per_seconds, clock=context.clock.monotonic),
        )
        writer = asyncio.create_task(connection.write_loop(), name="ws-writer")
        reader = asyncio.create_task(driver.read_loop(), name="ws-reader")
        cut_off = False
        try:
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            for name, task in (("reader", reader), ("writer", writer)):
                error = task.exception() if task.done() and not task.cancelled() else None
                if isinstance(error, WriteTimeout):
                    cut_off = _cut_off(ws.scope, connection, error)
                elif isinstance(error, ConnectionError | EOFError):
                    log.info("WebSocket %s ended: the client went away (%s) [%s]", name, error,
                             connection_id)  # fmt: skip
                elif error is not None:
                    # Said, not swallowed: the client is told the server failed and resumes.
                    log.error("WebSocket %s failed [%s]", name, connection_id, exc_info=error)
                    connection.close(CLOSE_INTERNAL, f"server error ({name})")
        finally:
            hub.detach(connection)
            for task in (reader, writer):
                task.cancel()
            for task in (reader, writer):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await driver.settle()
        if connection.close_code is not None and not cut_off:
            await ws.close(connection.close_code, connection.close_reason)
    finally:  # a client gone makes Quart cancel this handler: log its end anyway
        logged.line("closed", connection.close_code, time.perf_counter() - opened_at)


@dataclass(frozen=True, slots=True)
class SocketLog:
    """Access-log lines for one WebSocket (the same fields as a request's, in JSON too),
    made from what is known when it opens: at its end the request context may be gone."""

    user_id: int
    connection_id: str
    client: str
    enabled: bool

    def line(self, what: str, code: int | None, seconds: float) -> None:
        if not self.enabled:
            return
        access_log.info(
            "WebSocket %s: user %s%s, %.1fs [%s]",
            what,
            self.user_id,
            "" if code is None else f", code {code}",
            seconds,
            self.connection_id,
            extra={
                "request_id": self.connection_id,
                "method": "WS",
                "path": "/api/v1/ws",
                "status": code,
                "duration_ms": round(seconds * 1000, 1),
                "client": self.client,
            },
        )


def _cut_off(scope: Any, connection: Connection, error: WriteTimeout) -> bool:
    """The client stopped reading: reset its connection, which no close frame would get
    through. True if the server did (it logs that in one line)."""
    connection.close(CLOSE_TOO_SLOW, "too slow; reconnect and resume")
    cut_off = current_app.extensions.get(CUT_OFF_KEY)
    reason = f"user {connection.user_id}'s WebSocket stopped reading ({error})"
    if cut_off is not None and cut_off(scope.get("server"), scope.get("client"), reason):
        return True
    log.info("WebSocket of user %s: %s", connection.user_id, error)
    return False


class Driver:
    def __init__(
        self,
        caller: Caller,
        ops: Registry,
        receive: Callable[[], Awaitable[str | bytes]],
        limiter: RateLimiter,
    ) -> None:
        self.caller = caller
        self.ops = ops
        self.connection = caller.connection
        self.receive = receive
        self.limiter = limiter
        self.greeted = False
        self._op: asyncio.Task[None] | None = None

    async def read_loop(self) -> None:
        while self.connection.close_code is None:
            try:
                raw = await asyncio.wait_for(self.receive(), IDLE_SECONDS)
            except TimeoutError:
                self.connection.close(CLOSE_IDLE, "no frames for a minute")
                return
            # An op runs to its end even if the socket goes meanwhile: one cut off halfway
            # would leave a stored message unannounced (or a write half done).
            self._op = asyncio.ensure_future(self.handle(raw))
            await asyncio.shield(self._op)

    async def settle(self) -> None:
        """Wait (a bounded while) for an op still running after the reader stopped."""
        if self._op is not None and not self._op.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._op), OP_SETTLE_SECONDS)

    def reply(self, frame: str) -> None:
        self.connection.push(frame)

    async def handle(self, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            self.reply(error_frame(None, refusal("validation_error",
                                                 "Frames are JSON text, not binary.")))  # fmt: skip
            return
        if len(raw) > MAX_FRAME_CHARS:
            self.reply(error_frame(None, refusal("payload_too_large",
                                                 f"Frames are at most {MAX_FRAME_CHARS} characters.")))  # fmt: skip
            return
        try:
            frame = jsontext.loads(raw)
        except jsontext.NotJSON:
            frame = _MALFORMED
        request_id = frame.get("id") if isinstance(frame, dict) else None
        if request_id is not None and (not isinstance(request_id, str) or len(request_id) > 64):
            request_id = None
            frame = _BAD_ID
        try:
            self.limiter.hit("frames")
        except RateLimitedError as error:
            self.reply(error_frame(request_id, from_service(error)))
            return
        if frame is _MALFORMED:
            self.reply(error_frame(None, refusal("malformed_json", "The frame is not valid JSON.")))
            return
        if frame is _BAD_ID:
            self.reply(error_frame(None, refusal("validation_error",
                                                 "id is a string of at most 64 characters.")))  # fmt: skip
            return
        if not isinstance(frame, dict):
            self.reply(error_frame(None, refusal("validation_error", "A frame is a JSON object.")))
            return
        kind = frame.get("type")
        data = frame.get("data", {})
        if kind == "hello":
            await self.hello(request_id, data)
            return
        if not self.greeted:
            self.reply(error_frame(request_id, refusal("hello_required", "Send hello first.")))
            return
        op = self.ops.get(kind) if isinstance(kind, str) else None
        if op is None:
            self.reply(error_frame(request_id, refusal("unknown_op", f"Unknown type {kind!r}.")))
            return
        try:
            parsed = op.model.model_validate(data if data is not None else {})
            result = await op.run(self.caller, parsed)
        except ValidationError as error:
            self.reply(error_frame(request_id, invalid(error, "data")))
        except ServiceError as error:
            self.reply(error_frame(request_id, from_service(error)))
        except Exception:
            log.exception("WebSocket op %s failed", kind)
            self.reply(error_frame(request_id, INTERNAL))
        else:
            self.reply(result_frame(request_id, result))

    async def hello(self, request_id: str | None, data: Any) -> None:
        if self.greeted:
            self.reply(error_frame(request_id, refusal("already_greeted", "hello comes once.")))
            return
        try:
            hello = HelloOp.model_validate(data if data is not None else {})
        except ValidationError as error:
            self.reply(error_frame(request_id, invalid(error, "hello")))
            return
        self.greeted = True
        caller, connection = self.caller, self.connection
        event_log = caller.context.events
        caller.hub.attach(connection)  # live events are held from here until the replay is done
        position = await event_log.position()
        latest = position.latest
        user_id = connection.user_id
        presence = [shapes.PresenceOut(**entry) for entry in caller.hub.presence_snapshot(user_id)]
        greeting = shapes.HelloOut(user_id=user_id, seq=latest, presence=presence)
        await connection.put(result_frame(request_id, greeting))
        start = hello.resume_from
        if start is None:
            connection.last_seq = latest
        elif start < position.pruned_through or start > latest or latest - start > REPLAY_LIMIT:
            # Too old to replay, or from a database this one is not (restored from a backup).
            connection.last_seq = latest
            await connection.put(signal_frame("sync.reset", shapes.SyncResetOut(seq=latest)))
        else:
            connection.last_seq = start
            while True:
                page = await event_log.missed(user_id, connection.last_seq, REPLAY_PAGE)
                for event in page:
                    connection.last_seq = event.seq
                    await connection.put(event_frame(event))
                if len(page) < REPLAY_PAGE:
                    break
        await connection.go_live()
