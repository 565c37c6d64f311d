"""Who can message me: everyone (the default) or contacts only, and what each allows."""

from __future__ import annotations

import pytest

from tests.support.people import new_client_id
from tests.support.responses import error_of, json_of


async def contacts_only(person) -> None:
    me = await json_of(await person.patch("/me", json={"dm_policy": "contacts"}), 200)
    assert me["dm_policy"] == "contacts"


async def befriend(asker, answerer) -> None:
    await asker.api("POST", "/contacts", {"user_id": answerer.id}, status=201)
    await answerer.api("POST", f"/contacts/{asker.id}/accept")


async def refused_send(person, chat_id: int, code: str = "contacts_only") -> None:
    body = {"client_id": new_client_id(), "body": "hi"}
    await error_of(await person.post(f"/chats/{chat_id}/messages", json=body), 403, code)


async def test_everyone_is_the_default_and_can_be_changed_back(people):
    (bob,) = await people("bob")
    assert (await bob.api("GET", "/me"))["dm_policy"] == "everyone"
    await contacts_only(bob)
    assert (await bob.api("GET", "/me"))["dm_policy"] == "contacts"
    # Changing another field leaves the policy as it is.
    await bob.api("PATCH", "/me", {"bio": "hello"})
    assert (await bob.api("GET", "/me"))["dm_policy"] == "contacts"
    await bob.api("PATCH", "/me", {"dm_policy": "everyone"})
    assert (await bob.api("GET", "/me"))["dm_policy"] == "everyone"


@pytest.mark.parametrize("value", ["nobody", "", None, 1])
async def test_an_unknown_policy_is_a_validation_error(people, value):
    (bob,) = await people("bob")
    response = await bob.patch("/me", json={"dm_policy": value})
    await error_of(response, 400, "validation_error")
    assert (await bob.api("GET", "/me"))["dm_policy"] == "everyone"


async def test_a_stranger_cannot_open_a_direct_chat_but_can_ask_and_then_message(people):
    bob, carol = await people("bob", "carol")
    await contacts_only(bob)
    response = await carol.post("/chats", json={"kind": "direct", "user_id": bob.id})
    error = await error_of(response, 403, "contacts_only")
    assert "contact request" in error["message"]
    assert await carol.chats() == []  # nothing was created
    await carol.api("POST", "/contacts", {"user_id": bob.id}, status=201)
    await carol.direct(bob, status=403)  # a pending request is not enough
    await bob.api("POST", f"/contacts/{carol.id}/accept")
    chat = await carol.direct(bob)
    sent = await carol.send(chat["id"], "hi Bob")
    assert [m["id"] for m in await bob.message_list(chat["id"])] == [sent["id"]]


async def test_a_stranger_cannot_send_into_a_direct_chat_they_started_before(people):
    bob, carol = await people("bob", "carol")
    chat = await carol.direct(bob)
    await carol.send(chat["id"], "before")
    await contacts_only(bob)
    await refused_send(carol, chat["id"])
    await carol.direct(bob, status=403)
    # Bob, the one with the policy, can still write to Carol.
    await bob.send(chat["id"], "I can still write")


async def test_a_chat_the_person_started_can_be_answered(people):
    bob, carol = await people("bob", "carol")
    await contacts_only(bob)
    chat = await bob.direct(carol)
    assert (await carol.direct(bob, status=200))["id"] == chat["id"]
    await carol.send(chat["id"], "answering you")


async def test_a_declined_request_leaves_the_person_refused(people):
    bob, carol = await people("bob", "carol")
    await contacts_only(bob)
    await carol.api("POST", "/contacts", {"user_id": bob.id}, status=201)
    await bob.api("POST", f"/contacts/{carol.id}/reject")
    await carol.direct(bob, status=403)


async def test_removing_a_contact_closes_direct_messages_again(people):
    bob, carol = await people("bob", "carol")
    await contacts_only(bob)
    await befriend(carol, bob)
    chat = await carol.direct(bob)
    await carol.send(chat["id"], "friends")
    await bob.api("DELETE", f"/contacts/{carol.id}", status=204)
    await refused_send(carol, chat["id"])


async def test_a_forward_into_the_chat_is_refused_too(people):
    bob, carol, dan = await people("bob", "carol", "dan")
    chat = await carol.direct(bob)
    source = await carol.send((await carol.direct(dan))["id"], "pass it on")
    await contacts_only(bob)
    body = {"client_id": new_client_id(), "body": "", "forward_of": source["id"]}
    response = await carol.post(f"/chats/{chat['id']}/messages", json=body)
    await error_of(response, 403, "contacts_only")


async def test_a_block_is_reported_before_the_policy(people):
    bob, carol = await people("bob", "carol")
    chat = await carol.direct(bob)
    await contacts_only(bob)
    await bob.block(carol)
    await refused_send(carol, chat["id"], "blocked")


async def test_groups_are_not_affected(people):
    bob, carol = await people("bob", "carol")
    await contacts_only(bob)
    group = await carol.group("Kitchen", bob)
    sent = await carol.send(group["id"], "group hello")
    assert sent["id"] in [m["id"] for m in await bob.message_list(group["id"])]


async def test_everyone_lets_strangers_message(people):
    bob, carol = await people("bob", "carol")
    await contacts_only(bob)
    await bob.api("PATCH", "/me", {"dm_policy": "everyone"})
    chat = await carol.direct(bob)
    await carol.send(chat["id"], "hello stranger")
