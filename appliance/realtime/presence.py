"""Presence: online if any of a user's connections is, away if all are away, offline (with
when they were last seen) once the last one closes. Sent only to online people who share a
chat with the user, minus blocks either way; never stored but for `last_seen_at`."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from appliance.api import shapes
from appliance.clock import iso
from appliance.lifecycle import Background
from appliance.realtime.connection import signal_frame
from appliance.realtime.fanout import Fanout
from appliance.realtime.registry import Registry
from appliance.services.audience import Audience
from appliance.store.events import EventRow

log = logging.getLogger(__name__)

RecordLastSeen = Callable[[int], Awaitable[int]]


class Presence:
    def __init__(
        self,
        registry: Registry,
        audience: Audience,
        fanout: Fanout,
        record_last_seen: RecordLastSeen,
    ) -> None:
        self._registry = registry
        self._audience = audience
        self._fanout = fanout
        self._record_last_seen = record_last_seen
        self._writes = Background()

    def status(self, user_id: int) -> str:
        connections = self._registry.of(user_id)
        if not connections:
            return "offline"
        return "online" if any(c.status == "online" for c in connections) else "away"

    def changed(self, user_id: int, before: str) -> None:
        """Tell the user's peers if their status is no longer `before`."""
        now = self.status(user_id)
        if now != before:
            self._announce(user_id, now, None)

    def went_offline(self, user_id: int) -> None:
        """The user's last connection closed: note when, then tell their peers (unless they
        are back by then). The write gets a task of its own: this runs while the connection's
        task is being torn down."""
        self._writes.spawn(self._offline(user_id), "ws-offline")

    async def _offline(self, user_id: int) -> None:
        try:
            seen: int | None = await self._record_last_seen(user_id)
        except Exception:
            log.exception("could not record last seen for user %s", user_id)
            seen = None
        if not self._registry.online(user_id):
            self._announce(user_id, "offline", iso(seen))

    def snapshot(self, user_id: int) -> list[dict[str, Any]]:
        """Who among the user's peers is online now (for the hello result)."""
        return [
            {"user_id": peer, "status": self.status(peer), "last_seen_at": None}
            for peer in sorted(self._audience.peers(user_id))
            if self._registry.online(peer)
        ]

    def introduce(self, events: Sequence[EventRow]) -> None:
        """People who just started sharing a chat learn each other's presence: once per pair
        for a whole commit (creating a group adds its members in one commit)."""
        told: set[tuple[int, int]] = set()
        for event in events:
            if event.chat_id is None or event.type not in {"chat.created", "member.added"}:
                continue
            members = self._audience.members(event.chat_id)
            if event.type == "member.added":
                newcomers = {json.loads(event.data)["user"]["id"]}
            else:
                newcomers = set(members)
            for newcomer in newcomers:
                for other in members:
                    if other == newcomer or self._audience.blocked(newcomer, other):
                        continue
                    for a, b in ((newcomer, other), (other, newcomer)):
                        if (a, b) in told:
                            continue
                        told.add((a, b))
                        if self._registry.online(a) and self._registry.online(b):
                            self._fanout.push((b,), _frame(a, self.status(a), None))

    async def close(self) -> None:
        """Wait for last-seen writes still under way (before the database closes)."""
        await self._writes.wait()

    def _announce(self, user_id: int, status: str, last_seen_at: str | None) -> None:
        self._fanout.push(self._audience.peers(user_id), _frame(user_id, status, last_seen_at))


def _frame(user_id: int, status: str, last_seen_at: str | None) -> str:
    return signal_frame(
        "presence",
        shapes.PresenceOut(user_id=user_id, status=cast(Any, status), last_seen_at=last_seen_at),
    )
