"""The hub: what the WebSocket endpoint, its ops and the calls service talk to. It puts together
the parts, each with one job:

- `Registry` (registry.py): the open connections per user;
- `Fanout` (fanout.py): committed events from the bus, and signals, to those connections;
- `Presence` (presence.py): online, away, offline, to people who share a chat;
- `TypingIndicator` (typing_indicator.py): typing signals and their 6 s timers;
- `SessionWatch` (session_watch.py): closing sockets whose session ended.

Stored events come from the bus after their transaction committed and go to the online members
of their chat (or to the one user they name). Presence and typing are signals: never stored,
sent only to online people who share a chat with the user and have not blocked them (nor been
blocked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from appliance.api.shapes import SignalData
from appliance.bus import Bus
from appliance.clock import Clock
from appliance.realtime.connection import Connection, signal_frame
from appliance.realtime.fanout import Fanout
from appliance.realtime.presence import Elsewhere, Presence, RecordLastSeen
from appliance.realtime.registry import Registry
from appliance.realtime.session_watch import LiveSessions, SessionWatch
from appliance.realtime.typing_indicator import TypingIndicator
from appliance.services.audience import Audience
from appliance.store.events import EventRow

CLOSE_GOING_AWAY = 1001


class Hub:
    def __init__(
        self,
        bus: Bus,
        audience: Audience,
        *,
        record_last_seen: RecordLastSeen,
        live_sessions: LiveSessions,
        clock: Clock,
        elsewhere: Elsewhere | None = None,
        beyond: Callable[[Iterable[int], str], None] | None = None,
    ) -> None:
        self._bus = bus
        self.registry = Registry()
        self.fanout = Fanout(self.registry, audience, beyond)
        self.presence = Presence(self.registry, audience, self.fanout, record_last_seen, elsewhere)
        self.typing_indicator = TypingIndicator(audience, self.fanout, clock)
        self.session_watch = SessionWatch(self.registry, live_sessions, clock)
        self.everywhere = Everywhere(self)
        self._departures: list[Callable[[int], None]] = []
        self._unsubscribe: list[Callable[[], None]] = []

    # --- start and stop ------------------------------------------------------------------------

    async def start(self) -> None:
        self._unsubscribe = [
            self._bus.subscribe(self._on_event),
            self._bus.watch_commits(self.presence.introduce),
            self._bus.watch_sessions(self.session_watch.recheck_soon),
        ]
        await self.session_watch.start()

    async def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        await self.session_watch.stop()
        self.typing_indicator.close()
        self.close_connections()
        await self.presence.close()

    def close_connections(self) -> None:
        """Close every socket (the server is stopping); clients reconnect and resume."""
        self.registry.close_all(CLOSE_GOING_AWAY, "server stopping")

    def when_gone(self, listener: Callable[[int], None]) -> None:
        """Call `listener(user_id)` when a user's last connection closes."""
        self._departures.append(listener)

    # --- connections ---------------------------------------------------------------------------

    def attach(self, connection: Connection) -> None:
        before = self.presence.status(connection.user_id)
        self.registry.add(connection)
        self.presence.changed(connection.user_id, before)

    def detach(self, connection: Connection) -> None:
        user_id = connection.user_id
        before = self.presence.status(user_id)
        if not self.registry.remove(connection):
            return
        if self.registry.online(user_id):
            self.presence.changed(user_id, before)
            return
        self.typing_indicator.user_gone(user_id)
        self.presence.went_offline(user_id, before)
        if not self.presence.online(user_id):  # not connected to another process either
            self._departed(user_id)

    def changed_elsewhere(self, user_id: int, apply: Callable[[], None]) -> None:
        """The user's status on another process changes when `apply()` runs (cluster.py)."""
        if self.presence.changed_elsewhere(user_id, apply) == "offline":
            self._departed(user_id)

    def _departed(self, user_id: int) -> None:
        for listener in list(self._departures):
            listener(user_id)

    def set_status(self, connection: Connection, status: str) -> None:
        before = self.presence.status(connection.user_id)
        connection.status = status
        self.presence.changed(connection.user_id, before)

    def online(self, user_id: int) -> bool:
        """Connected here or to another process."""
        return self.presence.online(user_id)

    def presence_snapshot(self, user_id: int) -> list[dict[str, Any]]:
        return self.presence.snapshot(user_id)

    def typing(self, user_id: int, chat_id: int, active: bool) -> None:
        self.typing_indicator.set(user_id, chat_id, active)

    # --- signals to people ---------------------------------------------------------------------

    def signal(self, user_id: int, name: str, data: SignalData) -> None:
        """Push a signal to every open connection of one user."""
        self.fanout.signal_users((user_id,), name, data)

    def signal_users(self, user_ids: Iterable[int], name: str, data: SignalData) -> None:
        """Push one signal to every open connection of these users (serialized once)."""
        self.fanout.signal_users(user_ids, name, data)

    # --- events --------------------------------------------------------------------------------

    def _on_event(self, event: EventRow) -> None:
        self.fanout.stored_event(event)
        if event.chat_id is None:
            return
        if event.type == "message.created":
            self.typing_indicator.message_sent(event)


class Everywhere:
    """Signals to connections on every process, for what one process does alone (calls: each
    lives on one process). With one process, the same as the hub's own."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def signal(self, user_id: int, name: str, data: SignalData) -> None:
        self.signal_users((user_id,), name, data)

    def signal_users(self, user_ids: Iterable[int], name: str, data: SignalData) -> None:
        self._hub.fanout.everywhere(user_ids, signal_frame(name, data))

    def online(self, user_id: int) -> bool:
        return self._hub.online(user_id)
