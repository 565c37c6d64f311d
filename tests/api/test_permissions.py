"""Who may do what: every messaging endpoint for an outsider, for a plain member, for an admin,
and what a block forbids. Each table row is one request; `{...}` names are filled per test."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.responses import (
    chat_not_found,
    error_of,
    forbidden,
    json_of,
    no_content,
    not_a_member,
)
from tests.support.shapes import THUMBS_UP, emoji_path, ids

EMOJI = emoji_path(THUMBS_UP)

# (method, path template, body): every endpoint that reaches into one chat or one message.
CHAT_OPS = [
    ("GET", "/chats/{chat}", None),
    ("PATCH", "/chats/{chat}", {"title": "Taken over"}),
    ("DELETE", "/chats/{chat}", None),
    ("POST", "/chats/{chat}/members", {"user_ids": ["{me}"]}),
    ("PATCH", "/chats/{chat}/members/{owner}", {"role": "member"}),
    ("DELETE", "/chats/{chat}/members/{member}", None),
    ("DELETE", "/chats/{chat}/members/{me}", None),
    ("POST", "/chats/{chat}/invites", {}),
    ("GET", "/chats/{chat}/messages", None),
    ("POST", "/chats/{chat}/messages", {"client_id": "intruder", "body": "let me in"}),
    ("GET", "/chats/{chat}/pins", None),
    ("POST", "/chats/{chat}/read", {"message_id": "{message}"}),
    ("POST", "/chats/{chat}/delivered", {"message_id": "{message}"}),
]
JOIN_OP = ("POST", "/chats/{chat}/join", None)
MESSAGE_OPS = [
    ("PATCH", "/messages/{message}", {"body": "rewritten"}),
    ("GET", "/messages/{message}/edits", None),
    ("DELETE", "/messages/{message}?for=me", None),
    ("DELETE", "/messages/{message}?for=everyone", None),
    ("PUT", "/messages/{message}/reactions/" + EMOJI, None),
    ("DELETE", "/messages/{message}/reactions/" + EMOJI, None),
    ("PUT", "/messages/{message}/pin", None),
    ("DELETE", "/messages/{message}/pin", None),
]


def op_id(op: tuple[str, str, Any]) -> str:
    return f"{op[0]} {op[1]}"


def fill(template: Any, names: dict[str, int]) -> Any:
    """'{chat}' -> 7 inside strings, lists and dicts; a whole-string placeholder becomes an int."""
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}") and template[1:-1] in names:
            return names[template[1:-1]]
        return template.format(**names)
    if isinstance(template, list):
        return [fill(item, names) for item in template]
    if isinstance(template, dict):
        return {key: fill(value, names) for key, value in template.items()}
    return template


async def call(person, op: tuple[str, str, Any], names: dict[str, int]) -> Any:
    method, path, body = op
    path = fill(path, names)
    path, _, query = path.partition("?")
    kwargs: dict[str, Any] = {}
    if query:
        key, _, value = query.partition("=")
        kwargs["query_string"] = {key: value}
    if body is not None:
        kwargs["json"] = fill(body, names)
    return await person.request(method, path, **kwargs)


async def snapshot(owner, chat_id: int, message_id: int) -> dict[str, Any]:
    """What a forbidden request must leave alone, as the owner sees it."""
    chat = await owner.chat(chat_id)
    message = await owner.message(chat_id, message_id)
    return {
        "title": chat["title"],
        "topic": chat["topic"],
        "roles": {m["user"]["id"]: m["role"] for m in chat["members"]},
        "messages": [(m["id"], m["body"]) for m in await owner.message_list(chat_id)],
        "message": {k: message[k] for k in ("body", "deleted", "pinned", "reactions", "edited_at")},
    }


async def make_chat(kind: str, ada, bob) -> dict[str, Any]:
    if kind == "direct":
        return await ada.direct(bob)
    if kind == "group":
        return await ada.group("Kitchen", bob)
    return await ada.channel("News", bob, is_public=(kind == "public channel"))


# --- outsiders --------------------------------------------------------------------------------

KINDS = ["group", "direct", "private channel", "public channel"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("op", [*CHAT_OPS, JOIN_OP, *MESSAGE_OPS], ids=op_id)
async def test_outsider_gets_not_a_member(people, kind, op):
    ada, bob, eve = await people("ada", "bob", "eve")
    if op == JOIN_OP and kind == "public channel":
        pytest.skip("anyone may join a public channel")
    chat = await make_chat(kind, ada, bob)
    message = await ada.send(chat["id"], "members only")
    await no_content(await ada.put(f"/messages/{message['id']}/reactions/{EMOJI}"))
    names = {
        "chat": chat["id"],
        "message": message["id"],
        "owner": ada.id,
        "member": bob.id,
        "me": eve.id,
    }
    before = await snapshot(ada, chat["id"], message["id"])
    await not_a_member(await call(eve, op, names))
    assert await snapshot(ada, chat["id"], message["id"]) == before
    assert await eve.chats() == []


@pytest.mark.parametrize("op", [*CHAT_OPS, JOIN_OP], ids=op_id)
async def test_a_chat_that_does_not_exist_is_chat_not_found(people, op):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    message = await ada.send(chat["id"], "exists")
    names = {
        "chat": chat["id"] + 1000,
        "message": message["id"],
        "owner": ada.id,
        "member": bob.id,
        "me": ada.id,
    }
    await chat_not_found(await call(ada, op, names))


@pytest.mark.parametrize("op", MESSAGE_OPS, ids=op_id)
async def test_a_message_that_does_not_exist_is_404(people, op):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    message = await ada.send(chat["id"], "exists")
    names = {"message": message["id"] + 1000}
    response = await call(ada, op, names)
    body = await json_of(response, 404)
    assert body["error"]["code"] != "not_a_member", body


async def test_outsider_cannot_forward_a_message_out_of_a_chat(people):
    ada, bob, eve = await people("ada", "bob", "eve")
    chat = await ada.group("Kitchen", bob)
    secret = await ada.send(chat["id"], "the recipe")
    own = await eve.group("Mine")
    response = await eve.post(
        f"/chats/{own['id']}/messages",
        json={"client_id": "fw", "body": "", "forward_of": secret["id"]},
    )
    assert response.status_code in {403, 404}, await response.get_data(as_text=True)
    assert "the recipe" not in [m["body"] for m in await eve.message_list(own["id"])]


async def test_outsider_cannot_reply_to_a_message_of_another_chat(people):
    ada, bob, eve = await people("ada", "bob", "eve")
    chat = await ada.group("Kitchen", bob)
    secret = await ada.send(chat["id"], "the recipe")
    own = await eve.group("Mine")
    response = await eve.post(
        f"/chats/{own['id']}/messages",
        json={"client_id": "rp", "body": "?", "reply_to": secret["id"]},
    )
    if response.status_code == 201:
        reply = await response.get_json()
        assert reply["reply_to"] is None or reply["reply_to"]["body"] != "the recipe", reply
    else:
        assert response.status_code in {400, 403, 404}, await response.get_data(as_text=True)


# --- plain members ----------------------------------------------------------------------------

# What a plain member of a group may not do. {other} is another plain member; {pinned} a message
# the owner pinned; {message} the owner's message.
MEMBER_FORBIDDEN = [
    ("PATCH", "/chats/{chat}", {"title": "Mine now"}),
    ("PATCH", "/chats/{chat}", {"topic": "my topic"}),
    ("POST", "/chats/{chat}/members", {"user_ids": ["{outsider}"]}),
    ("DELETE", "/chats/{chat}/members/{other}", None),
    ("DELETE", "/chats/{chat}/members/{owner}", None),
    ("PATCH", "/chats/{chat}/members/{other}", {"role": "admin"}),
    ("PATCH", "/chats/{chat}/members/{me}", {"role": "admin"}),
    ("PATCH", "/chats/{chat}/members/{me}", {"role": "owner"}),
    ("DELETE", "/chats/{chat}", None),
    ("POST", "/chats/{chat}/invites", {}),
    ("PUT", "/messages/{message}/pin", None),
    ("DELETE", "/messages/{pinned}/pin", None),
    ("DELETE", "/messages/{message}?for=everyone", None),
    ("PATCH", "/messages/{message}", {"body": "words in her mouth"}),
]


@pytest.fixture
async def group_world(people):
    """ada owns a group with plain members bob and cy; eve is outside. ada sent two messages
    and pinned the second."""
    ada, bob, cy, eve = await people("ada", "bob", "cyd", "eve")
    chat = await ada.group("Kitchen", bob, cy)
    message = await ada.send(chat["id"], "owner speaks")
    pinned = await ada.send(chat["id"], "house rules")
    await no_content(await ada.put(f"/messages/{pinned['id']}/pin"))
    names = {
        "chat": chat["id"],
        "message": message["id"],
        "pinned": pinned["id"],
        "owner": ada.id,
        "me": bob.id,
        "other": cy.id,
        "outsider": eve.id,
    }
    return ada, bob, names


@pytest.mark.parametrize("op", MEMBER_FORBIDDEN, ids=op_id)
async def test_plain_member_is_forbidden(group_world, op):
    ada, bob, names = group_world
    before = await snapshot(ada, names["chat"], names["message"])
    pins_before = await json_of(await ada.get(f"/chats/{names['chat']}/pins"), 200)
    await forbidden(await call(bob, op, names))
    assert await snapshot(ada, names["chat"], names["message"]) == before
    assert await json_of(await ada.get(f"/chats/{names['chat']}/pins"), 200) == pins_before


# What a plain member may do: the table above is not just "members can do nothing".
MEMBER_ALLOWED = [
    ("GET", "/chats/{chat}", None, 200),
    ("GET", "/chats/{chat}/messages", None, 200),
    ("GET", "/chats/{chat}/pins", None, 200),
    ("POST", "/chats/{chat}/messages", {"client_id": "bob-1", "body": "hi all"}, 201),
    ("POST", "/chats/{chat}/read", {"message_id": "{message}"}, 204),
    ("POST", "/chats/{chat}/delivered", {"message_id": "{message}"}, 204),
    ("PUT", "/messages/{message}/reactions/" + EMOJI, None, 204),
    ("DELETE", "/messages/{message}?for=me", None, 204),
    ("GET", "/messages/{message}/edits", None, 200),
    ("DELETE", "/chats/{chat}/members/{me}", None, 204),
]


@pytest.mark.parametrize("op", MEMBER_ALLOWED, ids=lambda op: f"{op[0]} {op[1]}")
async def test_plain_member_is_allowed(group_world, op):
    _, bob, names = group_world
    method, path, body, status = op
    response = await call(bob, (method, path, body), names)
    assert response.status_code == status, await response.get_data(as_text=True)


async def test_member_edits_and_deletes_their_own_message(group_world):
    ada, bob, names = group_world
    mine = await bob.send(names["chat"], "typo")
    edited = await json_of(await bob.patch(f"/messages/{mine['id']}", json={"body": "fixed"}), 200)
    assert edited["body"] == "fixed"
    await no_content(await bob.delete(f"/messages/{mine['id']}", query_string={"for": "everyone"}))
    assert (await ada.message(names["chat"], mine["id"]))["deleted"] is True


async def test_only_the_sender_edits_even_for_the_owner(group_world):
    ada, bob, names = group_world
    mine = await bob.send(names["chat"], "my words")
    await forbidden(await ada.patch(f"/messages/{mine['id']}", json={"body": "owner's words"}))
    assert (await bob.message(names["chat"], mine["id"]))["body"] == "my words"


async def test_in_a_direct_chat_both_pin_but_neither_deletes_the_others_message(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    message = await ada.send(chat["id"], "hers")
    await no_content(await bob.put(f"/messages/{message['id']}/pin"))
    await no_content(await bob.delete(f"/messages/{message['id']}/pin"))
    await forbidden(
        await bob.delete(f"/messages/{message['id']}", query_string={"for": "everyone"})
    )
    await forbidden(await bob.patch(f"/messages/{message['id']}", json={"body": "mine"}))
    assert (await ada.message(chat["id"], message["id"]))["body"] == "hers"


async def test_admin_can_but_not_over_the_owner(group_world):
    ada, bob, names = group_world
    chat_id = names["chat"]
    await json_of(
        await ada.patch(f"/chats/{chat_id}/members/{bob.id}", json={"role": "admin"}), 200
    )
    await no_content(await bob.put(f"/messages/{names['message']}/pin"))
    await json_of(await bob.post(f"/chats/{chat_id}/invites", json={}), 201)
    await json_of(await bob.patch(f"/chats/{chat_id}", json={"topic": "admin topic"}), 200)
    await forbidden(await bob.delete(f"/chats/{chat_id}/members/{ada.id}"))
    await forbidden(
        await bob.patch(f"/chats/{chat_id}/members/{names['other']}", json={"role": "admin"})
    )
    await forbidden(await bob.delete(f"/chats/{chat_id}"))
    await forbidden(await bob.patch(f"/messages/{names['message']}", json={"body": "admin edit"}))
    assert (await ada.roles(chat_id))[ada.id] == "owner"


# --- blocks -----------------------------------------------------------------------------------

BLOCKERS = ["the recipient blocked the sender", "the sender blocked the recipient"]


async def block(blocker, blocked) -> None:
    await no_content(await blocker.post("/blocks", json={"user_id": blocked.id}))


@pytest.mark.parametrize("who", BLOCKERS)
async def test_no_new_direct_chat_across_a_block(people, who):
    ada, bob = await people("ada", "bob")
    if who == BLOCKERS[0]:
        await block(bob, ada)
    else:
        await block(ada, bob)
    response = await ada.post("/chats", json={"kind": "direct", "user_id": bob.id})
    await error_of(response, 403, "blocked")
    assert await ada.chats() == [] and await bob.chats() == []


@pytest.mark.parametrize("who", BLOCKERS)
async def test_no_message_in_an_existing_direct_chat_across_a_block(people, who):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    before = await ada.send(chat["id"], "before the block")
    if who == BLOCKERS[0]:
        await block(bob, ada)
    else:
        await block(ada, bob)
    response = await ada.post(
        f"/chats/{chat['id']}/messages", json={"client_id": "blk", "body": "after"}
    )
    await error_of(response, 403, "blocked")
    assert ids(await bob.message_list(chat["id"])) == [before["id"]]


async def test_a_block_lifted_lets_messages_through_again(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    await block(bob, ada)
    await no_content(await bob.delete(f"/blocks/{ada.id}"))
    sent = await ada.send(chat["id"], "friends again")
    assert ids(await bob.message_list(chat["id"])) == [sent["id"]]
