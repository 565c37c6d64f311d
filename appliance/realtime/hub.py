"""The hub: every open connection, fanout of committed events, presence and typing.

Stored events come from the bus after their transaction committed and go to the online
members of their chat (or to the one user they name). Presence and typing are signals: never
stored, sent only to online people who share a chat with the user and have not blocked them
(nor been blocked).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from appliance.clock import iso
from appliance.context import Hearth
from appliance.realtime.connection import (
    CLOSE_SESSION_ENDED,
    Connection,
    event_frame,
    signal_frame,
)
from appliance.services.errors import ForbiddenError
from appliance.store.events import EventRow

log = logging.getLogger(__name__)

TYPING_SECONDS = 6.0
SESSION_SWEEP_SECONDS = 30.0
PRUNE_EVERY_SWEEPS = 120  # an hour


class Hub:
    def __init__(self, context: Hearth) -> None:
        self.context = context
        self.audience = context.audience
        self._by_user: defaultdict[int, set[Connection]] = defaultdict(set)
        self._typing: dict[tuple[int, int], asyncio.TimerHandle] = {}
        self._unsubscribe = context.bus.subscribe(self._on_event)
        # Sessions ended in this process close their sockets at once; those ended by another
        # process (the CLI) at the next sweep.
        context.bus.watch_sessions(self.recheck_sessions_soon)
        self._sweeper: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_sessions(), name="ws-session-sweep")

    async def close(self) -> None:
        self._unsubscribe()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for handle in self._typing.values():
            handle.cancel()
        self._typing.clear()
        self.close_connections()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def close_connections(self) -> None:
        """Close every socket (the server is stopping); clients reconnect and resume."""
        for connections in list(self._by_user.values()):
            for connection in list(connections):
                connection.close(1001, "server stopping")

    def recheck_sessions_soon(self) -> None:
        """A session may just have been revoked: close its sockets now, not at the next sweep."""
        task = asyncio.create_task(self.check_sessions(), name="ws-session-check")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _connections(self, user_id: int | None) -> Iterable[Connection]:
        return self._by_user.get(user_id) or () if user_id is not None else ()

    def online(self, user_id: int) -> bool:
        return bool(self._by_user.get(user_id))

    # --- events ------------------------------------------------------------------------------

    def _on_event(self, event: EventRow) -> None:
        recipients = (
            self.audience.members(event.chat_id) if event.chat_id is not None else {event.user_id}
        )
        frame = event_frame(event)
        for user_id in recipients:
            for connection in self._connections(user_id):
                connection.deliver(event, frame)
        if event.type == "message.created" and event.chat_id is not None:
            self._typing_ended_by_message(event)
        elif event.type in {"chat.created", "member.added"} and event.chat_id is not None:
            self._introduce(event)

    def _introduce(self, event: EventRow) -> None:
        """People who just started sharing a chat learn each other's presence."""
        assert event.chat_id is not None
        members = self.audience.members(event.chat_id)
        if event.type == "member.added":
            newcomers = {json.loads(event.data)["user"]["id"]}
        else:
            newcomers = set(members)
        for newcomer in newcomers:
            for other in members:
                if other == newcomer or self.audience.blocked(newcomer, other):
                    continue
                for a, b in ((newcomer, other), (other, newcomer)):
                    if self.online(a) and self.online(b):
                        frame = self._presence_frame(a, self._status(a), None)
                        for connection in self._connections(b):
                            connection.push(frame)

    # --- signals to people ------------------------------------------------------------------

    def signal(self, user_id: int, name: str, data: dict[str, Any]) -> None:
        """Push a signal to every open connection of one user."""
        self.signal_users((user_id,), name, data)

    def signal_users(self, user_ids: Iterable[int], name: str, data: dict[str, Any]) -> None:
        """Push one signal to every open connection of these users (serialized once)."""
        frame: str | None = None
        for user_id in set(user_ids):
            for connection in self._connections(user_id):
                frame = frame or signal_frame(name, data)
                connection.push(frame)

    # --- connections and presence ------------------------------------------------------------

    def attach(self, connection: Connection) -> None:
        connections = self._by_user[connection.user_id]
        before = self._status(connection.user_id)
        connections.add(connection)
        if before != self._status(connection.user_id):
            self._announce(connection.user_id, self._status(connection.user_id), None)

    def detach(self, connection: Connection) -> None:
        connections = self._by_user.get(connection.user_id)
        if not connections or connection not in connections:
            return
        before = self._status(connection.user_id)
        connections.discard(connection)
        if connections:
            if before != self._status(connection.user_id):
                self._announce(connection.user_id, self._status(connection.user_id), None)
            return
        del self._by_user[connection.user_id]
        for chat_id in list(self.audience.chats_of(connection.user_id)):
            self._stop_typing(chat_id, connection.user_id)
        self.context.calls.user_disconnected(connection.user_id)
        # Detaching happens while the connection's task is being torn down: the database
        # write gets a task of its own.
        task = asyncio.create_task(self._gone_offline(connection.user_id), name="ws-offline")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _gone_offline(self, user_id: int) -> None:
        try:
            seen: int | None = await self.context.accounts.record_last_seen(user_id)
        except Exception:
            log.exception("could not record last seen for user %s", user_id)
            seen = None
        if not self._by_user.get(user_id):  # they may have come back meanwhile
            self._announce(user_id, "offline", iso(seen))

    def set_status(self, connection: Connection, status: str) -> None:
        before = self._status(connection.user_id)
        connection.status = status
        after = self._status(connection.user_id)
        if after != before:
            self._announce(connection.user_id, after, None)

    def _status(self, user_id: int) -> str:
        connections = self._by_user.get(user_id)
        if not connections:
            return "offline"
        return "online" if any(c.status == "online" for c in connections) else "away"

    @staticmethod
    def _presence_frame(user_id: int, status: str, last_seen_at: str | None) -> str:
        return signal_frame(
            "presence", {"user_id": user_id, "status": status, "last_seen_at": last_seen_at}
        )

    def _announce(self, user_id: int, status: str, last_seen_at: str | None) -> None:
        frame = self._presence_frame(user_id, status, last_seen_at)
        for peer in self.audience.peers(user_id):
            for connection in self._connections(peer):
                connection.push(frame)

    def presence_snapshot(self, user_id: int) -> list[dict[str, Any]]:
        return [
            {"user_id": peer, "status": self._status(peer), "last_seen_at": None}
            for peer in sorted(self.audience.peers(user_id))
            if self.online(peer)
        ]

    # --- typing ------------------------------------------------------------------------------

    def typing(self, user_id: int, chat_id: int, active: bool) -> None:
        if user_id not in self.audience.members(chat_id):
            raise ForbiddenError("You are not a member of this chat.", code="not_a_member")
        key = (chat_id, user_id)
        if not active:
            self._stop_typing(chat_id, user_id)
            return
        previous = self._typing.pop(key, None)
        if previous is not None:
            previous.cancel()
        else:
            self._typing_signal(chat_id, user_id, True)
        loop = asyncio.get_running_loop()
        self._typing[key] = loop.call_later(TYPING_SECONDS, self._stop_typing, chat_id, user_id)

    def _stop_typing(self, chat_id: int, user_id: int) -> None:
        handle = self._typing.pop((chat_id, user_id), None)
        if handle is not None:
            handle.cancel()
            self._typing_signal(chat_id, user_id, False)

    def _typing_ended_by_message(self, event: EventRow) -> None:
        if not any(chat_id == event.chat_id for chat_id, _ in self._typing):
            return
        sender = json.loads(event.data).get("sender_id")
        if isinstance(sender, int) and event.chat_id is not None:
            self._stop_typing(event.chat_id, sender)

    def _typing_signal(self, chat_id: int, user_id: int, active: bool) -> None:
        frame = signal_frame("typing", {"chat_id": chat_id, "user_id": user_id, "typing": active})
        for member in self.audience.members(chat_id):
            if member == user_id or self.audience.blocked(member, user_id):
                continue
            for connection in self._connections(member):
                connection.push(frame)

    # --- sessions ----------------------------------------------------------------------------

    async def _sweep_sessions(self) -> None:
        """Close connections whose session was signed out, revoked or disabled; now and then,
        forget events older than their retention."""
        sweeps = 0
        while True:
            await asyncio.sleep(SESSION_SWEEP_SECONDS)
            await self.check_sessions()
            sweeps += 1
            if sweeps % PRUNE_EVERY_SWEEPS == 0:
                try:
                    await self.context.events.prune()
                except Exception:
                    log.exception("pruning old events failed")

    async def check_sessions(self) -> None:
        connections = [c for group in self._by_user.values() for c in group]
        if not connections:
            return
        try:
            live = await self.context.sessions.live(sorted({c.session_id for c in connections}))
        except Exception:
            log.exception("checking WebSocket sessions failed")
            return
        for connection in connections:
            if connection.session_id not in live:
                connection.close(CLOSE_SESSION_ENDED, "signed out")
