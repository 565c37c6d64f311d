"""Profile and group pictures: made by `Files.picture` (a square WebP, no metadata), set on
the person or the chat in the same job on the writer's thread, and announced so that every
screen showing them updates. A picture replaced or removed is a file nobody uses any more:
the file sweep removes it after its grace period."""

from __future__ import annotations

from collections.abc import AsyncIterable

from appliance.api import shapes
from appliance.services import views
from appliance.services.accounts import announce_profile
from appliance.services.chats import refused, require_manager, require_member
from appliance.services.files import Files
from appliance.services.unit import Outbox, Work
from appliance.store import chats, users
from appliance.store.chats import Refusal
from appliance.store.db import ThreadConnection
from appliance.store.files import FileRow

CHAT_ACTION = "change the chat's picture"


class Avatars:
    def __init__(self, work: Work, files: Files) -> None:
        self.work = work
        self.files = files

    # --- your own picture --------------------------------------------------------------------

    async def set_mine(
        self, user_id: int, body: AsyncIterable[bytes], *, length: int | None
    ) -> shapes.MeOut:
        def attach(conn: ThreadConnection, outbox: Outbox, row: FileRow) -> shapes.MeOut:
            return _show_user(conn, outbox, user_id, row.id)

        return await self.files.picture(user_id, body, length, attach)

    async def remove_mine(self, user_id: int) -> shapes.MeOut:
        return await self.work.unit_in_thread(
            lambda conn, outbox: _show_user(conn, outbox, user_id, None)
        )

    # --- a group's or channel's picture ------------------------------------------------------

    async def set_chat(
        self, user_id: int, chat_id: int, body: AsyncIterable[bytes], *, length: int | None
    ) -> shapes.ChatFieldsOut:
        # Checked before the body is read (a refusal costs no upload), and again in the job.
        async with self.work.read() as conn:
            chat, member = await require_member(conn, chat_id, user_id)
            require_manager(chat, member, CHAT_ACTION)

        def attach(conn: ThreadConnection, outbox: Outbox, row: FileRow) -> shapes.ChatFieldsOut:
            return _show_chat(conn, outbox, user_id, chat_id, row.id)

        return await self.files.picture(user_id, body, length, attach)

    async def remove_chat(self, user_id: int, chat_id: int) -> shapes.ChatFieldsOut:
        return await self.work.unit_in_thread(
            lambda conn, outbox: _show_chat(conn, outbox, user_id, chat_id, None)
        )


def _show_user(
    conn: ThreadConnection, outbox: Outbox, user_id: int, file_id: int | None
) -> shapes.MeOut:
    """Set the picture and tell everyone who may show it."""
    user = users.set_avatar(conn, user_id, file_id, outbox.now)
    announce_profile(conn, outbox, user)
    return views.me(user)


def _show_chat(
    conn: ThreadConnection, outbox: Outbox, user_id: int, chat_id: int, file_id: int | None
) -> shapes.ChatFieldsOut:
    found = chats.membership(conn, chat_id, user_id)
    if isinstance(found, Refusal):
        raise refused(found)
    require_manager(*found, CHAT_ACTION)
    view = views.chat_fields(chats.set_avatar(conn, chat_id, file_id))
    outbox.record(conn, "chat.updated", view, chat_id=chat_id)
    return view
