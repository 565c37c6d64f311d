"""People who use Hearth in tests: signed up, each with their own credentials, doing the common
steps (start a chat, send, block) with the status checked.

Two kinds, one set of steps: an `AppPerson` talks to the app in-process through its own test
client (tests/api), a `ServedPerson` to a `hearth serve` subprocess over HTTPS and WebSockets
(tests/realtime). `AppPeople` and `ServedPeople` sign them up:
`ada, bob = await people("ada", "bob")`.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from appliance.context import Hearth
from tests.support.app import PASSWORD, Client, make_user, signed_in
from tests.support.responses import COOKIE, json_of
from tests.support.server import HearthServer
from tests.support.wire import Rest, Socket, open_socket

API = "/api/v1"

_client_ids = itertools.count(1)
_names = itertools.count(1)


def new_client_id() -> str:
    return f"c-{next(_client_ids)}"


class Person(ABC):
    """The steps every test person takes; paths are relative to /api/v1."""

    id: int
    username: str

    @abstractmethod
    async def api(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        """A JSON request as this person; checks the status and returns the JSON body."""

    async def direct(self, other: Person, status: int = 201) -> dict[str, Any]:
        body = {"kind": "direct", "user_id": other.id}
        chat: dict[str, Any] = await self.api("POST", "/chats", body, status=status)
        return chat

    async def group(self, title: str, *members: Person, **extra: Any) -> dict[str, Any]:
        body = {"kind": "group", "title": title, "member_ids": [m.id for m in members], **extra}
        chat: dict[str, Any] = await self.api("POST", "/chats", body, status=201)
        return chat

    async def channel(self, title: str, *members: Person, **extra: Any) -> dict[str, Any]:
        body = {"kind": "channel", "title": title, "member_ids": [m.id for m in members], **extra}
        chat: dict[str, Any] = await self.api("POST", "/chats", body, status=201)
        return chat

    async def send(
        self, chat_id: int, body: str = "hello", *, client_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        payload = {"client_id": client_id or new_client_id(), "body": body, **extra}
        message: dict[str, Any] = await self.api(
            "POST", f"/chats/{chat_id}/messages", payload, status=201
        )
        return message

    async def block(self, other: Person) -> None:
        await self.api("POST", "/blocks", {"user_id": other.id}, status=204)


# --- in-process ---------------------------------------------------------------------------------


@dataclass
class AppPerson(Person):
    """One user signed in on their own test client of the in-process app."""

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

    async def api(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        sent = {} if body is None else {"json": body}
        return await json_of(await self.request(method, path, **sent), status)

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


class AppPeople:
    """Make users the operator's way and sign each in on a client of their own."""

    def __init__(self, hearth: Hearth, new_client: Callable[[], Client]) -> None:
        self.hearth = hearth
        self.new_client = new_client

    async def one(self, username: str, display_name: str | None = None) -> AppPerson:
        user_id = await make_user(self.hearth, username)
        if display_name is not None:
            await self.hearth.accounts.update_profile(user_id, {"display_name": display_name})
        client = self.new_client()
        await signed_in(self.hearth, client, username)
        return AppPerson(user_id, username, client)

    async def __call__(self, *usernames: str) -> list[AppPerson]:
        return [await self.one(name) for name in usernames]


# --- served -------------------------------------------------------------------------------------


@dataclass
class ServedPerson(Person):
    """One user of a served Hearth: an access token for REST, the session cookie, and the
    WebSockets they opened (closed by `ServedPeople.close()`)."""

    id: int
    username: str
    token: str
    cookie: str
    rest: Rest
    server: HearthServer
    sockets: list[Socket] = field(default_factory=list)

    async def api(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        reply = await self.rest.call(method, path, body, token=self.token)
        assert reply.status == status, (method, path, reply.status, reply.body)
        return reply.body

    async def connect(self, resume_from: int | None = None, *, greet: bool = True) -> Socket:
        """A socket with `hello` done (unless greet=False); the hello data is on `.welcome`."""
        socket = await open_socket(self.server, {"Authorization": f"Bearer {self.token}"})
        self.sockets.append(socket)
        if greet:
            socket.welcome = await socket.hello(resume_from)
        return socket


class ServedPeople:
    """Sign people up on a server (open registration, unique usernames) and close their
    sockets afterwards."""

    def __init__(self, server: HearthServer) -> None:
        self.server = server
        self.rest = Rest(server)
        self.everyone: list[ServedPerson] = []

    async def one(self, name: str) -> ServedPerson:
        username = f"{name}-{next(_names)}"
        reply = await self.rest.call(
            "POST", "/auth/signup", {"username": username, "password": PASSWORD}
        )
        assert reply.status == 201, reply.body
        cookie = ""
        for header in reply.headers.get_all("Set-Cookie") or []:
            if header.startswith(f"{COOKIE}="):
                cookie = header.split(";", 1)[0].split("=", 1)[1]
        person = ServedPerson(
            reply.body["user"]["id"],
            username,
            reply.body["access_token"],
            cookie,
            self.rest,
            self.server,
        )
        self.everyone.append(person)
        return person

    async def __call__(self, *names: str) -> list[ServedPerson]:
        return [await self.one(name) for name in names]

    async def close(self) -> None:
        for person in self.everyone:
            for socket in person.sockets:
                await socket.close()
