"""Presence: online if any of a user's connections is, away if all are away, offline (with
when they were last seen) once the last one closes. Sent only to online people who share a
chat with the user, minus blocks either way; never stored but for `last_seen_at`.

With several processes (cluster.py), a user's connections may be spread over them: each process
shares its own connections' status (`Elsewhere`), and counts the others' in. Each process tells
the people connected to it when a user's status as a whole changes, whichever process saw it."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, cast

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


class Elsewhere(Protocol):
    """The user's connections to the other processes."""

    def statuses(self, user_id: int) -> list[str]:
        """Each other process's status for the user ("online" or "away") where they have a
        connection."""
        ...

    def last_seen(self, user_id: int) -> str | None:
        """When the user was last seen, as the process that saw them last said."""
        ...

    def share(self, user_id: int, status: str, last_seen_at: str | None) -> None:
        """Tell the other processes the user's status here ("offline": no connection)."""
        ...


class Nowhere:
    """One process: there is nowhere else."""

    def statuses(self, user_id: int) -> list[str]:
        return []

    def last_seen(self, user_id: int) -> str | None:
        return None

    def share(self, user_id: int, status: str, last_seen_at: str | None) -> None:
        pass


class SharedState(Protocol):
    """What the processes share of their users (cluster.Cluster)."""

    def share(self, kind: str, user_id: int, value: Any) -> None: ...

    def elsewhere(self, kind: str, user_id: int) -> list[Any]: ...


class Shared:
    """Elsewhere, as the other processes shared it: [status, last seen] per process."""

    def __init__(self, state: SharedState) -> None:
        self._state = state

    def statuses(self, user_id: int) -> list[str]:
        return [
            str(status)
            for status, _ in self._state.elsewhere("presence", user_id)
            if status != "offline"
        ]

    def last_seen(self, user_id: int) -> str | None:
        seen = [str(when) for _, when in self._state.elsewhere("presence", user_id) if when]
        return max(seen, default=None)

    def share(self, user_id: int, status: str, last_seen_at: str | None) -> None:
        self._state.share("presence", user_id, [status, last_seen_at])


class Presence:
    def __init__(
        self,
        registry: Registry,
        audience: Audience,
        fanout: Fanout,
        record_last_seen: RecordLastSeen,
        elsewhere: Elsewhere | None = None,
    ) -> None:
        self._registry = registry
        self._audience = audience
        self._fanout = fanout
        self._record_last_seen = record_last_seen
        self._elsewhere = elsewhere or Nowhere()
        self._writes = Background()

    def status(self, user_id: int) -> str:
        """As a whole: over this process's connections and the others'."""
        statuses = [c.status for c in self._registry.of(user_id)]
        statuses += self._elsewhere.statuses(user_id)
        if not statuses:
            return "offline"
        return "online" if "online" in statuses else "away"

    def online(self, user_id: int) -> bool:
        """Whether the user has a connection, here or to another process."""
        return self._registry.online(user_id) or bool(self._elsewhere.statuses(user_id))

    def changed(self, user_id: int, before: str) -> None:
        """One of the user's connections here came, went or changed status (and they still
        have one here): tell their peers if their status is no longer `before`."""
        now = self.status(user_id)
        if now != before:
            self._announce(user_id, now, None)
        connections = self._registry.of(user_id)
        here = "online" if any(c.status == "online" for c in connections) else "away"
        self._elsewhere.share(user_id, here, None)

    def went_offline(self, user_id: int, before: str) -> None:
        """The user's last connection here closed: note when, then tell their peers (unless
        they are back by then, or still connected elsewhere). The write gets a task of its
        own: this runs while the connection's task is being torn down."""
        now = self.status(user_id)
        if now != "offline" and now != before:  # away here, still online elsewhere
            self._announce(user_id, now, None)
        self._writes.spawn(self._offline(user_id), "ws-offline")

    async def _offline(self, user_id: int) -> None:
        try:
            seen: int | None = await self._record_last_seen(user_id)
        except Exception:
            log.exception("could not record last seen for user %s", user_id)
            seen = None
        if self._registry.online(user_id):
            return  # back already
        self._elsewhere.share(user_id, "offline", iso(seen))
        if not self.online(user_id):
            self._announce(user_id, "offline", iso(seen))

    def changed_elsewhere(self, user_id: int, apply: Callable[[], None]) -> str | None:
        """Another process's status for the user changes when `apply()` runs: tell the peers
        connected here if the user's status as a whole changed. Returns the new status if it
        did."""
        before = self.status(user_id)
        apply()
        now = self.status(user_id)
        if now == before:
            return None
        self._announce(user_id, now, self._elsewhere.last_seen(user_id) if now == "offline"
                       else None)  # fmt: skip
        return now

    def snapshot(self, user_id: int) -> list[dict[str, Any]]:
        """Who among the user's peers is online now (for the hello result)."""
        return [
            {"user_id": peer, "status": self.status(peer), "last_seen_at": None}
            for peer in sorted(self._audience.peers(user_id))
            if self.online(peer)
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
                        if self.online(a) and self._registry.online(b):  # b's sockets here
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
