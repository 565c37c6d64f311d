"""A unit of work: one write transaction, what it records, and what follows its commit.

    async with self.work.unit() as (tx, outbox):
        ...store calls with tx...
        await outbox.event(tx, "message.updated", view, chat_id=chat.id)
        outbox.joined.append((chat_id, user_id))

Leaving the block commits (the events are in the same transaction as the change they record).
Only then does the unit update the in-memory audience, publish the events on the bus, say what
access to chats was lost (removals, deleted chats, blocks) and that sessions ended, in that
order: fanout routes by the audience, and nothing is announced for a transaction that rolled
back. No service publishes by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from appliance.api import shapes
from appliance.bus import AccessLost, Announcement, Bus
from appliance.clock import Clock
from appliance.services.audience import Audience
from appliance.services.errors import BusyError, InvalidError, StorageFullError
from appliance.store import errors as store_errors
from appliance.store import events
from appliance.store.db import Connection, Database, ThreadConnection, on_thread
from appliance.store.events import EventRow

if TYPE_CHECKING:
    from appliance.relay import Relay  # imports redis, which only a shared setup installs

T = TypeVar("T")

# How often a job on the writer's thread runs when PostgreSQL undoes it to break a deadlock
# with another process's transaction (store/errors.py ContentionError); rare, and the next
# batch no longer crosses the one that won.
TRIES = 3


def event_data(shape: BaseModel) -> str:
    """An event's stored data: the shape as JSON text, exactly as clients receive it."""
    return shape.model_dump_json(by_alias=True)


@dataclass(slots=True)
class Outbox:
    """What one unit of work announces once it has committed."""

    now: int
    events: list[EventRow] = field(default_factory=list)
    joined: list[tuple[int, int]] = field(default_factory=list)  # (chat, user)
    left: list[tuple[int, int]] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)  # chats deleted
    blocked: list[tuple[int, int]] = field(default_factory=list)  # (blocker, blocked)
    unblocked: list[tuple[int, int]] = field(default_factory=list)
    sessions_ended: bool = False

    def record(
        self,
        conn: ThreadConnection,
        type: str,
        data: BaseModel,
        *,
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        """Write an event in the open transaction, from the writer's thread. An event that
        carries a message is marked with its id, so later edits and deletes rewrite it."""
        message_id = data.id if isinstance(data, shapes.MessageOut) else None
        text = event_data(data)
        self.events.append(
            events.append(
                conn, type, text, self.now, chat_id=chat_id, user_id=user_id, message_id=message_id
            )
        )

    async def event(
        self,
        tx: Connection,
        type: str,
        data: BaseModel,
        *,
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        """Write an event in the unit's transaction."""
        await on_thread(tx, self.record, type, data, chat_id=chat_id, user_id=user_id)


class Work:
    """Reads, and units of work that cannot forget what follows a commit."""

    def __init__(self, db: Database, bus: Bus, audience: Audience, clock: Clock) -> None:
        self.db = db
        self.bus = bus
        self.audience = audience
        self.clock = clock
        # Set when several processes share the database (bus.url: redis://): announcements
        # then go through it to every process, this one included.
        self.relay: Relay | None = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """A read-only snapshot."""
        with _in_service_terms():
            async with self.db.read() as conn:
                yield conn

    @asynccontextmanager
    async def unit(self, *, now: int | None = None) -> AsyncIterator[tuple[Connection, Outbox]]:
        """A unit of work; `now` (default: the clock's) is the time its changes are stored at."""
        outbox = Outbox(self.clock.now_ms() if now is None else now)
        with _in_service_terms():
            async with self.db.write() as tx:
                yield tx, outbox
        await self._announce(outbox)

    async def unit_in_thread(self, job: Callable[[ThreadConnection, Outbox], T]) -> T:
        """A unit of work run whole on the writer's thread, in one trip: for the hottest
        writes (sending a message). Same commit and announcements as `unit()`. It runs to its
        end even if its caller is cancelled (a client that went away mid-send): a message
        stored is always announced."""
        return await asyncio.shield(self._unit_in_thread(job))

    async def _unit_in_thread(self, job: Callable[[ThreadConnection, Outbox], T]) -> T:
        for _ in range(TRIES - 1):
            with contextlib.suppress(BusyError):  # undone whole, nothing announced: again
                return await self._attempt(job)
        return await self._attempt(job)

    async def _attempt(self, job: Callable[[ThreadConnection, Outbox], T]) -> T:
        outbox = Outbox(self.clock.now_ms())
        with _in_service_terms():
            result = await self.db.write_in_thread(lambda conn: job(conn, outbox))
        await self._announce(outbox)
        return result

    async def _announce(self, outbox: Outbox) -> None:
        news = Announcement(
            self.relay.node if self.relay is not None else "",
            outbox.events, outbox.joined, outbox.left, outbox.dropped, outbox.blocked,
            outbox.unblocked, outbox.sessions_ended,
        )  # fmt: skip
        if self.relay is None:
            self.apply(news, True)
        elif news:
            await self.relay.send(news)

    def apply(self, news: Announcement, here: bool) -> None:
        """A committed unit's news, in this process: `here`, it committed here."""
        for chat_id, user_id in news.joined:
            self.audience.add(chat_id, user_id)
        for chat_id, user_id in news.left:
            self.audience.remove(chat_id, user_id)
        for chat_id in news.dropped:
            self.audience.drop_chat(chat_id)
        for blocker, blocked in news.blocked:
            self.audience.block(blocker, blocked)
        for blocker, blocked in news.unblocked:
            self.audience.unblock(blocker, blocked)
        self.bus.publish(news.events, here=here)
        lost = AccessLost(tuple(news.left), tuple(news.dropped), tuple(news.blocked))
        if lost:
            self.bus.access_lost(lost)
        if news.sessions_ended:
            self.bus.sessions_ended()


@contextmanager
def _in_service_terms() -> Iterator[None]:
    """The store's errors a caller can act on, as the services' errors."""
    try:
        yield
    except store_errors.StorageFullError as error:
        raise StorageFullError() from error
    except store_errors.UnstorableTextError as error:
        raise InvalidError(str(error)) from error
    except store_errors.ContentionError as error:
        raise BusyError() from error
