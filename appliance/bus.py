"""In-process publish/subscribe for what a committed unit of work announces: its events, access
it took away, sessions it ended. Services announce after their transaction commits; the
realtime hub and the calls service listen. Listeners run synchronously and must not block.

With several Hearth processes (relay.py), every process publishes every unit's announcement
on its own bus, whichever process committed it; a subscriber that must act once per event
(an email) subscribes `here_only`, and hears only what its own process committed."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from appliance.store.events import EventRow

log = logging.getLogger(__name__)

Subscriber = Callable[[EventRow], None]


@dataclass(frozen=True, slots=True)
class AccessLost:
    """Access to chats that one committed unit of work took away. The audience already shows
    it when this is announced."""

    left: tuple[tuple[int, int], ...] = ()  # (chat, user): removed from the chat, or left it
    dropped: tuple[int, ...] = ()  # chats deleted
    blocked: tuple[tuple[int, int], ...] = ()  # (blocker, blocked)

    def __bool__(self) -> bool:
        return bool(self.left or self.dropped or self.blocked)


@dataclass(slots=True)
class Announcement:
    """A committed unit's news (as services/unit.Outbox holds it), and who committed it."""

    node: str
    events: list[EventRow] = field(default_factory=list)
    joined: list[tuple[int, int]] = field(default_factory=list)
    left: list[tuple[int, int]] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    blocked: list[tuple[int, int]] = field(default_factory=list)
    unblocked: list[tuple[int, int]] = field(default_factory=list)
    sessions_ended: bool = False

    def __bool__(self) -> bool:
        """Whether there is anything to tell."""
        return bool(
            self.events or self.joined or self.left or self.dropped or self.blocked
            or self.unblocked or self.sessions_ended
        )  # fmt: skip

    def encode(self) -> str:
        return json.dumps(self._raw())

    @staticmethod
    def encode_many(many: list[Announcement]) -> str:
        """Several announcements as one text (a process's units committed together)."""
        return json.dumps([each._raw() for each in many])

    def _raw(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "events": [[e.seq, e.chat_id, e.user_id, e.type, e.data] for e in self.events],
            "joined": self.joined, "left": self.left, "dropped": self.dropped,
            "blocked": self.blocked, "unblocked": self.unblocked,
            "sessions_ended": self.sessions_ended,
        }  # fmt: skip

    @classmethod
    def decode(cls, text: str | bytes) -> Announcement:
        return cls._from_raw(json.loads(text))

    @classmethod
    def decode_many(cls, text: str | bytes) -> list[Announcement]:
        return [cls._from_raw(raw) for raw in json.loads(text)]

    @classmethod
    def _from_raw(cls, raw: dict[str, Any]) -> Announcement:
        def pairs(key: str) -> list[tuple[int, int]]:
            return [(int(a), int(b)) for a, b in raw.get(key, [])]

        return cls(
            node=str(raw["node"]),
            events=[EventRow(int(s), c, u, str(t), str(d)) for s, c, u, t, d in raw["events"]],
            joined=pairs("joined"),
            left=pairs("left"),
            dropped=[int(c) for c in raw.get("dropped", [])],
            blocked=pairs("blocked"),
            unblocked=pairs("unblocked"),
            sessions_ended=bool(raw.get("sessions_ended")),
        )


class Bus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._here_only: list[Subscriber] = []
        self._commit_watchers: list[Callable[[Sequence[EventRow]], None]] = []
        self._access_watchers: list[Callable[[AccessLost], None]] = []
        self._session_watchers: list[Callable[[], None]] = []

    def subscribe(self, subscriber: Subscriber, *, here_only: bool = False) -> Callable[[], None]:
        chosen = self._here_only if here_only else self._subscribers
        chosen.append(subscriber)
        return lambda: chosen.remove(subscriber)

    def watch_commits(self, watcher: Callable[[Sequence[EventRow]], None]) -> Callable[[], None]:
        """Call `watcher` once per published commit with all its events, after each event went
        to the subscribers (for work that looks at a commit as a whole). Returns the unwatch."""
        self._commit_watchers.append(watcher)
        return lambda: self._commit_watchers.remove(watcher)

    def publish(self, events: Sequence[EventRow], *, here: bool = True) -> None:
        """The events of one commit, in order; `here`: this process committed it."""
        for event in events:
            for subscriber in [*self._subscribers, *(self._here_only if here else ())]:
                try:
                    subscriber(event)
                except Exception:
                    log.exception("event subscriber failed on %s", event.type)
        if events:
            for watcher in list(self._commit_watchers):
                try:
                    watcher(events)
                except Exception:
                    log.exception("commit watcher failed")

    def watch_access(self, watcher: Callable[[AccessLost], None]) -> Callable[[], None]:
        """Call `watcher` whenever a committed change took access to chats away (someone
        removed from a chat or leaving it, a chat deleted, a block). Returns the unwatch."""
        self._access_watchers.append(watcher)
        return lambda: self._access_watchers.remove(watcher)

    def access_lost(self, lost: AccessLost) -> None:
        for watcher in list(self._access_watchers):
            try:
                watcher(lost)
            except Exception:
                log.exception("access watcher failed")

    def watch_sessions(self, watcher: Callable[[], None]) -> Callable[[], None]:
        """Call `watcher` whenever sessions were ended (sign-out, revoked device, password
        change or reset, disabled account), once that has committed. Returns the unwatch."""
        self._session_watchers.append(watcher)
        return lambda: self._session_watchers.remove(watcher)

    def sessions_ended(self) -> None:
        for watcher in list(self._session_watchers):
            try:
                watcher()
            except Exception:
                log.exception("session watcher failed")
