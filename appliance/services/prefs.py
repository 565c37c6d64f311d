"""Each member's own view of a chat: mute, archive, clear history, delete a direct chat for
themselves; and starred messages. Nobody else sees any of it: changes are told only to the
member's own devices (chat.prefs, message.starred, message.unstarred), so all their tabs follow.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from appliance.api import shapes
from appliance.clock import DAY_MS, HOUR_MS
from appliance.services import views
from appliance.services.chats import require_member
from appliance.services.errors import InvalidError
from appliance.services.messaging import message_not_found
from appliance.services.ratelimit import Limits
from appliance.services.unit import Outbox, Work
from appliance.store import messages, prefs
from appliance.store.chats import ChatRow
from appliance.store.db import Connection
from appliance.store.prefs import PrefsRow

Mute = Literal["8h", "week", "always", "off"]
# "Always" is a time no clock reaches: 9999-12-31T23:59:59.000Z.
MUTED_ALWAYS = 253_402_300_799_000
MUTE_FOR = {"8h": 8 * HOUR_MS, "week": 7 * DAY_MS}
STARRED_LIMIT = 200


class ChatPrefs:
    def __init__(self, work: Work, limits: Limits) -> None:
        self.work = work
        self.limits = limits

    async def muted(self, user_id: int, chat_id: int) -> bool:
        """Whether the member muted the chat (and the mute has not run out)."""
        async with self.work.read() as conn:
            row = await prefs.get(conn, chat_id, user_id)
        return row.muted_until is not None and row.muted_until > self.work.clock.now_ms()

    async def change(
        self, user_id: int, chat_id: int, *, mute: Mute | None, archive: bool | None
    ) -> shapes.ChatPrefsOut:
        """Mute for 8 hours, a week, always, or unmute; archive or unarchive."""
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            chat, _ = await require_member(tx, chat_id, user_id)
            row = await prefs.get(tx, chat.id, user_id)
            if mute is not None:
                until = None
                if mute == "always":
                    until = MUTED_ALWAYS
                elif mute != "off":
                    until = outbox.now + MUTE_FOR[mute]
                row = dataclasses.replace(row, muted_until=until)
            if archive is not None:
                through = (chat.last_message_id or 0) if archive else None
                row = dataclasses.replace(row, archived_through=through)
            return await self._save(tx, outbox, chat, row)

    async def clear(self, user_id: int, chat_id: int) -> shapes.ChatPrefsOut:
        """Clear the chat's history for this member: what is there now is gone for them."""
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            chat, _ = await require_member(tx, chat_id, user_id)
            row = await prefs.get(tx, chat.id, user_id)
            row = dataclasses.replace(row, cleared_through=chat.last_message_id or 0)
            return await self._save(tx, outbox, chat, row)

    async def delete_for_me(self, user_id: int, chat_id: int) -> shapes.ChatPrefsOut:
        """A direct chat gone from this member's list, its history cleared; a new message
        brings it back (with that message only). Groups are left instead."""
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            chat, _ = await require_member(tx, chat_id, user_id)
            if chat.kind != "direct":
                raise InvalidError(
                    "Only a direct chat can be deleted for you; leave a group instead.",
                    code="not_direct",
                )
            last = chat.last_message_id or 0
            row = await prefs.get(tx, chat.id, user_id)
            row = dataclasses.replace(
                row, cleared_through=last, hidden_through=last, archived_through=None
            )
            return await self._save(tx, outbox, chat, row)

    async def _save(
        self, tx: Connection, outbox: Outbox, chat: ChatRow, row: PrefsRow
    ) -> shapes.ChatPrefsOut:
        await prefs.put(tx, row)
        view = views.chat_prefs(chat, row)
        await outbox.event(tx, "chat.prefs", view, user_id=row.user_id)
        return view

    # --- stars -------------------------------------------------------------------------------

    async def star(self, user_id: int, message_id: int, *, starred: bool) -> None:
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            message = await messages.get(tx, message_id)
            if message is None:
                raise message_not_found()
            await require_member(tx, message.chat_id, user_id)
            if starred:
                if message.deleted:
                    raise InvalidError("This message was deleted.", code="message_deleted")
                changed = await prefs.star(tx, user_id, message.id, outbox.now)
            else:
                changed = await prefs.unstar(tx, user_id, message.id)
            if changed:
                await outbox.event(
                    tx,
                    "message.starred" if starred else "message.unstarred",
                    shapes.StarOut(message_id=message.id, chat_id=message.chat_id),
                    user_id=user_id,
                )

    async def starred(self, user_id: int) -> shapes.MessagesOut:
        """The user's starred messages, latest starred first."""
        async with self.work.read() as conn:
            ids = await prefs.starred_ids(conn, user_id, STARRED_LIMIT)
            rows = await messages.by_ids(conn, ids)
            ordered = [rows[i] for i in ids if i in rows]
            extras = await messages.extras(conn, ordered)
        return shapes.MessagesOut(messages=[views.message(row, extras) for row in ordered])
