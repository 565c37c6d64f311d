"""What the REST API's objects look like (the fields each one has), and small ways to read them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

THUMBS_UP = "\N{THUMBS UP SIGN}"
HEART = "\N{HEAVY BLACK HEART}"

MESSAGE_FIELDS = {
    "id",
    "chat_id",
    "sender_id",
    "client_id",
    "kind",
    "body",
    "created_at",
    "edited_at",
    "deleted",
    "reply_to",
    "forwarded_from",
    "mentions",
    "reactions",
    "pinned",
    "call",
    "attachments",
    "thread_root_id",
    "also_to_chat",
    "thread",
    "thread_unread",
}
CHAT_FIELDS = {
    "id",
    "kind",
    "title",
    "topic",
    "is_public",
    "created_by",
    "created_at",
    "last_activity_at",
    "role",
    "joined_at",
    "peer",
    "member_count",
    "last_message",
    "unread_count",
    "mention_count",
    "last_read_id",
    "last_delivered_id",
}
MEMBER_FIELDS = {"user", "role", "joined_at", "last_read_id", "last_delivered_id"}
CONTACTS_FIELDS = {"contacts", "incoming", "outgoing", "blocked"}


def emoji_path(emoji: str) -> str:
    return quote(emoji, safe="")


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


def user_ids(users: list[dict[str, Any]]) -> list[int]:
    return [user["id"] for user in users]
