"""Messages: send (idempotent per client_id), history, edits, deletes, reactions, pins,
read and delivered cursors, search. REST and the WebSocket both call these methods."""

from __future__ import annotations

import re
import unicodedata
from functools import partial
from typing import Any

import aiosqlite

from appliance.bus import Bus
from appliance.clock import DAY_MS, now_ms
from appliance.config import Settings
from appliance.services import views
from appliance.services.chats import (
    MANAGERS,
    Changes,
    chat_not_found,
    display_name,
    peer_of,
    require_member,
)
from appliance.services.errors import ForbiddenError, InvalidError, NotFoundError
from appliance.services.ratelimit import RateLimiter
from appliance.store import chats, contacts, events, messages, users
from appliance.store.chats import ChatRow, MemberRow
from appliance.store.db import Database
from appliance.store.messages import MessageRow

MENTION_RE = re.compile(r"(?<![\w@])@([a-z0-9][a-z0-9_.-]{2,31})", re.IGNORECASE)
WORD_RE = re.compile(r"\w+", re.UNICODE)
PAGE_LIMIT = 100
CLIENT_ID_LIMIT = 64


def message_not_found() -> NotFoundError:
    return NotFoundError("There is no such message.", code="message_not_found")


def check_emoji(emoji: str) -> str:
    if not 1 <= len(emoji) <= 16 or any(
        unicodedata.category(c)[0] in "LNZC" and c not in "\u200d\ufe0f" for c in emoji
    ):
        raise InvalidError("A reaction is one emoji.", field="emoji")
    return emoji


def fts_query(text: str) -> str:
    """Words of `text` as an FTS5 query: all must match, the last as a prefix."""
    words = WORD_RE.findall(text)[:20]
    if not words:
        raise InvalidError("Search for at least one word.", field="q")
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


