"""Activity: one list of what concerns a person across their chats, newest first (mentions of
them, replies to their messages, reactions to their messages, replies in threads they follow,
calls they missed), with how far they have looked.

The items are read from where they are stored (store/activity.py), so a deleted, hidden or
cleared message, a chat left and a person blocked drop out with no bookkeeping. After a commit
that adds an item, the people it concerns who are online get the `activity` signal with their
new unread count; marking read is the stored event activity.read to their own devices, so
every tab and device clears its badge, and a device that was away learns it on resume.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Protocol

from appliance.api import shapes
from appliance.clock import to_datetime
from appliance.lifecycle import Background
from appliance.services import views
from appliance.services.audience import Audience
from appliance.services.unit import Work
from appliance.store import activity, messages
from appliance.store.events import EventRow

log = logging.getLogger(__name__)

UNREAD_CAP = 100  # shown as "99+"


class People(Protocol):
    """Who is online, and a signal to one person's connections (the realtime Hub)."""

    def online(self, user_id: int) -> bool: ...

    def signal(self, user_id: int, name: str, data: shapes.ActivityReadOut) -> None: ...


class Activity:
    def __init__(self, work: Work, audience: Audience, people: People) -> None:
        self.work = work
        self._audience = audience
        self._people = people
        self._telling = Background()

    async def page(self, user_id: int, *, cursor: str | None, limit: int) -> shapes.ActivityOut:
        before = _parse(cursor)
        async with self.work.read() as conn:
            rows = await activity.items(conn, user_id, before=before, limit=limit)
            read_at = await activity.read_at(conn, user_id)
            unread = await activity.unread(conn, user_id, read_at, UNREAD_CAP)
            found = await messages.by_ids(conn, sorted({row.message_id for row in rows}))
            extras = await messages.extras(conn, list(found.values()))
        items = [
            shapes.ActivityItemOut(
                kind=row.kind,
                at=to_datetime(row.at),
                chat_id=row.chat_id,
                actor_id=row.actor_id,
                emoji=row.emoji,
                message=views.message(found[row.message_id], extras),
                unread=row.at > read_at,
            )
            for row in rows
            if row.message_id in found
        ]
        last = rows[-1] if len(rows) == limit else None
        return shapes.ActivityOut(
            items=items,
            unread=unread,
            read_at=to_datetime(read_at),
            next_cursor=None if last is None else f"{last.at}.{last.message_id}",
        )

    async def mark_read(self, user_id: int, up_to: datetime | None) -> shapes.ActivityReadOut:
        """Everything up to `up_to` (at most now) is seen; told to the person's devices."""
        async with self.work.unit() as (tx, outbox):
            at = outbox.now if up_to is None else min(int(up_to.timestamp() * 1000), outbox.now)
            moved = await activity.mark_read(tx, user_id, at)
            read_at = moved if moved is not None else await activity.read_at(tx, user_id)
            view = shapes.ActivityReadOut(
                read_at=to_datetime(read_at),
                unread=await activity.unread(tx, user_id, read_at, UNREAD_CAP),
            )
            if moved is not None:
                await outbox.event(tx, "activity.read", view, user_id=user_id)
        return view

    # --- telling people as it happens -------------------------------------------------------

    def on_event(self, event: EventRow) -> None:
        """A bus subscriber: who a committed message or reaction concerns, told their count."""
        if event.type == "message.created":
            message = json.loads(event.data)
            sender = message.get("sender_id")
            concerned = set(message.get("mentions") or ())
            reply = message.get("reply_to")
            if reply and reply.get("sender_id"):
                concerned.add(reply["sender_id"])
            call = message.get("call")
            if message.get("kind") == "call" and call:
                took_part = set(call.get("participants") or ())
                concerned |= set(self._audience.members(message["chat_id"])) - took_part
            self._tell(concerned - {sender})
            root = message.get("thread_root_id")
            if root:
                self._telling.spawn(self._tell_followers(root, sender), "activity-thread")
        elif event.type == "reaction.added":
            reaction = json.loads(event.data)
            self._telling.spawn(
                self._tell_author(reaction["message_id"], reaction["user_id"]), "activity-reaction"
            )

    async def _tell_author(self, message_id: int, reactor: int) -> None:
        async with self.work.read() as conn:
            author = await activity.message_sender(conn, message_id)
        if author is not None and author != reactor:
            self._tell({author})

    async def _tell_followers(self, root_id: int, sender: int | None) -> None:
        async with self.work.read() as conn:
            followers = await activity.thread_followers(conn, root_id)
        self._tell(followers - {sender})

    def _tell(self, user_ids: set[int]) -> None:
        for user_id in user_ids:
            if self._people.online(user_id):
                self._telling.spawn(self._tell_count(user_id), "activity-count")

    async def _tell_count(self, user_id: int) -> None:
        async with self.work.read() as conn:
            read_at = await activity.read_at(conn, user_id)
            unread = await activity.unread(conn, user_id, read_at, UNREAD_CAP)
        self._people.signal(
            user_id, "activity", shapes.ActivityReadOut(read_at=to_datetime(read_at), unread=unread)
        )

    async def stop(self) -> None:
        await self._telling.cancel()


def _parse(cursor: str | None) -> tuple[int, int] | None:
    if cursor is None:
        return None
    at, message_id = cursor.split(".")
    return int(at), int(message_id)
