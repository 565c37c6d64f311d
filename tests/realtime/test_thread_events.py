"""Threads over the WebSocket (issue 14): a reply sent with message.send reaches every member
as message.created naming its root, then thread.updated with the root's summary; read marks
reach only your own devices; a socket that resumes gets the replies it missed."""

from __future__ import annotations


async def test_a_thread_reply_is_announced_with_its_summary(people):
    ada, bob, cyd = await people("ada", "bob", "cyd")
    chat = await ada.group("Kitchen", bob, cyd)
    root = await ada.send(chat["id"], "who buys milk?")
    adas, cyds = await ada.connect(), await cyd.connect()
    bobs = await bob.connect()
    reply = await bobs.ok(
        "message.send",
        {"chat_id": chat["id"], "client_id": "t-1", "body": "I will", "thread_root_id": root["id"]},
    )
    assert reply["thread_root_id"] == root["id"] and reply["also_to_chat"] is False
    for socket in (adas, cyds):
        created = await socket.expect(
            "message.created", where=lambda f: f["data"]["id"] == reply["id"]
        )
        assert created["data"]["thread_root_id"] == root["id"]
        updated = await socket.expect("thread.updated")
        assert updated["seq"] > created["seq"]
        assert updated["data"] == {
            "chat_id": chat["id"],
            "root_id": root["id"],
            "reply_count": 1,
            "last_reply_id": reply["id"],
            "last_reply_at": reply["created_at"],
            "last_reply_sender_id": bob.id,
            "participants": [ada.id, bob.id],
        }


async def test_a_bad_thread_root_over_the_socket_is_an_error_result(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.direct(bob)
    hello = await ada.send(chat["id"], "hi")
    socket = await ada.connect()
    reply = await socket.request(
        "message.send",
        {"chat_id": chat["id"], "client_id": "t-2", "body": "x", "thread_root_id": hello["id"]},
    )
    assert reply["ok"] is False
    assert reply["error"]["code"] == "validation_error"


async def test_thread_read_reaches_my_other_devices_only(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.group("Kitchen", bob)
    root = await ada.send(chat["id"], "root")
    reply = await bob.send(chat["id"], "reply", thread_root_id=root["id"])
    laptop, phone, bobs = await ada.connect(), await ada.connect(), await bob.connect()
    mark = await laptop.ok("thread.read", {"chat_id": chat["id"], "root_id": root["id"]})
    assert mark == {"chat_id": chat["id"], "root_id": root["id"], "last_read_id": reply["id"]}
    told = await phone.expect("thread.read")
    assert told["data"] == mark
    barrier = await ada.send(chat["id"], "barrier")
    await bobs.expect("message.created", where=lambda f: f["data"]["id"] == barrier["id"])
    assert bobs.events("thread.read") == []


async def test_resuming_after_a_disconnect_delivers_missed_replies(people):
    ada, bob = await people("ada", "bob")
    chat = await ada.channel("News", bob)
    root = await ada.send(chat["id"], "root")
    first = await ada.connect()
    await first.close()
    missed = [
        await bob.send(chat["id"], f"while away {n}", thread_root_id=root["id"]) for n in range(3)
    ]
    socket = await ada.connect(resume_from=first.welcome["seq"])
    last = await socket.expect(
        "thread.updated", where=lambda f: f["data"]["last_reply_id"] == missed[-1]["id"]
    )
    assert last["data"]["reply_count"] == 3
    replayed = socket.events("message.created")
    assert [f["data"]["id"] for f in replayed] == [m["id"] for m in missed]
    assert {f["data"]["thread_root_id"] for f in replayed} == {root["id"]}
