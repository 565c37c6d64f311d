"""Fanout: a committed event to the open connections of those it concerns, and signals to
people. Each frame is serialized once and the same string queued on every connection.

With several processes (cluster.py) every process fans each committed event out to its own
connections; a signal that only one process makes (typing, a call's) goes `everywhere`: to
the connections here, and through `beyond` to those on the other processes."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from appliance.api.shapes import SignalData
from appliance.realtime.connection import event_frame, signal_frame
from appliance.realtime.registry import Registry
from appliance.services.audience import Audience
from appliance.store.events import EventRow


class Fanout:
    def __init__(
        self,
        registry: Registry,
        audience: Audience,
        beyond: Callable[[Iterable[int], str], None] | None = None,
    ) -> None:
        self._registry = registry
        self._audience = audience
        self._beyond = beyond

    def stored_event(self, event: EventRow) -> None:
        """To the members of its chat (as the audience knows them now), or to its one user."""
        if event.chat_id is not None:
            recipients: Iterable[int | None] = self._audience.members(event.chat_id)
        else:
            recipients = (event.user_id,)
        frame = event_frame(event)
        for user_id in recipients:
            for connection in self._registry.of(user_id):
                connection.deliver(event, frame)

    def signal_users(self, user_ids: Iterable[int], name: str, data: SignalData) -> None:
        """Push one signal to every open connection of these users (serialized once, and only
        if one of them is connected)."""
        frame: str | None = None
        for user_id in set(user_ids):
            for connection in self._registry.of(user_id):
                frame = frame or signal_frame(name, data)
                connection.push(frame)

    def push(self, user_ids: Iterable[int], frame: str) -> None:
        """Push a ready frame to every open connection of these users."""
        for user_id in set(user_ids):
            for connection in self._registry.of(user_id):
                connection.push(frame)

    def everywhere(self, user_ids: Iterable[int], frame: str) -> None:
        """Push a ready frame to these users' connections here and on the other processes."""
        users = set(user_ids)
        self.push(users, frame)
        if self._beyond is not None:
            self._beyond(users, frame)
