"""The event log as clients see it: where it stands, what one person missed, and forgetting
what is older than the retention window (a client resuming from before that reloads)."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.clock import DAY_MS
from appliance.services.unit import Work
from appliance.store import events
from appliance.store.events import EventRow


@dataclass(frozen=True, slots=True)
class Position:
    latest: int  # the newest seq (kept across pruning)
    pruned_through: int  # events up to this seq are gone


class EventLog:
    def __init__(self, work: Work, retention_days: int) -> None:
        self.work = work
        self.retention_ms = retention_days * DAY_MS

    async def position(self) -> Position:
        async with self.work.read() as conn:
            return Position(await events.latest_seq(conn), await events.pruned_through(conn))

    async def missed(self, user_id: int, after: int, limit: int) -> list[EventRow]:
        """Up to `limit` events after seq `after` for `user_id`: their own, and those of the
        chats they are in now."""
        async with self.work.read() as conn:
            return await events.for_user_since(conn, user_id, after, limit)

    async def prune(self) -> int:
        """Forget events older than the retention window; returns how many."""
        async with self.work.unit() as (tx, outbox):
            return await events.prune(tx, outbox.now - self.retention_ms)
