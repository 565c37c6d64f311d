"""What replay and blocks may show (issue 13: deleted and edited text reached late joiners
through the event log; a blocked person could still edit, pin and react in the direct chat).

Replay is read as the WebSocket's hello does, through the EventLog service."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.responses import error_of, json_of, no_content
from tests.support.shapes import THUMBS_UP, emoji_path


async def replayed(hearth, user_id: int) -> list[tuple[str, dict[str, Any]]]:
    """Every stored event a client of `user_id` resuming from seq 0 would be sent."""
    return [
        (event.type, json.loads(event.data))
        for event in await hearth.events.missed(user_id, 0, 10_000)
    ]


def texts(events: list[tuple[str, dict[str, Any]]]) -> str:
    return json.dumps([data for _, data in events], ensure_ascii=False)


# --- replay shows what a message is now --------------------------------------------------------


async def test_a_late_joiner_never_replays_a_message_deleted_for_everyone(hearth, people):
    ada, cy = await people("ada", "cyd")
    channel = await ada.channel("Town square")
    secret = await ada.send(channel["id"], "the door code is 4711")
    quoting = await ada.send(channel["id"], "did you see it?", reply_to=secret["id"])
    await no_content(await ada.delete(f"/messages/{secret['id']}", query_string={"for": "everyone"}))
    await json_of(await cy.post(f"/chats/{channel['id']}/join"), 200)
    events = await replayed(hearth, cy.id)
    assert "4711" not in texts(events)
    created = {data["id"]: data for kind, data in events if kind == "message.created"}
    assert created[secret["id"]]["deleted"] is True and created[secret["id"]]["body"] == ""
    assert created[quoting["id"]]["reply_to"]["body"] == ""
    assert created[quoting["id"]]["reply_to"]["deleted"] is True


async def test_a_late_joiner_replays_only_the_current_text_of_an_edited_message(hearth, people):
    ada, cy = await people("ada", "cyd")
    channel = await ada.channel("Town square")
    sent = await ada.send(channel["id"], "meet at the old mill")
    await json_of(await ada.patch(f"/messages/{sent['id']}", json={"body": "meet at noon"}), 200)
    await json_of(await cy.post(f"/chats/{channel['id']}/join"), 200)
    events = await replayed(hearth, cy.id)
    assert "old mill" not in texts(events)
    about = [data for kind, data in events if data.get("id") == sent["id"]]
    assert [data["body"] for data in about] == ["meet at noon", "meet at noon"]


async def test_members_who_missed_the_delete_replay_the_placeholder(hearth, people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    sent = await ada.send(chat["id"], "oops, wrong chat")
    await no_content(await ada.delete(f"/messages/{sent['id']}", query_string={"for": "everyone"}))
    events = await replayed(hearth, bob.id)
    assert "wrong chat" not in texts(events)
    assert ("message.deleted", {"id": sent["id"], "chat_id": chat["id"], "for": "everyone"}) in events


# --- a block stops every write that reaches the other person -------------------------------------


@pytest.fixture
async def blocked_pair(people):
    """ada and bob share a direct chat with a message each; then bob blocks ada."""
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    mine = await ada.send(chat["id"], "hi bob")
    theirs = await bob.send(chat["id"], "hi ada")
    await no_content(await bob.post("/blocks", json={"user_id": ada.id}))
    return ada, bob, chat["id"], mine, theirs


@pytest.mark.parametrize("who", ["blocked", "blocker"])
async def test_a_block_refuses_edits_reactions_and_pins_both_ways(blocked_pair, hearth, who):
    ada, bob, chat_id, mine, theirs = blocked_pair
    actor, message = (ada, mine) if who == "blocked" else (bob, theirs)
    other = bob if actor is ada else ada
    before = await hearth.events.missed(other.id, 0, 10_000)
    response = await actor.patch(f"/messages/{message['id']}", json={"body": "changed"})
    await error_of(response, 403, "blocked")
    response = await actor.put(f"/messages/{message['id']}/reactions/{emoji_path(THUMBS_UP)}")
    await error_of(response, 403, "blocked")
    await error_of(await actor.put(f"/messages/{message['id']}/pin"), 403, "blocked")
    await error_of(
        await actor.post(f"/chats/{chat_id}/messages", json={"client_id": "f1",
                                                             "forward_of": message["id"]}),
        403, "blocked",
    )  # fmt: skip
    assert await hearth.events.missed(other.id, 0, 10_000) == before
    assert (await other.message(chat_id, message["id"]))["body"] == message["body"]


async def test_across_a_block_a_read_receipt_reaches_only_the_reader(blocked_pair, hearth):
    ada, bob, chat_id, _, theirs = blocked_pair
    seen_by_bob = len(await hearth.events.missed(bob.id, 0, 10_000))
    await no_content(await ada.post(f"/chats/{chat_id}/read", json={"message_id": theirs["id"]}))
    assert len(await hearth.events.missed(bob.id, 0, 10_000)) == seen_by_bob
    own = [e for e in await hearth.events.missed(ada.id, 0, 10_000) if e.type == "receipt.updated"]
    assert json.loads(own[-1].data)["last_read_id"] == theirs["id"]


# --- smaller ---------------------------------------------------------------------------------


async def test_a_client_id_reused_in_another_chat_is_a_conflict_naming_the_original(people):
    ada, bob, cy = await people("ada", "bob", "cyd")
    first = await ada.direct(bob)
    second = await ada.direct(cy)
    sent = await ada.send(first["id"], "to bob", client_id="same-id")
    response = await ada.post(
        f"/chats/{second['id']}/messages", json={"client_id": "same-id", "body": "to cy"}
    )
    error = await error_of(response, 409, "client_id_reused")
    assert str(sent["id"]) in error["message"]
    assert [m["body"] for m in await cy.message_list(second["id"])] == []
