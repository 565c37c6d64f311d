"""What each committed unit of work announces, carried to every Hearth process through Redis
(`bus.url: redis://...`; issue 10, docs/scale-out.md).

One process announces in memory: right after its commit, a unit updates the audience and
publishes its events to the local bus (services/unit.py). With several processes on one
database, every process must do that for every unit, whoever committed it, and in the order
the events are numbered, or a client on one process would see a message before the news that
it may see that chat. So a unit's announcement goes on one Redis stream, and each process (the
sending one too) reads the stream and applies the announcements in event order:

- The database numbers events in commit order (postgres.WRITE_LOCK), so when an announcement
  for events from N arrives, every event below N that will ever exist is committed.
- Two processes append to the stream after their commits, so their announcements may arrive
  out of order: one that is early waits (a moment) for those below it. A number below it
  that is not in the database is a rolled-back write; nothing waits for it.
- An announcement that never comes (its process died between commit and append, or Redis lost
  it) is made up from the database after `GAP_WAIT`: its events are read back, and the audience
  reloaded, since what it said about memberships is lost.

Announcements without events (sessions ended) apply as they arrive.

The units a process commits together (one batch) append together: while one append is on its
way, the next units' announcements gather, and go as one stream entry (field `b`, a list; a
lone one goes as field `a`, as before). Under load that is one Redis append and one entry to
read per batch, not per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from appliance.bus import Announcement
from appliance.store import events as event_store
from appliance.store.db import Database

log = logging.getLogger(__name__)

GAP_WAIT = 2.0  # seconds an announcement waits for those numbered below it
SEND_WAIT = 2.0  # seconds a unit waits to see its own announcement applied here
STREAM_LENGTH = 10_000  # entries Redis keeps (approximately): enough for any reader that lags
RECONNECT_DELAY = 0.5


# Applies one announcement here; `local`: this process committed it.
Apply = Callable[[Announcement, bool], None]


class Relay:
    def __init__(
        self,
        url: str,
        db: Database,
        apply: Apply,
        reload_audience: Callable[[], Any],
        *,
        prefix: str = "hearth",
        node: str | None = None,
    ) -> None:
        self.node = node or secrets.token_hex(6)
        self._url = url
        self._db = db
        self._apply = apply
        self._reload_audience = reload_audience
        self._stream = f"{prefix}:commits"
        self._redis: Any = None  # redis.asyncio.Redis (its replies are loosely typed)
        self._reader: asyncio.Task[None] | None = None
        self._through = 0  # every event up to this number is applied here
        self._early: dict[int, Announcement] = {}  # by first event number
        self._waiting_since: float | None = None
        self._applied: dict[str, list[asyncio.Future[None]]] = {}  # entries this node sent
        self._outgoing: list[tuple[Announcement, asyncio.Future[None]]] = []  # to append
        self._sender: asyncio.Task[None] | None = None
        self._position = "0-0"  # the last stream entry read
        self.filled = 0  # events read back from the database (announcements lost)
        self._down = False  # Redis did not answer the last read

    async def start(self) -> None:
        self._redis = aioredis.Redis.from_url(self._url, decode_responses=True)
        last = await self._redis.xrevrange(self._stream, count=1)
        position = str(last[0][0]) if last else "0-0"
        async with self._db.read() as conn:
            self._through = await event_store.latest_seq(conn)
        await self._reload_audience()  # after the stream's end was read: nothing in between
        self._position = position
        self._reader = asyncio.create_task(self._read(position), name="relay-reader")

    async def stop(self) -> None:
        for task in (self._reader, self._sender):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        waiters = [w for group in self._applied.values() for w in group]
        _release(waiters + [w for _, w in self._outgoing])  # their units committed: return
        if self._redis is not None:
            await self._redis.aclose()

    async def send(self, announcement: Announcement) -> None:
        """Append a committed unit's announcement; return once this process applied it (or
        after SEND_WAIT: what was committed is delivered whenever Redis lets it)."""
        assert self._redis is not None
        waiter = asyncio.get_running_loop().create_future()
        self._outgoing.append((announcement, waiter))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._append(), name="relay-sender")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), SEND_WAIT)

    async def _append(self) -> None:
        """Append what gathered, one entry at a time, until nothing is left to append."""
        while self._outgoing:
            group, self._outgoing = self._outgoing, []
            many = [announcement for announcement, _ in group]
            waiters = [waiter for _, waiter in group]
            fields = (
                {"a": many[0].encode()} if len(many) == 1
                else {"b": Announcement.encode_many(many)}
            )  # fmt: skip
            try:
                entry = await self._redis.xadd(
                    self._stream, fields, maxlen=STREAM_LENGTH, approximate=True
                )
            except RedisError as error:
                log.warning("could not tell the other processes of a commit (%s); they will "
                            "read it from the database", error)  # fmt: skip
                _release(waiters)
                continue
            key = str(entry)
            if _stream_order(key) <= _stream_order(self._position):
                _release(waiters)  # read and applied already, while the append was answered
            else:
                self._applied.setdefault(key, []).extend(waiters)

    async def _read(self, position: str) -> None:
        assert self._redis is not None
        while True:
            try:
                timeout = self._gap_timeout_ms()
                found = await self._redis.xread({self._stream: position}, block=timeout, count=256)
            except RedisError as error:
                if not self._down:  # once per outage, not every retry
                    self._down = True
                    log.warning("reading commits from Redis failed (%s); retrying", error)
                await asyncio.sleep(RECONNECT_DELAY)
                continue
            if self._down:
                self._down = False
                log.warning("reading commits from Redis works again")
            if not found:
                await self._idle()
            for _, entries in found:
                for entry_id, fields in entries:
                    position = str(entry_id)
                    try:
                        many = (
                            Announcement.decode_many(fields["b"]) if "b" in fields
                            else [Announcement.decode(fields["a"])]
                        )  # fmt: skip
                    except (KeyError, ValueError, TypeError):
                        log.error("a commit announcement could not be read: %r", fields)
                        continue
                    for announcement in many:
                        await self._arrived(announcement)
                    self._position = position
                    _release(self._applied.pop(position, []))
            if self._applied:  # entries passed unread (trimmed, or Redis lost them)
                at = _stream_order(self._position)
                for key in [k for k in self._applied if _stream_order(k) <= at]:
                    _release(self._applied.pop(key))
            await self._drain()

    def _gap_timeout_ms(self) -> int:
        if self._waiting_since is None:
            return 1000
        left = self._waiting_since + GAP_WAIT - asyncio.get_running_loop().time()
        return max(1, int(left * 1000))

    async def _arrived(self, announcement: Announcement) -> None:
        local = announcement.node == self.node
        if not announcement.events:
            self._apply(announcement, local)
            return
        if announcement.events[-1].seq <= self._through:
            return  # already applied, or made up from the database
        self._early[announcement.events[0].seq] = announcement
        await self._drain()

    async def _drain(self) -> None:
        """Apply what can be applied in event order; wait (up to GAP_WAIT) for the rest."""
        while self._early:
            first = min(self._early)
            if first <= self._through + 1:
                announcement = self._early.pop(first)
                self._apply(announcement, announcement.node == self.node)
                self._through = max(self._through, announcement.events[-1].seq)
                self._waiting_since = None
                continue
            if not await self._gap_closed(first):
                return  # its announcement is on its way

    async def _idle(self) -> None:
        """Nothing came for a while: events committed meanwhile whose announcements were lost
        (Redis restarted, a process died after its commit) are read back after GAP_WAIT."""
        if self._early:
            return
        async with self._db.read() as conn:
            latest = await event_store.latest_seq(conn)
        if latest > self._through:
            await self._gap_closed(latest + 1)

    async def _gap_closed(self, first: int) -> bool:
        """Whether nothing numbered between what was applied and `first` is left to wait for:
        numbers never committed are skipped; committed events still unannounced after
        GAP_WAIT are read back from the database."""
        async with self._db.read() as conn:
            missing = await event_store.between(conn, self._through, first)
        if missing:
            now = asyncio.get_running_loop().time()
            if self._waiting_since is None:
                self._waiting_since = now
            if now - self._waiting_since < GAP_WAIT:
                return False
            log.warning(
                "events %d-%d were committed but never announced; read back from the database",
                missing[0].seq, missing[-1].seq,
            )  # fmt: skip
            await self._reload_audience()
            self._apply(Announcement(node="", events=missing), False)
            self.filled += len(missing)
        self._through = max(self._through, first - 1)
        self._waiting_since = None
        return True


def _release(waiters: list[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)


def _stream_order(entry_id: str) -> tuple[int, int]:
    """A Redis stream id ("milliseconds-sequence") as something that sorts."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
