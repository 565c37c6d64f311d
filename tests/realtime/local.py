"""An in-process Hearth on a ManualClock, with WebSockets through Quart's test client.

For what depends on time (typing's 6 s timer, the reconnect grace of calls, shutdown order): a
`hearth serve` subprocess runs on the real clock, so those waits would be real; here the test
advances the clock instead. The server-level behaviour (real sockets, TLS, a cut connection)
stays with the subprocess tests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quart import Quart
from quart.testing.connections import WebsocketDisconnectError

from appliance.app import create_app
from appliance.context import Hearth
from tests.support.app import PASSWORD, Client, make_settings
from tests.support.clock import ManualClock
from tests.support.server import ROOMY_LIMITS

Frame = dict[str, Any]
_names = itertools.count(1)
_client_ids = itertools.count(1)


class LocalSocket:
    """One in-process WebSocket; every frame received is kept in `received`, in order."""

    def __init__(self, connection: Any, stack: AsyncExitStack) -> None:
        self._connection = connection
        self._stack = stack
        self.received: list[Frame] = []
        self.pending: list[Frame] = []
        self.welcome: Frame = {}
        self.close_code: int | None = None
        self._ids = itertools.count(1)

    async def _next(self, timeout: float) -> Frame:
        try:
            raw = await asyncio.wait_for(self._connection.receive(), timeout)
        except WebsocketDisconnectError as closed:
            self.close_code = closed.args[0]
            raise
        frame: Frame = json.loads(raw)
        self.received.append(frame)
        return frame

    async def expect(
        self,
        event: str | None = None,
        *,
        type: str | None = None,
        where: Callable[[Frame], bool] | None = None,
        timeout: float = 5.0,
    ) -> Frame:
        """The first frame (kept or new) with this `event` name, frame `type` and predicate.
        The timeout is real time: it bounds waiting for work on the database's thread."""

        def matches(frame: Frame) -> bool:
            if event is not None and frame.get("event") != event:
                return False
            if type is not None and frame.get("type") != type:
                return False
            return where is None or where(frame)

        for index, frame in enumerate(self.pending):
            if matches(frame):
                return self.pending.pop(index)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no frame event={event} within {timeout}s")
            try:
                frame = await self._next(remaining)
            except TimeoutError:
                continue
            if matches(frame):
                return frame
            self.pending.append(frame)

    async def request(self, type: str, data: Any = None) -> Frame:
        request_id = f"r{next(self._ids)}"
        await self._connection.send(json.dumps({"id": request_id, "type": type, "data": data}))
        return await self.expect(type="result", where=lambda f: f.get("id") == request_id)

    async def ok(self, type: str, data: Any = None) -> Any:
        reply = await self.request(type, data)
        assert reply["ok"] is True, reply
        return reply["data"]

    async def ping_round_trip(self) -> None:
        """Everything the server queued for this socket before now has arrived after this."""
        await self.ok("ping", {})

    def events(self, name: str) -> list[Frame]:
        return [f for f in self.received if f.get("event") == name]

    async def closed(self, timeout: float = 5.0) -> int:
        """Read until the server closes the socket; its close code."""
        try:
            while True:
                await self._next(timeout)
        except WebsocketDisconnectError:
            assert self.close_code is not None
            return self.close_code

    async def close(self) -> None:
        """The client goes away (the app sees the socket disconnect)."""
        await self._stack.aclose()


@dataclass
class LocalPerson:
    id: int
    token: str
    client: Client
    app: Quart
    sockets: list[LocalSocket] = field(default_factory=list)

    async def api(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        response = await self.client.request(method, f"/api/v1{path}", json=body, headers=headers)
        assert response.status_code == status, await response.get_data(as_text=True)
        return await response.get_json()

    async def group(self, title: str, *members: LocalPerson) -> dict[str, Any]:
        body = {"kind": "group", "title": title, "member_ids": [m.id for m in members]}
        chat: dict[str, Any] = await self.api("POST", "/chats", body, status=201)
        return chat

    async def direct(self, other: LocalPerson) -> dict[str, Any]:
        chat: dict[str, Any] = await self.api(
            "POST", "/chats", {"kind": "direct", "user_id": other.id}, status=201
        )
        return chat

    async def send(self, chat_id: int, body: str) -> dict[str, Any]:
        payload = {"client_id": f"local-{next(_client_ids)}", "body": body}
        message: dict[str, Any] = await self.api(
            "POST", f"/chats/{chat_id}/messages", payload, status=201
        )
        return message

    async def connect(self) -> LocalSocket:
        """A socket with `hello` done; the hello data is on `.welcome`."""
        stack = AsyncExitStack()
        connection = await stack.enter_async_context(
            self.app.test_client().websocket(
                "/api/v1/ws", headers={"Authorization": f"Bearer {self.token}"}
            )
        )
        socket = LocalSocket(connection, stack)
        self.sockets.append(socket)
        socket.welcome = await socket.ok("hello", {"resume_from": None})
        return socket


@dataclass
class Local:
    app: Quart
    clock: ManualClock
    everyone: list[LocalPerson] = field(default_factory=list)

    @property
    def hearth(self) -> Hearth:
        hearth: Hearth = self.app.extensions["hearth"]
        return hearth

    async def person(self, name: str) -> LocalPerson:
        client = Client(self.app)
        response = await client.post(
            "/api/v1/auth/signup",
            json={"username": f"{name}-{next(_names)}", "password": PASSWORD},
        )
        assert response.status_code == 201, await response.get_data(as_text=True)
        body = await response.get_json()
        person = LocalPerson(body["user"]["id"], body["access_token"], client, self.app)
        self.everyone.append(person)
        return person

    async def people(self, *names: str) -> list[LocalPerson]:
        return [await self.person(name) for name in names]


@asynccontextmanager
async def local_hearth(data_dir: Path) -> AsyncIterator[Local]:
    """A started app on a ManualClock, with open sign-up; stopped (sockets first) on exit."""
    settings = make_settings(data_dir, registration={"mode": "open"}, limits=ROOMY_LIMITS)
    clock = ManualClock()
    app = create_app(settings, clock=clock)
    async with app.test_app():
        local = Local(app, clock)
        try:
            yield local
        finally:
            for person in local.everyone:
                for socket in person.sockets:
                    await socket.close()
