"""Helpers shared by the service-level calls tests (tests/api/test_calls.py and
test_call_access.py): the calls service's signals recorded instead of going to sockets, its
replies in their JSON shape, what it tells the SFU to drop, the call log in a chat."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from pydantic import BaseModel

from appliance.services.call_media import CallMedia
from tests.support.responses import json_of


class Signals:
    """Stands in for the hub: records (user id, signal name, data); `connected` is who has a
    socket open."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, dict[str, Any]]] = []
        self.connected: set[int] = set()

    def online(self, user_id: int) -> bool:
        return user_id in self.connected

    def signal(self, user_id: int, name: str, data: Any) -> None:
        """Recorded as the client would receive it (a shape becomes its JSON)."""
        if isinstance(data, BaseModel):
            data = data.model_dump(mode="json", by_alias=True)
        self.sent.append((user_id, name, data))

    def signal_users(self, user_ids: Iterable[int], name: str, data: Any) -> None:
        for user_id in sorted(set(user_ids)):
            self.signal(user_id, name, data)

    def to(self, user_id: int, name: str) -> list[dict[str, Any]]:
        return [data for to, sent, data in self.sent if to == user_id and sent == name]

    def names(self, user_id: int) -> list[str]:
        return [name for to, name, _ in self.sent if to == user_id]


class WireCalls:
    """The calls service as a client sees it: each reply in its JSON shape."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.service, name)
        if not asyncio.iscoroutinefunction(found):
            return found

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = await found(*args, **kwargs)
            if isinstance(result, list):
                return [item.model_dump(mode="json") for item in result]
            return result.model_dump(mode="json") if isinstance(result, BaseModel) else result

        return call


class SfuDrops:
    """What the calls service tells the SFU to let go of (it still does): `left` holds
    (call id, user id) for each participant whose peer connections are closed, `ended` the
    calls whose room is closed."""

    def __init__(self, media: CallMedia, monkeypatch: pytest.MonkeyPatch) -> None:
        self.left: list[tuple[int, int]] = []
        self.ended: list[int] = []
        leave, end = media.leave, media.end

        async def recorded_leave(call_id: int, user_id: int) -> None:
            self.left.append((call_id, user_id))
            await leave(call_id, user_id)

        async def recorded_end(call_id: int) -> None:
            self.ended.append(call_id)
            await end(call_id)

        monkeypatch.setattr(media, "leave", recorded_leave)
        monkeypatch.setattr(media, "end", recorded_end)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """For database work a timer set off (it runs on the writer's thread, not on the clock)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def call_log(person: Any, chat_id: int) -> dict[str, Any]:
    """The newest message of the chat, which must be a call log."""
    page = await json_of(await person.get(f"/chats/{chat_id}/messages"), 200)
    message: dict[str, Any] = page["messages"][-1]
    assert message["kind"] == "call", page
    return message
