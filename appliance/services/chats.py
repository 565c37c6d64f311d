"""Chats: direct chats, groups and channels, their members and roles, invite links.

Every method takes the acting user first and checks, inside its transaction, that they may
act. Changes write their events in the same unit of work (`services/unit.py`), which
publishes them once it has committed.
"""

from __future__ import annotations

import secrets
import unicodedata
from typing import Any, cast

from appliance import limits
from appliance.api import shapes
from appliance.clock import DAY_MS, to_datetime
from appliance.config import ChatSettings
from appliance.services import views
from appliance.services.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    ServiceError,
)
from appliance.services.ratelimit import Limits
from appliance.services.unit import Outbox, Work
from appliance.store import chats, contacts, messages, prefs, users
from appliance.store.chats import ChatInviteRow, ChatRow, MemberRow, Refusal, peer_of
from appliance.store.db import Connection, alone_in, on_thread
from appliance.store.users import UserRow

TITLE_LIMIT = limits.TITLE_MAX
TOPIC_LIMIT = limits.TOPIC_MAX
MAX_MEMBERS_AT_ONCE = limits.MEMBERS_AT_ONCE_MAX
MANAGERS = frozenset({"owner", "admin"})


def chat_not_found() -> NotFoundError:
    return NotFoundError("There is no such chat.", code="chat_not_found")


def refused(refusal: Refusal) -> ServiceError:
    """The error for a refusal of the chat rules (`store/chats.py`), on every path."""
    if refusal is Refusal.NO_CHAT:
        return chat_not_found()
    if refusal is Refusal.NOT_MEMBER:
        return ForbiddenError("You are not a member of this chat.", code="not_a_member")
    if refusal is Refusal.BLOCKED:
        return ForbiddenError("You cannot message this person.", code="blocked")
    if refusal is Refusal.CONTACTS_ONLY:
        return ForbiddenError(
            "This person takes messages from contacts only: send a contact request first.",
            code="contacts_only",
        )
    if refusal is Refusal.BAD_ATTACHMENT:
        return InvalidError(
            "attachments name a file that does not exist or that you did not upload.",
            field="attachments",
        )
    if refusal is Refusal.BAD_THREAD:
        return InvalidError(
            "thread_root_id is not a top-level message of this group or channel.",
            field="thread_root_id",
        )
    return InvalidError("reply_to is not a message of this chat.", field="reply_to")


