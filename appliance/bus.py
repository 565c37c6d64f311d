"""In-process publish/subscribe for committed events (a Redis backend could sit behind the
same two methods). Services publish after their transaction commits; the realtime hub
subscribes and fans out. Subscribers run synchronously and must not block."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from appliance.store.events import EventRow

log = logging.getLogger(__name__)

Subscriber = Callable[[EventRow], None]


class Bus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._commit_watchers: list[Callable[[Sequence[EventRow]], None]] = []
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
