"""Helpers shared by the messaging API tests (chats, messages, contacts, permissions).

A `Person` is a signed-in user with their own cookie jar; tests say `await ada.post(...)` and
read answers with `json_of` / `error_of` from accounts_helpers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from accounts_helpers import error_of, json_of, make_user, signed_in

from appliance.context import Hearth
from tests.conftest import Client

API = "/api/v1"
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

_client_ids = itertools.count(1)


def new_client_id() -> str:
    return f"c-{next(_client_ids)}"


def emoji_path(emoji: str) -> str:
    return quote(emoji, safe="")


@dataclass
class Person:
    """One user signed in on their own client; paths are relative to /api/v1."""

    id: int
    username: str
    client: Client

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self.client.request(method, API + path, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Any:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Any:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", path, **kwargs)

    # --- the common steps, each checking its status -----------------------------------------

    async def direct(self, other: Person, status: int = 201) -> dict[str, Any]:
        response = await self.post("/chats", json={"kind": "direct", "user_id": other.id})
        chat: dict[str, Any] = await json_of(response, status)
        return chat

    async def group(self, title: str, *members: Person, **extra: Any) -> dict[str, Any]:
        body = {"kind": "group", "title": title, "member_ids": [m.id for m in members], **extra}
        chat: dict[str, Any] = await json_of(await self.post("/chats", json=body), 201)
        return chat

    async def channel(self, title: str, *members: Person, **extra: Any) -> dict[str, Any]:
        body = {"kind": "channel", "title": title, "member_ids": [m.id for m in members], **extra}
        chat: dict[str, Any] = await json_of(await self.post("/chats", json=body), 201)
        return chat

    async def chat(self, chat_id: int) -> dict[str, Any]:
        chat: dict[str, Any] = await json_of(await self.get(f"/chats/{chat_id}"), 200)
        return chat

    async def chats(self) -> list[dict[str, Any]]:
        body = await json_of(await self.get("/chats"), 200)
        chats: list[dict[str, Any]] = body["chats"]
        return chats

    async def chat_in_list(self, chat_id: int) -> dict[str, Any]:
        matches = [chat for chat in await self.chats() if chat["id"] == chat_id]
        assert len(matches) == 1, matches
        return matches[0]

    async def send(
        self, chat_id: int, body: str = "hello", *, client_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        payload = {"client_id": client_id or new_client_id(), "body": body, **extra}
        response = await self.post(f"/chats/{chat_id}/messages", json=payload)
        message: dict[str, Any] = await json_of(response, 201)
        return message

    async def messages(self, chat_id: int, **query: Any) -> dict[str, Any]:
        response = await self.get(f"/chats/{chat_id}/messages", query_string=query)
        page: dict[str, Any] = await json_of(response, 200)
        return page

    async def message_list(self, chat_id: int, **query: Any) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = (await self.messages(chat_id, **query))["messages"]
        return messages

    async def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """One message as this person sees it in the chat's history."""
        page = await self.message_list(chat_id, limit=100)
        matches = [m for m in page if m["id"] == message_id]
        assert len(matches) == 1, page
        return matches[0]

    async def contacts(self) -> dict[str, Any]:
        body: dict[str, Any] = await json_of(await self.get("/contacts"), 200)
        return body

    async def member_ids(self, chat_id: int) -> set[int]:
        return {member["user"]["id"] for member in (await self.chat(chat_id))["members"]}

    async def roles(self, chat_id: int) -> dict[int, str]:
        return {m["user"]["id"]: m["role"] for m in (await self.chat(chat_id))["members"]}


class People:
    """Make users and sign each in on a client of their own: `ada, bob = await people("ada", "bob")`."""

    def __init__(self, hearth: Hearth, new_client: Callable[[], Client]) -> None:
        self.hearth = hearth
        self.new_client = new_client

    async def one(self, username: str, display_name: str | None = None) -> Person:
        user_id = await make_user(self.hearth, username)
        if display_name is not None:
            await self.hearth.accounts.update_profile(user_id, {"display_name": display_name})
        client = self.new_client()
        await signed_in(self.hearth, client, username)
        return Person(user_id, username, client)

    async def __call__(self, *usernames: str) -> list[Person]:
        return [await self.one(name) for name in usernames]


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


def user_ids(users: list[dict[str, Any]]) -> list[int]:
    return [user["id"] for user in users]


async def not_a_member(response: Any) -> dict[str, Any]:
    return await error_of(response, 403, "not_a_member")


async def chat_not_found(response: Any) -> dict[str, Any]:
    return await error_of(response, 404, "chat_not_found")


async def forbidden(response: Any) -> dict[str, Any]:
    """A 403 for someone who is in the chat but lacks the role (or is not the sender)."""
    body = await json_of(response, 403)
    error: dict[str, Any] = body["error"]
    assert error["code"] != "not_a_member", error
    assert isinstance(error["message"], str) and error["message"], error
    return error


async def no_content(response: Any) -> None:
    assert response.status_code == 204, await response.get_data(as_text=True)
