"""Store rows turned into the shapes of `appliance/api/shapes.py`: the one place that knows
both, so REST replies, WebSocket results and stored events are built the same way."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from appliance.api import shapes
from appliance.clock import to_datetime
from appliance.services.sessions import IssuedSession
from appliance.store import threads
from appliance.store.calls import CallRow
from appliance.store.chats import ChatInviteRow, ChatRow, MemberRow
from appliance.store.files import FileRow, GalleryItem
from appliance.store.invites import InviteRow
from appliance.store.messages import Extras, MessageRow
from appliance.store.prefs import PrefsRow
from appliance.store.sessions import SessionRow
from appliance.store.users import UserRow

REPLY_SNIPPET = 200


def _at(ms: int | None) -> Any:
    return None if ms is None else to_datetime(ms)


def user(row: UserRow, *, last_seen: bool = False) -> shapes.UserOut:
    """A public profile; `last_seen_at` only when the presence rules allow (`last_seen`)."""
    return shapes.UserOut(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        bio=row.bio,
        status_text=row.status_text,
        is_admin=row.is_admin,
        created_at=to_datetime(row.created_at),
        last_seen_at=_at(row.last_seen_at) if last_seen else None,
        avatar_url=file_url(row.avatar_file_id),
    )


def me(row: UserRow) -> shapes.MeOut:
    """Your own profile (and what admins see of an account)."""
    return shapes.MeOut(
        **user(row).model_dump(exclude={"last_seen_at"}),
        email=row.email,
        disabled=row.disabled,
        dm_policy=cast(shapes.DmPolicy, row.dm_policy),
    )


def session(row: SessionRow, current_id: str) -> shapes.SessionOut:
    return shapes.SessionOut(
        id=row.id,
        device=row.device,
        ip=row.ip,
        created_at=to_datetime(row.created_at),
        last_used_at=to_datetime(row.last_used_at),
        current=row.id == current_id,
    )


def invite(row: InviteRow, bases: list[str]) -> shapes.InviteOut:
    """`bases`: every address people use, the one to show first first."""
    urls = [f"{base}/signup?invite={row.code}" for base in bases]
    return shapes.InviteOut(
        code=row.code,
        url=urls[0],
        urls=urls,
        expires_at=to_datetime(row.expires_at),
        max_uses=row.max_uses,
        uses=row.uses,
        revoked=row.revoked_at is not None,
    )


def chat_invite(row: ChatInviteRow, base_url: str) -> shapes.ChatInviteOut:
    return shapes.ChatInviteOut(
        code=row.code,
        url=f"{base_url}/join/{row.code}",
        expires_at=to_datetime(row.expires_at),
        max_uses=row.max_uses,
        uses=row.uses,
    )


def message(row: MessageRow, extras: Extras, *, thread_unread: int = 0) -> shapes.MessageOut:
    reply = extras.replies.get(row.reply_to) if row.reply_to else None
    grouped: dict[str, list[int]] = {}
    for emoji, user_id in extras.reactions.get(row.id, []):
        grouped.setdefault(emoji, []).append(user_id)
    forwarded = row.forwarded_from
    return shapes.MessageOut(
        id=row.id,
        chat_id=row.chat_id,
        sender_id=row.sender_id,
        client_id=row.client_id,
        kind=cast(Any, row.kind),
        body=row.body,
        created_at=to_datetime(row.created_at),
        edited_at=_at(row.edited_at),
        deleted=row.deleted,
        reply_to=None
        if reply is None
        else shapes.ReplyOut(
            id=reply.id,
            sender_id=reply.sender_id,
            body=reply.body[:REPLY_SNIPPET],
            deleted=reply.deleted,
        ),
        forwarded_from=None if not forwarded else shapes.ForwardOut(**forwarded),
        mentions=sorted(extras.mentions.get(row.id, [])),
        reactions=[shapes.ReactionOut(emoji=e, user_ids=ids) for e, ids in grouped.items()],
        pinned=row.id in extras.pinned,
        call=None if row.deleted else call_summary(extras.calls.get(row.id), extras.took_part),
        attachments=[file(each) for each in extras.attachments.get(row.id, [])],
        thread_root_id=row.thread_root_id,
        also_to_chat=row.also_to_chat,
        thread=thread(extras.threads.get(row.id)),
        thread_unread=thread_unread,
    )


def thread(summary: threads.Summary | None) -> shapes.ThreadOut | None:
    return None if summary is None else thread_out(summary)


def thread_out(summary: threads.Summary) -> shapes.ThreadOut:
    return shapes.ThreadOut(
        chat_id=summary.chat_id,
        root_id=summary.root_id,
        reply_count=summary.reply_count,
        last_reply_id=summary.last_reply_id,
        last_reply_at=_at(summary.last_reply_at),
        last_reply_sender_id=summary.last_reply_sender_id,
        participants=list(summary.participants),
    )


def file_url(file_id: int | None) -> str | None:
    return None if file_id is None else f"/api/v1/files/{file_id}"


def file(row: FileRow) -> shapes.FileOut:
    url = f"/api/v1/files/{row.id}"
    return shapes.FileOut(
        id=row.id,
        name=row.name,
        type=row.type,
        kind=cast(Any, row.kind),
        size=row.size,
        width=row.width,
        height=row.height,
        duration=None if row.duration_ms is None else row.duration_ms / 1000,
        url=url,
        thumb_url=f"{url}/thumb" if row.has_thumb else None,
        waveform=list(row.waveform) if row.kind == "voice" and row.waveform else None,
    )


def gallery_item(item: GalleryItem) -> shapes.MediaItemOut:
    return shapes.MediaItemOut(
        id=item.id,
        message_id=item.message_id,
        sender_id=item.sender_id,
        created_at=to_datetime(item.created_at),
        file=file(item.file),
    )


def call_summary(
    row: CallRow | None, took_part: dict[int, list[int]]
) -> shapes.CallSummaryOut | None:
    """What a call-log message shows of its call."""
    if row is None:
        return None
    return shapes.CallSummaryOut(
        id=row.id,
        kind=cast(Any, row.kind),
        outcome=cast(Any, row.outcome),
        duration_seconds=row.duration_seconds,
        started_by=row.started_by,
        participants=took_part.get(row.id, []),
    )


def call(row: CallRow, participants: Iterable[int] = ()) -> shapes.CallOut:
    if row.ended_at is not None:
        state = "ended"
    else:
        state = "active" if row.answered_at is not None else "ringing"
    return shapes.CallOut(
        id=row.id,
        chat_id=row.chat_id,
        kind=cast(Any, row.kind),
        started_by=row.started_by,
        state=cast(Any, state),
        started_at=to_datetime(row.started_at),
        answered_at=_at(row.answered_at),
        ended_at=_at(row.ended_at),
        outcome=cast(Any, row.outcome),
        participants=sorted(participants),
        duration_seconds=row.duration_seconds,
    )


def chat_fields(row: ChatRow) -> shapes.ChatFieldsOut:
    """What every member sees alike (the data of chat.created and chat.updated)."""
    return shapes.ChatFieldsOut(
        id=row.id,
        kind=cast(Any, row.kind),
        title=row.title,
        topic=row.topic,
        is_public=row.is_public,
        created_by=row.created_by,
        created_at=to_datetime(row.created_at),
        last_activity_at=to_datetime(row.last_activity_at),
        avatar_url=file_url(row.avatar_file_id),
    )


def member(row: MemberRow, person: UserRow, *, last_seen: bool = False) -> shapes.MemberOut:
    return shapes.MemberOut(
        user=user(person, last_seen=last_seen),
        role=cast(Any, row.role),
        joined_at=to_datetime(row.joined_at),
        last_read_id=row.last_read_id,
        last_delivered_id=row.last_delivered_id,
    )


def tokens(issued: IssuedSession) -> shapes.TokensOut:
    return shapes.TokensOut(
        session_id=issued.session_id,
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
    )


def signed_in(row: UserRow, issued: IssuedSession) -> shapes.LoginOut:
    return shapes.LoginOut(**dict(tokens(issued)), user=me(row))


def archived(chat: ChatRow, row: PrefsRow) -> bool:
    """Archived until a message later than the one it was archived at arrives."""
    return row.archived_through is not None and (chat.last_message_id or 0) <= row.archived_through


def chat_prefs(chat: ChatRow, row: PrefsRow) -> shapes.ChatPrefsOut:
    return shapes.ChatPrefsOut(
        chat_id=chat.id,
        muted_until=None if row.muted_until is None else to_datetime(row.muted_until),
        archived=archived(chat, row),
        cleared_through=row.cleared_through,
        hidden=row.hidden_through is not None and (chat.last_message_id or 0) <= row.hidden_through,
    )
