"""The JSON shapes of users, chats and messages (docs/protocol.md), shared by REST, the
WebSocket and the stored events, so every client sees one shape."""

from __future__ import annotations

from typing import Any

from appliance.clock import to_datetime
from appliance.store.calls import CallRow
from appliance.store.chats import ChatRow, MemberRow
from appliance.store.messages import Extras, MessageRow
from appliance.store.users import UserRow

REPLY_SNIPPET = 200


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return to_datetime(ms).isoformat().replace("+00:00", "Z")


def user(row: UserRow, *, last_seen: bool = False) -> dict[str, Any]:
    """A public profile; `last_seen_at` only for someone who shares a chat with the viewer and
    has no block between them (presence rules), else null."""
    return {
        "id": row.id,
        "username": row.username,
        "display_name": row.display_name,
        "bio": row.bio,
        "status_text": row.status_text,
        "is_admin": row.is_admin,
        "created_at": iso(row.created_at),
        "last_seen_at": iso(row.last_seen_at) if last_seen else None,
    }


def message(row: MessageRow, extras: Extras) -> dict[str, Any]:
    reply = extras.replies.get(row.reply_to) if row.reply_to else None
    grouped: dict[str, list[int]] = {}
    for emoji, user_id in extras.reactions.get(row.id, []):
        grouped.setdefault(emoji, []).append(user_id)
    return {
        "id": row.id,
        "chat_id": row.chat_id,
        "sender_id": row.sender_id,
        "client_id": row.client_id,
        "kind": row.kind,
        "body": row.body,
        "created_at": iso(row.created_at),
        "edited_at": iso(row.edited_at),
        "deleted": row.deleted,
        "reply_to": None
        if reply is None
        else {
            "id": reply.id,
            "sender_id": reply.sender_id,
            "body": reply.body[:REPLY_SNIPPET],
            "deleted": reply.deleted,
        },
        "forwarded_from": row.forwarded_from,
        "mentions": sorted(extras.mentions.get(row.id, [])),
        "reactions": [{"emoji": e, "user_ids": ids} for e, ids in grouped.items()],
        "pinned": row.id in extras.pinned,
        "call": call_summary(extras.calls.get(row.id)) if not row.deleted else None,
    }


def call_summary(row: CallRow | None) -> dict[str, Any] | None:
    """What a call-log message shows of its call."""
    if row is None:
        return None
    return {
        "id": row.id,
        "kind": row.kind,
        "outcome": row.outcome,
        "duration_seconds": row.duration_seconds,
        "started_by": row.started_by,
    }


def chat_fields(row: ChatRow) -> dict[str, Any]:
    """What every member sees alike (the data of chat.created and chat.updated)."""
    return {
        "id": row.id,
        "kind": row.kind,
        "title": row.title,
        "topic": row.topic,
        "is_public": row.is_public,
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "last_activity_at": iso(row.last_activity_at),
    }


def member(row: MemberRow, person: UserRow, *, last_seen: bool = False) -> dict[str, Any]:
    return {
        "user": user(person, last_seen=last_seen),
        "role": row.role,
        "joined_at": iso(row.joined_at),
        "last_read_id": row.last_read_id,
        "last_delivered_id": row.last_delivered_id,
    }