class Messaging:
    def __init__(self, db: Database, bus: Bus, config: Settings) -> None:
        self.db = db
        self.bus = bus
        self.max_length = config.messages.max_length
        limit = config.limits.messages_per_user
        self.limiter = RateLimiter(limit.count, limit.per_seconds)
        self.event_retention_ms = config.messages.event_retention_days * DAY_MS

    async def prune_events(self) -> int:
        """Forget events older than the retention window; clients that far behind reload."""
        async with self.db.write() as tx:
            return await events.prune(tx, now_ms() - self.event_retention_ms)

    def _body(self, raw: str) -> str:
        body = raw.strip()
        if not body:
            raise InvalidError("A message needs some text.", field="body")
        if len(body) > self.max_length:
            raise InvalidError(f"At most {self.max_length} characters.", field="body")
        if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in body):
            raise InvalidError("Control characters are not allowed.", field="body")
        return body

    async def _view(self, conn: aiosqlite.Connection, row: MessageRow) -> dict[str, Any]:
        return views.message(row, await messages.extras(conn, [row]))

    async def _mentions(self, conn: aiosqlite.Connection, chat_id: int, body: str) -> list[int]:
        names = {name.lower() for name in MENTION_RE.findall(body)}
        if not names:
            return []
        return await chats.members_named(conn, chat_id, sorted(names))

    async def _message_in_chat(
        self, conn: aiosqlite.Connection, message_id: int, user_id: int
    ) -> tuple[MessageRow, ChatRow, MemberRow]:
        message = await messages.get(conn, message_id)
        if message is None:
            raise message_not_found()
        chat, member = await require_member(conn, message.chat_id, user_id)
        return message, chat, member

    # --- sending -----------------------------------------------------------------------------

    async def send(
        self,
        user_id: int,
        chat_id: int,
        *,
        client_id: str,
        body: str = "",
        reply_to: int | None = None,
        forward_of: int | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Store a message; (view, True) when new, (the stored view, False) on a retry."""
        if not 1 <= len(client_id) <= CLIENT_ID_LIMIT:
            raise InvalidError(
                f"client_id is 1 to {CLIENT_ID_LIMIT} characters.", field="client_id"
            )
        forwarded = None
        if forward_of is None:
            body = self._body(body)
        else:
            async with self.db.read() as conn:
                body, forwarded = await self._forwarded(conn, forward_of, user_id)
        self.limiter.hit(str(user_id))
        new = messages.NewText(
            chat_id=chat_id,
            sender_id=user_id,
            client_id=client_id,
            body=body,
            now=now_ms(),
            reply_to=reply_to,
            forwarded_from=forwarded,
            mention_names=tuple(sorted({n.lower() for n in MENTION_RE.findall(body)})),
        )
        # The whole send is one trip to the writer thread: it is the hottest write there is.
        stored = await self.db.write_in_thread(
            partial(messages.insert_text, new=new, describe=views.message)
        )
        if stored.refusal == "no_chat":
            raise chat_not_found()
        if stored.refusal == "not_member":
            raise ForbiddenError("You are not a member of this chat.", code="not_a_member")
        if stored.refusal == "blocked":
            raise ForbiddenError("You cannot message this person.", code="blocked")
        if stored.refusal == "bad_reply":
            raise InvalidError("reply_to is not a message of this chat.", field="reply_to")
        assert stored.row is not None
        if stored.duplicate:  # a retry: answer with what was stored the first time
            async with self.db.read() as conn:
                await require_member(conn, stored.row.chat_id, user_id)
                return await self._view(conn, stored.row), False
        assert stored.event is not None and stored.view is not None
        self.bus.publish([stored.event])
        return stored.view, True

    async def _check_direct(self, tx: aiosqlite.Connection, chat: ChatRow, user_id: int) -> None:
        peer = peer_of(chat, user_id)
        if peer is not None and await contacts.either_blocked(tx, user_id, peer):
            raise ForbiddenError("You cannot message this person.", code="blocked")

    async def _forwarded(
        self, tx: aiosqlite.Connection, message_id: int, user_id: int
    ) -> tuple[str, dict[str, Any]]:
        source, _, _ = await self._message_in_chat(tx, message_id, user_id)
        if source.deleted or source.kind != "text":
            raise InvalidError("That message cannot be forwarded.", field="forward_of")
        if source.forwarded_from:
            return source.body, source.forwarded_from
        sender = await users.get(tx, source.sender_id) if source.sender_id else None
        return source.body, {
            "message_id": source.id,
            "sender_id": source.sender_id,
            "sender_name": display_name(sender),
        }

    # --- reading -----------------------------------------------------------------------------

    async def history(
        self,
        user_id: int,
        chat_id: int,
        *,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
        limit: int = 50,
    ) -> dict[str, Any]:
        if sum(x is not None for x in (before, after, around)) > 1:
            raise InvalidError("Use at most one of before, after and around.", field="before")
        limit = max(1, min(limit, PAGE_LIMIT))
        async with self.db.read() as conn:
            await require_member(conn, chat_id, user_id)
            if around is not None:
                newer_count = limit // 2
                older, more_before = await messages.page(
                    conn, chat_id, user_id, before=around + 1, limit=limit - newer_count
                )
                newer, more_after = await messages.page(
                    conn, chat_id, user_id, after=around, limit=newer_count
                )
                if not newer_count:
                    more_after = await messages.has_visible(conn, chat_id, user_id, after=around)
                rows = older + newer
            elif after is not None:
                rows, more_after = await messages.page(
                    conn, chat_id, user_id, after=after, limit=limit
                )
                edge = rows[0].id if rows else after + 1
                more_before = await messages.has_visible(conn, chat_id, user_id, before=edge)
            else:
                rows, more_before = await messages.page(
                    conn, chat_id, user_id, before=before, limit=limit
                )
                more_after = before is not None and await messages.has_visible(
                    conn, chat_id, user_id, after=rows[-1].id if rows else before - 1
                )
            extras = await messages.extras(conn, rows)
        return {
            "messages": [views.message(row, extras) for row in rows],
            "has_more_before": more_before,
            "has_more_after": more_after,
        }

    async def pins(self, user_id: int, chat_id: int) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            await require_member(conn, chat_id, user_id)
            rows = await messages.pinned(conn, chat_id)
            extras = await messages.extras(conn, rows)
        return [views.message(row, extras) for row in rows]

    async def edits(self, user_id: int, message_id: int) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            await self._message_in_chat(conn, message_id, user_id)
            found = await messages.edits(conn, message_id)
        return [{"body": body, "edited_at": views.iso(at)} for body, at in found]

    async def search(
        self, user_id: int, query: str, chat_id: int | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        match = fts_query(query)
        async with self.db.read() as conn:
            if chat_id is not None:
                await require_member(conn, chat_id, user_id)
            rows = await messages.search(conn, user_id, match, chat_id, max(1, min(limit, 100)))
            extras = await messages.extras(conn, rows)
        return [views.message(row, extras) for row in rows]

    # --- changing ----------------------------------------------------------------------------

    async def edit(self, user_id: int, message_id: int, body: str) -> dict[str, Any]:
        body = self._body(body)
        changes = Changes.start()
        async with self.db.write() as tx:
            message, _, _ = await self._message_in_chat(tx, message_id, user_id)
            if message.sender_id != user_id:
                raise ForbiddenError("Only the sender can edit a message.", code="not_allowed")
            if message.deleted or message.kind != "text":
                raise InvalidError("This message cannot be edited.", code="not_editable")
            if body != message.body:
                await messages.edit(tx, message, body, changes.now)
                await messages.replace_mentions(
                    tx, message.id, await self._mentions(tx, message.chat_id, body)
                )
            updated = await messages.get(tx, message_id)
            assert updated is not None
            view = await self._view(tx, updated)
            if body != message.body:
                await changes.event(tx, "message.updated", view, chat_id=message.chat_id)
        self.bus.publish(changes.written)
        return view

    async def delete(self, user_id: int, message_id: int, scope: str) -> None:
        if scope not in {"me", "everyone"}:
            raise InvalidError("for is me or everyone.", field="for")
        changes = Changes.start()
        async with self.db.write() as tx:
            message, chat, member = await self._message_in_chat(tx, message_id, user_id)
            data = {"id": message.id, "chat_id": message.chat_id, "for": scope}
            if scope == "me":
                await messages.hide(tx, message.id, user_id)
                await changes.event(tx, "message.deleted", data, user_id=user_id)
            elif not message.deleted:
                manager = chat.kind != "direct" and member.role in MANAGERS
                if message.sender_id != user_id and not manager:
                    raise ForbiddenError(
                        "Only the sender, or the chat's owner and admins, can delete this.",
                        code="not_allowed",
                    )
                await messages.delete_for_everyone(tx, message.id, changes.now)
                await changes.event(tx, "message.deleted", data, chat_id=message.chat_id)
        self.bus.publish(changes.written)

    async def react(self, user_id: int, message_id: int, emoji: str, *, add: bool) -> None:
        emoji = check_emoji(emoji)
        changes = Changes.start()
        async with self.db.write() as tx:
            message, chat, _ = await self._message_in_chat(tx, message_id, user_id)
            if message.deleted:
                raise InvalidError("This message was deleted.", code="message_deleted")
            if add:
                await self._check_direct(tx, chat, user_id)
                changed = await messages.add_reaction(tx, message.id, user_id, emoji, changes.now)
            else:
                changed = await messages.remove_reaction(tx, message.id, user_id, emoji)
            if changed:
                await changes.event(
                    tx,
                    "reaction.added" if add else "reaction.removed",
                    {"chat_id": chat.id, "message_id": message.id, "user_id": user_id,
                     "emoji": emoji},
                    chat_id=chat.id,
                )  # fmt: skip
        self.bus.publish(changes.written)

    async def pin(self, user_id: int, message_id: int, *, pinned: bool) -> None:
        changes = Changes.start()
        async with self.db.write() as tx:
            message, chat, member = await self._message_in_chat(tx, message_id, user_id)
            if chat.kind != "direct" and member.role not in MANAGERS:
                raise ForbiddenError(
                    "Only the chat's owner and admins can pin.", code="not_allowed"
                )
            if message.deleted:
                raise InvalidError("This message was deleted.", code="message_deleted")
            if pinned:
                changed = await messages.pin(tx, chat.id, message.id, user_id, changes.now)
            else:
                changed = await messages.unpin(tx, message.id)
            if changed:
                view = await self._view(tx, message)
                await changes.event(tx, "message.updated", view, chat_id=chat.id)
        self.bus.publish(changes.written)

    async def mark(self, user_id: int, chat_id: int, message_id: int, *, read: bool) -> None:
        """Move the read (with delivered) or only the delivered cursor forward."""
        changes = Changes.start()
        async with self.db.write() as tx:
            chat, _ = await require_member(tx, chat_id, user_id)
            upto = min(message_id, chat.last_message_id or 0)
            moved = await chats.move_cursors(
                tx, chat_id, user_id, read_id=upto if read else 0, delivered_id=upto
            )
            if moved is not None:
                await changes.event(
                    tx,
                    "receipt.updated",
                    {"chat_id": chat_id, "user_id": user_id, "last_read_id": moved.last_read_id,
                     "last_delivered_id": moved.last_delivered_id},
                    chat_id=chat_id,
                )  # fmt: skip
        self.bus.publish(changes.written)
