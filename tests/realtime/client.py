"""A small client for a served Hearth: REST over HTTPS (urllib in a thread) and the WebSocket.

`Socket.expect(...)` waits for one frame that matches and keeps every other frame for later
`expect` calls, so tests wait for what they mean and never sleep.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import PASSWORD
from tests.server import HearthServer, insecure_context, write_config

Frame = dict[str, Any]

HIGH = {"count": 100_000, "per_seconds": 1}
# Open sign-up and no limit a test could hit by accident; tests about a limit lower it.
ROOMY_LIMITS = {
    "signup_per_address": HIGH,
    "login_per_address": HIGH,
    "login_per_account": HIGH,
    "messages_per_user": HIGH,
    "changes_per_user": HIGH,
    "chats_per_user": HIGH,
    "ws_frames_per_connection": HIGH,
}


def roomy_config(
    folder: Path,
    limits: dict[str, Any] | None = None,
    shutdown_timeout: float = 1.0,
    **sections: Any,
) -> Path:
    """hearth.yaml for a test server: open sign-up, roomy limits but those given, and a short
    shutdown timeout so a module's server stops quickly."""
    path = write_config(
        folder,
        registration={"mode": "open"},
        limits={**ROOMY_LIMITS, **(limits or {})},
        **sections,
    )
    raw = yaml.safe_load(path.read_text())
    raw["server"]["shutdown_timeout_seconds"] = shutdown_timeout
    path.write_text(yaml.safe_dump(raw))
    return path


_names = itertools.count(1)
_client_ids = itertools.count(1)


def new_client_id() -> str:
    return f"rt-{next(_client_ids)}"


@dataclass
class Reply:
    status: int
    headers: Any
    body: Any


class Rest:
    """JSON over HTTPS to one server."""

    def __init__(self, server: HearthServer) -> None:
        self.base = server.url

    def _call(
        self, method: str, path: str, body: Any, token: str | None, headers: dict[str, str]
    ) -> Reply:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + "/api/v1" + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in headers.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, context=insecure_context(), timeout=10) as answer:
                raw = answer.read()
                return Reply(answer.status, answer.headers, json.loads(raw) if raw else None)
        except urllib.error.HTTPError as error:
            raw = error.read()
            return Reply(error.code, error.headers, json.loads(raw) if raw else None)

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        return await asyncio.to_thread(self._call, method, path, body, token, headers or {})


class Socket:
    """One WebSocket connection. Every frame received is kept in `received`, in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[Frame] = []
        self.pending: list[Frame] = []
        self.welcome: Frame = {}  # the hello result's data, once greeted
        self._ids = itertools.count(1)

    async def send_raw(self, text: str) -> None:
        await self.ws.send(text)

    async def send_frame(self, type: str, data: Any = None, id: str | None = None) -> str:
        request_id = id or f"r{next(self._ids)}"
        frame: Frame = {"id": request_id, "type": type}
        if data is not None:
            frame["data"] = data
        await self.ws.send(json.dumps(frame))
        return request_id

    async def next_frame(self, timeout: float) -> Frame:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
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
        """The first frame (kept or new) with this `event` name, frame `type` and predicate."""

        def matches(frame: Frame) -> bool:
            if event is not None and frame.get("event") != event:
                return False
            if type is not None and frame.get("type") != type:
                return False
            return where is None or where(frame)

        for index, frame in enumerate(self.pending):
            if matches(frame):
                return self.pending.pop(index)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"no frame event={event} type={type} within {timeout}s; "
                    f"got {self.received[-10:]}"
                )
            try:
                frame = await self.next_frame(remaining)
            except TimeoutError:
                continue
            if matches(frame):
                return frame
            self.pending.append(frame)

    async def result(self, request_id: str | None, timeout: float = 5.0) -> Frame:
        return await self.expect(
            type="result", where=lambda f: f.get("id") == request_id, timeout=timeout
        )

    async def request(self, type: str, data: Any = None, *, id: str | None = None) -> Frame:
        """Send an op and return its result frame (ok or not)."""
        return await self.result(await self.send_frame(type, data, id))

    async def ok(self, type: str, data: Any = None) -> Any:
        """Send an op that must succeed; return the result's data."""
        reply = await self.request(type, data)
        assert reply["ok"] is True, reply
        return reply["data"]

    async def hello(self, resume_from: int | None = None) -> Frame:
        reply = await self.request("hello", {"resume_from": resume_from}, id="h")
        assert reply["ok"] is True, reply
        data: Frame = reply["data"]
        return data

    async def ping_round_trip(self) -> None:
        """Everything the server queued for this socket before now has arrived after this."""
        await self.ok("ping", {})

    def events(self, name: str, where: Callable[[Frame], bool] | None = None) -> list[Frame]:
        return [
            f
            for f in self.received
            if f.get("event") == name and (where is None or where(f["data"]))
        ]

    async def close(self) -> None:
        await self.ws.close()

    def cut(self) -> None:
        """Drop the connection the way a lost network does: no close frame."""
        self.ws.transport.abort()


