"""Each change reaches the right sockets as its stored event, whether made over REST or a socket."""

from __future__ import annotations

from urllib.parse import quote

SERVED_ON = ("sqlite", "postgresql")  # conftest: each served test on both engines


THUMBS_UP = "\N{THUMBS UP SIGN}"
CHAT_EVENT_FIELDS = {"id", "kind", "title", "topic", "is_public", "created_by", "created_at"}


def on(message_id: int):
    return lambda frame: frame["data"].get("id", frame["data"].get("message_id")) == message_id


async def test_message_lifecycle_events(people):
    ada, bob, eve = await people("ada", "bob", "eve")
    chat = await ada.group("Life", bob)
    mine, theirs, outsider = await ada.connect(), await bob.connect(), await eve.connect()

    sent = await ada.send(chat["id"], "first draft")
    for socket in (mine, theirs):
        created = await socket.expect("message.created", where=on(sent["id"]))
        assert created["type"] == "event" and isinstance(created["seq"], int)
        assert created["data"] == sent

    edited = await mine.ok("message.edit", {"message_id": sent["id"], "body": "final"})
    assert edited["body"] == "final" and edited["edited_at"]
    updated = await theirs.expect("message.updated", where=on(sent["id"]))
    assert updated["data"]["body"] == "final"

    await ada.api("PUT", f"/messages/{sent['id']}/pin", status=204)
    pinned = await theirs.expect("message.updated", where=on(sent["id"]))
    assert pinned["data"]["pinned"] is True

    assert await theirs.ok("reaction.add", {"message_id": sent["id"], "emoji": THUMBS_UP}) == {}
    added = await mine.expect("reaction.added")
    assert added["data"] == {
        "chat_id": chat["id"],
        "message_id": sent["id"],
        "user_id": bob.id,
        "emoji": THUMBS_UP,
    }
    await bob.api("DELETE", f"/messages/{sent['id']}/reactions/{quote(THUMBS_UP)}", status=204)
    removed = await mine.expect("reaction.removed")
    assert removed["data"]["user_id"] == bob.id and removed["data"]["emoji"] == THUMBS_UP

    assert await theirs.ok("chat.read", {"chat_id": chat["id"], "message_id": sent["id"]}) == {}
    receipt = await mine.expect("receipt.updated", where=lambda f: f["data"]["user_id"] == bob.id)
    assert receipt["data"]["chat_id"] == chat["id"]
    assert receipt["data"]["last_read_id"] == sent["id"]
    assert receipt["data"]["last_delivered_id"] >= sent["id"]

    await mine.ok("message.delete", {"message_id": sent["id"], "for": "everyone"})
    deleted = await theirs.expect("message.deleted", where=on(sent["id"]))
    assert deleted["data"] == {"id": sent["id"], "chat_id": chat["id"], "for": "everyone"}

    events = [f for f in mine.received if f["type"] == "event"]
    assert [f["seq"] for f in events] == sorted({f["seq"] for f in events})
    await outsider.ping_round_trip()
    assert [f for f in outsider.received if f["type"] == "event"] == []


async def test_chat_and_member_events(people):
    ada, bob, cyd, eve = await people("ada", "bob", "cyd", "eve")
    theirs, newcomer, outsider = await bob.connect(), await cyd.connect(), await eve.connect()

    chat = await ada.group("Club", bob)
    created = await theirs.expect("chat.created", where=lambda f: f["data"]["id"] == chat["id"])
    assert set(created["data"]) >= CHAT_EVENT_FIELDS
    assert created["data"]["title"] == "Club" and created["data"]["created_by"] == ada.id

    await ada.api("PATCH", f"/chats/{chat['id']}", {"title": "Book club"})
    renamed = await theirs.expect("chat.updated", where=lambda f: f["data"]["id"] == chat["id"])
    assert renamed["data"]["title"] == "Book club"

    await ada.api("POST", f"/chats/{chat['id']}/members", {"user_ids": [cyd.id]})
    for socket in (theirs, newcomer):
        added = await socket.expect(
            "member.added", where=lambda f: f["data"]["user"]["id"] == cyd.id
        )
        assert added["data"]["chat_id"] == chat["id"]
        assert added["data"]["role"] == "member" and added["data"]["by"] == ada.id

    await ada.api("PATCH", f"/chats/{chat['id']}/members/{bob.id}", {"role": "admin"})
    role = await newcomer.expect("member.updated")
    assert role["data"] == {"chat_id": chat["id"], "user_id": bob.id, "role": "admin"}

    await ada.api("DELETE", f"/chats/{chat['id']}/members/{cyd.id}", status=204)
    for socket in (theirs, newcomer):
        gone = await socket.expect("member.removed", where=lambda f: f["data"]["user_id"] == cyd.id)
        assert gone["data"] == {"chat_id": chat["id"], "user_id": cyd.id, "by": ada.id}

    # After leaving, cyd hears nothing more from the chat.
    later = await ada.send(chat["id"], "cyd is gone")
    await theirs.expect("message.created", where=on(later["id"]))
    await newcomer.ping_round_trip()
    assert [f for f in newcomer.events("message.created") if f["data"]["id"] == later["id"]] == []

    await ada.api("DELETE", f"/chats/{chat['id']}", status=204)
    deleted = await theirs.expect("chat.deleted")
    assert deleted["data"] == {"chat_id": chat["id"]}

    await outsider.ping_round_trip()
    assert [f for f in outsider.received if f["type"] == "event"] == []


