"""Messages: send (idempotent per client_id), history, edits, deletes, reactions, pins,
read and delivered cursors, search. REST and the WebSocket both call these methods."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any, cast

from appliance import limits
from appliance.api import shapes
from appliance.clock import to_datetime
from appliance.config import Settings
from appliance.services import views
from appliance.services.chats import (
    MANAGERS,
    chat_not_found,
    display_name,
    refused,
    require_member,
    require_unblocked,
)
from appliance.services.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from appliance.services.ratelimit import Limits
from appliance.services.unit import Outbox, Work, event_data
from appliance.store import chats, events, files, messages, personal, threads, users
from appliance.store.chats import ChatRow, MemberRow, Refusal
from appliance.store.db import Connection, ThreadConnection, on_thread
from appliance.store.messages import Inserted, MessageRow
from appliance.store.search_filter import SearchFilter

MENTION_RE = re.compile(
    rf"(?<![\w@])@([a-z0-9][a-z0-9_.-]{{{limits.USERNAME_MIN - 1},{limits.USERNAME_MAX - 1}}})",
    re.IGNORECASE,
)
WORD_RE = re.compile(r"\w+", re.UNICODE)
PAGE_LIMIT = 100
CLIENT_ID_LIMIT = limits.CLIENT_ID_MAX


def message_not_found() -> NotFoundError:
    return NotFoundError("There is no such message.", code="message_not_found")


def mention_names(body: str) -> list[str]:
    """The usernames a text mentions (`@ada`), lower-cased; who they are is the store's
    `chats.members_named`, on both the send and the edit path."""
    return sorted({name.lower() for name in MENTION_RE.findall(body)})


# Code points of emoji sequences that Unicode does not class as symbols: the joiner, the
# emoji presentation selector, and the tags of subdivision flags (England, Scotland, Wales).
_EMOJI_FORMAT = {"\u200d", "\ufe0f", *map(chr, range(0xE0020, 0xE0080))}
# The emoji blocks: a code point there is an emoji even when this Python's Unicode tables
# (3.11: Unicode 14) are older than the emoji (Unicode 15's 🫨 is "unassigned" to them).
_EMOJI_BLOCKS = ("\U0001f000", "\U0001faff")
# What counts whatever its class: a keycap, a digit, # or * with the selector and the
# enclosing keycap mark (1️⃣); a non-ASCII character the selector asks to show as emoji (U+2139 + FE0F).
_EMOJI_FORM_RE = re.compile("[0-9#*]\ufe0f?\u20e3|[^\x00-\x7f]\ufe0f")


def check_emoji(emoji: str) -> str:
    """Any one emoji of the Unicode set (with skin tones, joiners, flags and keycaps), not
    text: ASCII, letters, digits, spaces and control characters outside those sequences are
    refused."""
    bare = _EMOJI_FORM_RE.sub("", emoji)
    if not 1 <= len(emoji) <= limits.EMOJI_MAX or any(
        c < "\x80"
        or (
            unicodedata.category(c)[0] in "LNZC"
            and c not in _EMOJI_FORMAT
            and not _EMOJI_BLOCKS[0] <= c <= _EMOJI_BLOCKS[1]
        )
        for c in bare
    ):
        raise InvalidError("A reaction is one emoji.", field="emoji")
    return emoji


def search_words(text: str) -> list[str]:
    """The words of a search (at most 20); the store turns them into its engine's query."""
    words = WORD_RE.findall(text)[:20]
    if not words:
        raise InvalidError("Search for at least one word.", field="q")
    return words


