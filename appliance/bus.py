"""In-process publish/subscribe for what a committed unit of work announces (a Redis backend
could sit behind the same methods): its events, access it took away, sessions it ended.
Services announce after their transaction commits; the realtime hub and the calls service
listen. Listeners run synchronously and must not block."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


class Bus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._commit_watchers: list[Callable[[Sequence[EventRow]], None]] = []
        self._access_watchers: list[Callable[[AccessLost], None]] = []
        self._session_watchers: list[Callable[[], None]] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def watch_commits(self, watcher: Callable[[Sequence[EventRow]], None]) -> Callable[[], None]:
        """Call `watcher` once per published commit with all its events, after each event went
        to the subscribers (for work that looks at a commit as a whole). Returns the unwatch."""
        self._commit_watchers.append(watcher)
        return lambda: self._commit_watchers.remove(watcher)

    def publish(self, events: Sequence[EventRow]) -> None:
        """The events of one commit, in order."""
        for event in events:
            for subscriber in list(self._subscribers):
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
