"""Threads: a root message's replies, paged, and each person's read mark in a thread. Sending
a reply is `Messaging.send` with `thread_root_id`; membership of the chat is checked on every
access, as for any message."""

from __future__ import annotations

from appliance.api import shapes
from appliance.services import views
from appliance.services.chats import require_member
from appliance.services.errors import InvalidError, NotFoundError
from appliance.services.unit import Work
from appliance.store import messages, threads
from appliance.store.db import Connection, on_thread
from appliance.store.messages import MessageRow

PAGE_LIMIT = 100


def thread_not_found() -> NotFoundError:
    return NotFoundError("There is no such thread in this chat.", code="message_not_found")


class Threads:
    def __init__(self, work: Work) -> None:
        self.work = work

    async def _root(self, conn: Connection, user_id: int, chat_id: int, root_id: int) -> MessageRow:
        """The root, once the user is known to be a member of its chat."""
        await require_member(conn, chat_id, user_id)
        root = await messages.get(conn, root_id)
        if root is None or root.chat_id != chat_id or root.thread_root_id is not None:
            raise thread_not_found()
        return root

    async def replies(
        self,
        user_id: int,
        chat_id: int,
        root_id: int,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 50,
    ) -> shapes.ThreadPageOut:
        """The root and a page of its replies: the newest, or before/after a reply id."""
        if before is not None and after is not None:
            raise InvalidError("Use at most one of before and after.", field="before")
        limit = max(1, min(limit, PAGE_LIMIT))
        async with self.work.read() as conn:
            root = await self._root(conn, user_id, chat_id, root_id)
            rows, more = await messages.thread_page(
                conn, root_id, user_id, before=before, after=after, limit=limit
            )
            more_after, more_before = (more, False) if after is not None else (False, more)
            if after is not None:  # anything at or before where this page starts?
                edge = rows[0].id if rows else after + 1
                earlier, _ = await messages.thread_page(
                    conn, root_id, user_id, before=edge, limit=1
                )
                more_before = bool(earlier)
            extras = await messages.extras(conn, [root, *rows])
            unread = await on_thread(conn, threads.unread, user_id, [root_id])
            mark = await on_thread(conn, threads.read_mark, user_id, root_id)
        return shapes.ThreadPageOut(
            root=views.message(root, extras, thread_unread=unread.get(root_id, 0)),
            replies=[views.message(row, extras) for row in rows],
            has_more_before=more_before,
            has_more_after=more_after,
            last_read_id=mark,
        )

    async def mark_read(
        self, user_id: int, chat_id: int, root_id: int, message_id: int | None
    ) -> shapes.ThreadReadOut:
        """Move the user's read mark in the thread up to `message_id` (default: its latest
        reply); their other devices hear thread.read."""
        async with self.work.unit() as (tx, outbox):
            await self._root(tx, user_id, chat_id, root_id)
            latest = await on_thread(tx, threads.last_reply_id, root_id)
            upto = latest if message_id is None else min(message_id, latest)
            mark = await on_thread(tx, threads.mark_read, user_id, root_id, upto)
            data = shapes.ThreadReadOut(chat_id=chat_id, root_id=root_id, last_read_id=mark)
            await outbox.event(tx, "thread.read", data, user_id=user_id)
        return data