def to_ms(moment: datetime) -> int:
    """A time from the API as stored milliseconds; one without a zone is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


# Messages deleted in one transaction when an account and its messages are removed.
REMOVE_BATCH = 200


class Messaging:
    def __init__(self, work: Work, config: Settings, limits: Limits) -> None:
        self.work = work
        self.max_length = config.messages.max_length
        self.max_reactions = config.messages.max_reactions
        self.max_edits = config.messages.max_edits
        self.limits = limits

    def _body(self, raw: str, *, caption: bool = False) -> str:
        """A message's text; with attachments (`caption`) it may be empty."""
        body = raw.strip()
        if not body and not caption:
            raise InvalidError("A message needs some text.", field="body")
        if len(body) > self.max_length:
            raise InvalidError(f"At most {self.max_length} characters.", field="body")
        if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in body):
            raise InvalidError("Control characters are not allowed.", field="body")
        return body

    async def _view(self, conn: Connection, row: MessageRow) -> shapes.MessageOut:
        return views.message(row, await messages.extras(conn, [row]))

    async def _message_in_chat(
        self, conn: Connection, message_id: int, user_id: int
    ) -> tuple[MessageRow, ChatRow, MemberRow]:
        message = await messages.get(conn, message_id)
        if message is None:
            raise message_not_found()
        chat, member = await require_member(conn, message.chat_id, user_id)
        return message, chat, member

    async def _message_to_change(
        self, tx: Connection, message_id: int, user_id: int
    ) -> tuple[MessageRow, ChatRow, MemberRow]:
        """A message the user is about to change in a way the others see (edit, reaction,
        pin): a member's, and across no block in a direct chat."""
        message, chat, member = await self._message_in_chat(tx, message_id, user_id)
        await require_unblocked(tx, chat, user_id)
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
        attachments: list[int] | None = None,
        thread_root_id: int | None = None,
        also_to_chat: bool = False,
    ) -> tuple[shapes.MessageOut, bool]:
        """Store a message; (view, True) when new, (the stored view, False) on a retry.
        `attachments` are files the sender uploaded (the body is then an optional caption);
        a forward copies the original's. With `thread_root_id` it is a reply in that thread,
        kept out of the main timeline unless `also_to_chat`."""
        if not 1 <= len(client_id) <= CLIENT_ID_LIMIT:
            raise InvalidError(
                f"client_id is 1 to {CLIENT_ID_LIMIT} characters.", field="client_id"
            )
        attachments = list(dict.fromkeys(attachments or []))
        if len(attachments) > limits.ATTACHMENTS_MAX:
            raise InvalidError(
                f"At most {limits.ATTACHMENTS_MAX} files on one message.", field="attachments"
            )
        forwarded = None
        owner: int | None = user_id
        if forward_of is None:
            body = self._body(body, caption=bool(attachments))
        else:
            if attachments:
                raise InvalidError("A forward carries the original's files.", field="attachments")
            async with self.work.read() as conn:
                body, forwarded = await self._forwarded(conn, forward_of, user_id)
                attachments, owner = await files.file_ids_of(conn, forward_of), None
        await self.limits.messages.hit(str(user_id))
        new = messages.NewText(
            chat_id=chat_id,
            sender_id=user_id,
            client_id=client_id,
            body=body,
            now=self.work.clock.now_ms(),
            reply_to=reply_to,
            forwarded_from=forwarded,
            mention_names=tuple(mention_names(body)),
            attachments=tuple(attachments),
            attachments_owner=owner,
            thread_root_id=thread_root_id,
            also_to_chat=also_to_chat,
        )

        def store(conn: ThreadConnection, outbox: Outbox) -> tuple[Inserted, shapes.MessageOut]:
            stored = messages.insert_text(conn, new)
            if stored.refusal is not None:
                raise refused(stored.refusal)
            assert stored.row is not None
            if stored.duplicate and stored.row.chat_id != chat_id:
                raise ConflictError(
                    f"client_id {client_id!r} was already used for message {stored.row.id}"
                    f" in chat {stored.row.chat_id}; use a new one for each message.",
                    code="client_id_reused",
                )
            view = views.message(stored.row, stored.extras)
            if not stored.duplicate:
                outbox.record(conn, "message.created", view, chat_id=chat_id)
                if thread_root_id is not None:
                    summary = threads.summary_of(conn, thread_root_id, chat_id)
                    outbox.record(
                        conn, "thread.updated", views.thread_out(summary), chat_id=chat_id
                    )
            return stored, view

        # The whole send is one unit of work on the writer's thread: the hottest write there is.
        stored, view = await self.work.unit_in_thread(store)
        if stored.duplicate:  # a retry: answer with what was stored the first time
            assert stored.row is not None
            async with self.work.read() as conn:
                await require_member(conn, stored.row.chat_id, user_id)
                return await self._view(conn, stored.row), False
        return view, True

    async def _forwarded(
        self, tx: Connection, message_id: int, user_id: int
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
    ) -> shapes.HistoryOut:
        if sum(x is not None for x in (before, after, around)) > 1:
            raise InvalidError("Use at most one of before, after and around.", field="before")
        limit = max(1, min(limit, PAGE_LIMIT))
        async with self.work.read() as conn:
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
            unread = await on_thread(conn, threads.unread, user_id, list(extras.threads))
        return shapes.HistoryOut(
            messages=[
                views.message(row, extras, thread_unread=unread.get(row.id, 0)) for row in rows
            ],
            has_more_before=more_before,
            has_more_after=more_after,
        )

    async def pins(self, user_id: int, chat_id: int) -> shapes.MessagesOut:
        async with self.work.read() as conn:
            await require_member(conn, chat_id, user_id)
            rows = await messages.pinned(conn, chat_id)
            extras = await messages.extras(conn, rows)
        return shapes.MessagesOut(messages=[views.message(row, extras) for row in rows])

    async def edits(self, user_id: int, message_id: int) -> shapes.EditsOut:
        async with self.work.read() as conn:
            await self._message_in_chat(conn, message_id, user_id)
            found = await messages.edits(conn, message_id)
        return shapes.EditsOut(
            edits=[shapes.EditOut(body=body, edited_at=to_datetime(at)) for body, at in found]
        )

    async def search(
        self,
        user_id: int,
        query: str,
        *,
        chat_id: int | None = None,
        sender_id: int | None = None,
        has_file: bool = False,
        after: datetime | None = None,
        before: datetime | None = None,
        limit: int = 50,
    ) -> shapes.SearchOut:
        """Messages matching all the words of `query`, newest first, narrowed by the filters:
        in one chat, from one person, with a file, sent at or after `after` and before
        `before` (times without a zone are UTC)."""
        words = search_words(query)
        where = SearchFilter(
            chat_id=chat_id,
            sender_id=sender_id,
            has_file=has_file,
            after=None if after is None else to_ms(after),
            before=None if before is None else to_ms(before),
        )
        if where.after is not None and where.before is not None and where.after >= where.before:
            raise InvalidError("after must be earlier than before.", field="after")
        limit = max(1, min(limit, 100))
        async with self.work.read() as conn:
            if where.chat_id is not None:
                found_chat = await on_thread(conn, chats.membership, where.chat_id, user_id)
                # Whether a chat you are not in exists is not for search to tell.
                if isinstance(found_chat, Refusal):
                    raise chat_not_found()
            rows = await messages.search(conn, user_id, words, where, limit)
            # Messages whose attachments are named so count as matches too.
            named = await files.messages_named(conn, user_id, words, where, limit)
            found = {row.id: row for row in rows}
            found.update(await messages.by_ids(conn, [i for i in named if i not in found]))
            rows = sorted(found.values(), key=lambda row: row.id, reverse=True)[:limit]
            extras = await messages.extras(conn, rows)
        return shapes.SearchOut(results=[views.message(row, extras) for row in rows])

    # --- changing ----------------------------------------------------------------------------

    async def edit(self, user_id: int, message_id: int, body: str) -> shapes.MessageOut:
        body = self._body(body)
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            message, _, _ = await self._message_to_change(tx, message_id, user_id)
            if message.sender_id != user_id:
                raise ForbiddenError("Only the sender can edit a message.", code="not_allowed")
            if message.deleted or message.kind != "text":
                raise InvalidError("This message cannot be edited.", code="not_editable")
            if body != message.body:
                await messages.edit(tx, message, body, outbox.now, keep=self.max_edits)
                mentioned = await on_thread(
                    tx, chats.members_named, message.chat_id, mention_names(body)
                )
                await on_thread(tx, messages.set_mentions, message.id, mentioned)
            updated = await messages.get(tx, message_id)
            assert updated is not None
            view = await self._view(tx, updated)
            if body != message.body:
                await self._rewrite_log(tx, message.id)
                await outbox.event(tx, "message.updated", view, chat_id=message.chat_id)
        return view

    async def delete(self, user_id: int, message_id: int, scope: str) -> None:
        if scope not in {"me", "everyone"}:
            raise InvalidError("for is me or everyone.", field="for")
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            message, chat, member = await self._message_in_chat(tx, message_id, user_id)
            data = shapes.MessageDeletedOut(
                id=message.id, chat_id=message.chat_id, scope=cast(Any, scope)
            )
            if scope == "me":
                await messages.hide(tx, message.id, user_id)
                await outbox.event(tx, "message.deleted", data, user_id=user_id)
            elif not message.deleted:
                manager = chat.kind != "direct" and member.role in MANAGERS
                if message.sender_id != user_id and not manager:
                    raise ForbiddenError(
                        "Only the sender, or the chat's owner and admins, can delete this.",
                        code="not_allowed",
                    )
                await messages.delete_for_everyone(tx, message.id, outbox.now)
                await self._rewrite_log(tx, message.id)
                await outbox.event(tx, "message.deleted", data, chat_id=message.chat_id)
                if message.thread_root_id is not None:  # one reply fewer in its summary
                    summary = await on_thread(
                        tx, threads.summary_of, message.thread_root_id, message.chat_id
                    )
                    await outbox.event(
                        tx, "thread.updated", views.thread_out(summary), chat_id=message.chat_id
                    )

    async def remove_all_of(self, user_id: int) -> int:
        """Delete for everyone every message `user_id` sent (their account is being deleted
        and config says so); in batches, so the single writer is never held long. Returns
        how many."""
        removed = 0
        while True:
            async with self.work.unit() as (tx, outbox):
                batch = await personal.live_messages_of(tx, user_id, REMOVE_BATCH)
                for message_id, chat_id in batch:
                    await messages.delete_for_everyone(tx, message_id, outbox.now)
                    await self._rewrite_log(tx, message_id)
                    data = shapes.MessageDeletedOut(
                        id=message_id, chat_id=chat_id, scope="everyone"
                    )
                    await outbox.event(tx, "message.deleted", data, chat_id=chat_id)
            removed += len(batch)
            if len(batch) < REMOVE_BATCH:
                return removed

    async def _rewrite_log(self, tx: Connection, message_id: int) -> None:
        """Replay shows what a message is now: after an edit or a delete, its stored events,
        and those of the replies that quote it, are rewritten to the current state, so no
        late joiner reads text that was deleted or edited away."""
        row = await messages.get(tx, message_id)
        assert row is not None
        rows = [row, *await messages.replies_to(tx, message_id)]
        extras = await messages.extras(tx, rows)
        for each in rows:
            current = event_data(views.message(each, extras))
            await on_thread(tx, events.rewrite_message, each.id, current)

    async def react(self, user_id: int, message_id: int, emoji: str, *, add: bool) -> None:
        emoji = check_emoji(emoji)
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            message, chat, _ = await self._message_to_change(tx, message_id, user_id)
            if message.deleted:
                raise InvalidError("This message was deleted.", code="message_deleted")
            if add:
                present = await messages.reaction_emoji(tx, message.id)
                if emoji not in present and len(present) >= self.max_reactions:
                    raise ConflictError(
                        f"A message carries at most {self.max_reactions} different reactions;"
                        " add one of those already there.",
                        code="too_many_reactions",
                    )
                changed = await messages.add_reaction(tx, message.id, user_id, emoji, outbox.now)
            else:
                changed = await messages.remove_reaction(tx, message.id, user_id, emoji)
            if changed:
                await outbox.event(
                    tx,
                    "reaction.added" if add else "reaction.removed",
                    shapes.ReactionChangeOut(
                        chat_id=chat.id, message_id=message.id, user_id=user_id, emoji=emoji
                    ),
                    chat_id=chat.id,
                )  # fmt: skip

    async def pin(self, user_id: int, message_id: int, *, pinned: bool) -> None:
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            message, chat, member = await self._message_to_change(tx, message_id, user_id)
            if chat.kind != "direct" and member.role not in MANAGERS:
                raise ForbiddenError(
                    "Only the chat's owner and admins can pin.", code="not_allowed"
                )
            if message.deleted:
                raise InvalidError("This message was deleted.", code="message_deleted")
            if pinned:
                changed = await messages.pin(tx, chat.id, message.id, user_id, outbox.now)
            else:
                changed = await messages.unpin(tx, message.id)
            if changed:
                view = await self._view(tx, message)
                await outbox.event(tx, "message.updated", view, chat_id=chat.id)

    async def mark(self, user_id: int, chat_id: int, message_id: int, *, read: bool) -> None:
        """Move the read (with delivered) or only the delivered cursor forward. Across a block
        in a direct chat the receipt is the reader's own: the other person is not told."""
        async with self.work.unit() as (tx, outbox):
            chat, _ = await require_member(tx, chat_id, user_id)
            blocked = await on_thread(tx, chats.block_between, chat, user_id) is not None
            upto = min(message_id, chat.last_message_id or 0)
            moved = await chats.move_cursors(
                tx, chat_id, user_id, read_id=upto if read else 0, delivered_id=upto
            )
            if moved is not None:
                await outbox.event(
                    tx,
                    "receipt.updated",
                    shapes.ReceiptOut(
                        chat_id=chat_id,
                        user_id=user_id,
                        last_read_id=moved.last_read_id,
                        last_delivered_id=moved.last_delivered_id,
                    ),
                    **({"user_id": user_id} if blocked else {"chat_id": chat_id}),
                )  # fmt: skip
