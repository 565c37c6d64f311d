"""Talking to a served Hearth: REST over HTTPS (urllib in a thread) and the WebSocket.

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
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.support.server import HearthServer, insecure_context

Frame = dict[str, Any]


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


def message_ids(frames: list[Frame]) -> list[int]:
    return [frame["data"]["id"] for frame in frames]
