"""One WebSocket connection: a bounded send queue drained by a writer task, the resume
handshake, and the per-connection frame budget.

Frames are strings, serialized once per event by the hub and shared by every connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from appliance.api.errors import WireError
from appliance.api.shapes import SignalData
from appliance.store.events import EventRow

log = logging.getLogger(__name__)

QUEUE_LIMIT = 1024  # frames waiting for a slow client before it is cut off (and resumes)

CLOSE_IDLE = 4000
CLOSE_SESSION_ENDED = 4001
CLOSE_TOO_SLOW = 4008
CLOSE_INTERNAL = 1011  # the server failed; reconnect and resume


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def event_frame(event: EventRow) -> str:
    # The stored data is already JSON text: splice it in rather than parse and re-encode it.
    return f'{{"type":"event","seq":{event.seq},"event":{dumps(event.type)},"data":{event.data}}}'


def signal_frame(name: str, data: SignalData) -> str:
    """A signal: its data a shape of api/shapes.py, or a small dict for the call signals that
    carry only ids."""
    if isinstance(data, BaseModel):
        body = data.model_dump_json(by_alias=True)
        return f'{{"type":"signal","event":{dumps(name)},"data":{body}}}'
    return dumps({"type": "signal", "event": name, "data": data})


def result_frame(request_id: str | None, data: BaseModel) -> str:
    """A successful op's result: the same shape REST answers with."""
    body = data.model_dump_json(by_alias=True)
    return f'{{"id":{dumps(request_id)},"type":"result","ok":true,"data":{body}}}'


def error_frame(request_id: str | None, error: WireError) -> str:
    """A failed op's result: the same error body REST answers with."""
    return dumps({"id": request_id, "type": "result", "ok": False, "error": error.body()})


class WriteTimeout(Exception):
    """A frame waited longer than the write timeout to be taken: the client stopped reading."""


class Connection:
    def __init__(
        self,
        user_id: int,
        session_id: str,
        send: Callable[[str], Awaitable[None]],
        write_timeout: float | None = None,
    ) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.status = "online"
        self.last_seq = 0
        self.close_code: int | None = None
        self.close_reason = ""
        self._send = send
        self._write_timeout = write_timeout
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_LIMIT)
        # While replaying, live events wait here; None once live.
        self._held: list[tuple[EventRow, str]] | None = []

    # --- outgoing ----------------------------------------------------------------------------

    def push(self, frame: str) -> None:
        """Queue a frame without waiting; a client this far behind is closed (it resumes)."""
        if self.close_code is not None:
            return
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.close(CLOSE_TOO_SLOW, "too slow; reconnect and resume")

    async def put(self, frame: str) -> None:
        """Queue a frame, waiting for room (replay: the client reads as fast as it can)."""
        if self.close_code is None:
            await self._queue.put(frame)

    def deliver(self, event: EventRow, frame: str) -> None:
        if self._held is not None:
            self._held.append((event, frame))
        elif event.seq > self.last_seq:
            self.last_seq = event.seq
            self.push(frame)

    async def go_live(self) -> None:
        """Send what arrived during the replay, skipping what the replay already sent."""
        while self._held:
            held, self._held = self._held, []
            for event, frame in held:
                if event.seq > self.last_seq:
                    self.last_seq = event.seq
                    await self.put(frame)
        self._held = None

    def close(self, code: int, reason: str) -> None:
        if self.close_code is not None:
            return
        self.close_code, self.close_reason = code, reason
        # Make room for the wake-up even when the queue is full: what is left is not sent.
        while self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def write_loop(self) -> None:
        """Send queued frames until closed. Raises WriteTimeout when one waits longer than the
        write timeout (the server below bounds its own writes too, but over HTTP/2 a send waits
        on the stream's flow-control window, which only this sees)."""
        while True:
            frame = await self._queue.get()
            if frame is None:
                return
            try:
                async with asyncio.timeout(self._write_timeout):
                    await self._send(frame)
            except TimeoutError:
                raise WriteTimeout(f"a frame waited {self._write_timeout:g} s") from None
            except UnicodeEncodeError:
                # Nothing a client sends can make a frame like this (ids and text are checked
                # on the way in); if one is made anyway, it is dropped, not the connection.
                log.error("a frame for user %s could not be encoded; dropped", self.user_id)