def clean_text(value: str, field: str, limit: int, *, required: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidError("Give it a name.", field=field)
    if len(text) > limit:
        raise InvalidError(f"At most {limit} characters.", field=field)
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise InvalidError("Control characters are not allowed.", field=field)
    return text


async def require_member(conn: Connection, chat_id: int, user_id: int) -> tuple[ChatRow, MemberRow]:
    found = await on_thread(conn, chats.membership, chat_id, user_id)
    if isinstance(found, Refusal):
        raise refused(found)
    return found


async def require_unblocked(conn: Connection, chat: ChatRow, user_id: int) -> None:
    """Writes that reach the other person of a direct chat: refused across a block."""
    refusal = await on_thread(conn, chats.block_between, chat, user_id)
    if refusal is not None:
        raise refused(refusal)


def require_manager(chat: ChatRow, member: MemberRow, action: str) -> None:
    if chat.kind == "direct":
        raise InvalidError(f"Direct chats cannot {action}.", code="direct_chat")
    if member.role not in MANAGERS:
        raise ForbiddenError(f"Only the chat's owner and admins can {action}.", code="not_allowed")


def _read_cursor(cursor: str) -> tuple[int, int]:
    activity, _, chat_id = cursor.partition(".")
    if not (activity.isdigit() and chat_id.isdigit()) or len(cursor) > 40:
        raise InvalidError("This cursor is not one this server gave.", field="cursor")
    return int(activity), int(chat_id)


def display_name(person: UserRow | None) -> str:
    if person is None:
        return "Someone"
    return person.display_name or person.username


async def system_line(
    tx: Connection, outbox: Outbox, chat_id: int, text: str, actor_id: int | None = None
) -> None:
    """A line like "Ada added Bob" in the chat; not unread for the one who did it."""
    row = await messages.create(
        tx, chat_id=chat_id, sender_id=None, client_id=None, body=text, now=outbox.now,
        kind="system",
    )  # fmt: skip
    assert row is not None  # system messages have no client_id to collide on
    if actor_id is not None:
        await chats.move_cursors(tx, chat_id, actor_id, read_id=row.id, delivered_id=row.id)
    await outbox.event(
        tx, "message.created", views.message(row, messages.Extras()), chat_id=chat_id
    )


class Chats:
    def __init__(self, work: Work, limits: Limits, settings: ChatSettings) -> None:
        self.work = work
        self.audience = work.audience
        self.limits = limits
        self.max_members = settings.max_members

    # --- reading -----------------------------------------------------------------------------

    async def for_user(
        self, user_id: int, *, limit: int = 100, cursor: str | None = None
    ) -> shapes.ChatsOut:
        """A page of the user's chats, latest activity first; `next` continues it."""
        after = _read_cursor(cursor) if cursor else None
        async with self.work.read() as conn:
            rows = await chats.for_user(conn, user_id, limit=limit + 1, after=after)
            page = rows[:limit]
            following = None
            if len(rows) > limit:
                following = f"{page[-1].last_activity_at}.{page[-1].id}"
            return shapes.ChatsOut(chats=await self._views(conn, user_id, page), next=following)

    async def get(self, user_id: int, chat_id: int) -> shapes.ChatOut:
        async with self.work.read() as conn:
            chat, _ = await require_member(conn, chat_id, user_id)
            return await self._view(conn, user_id, chat, with_members=True)

    async def _view(
        self, conn: Connection, user_id: int, chat: ChatRow, *, with_members: bool
    ) -> shapes.ChatOut:
        (view,) = await self._views(conn, user_id, [chat])
        if with_members:
            rows = await chats.members(conn, chat.id)
            people = await users.by_ids(conn, [row.user_id for row in rows])
            view.members = [
                views.member(
                    row,
                    people[row.user_id],
                    last_seen=not self.audience.blocked(user_id, row.user_id),
                )
                for row in rows
                if row.user_id in people
            ]
        return view

    async def _views(
        self, conn: Connection, user_id: int, rows: list[ChatRow]
    ) -> list[shapes.ChatOut]:
        if not rows:
            return []
        mine = await chats.memberships(conn, user_id)
        counts = await chats.member_counts(conn, [row.id for row in rows])
        unread = await chats.unread_counts(conn, user_id)
        own = await prefs.for_user(conn, user_id)
        last = await messages.by_ids(conn, [r.last_message_id for r in rows if r.last_message_id])
        extras = await messages.extras(conn, list(last.values()))
        peers = await users.by_ids(
            conn, [p for p in (peer_of(row, user_id) for row in rows) if p is not None]
        )
        found = []
        for row in rows:
            member = mine.get(row.id)
            if member is None:
                continue
            peer = peer_of(row, user_id)
            last_message = last.get(row.last_message_id) if row.last_message_id else None
            unread_count, mention_count = unread.get(row.id, (0, 0))
            view = shapes.ChatOut(
                **dict(views.chat_fields(row)),
                role=member.role,
                joined_at=to_datetime(member.joined_at),
                peer=None
                if peer is None or peer not in peers
                else views.user(peers[peer], last_seen=not self.audience.blocked(user_id, peer)),
                member_count=counts.get(row.id, 0),
                last_message=None if last_message is None else views.message(last_message, extras),
                unread_count=unread_count,
                mention_count=mention_count,
                last_read_id=member.last_read_id,
                last_delivered_id=member.last_delivered_id,
            )
            if row.id in own:
                kept = views.chat_prefs(row, own[row.id])
                view.muted_until = kept.muted_until
                view.archived = kept.archived
            found.append(view)
        return found

    async def channels(self, user_id: int, query: str, limit: int = 50) -> shapes.ChannelsOut:
        async with self.work.read() as conn:
            rows = await chats.public_channels(conn, query.strip(), limit)
            counts = await chats.member_counts(conn, [row.id for row in rows])
            mine = await chats.memberships(conn, user_id)
        return shapes.ChannelsOut(
            channels=[
                shapes.ChannelOut(
                    id=row.id,
                    title=row.title,
                    topic=row.topic,
                    member_count=counts.get(row.id, 0),
                    joined=row.id in mine,
                )
                for row in rows
            ]
        )

    # --- creating ----------------------------------------------------------------------------

    async def open_direct(self, user_id: int, other_id: int) -> tuple[shapes.ChatOut, bool]:
        """The direct chat with `other_id`, created if needed; True when it was created."""
        await self.limits.chats.hit(str(user_id))
        if other_id == user_id:
            raise InvalidError("You cannot start a direct chat with yourself.", field="user_id")
        async with self.work.unit() as (tx, outbox):
            other = await users.get(tx, other_id)
            if other is None or other.disabled:
                raise NotFoundError("There is no such person.", code="user_not_found")
            key = chats.direct_key(user_id, other_id)
            await alone_in(tx, f"direct:{key}")  # one chat per pair, if both open it at once
            chat = await chats.get_direct(tx, key)
            # The same rule as sending into it (store/chats.py): an existing chat the other
            # person started can be opened to answer them.
            started = chat is not None and chat.created_by == other_id
            refusal = await on_thread(
                tx, chats.direct_refusal, user_id, other_id, peer_started=started
            )
            if refusal is not None:
                raise refused(refusal)
            created = chat is None
            if chat is None:
                chat = await chats.create(
                    tx, kind="direct", title="", topic="", is_public=False,
                    created_by=user_id, now=outbox.now, direct_key=key,
                )  # fmt: skip
                for member in (user_id, other_id):
                    await chats.add_member(tx, chat.id, member, "member", outbox.now)
                    outbox.joined.append((chat.id, member))
                await outbox.event(tx, "chat.created", views.chat_fields(chat), chat_id=chat.id)
            view = await self._view(tx, user_id, chat, with_members=True)
        return view, created

    async def create(
        self,
        user_id: int,
        *,
        kind: str,
        title: str,
        topic: str = "",
        member_ids: list[int] | tuple[int, ...] = (),
        is_public: bool | None = None,
    ) -> shapes.ChatOut:
        await self.limits.chats.hit(str(user_id))
        if kind not in {"group", "channel"}:
            raise InvalidError("kind is direct, group or channel.", field="kind")
        title = clean_text(title, "title", TITLE_LIMIT, required=True)
        topic = clean_text(topic, "topic", TOPIC_LIMIT)
        public = kind == "channel" and (True if is_public is None else is_public)
        wanted = [m for m in dict.fromkeys(member_ids) if m != user_id]
        if len(wanted) > MAX_MEMBERS_AT_ONCE:
            raise InvalidError(f"At most {MAX_MEMBERS_AT_ONCE} people at once.", field="member_ids")
        async with self.work.unit() as (tx, outbox):
            me = await users.get(tx, user_id)
            chat = await chats.create(
                tx, kind=kind, title=title, topic=topic, is_public=public, created_by=user_id,
                now=outbox.now,
            )  # fmt: skip
            await chats.add_member(tx, chat.id, user_id, "owner", outbox.now)
            outbox.joined.append((chat.id, user_id))
            await outbox.event(tx, "chat.created", views.chat_fields(chat), chat_id=chat.id)
            noun = "channel" if kind == "channel" else "group"
            await system_line(
                tx, outbox, chat.id, f"{display_name(me)} created the {noun} “{title}”", user_id
            )
            await self._add(tx, outbox, chat, user_id, wanted)
            chat = await chats.get(tx, chat.id) or chat
            view = await self._view(tx, user_id, chat, with_members=True)
        return view

    async def _add(
        self,
        tx: Connection,
        outbox: Outbox,
        chat: ChatRow,
        actor_id: int,
        user_ids: list[int],
    ) -> None:
        if not user_ids:
            return
        people = await users.by_ids(tx, user_ids)
        actor = await users.get(tx, actor_id)
        for user_id in user_ids:
            person = people.get(user_id)
            if person is None or person.disabled:
                raise InvalidError(f"There is no person with id {user_id}.", field="user_ids")
            if await on_thread(tx, contacts.either_blocked, actor_id, user_id):
                raise ForbiddenError(
                    f"{display_name(person)} cannot be added by you.", code="blocked"
                )
        present = {row.user_id for row in await chats.members(tx, chat.id)}
        if len(present | set(user_ids)) > self.max_members:
            raise ConflictError(f"A chat has at most {self.max_members} members.", code="chat_full")
        added = []
        for user_id in user_ids:
            if await chats.add_member(tx, chat.id, user_id, "member", outbox.now):
                outbox.joined.append((chat.id, user_id))
                added.append(people[user_id])
        for person in added:
            await outbox.event(
                tx,
                "member.added",
                shapes.MemberAddedOut(
                    chat_id=chat.id, user=views.user(person), role="member", by=actor_id
                ),
                chat_id=chat.id,
            )
        if added and actor_id not in {p.id for p in added}:
            names = ", ".join(display_name(p) for p in added)
            await system_line(tx, outbox, chat.id, f"{display_name(actor)} added {names}", actor_id)
        elif added:
            await system_line(tx, outbox, chat.id, f"{display_name(actor)} joined", actor_id)

    # --- changing ----------------------------------------------------------------------------

    async def update(
        self, user_id: int, chat_id: int, changes_in: dict[str, Any]
    ) -> shapes.ChatOut:
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            chat, member = await require_member(tx, chat_id, user_id)
            require_manager(chat, member, "be renamed")
            title = chat.title
            if "title" in changes_in and changes_in["title"] is not None:
                title = clean_text(changes_in["title"], "title", TITLE_LIMIT, required=True)
            topic = chat.topic
            if "topic" in changes_in and changes_in["topic"] is not None:
                topic = clean_text(changes_in["topic"], "topic", TOPIC_LIMIT)
            is_public = chat.is_public
            if changes_in.get("is_public") is not None:
                if chat.kind != "channel":
                    raise InvalidError("Only channels can be public.", field="is_public")
                is_public = bool(changes_in["is_public"])
            if (title, topic, is_public) != (chat.title, chat.topic, chat.is_public):
                await chats.update(tx, chat.id, title=title, topic=topic, is_public=is_public)
                updated = await chats.get(tx, chat.id)
                assert updated is not None
                await outbox.event(tx, "chat.updated", views.chat_fields(updated), chat_id=chat.id)
                if title != chat.title:
                    me = await users.get(tx, user_id)
                    await system_line(
                        tx,
                        outbox,
                        chat.id,
                        f"{display_name(me)} renamed the chat to “{title}”",
                        user_id,
                    )
                chat = await chats.get(tx, chat.id) or updated
            view = await self._view(tx, user_id, chat, with_members=True)
        return view

    async def delete(self, user_id: int, chat_id: int) -> None:
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            chat, member = await require_member(tx, chat_id, user_id)
            if chat.kind == "direct":
                raise InvalidError("Direct chats cannot be deleted.", code="direct_chat")
            if member.role != "owner":
                raise ForbiddenError("Only the owner can delete the chat.", code="not_allowed")
            for row in await chats.members(tx, chat.id):
                await outbox.event(
                    tx,
                    "chat.deleted",
                    shapes.ChatRefOut(chat_id=chat.id),
                    user_id=row.user_id,
                )
            await chats.delete(tx, chat.id)
            outbox.dropped.append(chat.id)

    async def join_public(self, user_id: int, chat_id: int) -> shapes.ChatOut:
        await self.limits.chats.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            chat = await chats.get(tx, chat_id)
            if chat is None:
                raise chat_not_found()
            if not (chat.kind == "channel" and chat.is_public):
                if await chats.member(tx, chat_id, user_id) is None:
                    raise ForbiddenError(
                        "This chat is private; ask for an invite link.", code="not_a_member"
                    )
            elif await chats.member(tx, chat_id, user_id) is None:
                await self._add(tx, outbox, chat, user_id, [user_id])
            chat = await chats.get(tx, chat_id) or chat
            view = await self._view(tx, user_id, chat, with_members=True)
        return view

    async def add_members(self, user_id: int, chat_id: int, user_ids: list[int]) -> shapes.ChatOut:
        await self.limits.chats.hit(str(user_id))
        if len(user_ids) > MAX_MEMBERS_AT_ONCE:
            raise InvalidError(f"At most {MAX_MEMBERS_AT_ONCE} people at once.", field="user_ids")
        async with self.work.unit() as (tx, outbox):
            chat, member = await require_member(tx, chat_id, user_id)
            require_manager(chat, member, "get new members")
            await self._add(tx, outbox, chat, user_id, list(dict.fromkeys(user_ids)))
            chat = await chats.get(tx, chat_id) or chat
            view = await self._view(tx, user_id, chat, with_members=True)
        return view

    async def set_role(
        self, user_id: int, chat_id: int, target_id: int, role: str
    ) -> shapes.MemberOut:
        await self.limits.changes.hit(str(user_id))
        if role not in {"owner", "admin", "member"}:
            raise InvalidError("role is owner, admin or member.", field="role")
        async with self.work.unit() as (tx, outbox):
            chat, member = await require_member(tx, chat_id, user_id)
            require_manager(chat, member, "change roles")
            if member.role != "owner":
                raise ForbiddenError("Only the owner changes roles.", code="not_allowed")
            target = await chats.member(tx, chat_id, target_id)
            if target is None:
                raise NotFoundError("That person is not in this chat.", code="member_not_found")
            if target_id == user_id:
                raise InvalidError("Hand ownership to someone else instead.", field="role")
            if role == "owner":
                await chats.set_role(tx, chat_id, user_id, "admin")
                demoted = shapes.MemberRoleOut(chat_id=chat_id, user_id=user_id, role="admin")
                await outbox.event(tx, "member.updated", demoted, chat_id=chat_id)
            if role != target.role:
                await chats.set_role(tx, chat_id, target_id, role)
                changed = shapes.MemberRoleOut(
                    chat_id=chat_id, user_id=target_id, role=cast(Any, role)
                )
                await outbox.event(tx, "member.updated", changed, chat_id=chat_id)
            if role == "owner":
                people = await users.by_ids(tx, [user_id, target_id])
                await system_line(
                    tx, outbox, chat_id, f"{display_name(people.get(user_id))} made "
                    f"{display_name(people.get(target_id))} the owner", user_id,
                )  # fmt: skip
            updated = await chats.member(tx, chat_id, target_id)
            person = await users.get(tx, target_id)
            assert updated is not None and person is not None
        return views.member(updated, person)

    async def remove_member(self, user_id: int, chat_id: int, target_id: int) -> None:
        await self.limits.changes.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            chat, member = await require_member(tx, chat_id, user_id)
            if chat.kind == "direct":
                raise InvalidError("Nobody can leave a direct chat.", code="direct_chat")
            target = member if target_id == user_id else await chats.member(tx, chat_id, target_id)
            if target is None:
                raise NotFoundError("That person is not in this chat.", code="member_not_found")
            if target_id != user_id:
                require_manager(chat, member, "remove members")
                if target.role == "owner" or (target.role == "admin" and member.role != "owner"):
                    raise ForbiddenError(
                        "Admins cannot remove the owner or other admins.", code="not_allowed"
                    )
            people = await users.by_ids(tx, [user_id, target_id])
            await chats.remove_member(tx, chat_id, target_id)
            outbox.left.append((chat_id, target_id))
            data = shapes.MemberRemovedOut(chat_id=chat_id, user_id=target_id, by=user_id)
            await outbox.event(tx, "member.removed", data, chat_id=chat_id)
            await outbox.event(tx, "member.removed", data, user_id=target_id)
            remaining = await chats.members(tx, chat_id)
            if not remaining:
                await chats.delete(tx, chat_id)
                outbox.dropped.append(chat_id)
            else:
                if target.role == "owner":
                    await self._hand_over(tx, outbox, chat_id, remaining)
                text = (
                    f"{display_name(people.get(user_id))} left"
                    if target_id == user_id
                    else f"{display_name(people.get(user_id))} removed "
                    f"{display_name(people.get(target_id))}"
                )
                await system_line(tx, outbox, chat_id, text, user_id)

    async def _hand_over(
        self, tx: Connection, outbox: Outbox, chat_id: int, remaining: list[MemberRow]
    ) -> None:
        admins = [row for row in remaining if row.role == "admin"]
        heir = (admins or remaining)[0]  # both ordered by joined_at
        await chats.set_role(tx, chat_id, heir.user_id, "owner")
        promoted = shapes.MemberRoleOut(chat_id=chat_id, user_id=heir.user_id, role="owner")
        await outbox.event(tx, "member.updated", promoted, chat_id=chat_id)

    # --- invite links ------------------------------------------------------------------------

    async def create_invite(
        self, user_id: int, chat_id: int, *, uses: int, days: int, base_url: str
    ) -> shapes.ChatInviteOut:
        await self.limits.chats.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            chat, member = await require_member(tx, chat_id, user_id)
            require_manager(chat, member, "make invite links")
            invite = await chats.create_invite(
                tx, code=secrets.token_urlsafe(12), chat_id=chat_id, created_by=user_id,
                now=outbox.now, expires_at=outbox.now + days * DAY_MS, max_uses=uses,
            )  # fmt: skip
        return views.chat_invite(invite, base_url)

    async def _usable_invite(self, conn: Connection, code: str) -> ChatInviteRow:
        invite = await chats.get_invite(conn, code)
        if invite is None or not invite.usable(self.work.clock.now_ms()):
            raise NotFoundError(
                "This invite link is not valid: it may have expired or been used up.",
                code="invalid_invite",
            )
        return invite

    async def preview_invite(self, user_id: int, code: str) -> shapes.ChatInvitePreviewOut:
        async with self.work.read() as conn:
            invite = await self._usable_invite(conn, code)
            chat = await chats.get(conn, invite.chat_id)
            if chat is None:
                raise NotFoundError("This invite link is not valid.", code="invalid_invite")
            counts = await chats.member_counts(conn, [chat.id])
            already = await chats.member(conn, chat.id, user_id) is not None
        return shapes.ChatInvitePreviewOut(
            chat=shapes.InviteChatOut(
                id=chat.id,
                kind=cast(Any, chat.kind),
                title=chat.title,
                topic=chat.topic,
                member_count=counts.get(chat.id, 0),
            ),
            expires_at=to_datetime(invite.expires_at),
            already_member=already,
        )

    async def join_invite(self, user_id: int, code: str) -> shapes.ChatOut:
        await self.limits.chats.hit(str(user_id))
        async with self.work.unit() as (tx, outbox):
            invite = await self._usable_invite(tx, code)
            chat = await chats.get(tx, invite.chat_id)
            if chat is None:
                raise NotFoundError("This invite link is not valid.", code="invalid_invite")
            if await chats.member(tx, chat.id, user_id) is None:
                if not await chats.use_invite(tx, code, outbox.now):
                    raise ConflictError("The invite link was just used up.", code="invalid_invite")
                await self._add(tx, outbox, chat, user_id, [user_id])
            chat = await chats.get(tx, chat.id) or chat
            view = await self._view(tx, user_id, chat, with_members=True)
        return view
