"""The open WebSocket connections, per user."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from appliance.realtime.connection import Connection


class Registry:
    def __init__(self) -> None:
        self._by_user: defaultdict[int, set[Connection]] = defaultdict(set)

    def add(self, connection: Connection) -> None:
        self._by_user[connection.user_id].add(connection)

    def remove(self, connection: Connection) -> bool:
        """Forget `connection`; True if it was registered."""
        connections = self._by_user.get(connection.user_id)
        if not connections or connection not in connections:
            return False
        connections.discard(connection)
        if not connections:
            del self._by_user[connection.user_id]
        return True

    def of(self, user_id: int | None) -> Iterable[Connection]:
        if user_id is None:
            return ()
        return self._by_user.get(user_id) or ()

    def online(self, user_id: int) -> bool:
        return bool(self._by_user.get(user_id))

    def counts(self) -> tuple[int, int]:
        """(open connections, people with at least one)."""
        return sum(len(group) for group in self._by_user.values()), len(self._by_user)

    def all(self) -> list[Connection]:
        return [connection for group in self._by_user.values() for connection in group]

    def close_all(self, code: int, reason: str) -> None:
        for connection in self.all():
            connection.close(code, reason)