def ws_url(server: HearthServer) -> str:
    return f"wss://127.0.0.1:{server.port}/api/v1/ws"


async def open_socket(
    server: HearthServer, headers: dict[str, str], origin: str | None = None
) -> Socket:
    ws = await connect(
        ws_url(server),
        additional_headers=headers,
        origin=origin,  # type: ignore[arg-type]  (websockets' Origin is a NewType of str)
        ssl=insecure_context(),
        proxy=None,
        open_timeout=5,
    )
    return Socket(ws)


@dataclass
class Person:
    id: int
    username: str
    token: str
    cookie: str
    rest: Rest
    server: HearthServer
    sockets: list[Socket] = field(default_factory=list)

    async def api(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        reply = await self.rest.call(method, path, body, token=self.token)
        assert reply.status == status, (method, path, reply.status, reply.body)
        return reply.body

    async def connect(self, resume_from: int | None = None, *, greet: bool = True) -> Socket:
        """A socket with `hello` done (unless greet=False); the hello data is on `.welcome`."""
        socket = await open_socket(self.server, {"Authorization": f"Bearer {self.token}"})
        self.sockets.append(socket)
        if greet:
            socket.welcome = await socket.hello(resume_from)
        return socket

    async def group(self, title: str, *members: Person) -> dict[str, Any]:
        body = {"kind": "group", "title": title, "member_ids": [m.id for m in members]}
        chat: dict[str, Any] = await self.api("POST", "/chats", body, status=201)
        return chat

    async def direct(self, other: Person) -> dict[str, Any]:
        body = {"kind": "direct", "user_id": other.id}
        chat: dict[str, Any] = await self.api("POST", "/chats", body, status=201)
        return chat

    async def send(self, chat_id: int, body: str, client_id: str | None = None) -> dict[str, Any]:
        payload = {"client_id": client_id or new_client_id(), "body": body}
        message: dict[str, Any] = await self.api(
            "POST", f"/chats/{chat_id}/messages", payload, status=201
        )
        return message

    async def block(self, other: Person) -> None:
        await self.api("POST", "/blocks", {"user_id": other.id}, status=204)


class People:
    """Sign people up on a server (open registration) and close their sockets afterwards."""

    def __init__(self, server: HearthServer) -> None:
        self.server = server
        self.rest = Rest(server)
        self.everyone: list[Person] = []

    async def one(self, name: str) -> Person:
        username = f"{name}-{next(_names)}"
        reply = await self.rest.call(
            "POST", "/auth/signup", {"username": username, "password": PASSWORD}
        )
        assert reply.status == 201, reply.body
        cookie = ""
        for header in reply.headers.get_all("Set-Cookie") or []:
            if header.startswith("hearth_session="):
                cookie = header.split(";", 1)[0].split("=", 1)[1]
        person = Person(
            reply.body["user"]["id"],
            username,
            reply.body["access_token"],
            cookie,
            self.rest,
            self.server,
        )
        self.everyone.append(person)
        return person

    async def __call__(self, *names: str) -> list[Person]:
        return [await self.one(name) for name in names]

    async def close(self) -> None:
        for person in self.everyone:
            for socket in person.sockets:
                await socket.close()


def message_ids(frames: list[Frame]) -> list[int]:
    return [frame["data"]["id"] for frame in frames]