async def test_contact_events_reach_both_people(people):
    ada, bob = await people("ada", "bob")
    mine, theirs = await ada.connect(), await bob.connect()
    await ada.api("POST", "/contacts", {"user_id": bob.id}, status=201)
    for socket, other in ((mine, bob), (theirs, ada)):
        frame = await socket.expect("contact.requested")
        assert frame["data"]["from_user_id"] == ada.id and frame["data"]["to_user_id"] == bob.id
        assert frame["data"]["user"]["id"] == other.id
    await bob.api("POST", f"/contacts/{ada.id}/accept")
    for socket, other in ((mine, bob), (theirs, ada)):
        frame = await socket.expect("contact.accepted")
        assert frame["data"]["user"]["id"] == other.id
    await ada.api("DELETE", f"/contacts/{bob.id}", status=204)
    for socket, other in ((mine, bob), (theirs, ada)):
        frame = await socket.expect("contact.removed")
        assert frame["data"]["user"]["id"] == other.id


async def test_socket_send_is_seen_over_rest_and_counts_against_the_same_rules(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    mine = await ada.connect()
    data = {"chat_id": chat["id"], "client_id": "sock-1", "body": "via socket", "reply_to": None}
    sent = await mine.ok("message.send", data)
    listed = await bob.api("GET", f"/chats/{chat['id']}/messages")
    assert [m["id"] for m in listed["messages"]] == [sent["id"]]
    await bob.block(ada)
    reply = await mine.request("message.send", {**data, "client_id": "sock-2"})
    assert reply["ok"] is False and reply["error"]["code"] == "blocked"


async def test_socket_send_to_someone_who_takes_contacts_only_is_refused(people):
    bob, carol = await people("bob", "carol")
    chat = await carol.direct(bob)
    await bob.api("PATCH", "/me", {"dm_policy": "contacts"})
    mine = await carol.connect()
    data = {"chat_id": chat["id"], "client_id": "policy-1", "body": "hi"}
    reply = await mine.request("message.send", data)
    assert reply["ok"] is False and reply["error"]["code"] == "contacts_only"
    await carol.api("POST", "/contacts", {"user_id": bob.id}, status=201)
    await bob.api("POST", f"/contacts/{carol.id}/accept")
    sent = await mine.ok("message.send", {**data, "client_id": "policy-2"})
    assert sent["body"] == "hi"


async def test_socket_ops_for_receipts_and_reactions(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    mine, theirs = await ada.connect(), await bob.connect()
    sent = await ada.send(chat["id"], "did you get it?")
    await theirs.ok("chat.delivered", {"chat_id": chat["id"], "message_id": sent["id"]})
    receipt = await mine.expect("receipt.updated", where=lambda f: f["data"]["user_id"] == bob.id)
    assert receipt["data"]["last_delivered_id"] == sent["id"]
    assert receipt["data"]["last_read_id"] < sent["id"]
    await theirs.ok("reaction.add", {"message_id": sent["id"], "emoji": THUMBS_UP})
    await theirs.ok("reaction.remove", {"message_id": sent["id"], "emoji": THUMBS_UP})
    removed = await mine.expect("reaction.removed")
    assert removed["data"]["user_id"] == bob.id
    listed = await ada.api("GET", f"/chats/{chat['id']}/messages")
    assert listed["messages"][-1]["reactions"] == []


async def test_socket_ops_keep_the_rest_permissions(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Rules", bob)
    sent = await ada.send(chat["id"], "owner's words")
    theirs = await bob.connect()
    edit = await theirs.request("message.edit", {"message_id": sent["id"], "body": "bob's words"})
    assert edit["ok"] is False and edit["error"]["code"] not in {"validation_error", "internal"}
    delete = await theirs.request("message.delete", {"message_id": sent["id"], "for": "everyone"})
    assert delete["ok"] is False and delete["error"]["code"] not in {"validation_error", "internal"}
    listed = await ada.api("GET", f"/chats/{chat['id']}/messages")
    mine = [m for m in listed["messages"] if m["id"] == sent["id"]]
    assert mine[0]["body"] == "owner's words" and mine[0]["deleted"] is False
