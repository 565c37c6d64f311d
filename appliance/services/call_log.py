"""The record of calls in SQLite: each call, each stint of each participant, and, when a call
ends, one message of kind "call" in its chat with its message.created event, in the same
transaction as the end (so the log is in the history, counts as unread and replays).

Each write method's first await is a unit of work's `db.write()`, and the calls service calls it in the same
step as the transition it records. The single writer takes writers in the order they come, so
the stored stints and ends follow the order in which the transitions were decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from appliance.services import views
from appliance.services.call_state import call_not_found
from appliance.services.chats import refused, require_member
from appliance.services.unit import Outbox, Work
from appliance.store import calls, chats, messages, sessions, users
from appliance.store.calls import CallRow
from appliance.store.chats import ChatRow, MemberRow
from appliance.store.db import Connection, on_thread

HISTORY_LIMIT = 100


class CallLog:
    def __init__(self, work: Work) -> None:
        self.work = work

    # --- reading -------------------------------------------------------------------------------

    async def chat_to_call(self, chat_id: int, user_id: int) -> tuple[ChatRow, list[int]]:
        """The chat `user_id` wants to call in, and its members; refused to outsiders, and in a
        direct chat by the rule for sending into it (a block, or contacts only)."""
        async with self.work.read() as conn:
            chat, _ = await require_member(conn, chat_id, user_id)
            refusal = await on_thread(conn, chats.send_refusal, chat, user_id)
            if refusal is not None:
                raise refused(refusal)
            members = [row.user_id for row in await chats.members(conn, chat_id)]
        return chat, members

    async def member(self, call_id: int, user_id: int, chat_id: int | None) -> MemberRow:
        """`user_id`'s membership of the call's chat (`chat_id` when already known)."""
        async with self.work.read() as conn:
            if chat_id is None:
                row = await calls.get(conn, call_id)
                if row is None:
                    raise call_not_found()
                chat_id = row.chat_id
            _, member = await require_member(conn, chat_id, user_id)
        return member

    async def signed_in(self, user_ids: Iterable[int], now: int) -> set[int]:
        """Those of `user_ids` still signed in somewhere: an enabled account with a live
        session."""
        found: set[int] = set()
        async with self.work.read() as conn:
            for user_id in sorted(set(user_ids)):
                user = await users.get(conn, user_id)
                if user is None or user.disabled:
                    continue
                if await sessions.list_live(conn, user_id, now):
                    found.add(user_id)
        return found

    async def get(self, user_id: int, call_id: int) -> CallRow:
        async with self.work.read() as conn:
            row = await calls.get(conn, call_id)
            if row is None:
                raise call_not_found()
            await require_member(conn, row.chat_id, user_id)
        return row

    async def history(self, user_id: int, chat_id: int | None, limit: int) -> list[CallRow]:
        async with self.work.read() as conn:
            if chat_id is not None:
                await require_member(conn, chat_id, user_id)
            return await calls.for_user(
                conn, user_id, chat_id=chat_id, limit=max(1, min(limit, HISTORY_LIMIT))
            )

    async def unfinished_for(self, user_id: int) -> list[CallRow]:
        """Calls not yet ended in the user's chats."""
        async with self.work.read() as conn:
            return await calls.for_user(conn, user_id, ongoing=True, limit=HISTORY_LIMIT)

    # --- writing -------------------------------------------------------------------------------

    async def started(self, chat_id: int, kind: str, user_id: int, now: int) -> CallRow:
        async with self.work.unit() as (tx, _):
            row = await calls.create(tx, chat_id=chat_id, kind=kind, started_by=user_id, now=now)
            await calls.joined(tx, row.id, user_id, now)
        return row

    async def joined(self, call_id: int, user_id: int, now: int, *, answering: bool) -> None:
        async with self.work.unit() as (tx, _):
            await calls.joined(tx, call_id, user_id, now)
            if answering:
                await calls.answer(tx, call_id, now)

    async def left(self, call_id: int, user_id: int, now: int) -> None:
        async with self.work.unit() as (tx, _):
            await calls.left(tx, call_id, user_id, now)

    async def ended(self, call_id: int, outcome: str, now: int) -> CallRow | None:
        """Store the end and the call-log message with its event, in one transaction; None
        when it had ended already, or its chat was deleted meanwhile."""
        async with self.work.unit(now=now) as (tx, outbox):  # when it ended, by the calls clock
            row = await calls.finish(tx, call_id, now=outbox.now, outcome=outcome)
            if row is not None:
                row = await self._log(tx, outbox, row)
        return row

    async def end_interrupted(self, now: int) -> int:
        """At start: calls a stopped server left open end now, each with its log message.
        Returns how many."""
        left_open = await self.unfinished()
        for row in left_open:
            await self.ended(row.id, natural_outcome(row), now)
        return len(left_open)

    async def unfinished(self) -> list[CallRow]:
        """Every call not ended in the log."""
        async with self.work.read() as conn:
            return await calls.unfinished(conn)

    async def unfinished_chat(self, call_id: int) -> int | None:
        """The chat of this call if it is not over in the log."""
        async with self.work.read() as conn:
            row = await calls.get(conn, call_id)
        return None if row is None or row.ended_at is not None else row.chat_id

    async def _log(self, tx: Connection, outbox: Outbox, row: CallRow) -> CallRow:
        message = await messages.create(
            tx, chat_id=row.chat_id, sender_id=row.started_by, client_id=None, body="",
            now=outbox.now, kind="call",
        )  # fmt: skip
        assert message is not None  # no client_id to collide on
        await calls.set_message(tx, row.id, message.id)
        row = replace(row, message_id=message.id)
        extras = messages.Extras(
            calls={message.id: row}, took_part=await calls.took_part(tx, [row.id])
        )
        view = views.message(message, extras)
        await outbox.event(tx, "message.created", view, chat_id=row.chat_id)
        return row


def natural_outcome(row: CallRow) -> str:
    """How a call that was cut short ended: completed if someone answered, else missed."""
    return "completed" if row.answered_at is not None else "missed"
